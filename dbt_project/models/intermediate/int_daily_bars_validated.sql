{{
    config(
        materialized='incremental',
        unique_key=['source', 'ticker', 'trade_date'],
        incremental_strategy='indexed_delete_insert',
        on_schema_change='fail',
        full_refresh=var('allow_bar_history_rebuild', false),
        indexes=[
            {'columns': ['ticker', 'trade_date', 'source']},
            {'columns': ['load_id']},
            {'columns': ['validated_at', 'trade_date']},
        ],
        pre_hook=["set local work_mem = '256MB'", "set local enable_nestloop = off",
                  "set local enable_mergejoin = off"],
        post_hook=[
            "{{ analyze_if_grown() }}",
            "create index if not exists {{ adapter.quote(this.identifier ~ '__failed_idx') }}
             on {{ this }} (validated_at, trade_date) where not is_valid",
            "create index if not exists {{ adapter.quote(this.identifier ~ '__secondary_sources_idx') }}
             on {{ this }} (validated_at, trade_date) where source <> 'polygon'",
            "{{ time_index(this, 'trade_date') }}",
        ],
        meta={'test_window': {'time_column': 'trade_date', 'batch_column': 'validated_at'}},
    )
}}
{#- Every landed bar, one row per raw row, with the validation rules it fails.

    Incremental by load: a build validates the bars of loads newer than the newest load here,
    plus the bars of the two sessions after each of them (their jump rule looks back at the new
    bar, so a corrected bar can release or quarantine its successors), reading only those
    sessions and the two before each. Rows are replaced per (source, ticker, trade_date)
    (delete+insert), so a bar that stops being duplicated or failing loses its old verdict.
    Nothing is dropped: valid bars feed fct_daily_bars, the others are quarantined
    (quarantined_daily_bars). --full-refresh is ignored unless var('allow_bar_history_rebuild')
    is true: raw retention may have removed history this table still holds.

    New rows are always beyond the planner's statistics, so a batch is estimated at a row or
    two whatever its size: the raw rows a batch needs are found by an array of its dates (an
    index condition), and every join is hashed (nested loops and merge joins off), so a
    catch-up of years cannot become a nested loop, nor a day's keys a merge join on the date
    alone (the order the date index gives) that compares every pair of the day's rows by
    ticker: 36M comparisons for 6,000 tickers. -#}

with

-- not materialized: joined on its unique columns, so the planner estimates with its statistics
sessions as not materialized (

    select session_date, session_number from {{ ref('dim_trading_sessions') }}

),

-- not materialized: each use filters it (by load, key or date) through its indexes
bars as not materialized (

    select * from {{ ref('int_daily_bars_unioned') }}

),

{% if is_incremental() %}

new_keys as (

    select distinct source, ticker, trade_date
    from bars
    where load_id > {{ incremental_watermark('load_id', default="''") }}

),

following_keys as (

    select new_keys.source, new_keys.ticker, later.session_date as trade_date
    from new_keys
    join sessions as current_session on current_session.session_date = new_keys.trade_date
    cross join (values (1), (2)) as offsets (sessions_later)
    join sessions as later
        on later.session_number = current_session.session_number + offsets.sessions_later

),

revalidated_keys as (

    select * from new_keys
    union
    select * from following_keys

),

key_dates as (

    -- a batch's dates are few (one for a daily load), its keys many
    select distinct trade_date from revalidated_keys

),

read_dates as (

    select trade_date as session_date from key_dates
    union
    select earlier.session_date
    from key_dates
    join sessions as current_session on current_session.session_date = key_dates.trade_date
    cross join (values (1), (2)) as offsets (sessions_earlier)
    join sessions as earlier
        on earlier.session_number = current_session.session_number - offsets.sessions_earlier

),

candidate_bars as (

    -- the dates as an array: an index condition on the raw tables' session date indexes,
    -- whatever the join settings, where a join would read all of raw once the planner
    -- misjudges the batch
    select *
    from bars
    where trade_date = any (array(select session_date from read_dates))
      and ticker in (select ticker from revalidated_keys)

),

{% else %}

candidate_bars as (

    select * from bars

),

{% endif %}

sessioned as (

    select candidate_bars.*, sessions.session_number
    from candidate_bars
    left join sessions on sessions.session_date = candidate_bars.trade_date

),

ranked as (

    select
        *,
        -- the newest load's row is the bar; other rows for the same key are duplicates
        row_number() over (
            partition by source, ticker, session_number, trade_date
            order by load_id desc, request_id desc, open, high, low, close, volume
        ) as duplicate_rank
    from sessioned

),

with_previous as (

    -- Sorted for the ranking already, so no second sort: each previous session has exactly one
    -- rank-1 row, whose close max() picks.
    select
        *,
        case when session_number is not null then
            max(case when duplicate_rank = 1 then close end) over previous_session
        end as previous_close,
        case when session_number is not null then
            max(case when duplicate_rank = 1 then close end) over second_previous_session
        end as second_previous_close
    from ranked
    window
        previous_session as (
            partition by source, ticker order by session_number
            range between 1 preceding and 1 preceding
        ),
        second_previous_session as (
            partition by source, ticker order by session_number
            range between 2 preceding and 2 preceding
        )

),

{% if is_incremental() %}

to_validate as (

    select with_previous.*
    from with_previous
    join revalidated_keys using (source, ticker, trade_date)

),

{% else %}

to_validate as (

    select * from with_previous

),

{% endif %}

checked as (

    select
        *,
        array_remove(array[
            case when session_number is null then 'not_a_trading_session' end,
            case when duplicate_rank > 1 then 'duplicate' end,
            case when open is null or high is null or low is null or close is null
                      or volume is null then 'missing_value' end,
            case when least(open, high, low, close) <= 0 then 'non_positive_price' end,
            case when high < low then 'high_below_low' end,
            case when high >= low and (greatest(open, close) > high or least(open, close) < low)
                 then 'open_close_outside_range' end,
            case when volume < 0 then 'negative_volume' end,
            -- A close 10x (or 1/10) away from the previous session's, and from the one before
            -- that when there is one: a spike. The second comparison keeps the bar after a bad
            -- one from being quarantined too; a real move of that size stays visible here.
            case when close > 0 and previous_close > 0
                      and greatest(close / previous_close, previous_close / close)
                          > {{ var('max_price_jump_ratio') }}
                      and (second_previous_close is null or second_previous_close <= 0
                           or greatest(close / second_previous_close, second_previous_close / close)
                              > {{ var('max_price_jump_ratio') }})
                 then 'impossible_jump' end
        ], null) as failed_rules
    from to_validate

),

final as (

    select
        source,
        precedence,
        ticker,
        trade_date,
        session_number,
        open,
        high,
        low,
        close,
        volume,
        vwap,
        trade_count,
        previous_close,
        duplicate_rank,
        failed_rules,
        failed_rules[1] as primary_rule,
        cardinality(failed_rules) = 0 as is_valid,
        request_id,
        load_id,
        loaded_at,
        '{{ run_started_at }}'::timestamptz as validated_at
    from checked
    -- rows reach the table in date order: a date window's rows share pages (time_index)
    order by trade_date, ticker, source

)

select * from final
