{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'trade_date'],
        incremental_strategy='hypertable_merge',
        on_schema_change='fail',
        full_refresh=var('allow_bar_history_rebuild', false),
        indexes=[
            {'columns': ['ticker', 'trade_date'], 'unique': true},
            {'columns': ['merged_at', 'trade_date']},
        ],
        pre_hook=["set local work_mem = '256MB'", "set local enable_nestloop = off",
                  "set local enable_mergejoin = off"],
        post_hook=["{{ apply_timeseries_storage() }}", "{{ analyze_if_grown() }}"],
        meta={
            'timescale': {'time_column': 'trade_date', 'segment_by': 'ticker', 'reorder': true},
            'test_window': {'time_column': 'trade_date', 'batch_column': 'merged_at'},
        },
    )
}}
{#- One bar per ticker and session: the valid bar of the feed with the best precedence.

    Incremental: the keys validated since the newest `merged_at` here are merged again, so a new
    session is inserted and a late correction replaces the bar it corrects. A key whose bars
    all fail validation keeps the bar it had (the failing ones wait in quarantine). On
    TimescaleDB a hypertable with compression and a reorder policy, indexed on trade_date on
    plain PostgreSQL (apply_timeseries_storage). --full-refresh is ignored unless
    var('allow_bar_history_rebuild') is true: raw retention may have removed history this table
    still holds. As in int_daily_bars_validated, the batch's rows are found by an array of its
    dates and every join is hashed. -#}

with

-- not materialized: each use filters it (by load, key or date) through its indexes
validated as not materialized (

    select * from {{ ref('int_daily_bars_validated') }}

),

{% if is_incremental() %}

changed_keys as (

    select distinct ticker, trade_date
    from validated
    where validated_at > {{ incremental_watermark('merged_at') }}

),

candidates as (

    -- the keys' bars: their dates as an array are an index condition whatever the join
    -- settings (a join alone would hash all of validated once the batch is misjudged)
    select validated.*
    from validated
    join changed_keys using (ticker, trade_date)
    where validated.trade_date = any (array(select distinct trade_date from changed_keys))

),

{% else %}

candidates as (

    select * from validated

),

{% endif %}

ranked as (

    select
        *,
        max(validated_at) over same_key as merged_at,
        -- partitioned date first: the sort that serves the window also writes rows in date order
        row_number() over (
            partition by trade_date, ticker order by is_valid desc, precedence, load_id desc
        ) as preference
    from candidates
    window same_key as (partition by trade_date, ticker)

),

final as (

    select
        ticker,
        trade_date,
        open,
        high,
        low,
        close,
        volume,
        vwap,
        trade_count,
        source,
        load_id,
        loaded_at,
        merged_at
    from ranked
    -- the preferred bar, if it is valid (invalid bars rank last)
    where preference = 1 and is_valid
    -- rows reach the table in date order: a date window's rows share pages (time_index)
    order by trade_date, ticker

)

select * from final
