{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'trade_date', 'source'],
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['ticker', 'trade_date', 'source'], 'unique': true},
            {'columns': ['compared_at', 'trade_date']},
        ],
        post_hook=["{{ time_index(this, 'trade_date') }}"],
        meta={'test_window': {'time_column': 'trade_date', 'batch_column': 'compared_at'}},
    )
}}
{#- Cross-source reconciliation of closes: for every ticker and session that Polygon's grouped
    daily (the reference, see bar_source_precedence) and another source both priced, one row
    per other source with both closes and their difference, flagged beyond
    var('reconciliation_close_tolerance') (relative). The other sources: Polygon's per-ticker
    ranges, Alpha Vantage's daily series (unadjusted: a split shows up here as a flagged
    difference), and Finnhub quotes taken after the session's close (early closes included).

    Incremental: the sessions whose bars were validated, or whose quotes landed, since the
    newest comparison here are compared again. -#}

with

-- not materialized: filtered by validated_at and by key through its indexes
validated as not materialized (

    select * from {{ ref('int_daily_bars_validated') }}

),

quotes as (

    select * from {{ ref('stg_finnhub__quotes') }}

),

sessions as (

    select * from {{ ref('dim_trading_sessions') }}

),

closing_quotes as (

    -- the last quote taken after the session closed is that session's close
    select distinct on (quotes.ticker, sessions.session_date)
        quotes.ticker,
        sessions.session_date as trade_date,
        'finnhub_quote'::text as source,
        quotes.current_price as close,
        quotes.loaded_at as compared_input_at
    from quotes
    join sessions on sessions.session_date = quotes.quote_date
    where quotes.quoted_at >= sessions.market_close_at
      and quotes.current_price is not null
    order by quotes.ticker, sessions.session_date, quotes.quoted_at desc

),

{% if is_incremental() %}

changed_keys as (

    -- every other source's new closes (a short list: found through a partial index) ...
    select ticker, trade_date
    from validated
    where source <> 'polygon'
      and validated_at > {{ incremental_watermark('compared_at') }}
      and duplicate_rank = 1
    union
    select ticker, trade_date
    from closing_quotes
    where compared_input_at > {{ incremental_watermark('compared_at') }}
    union
    -- ... and the reference's new closes, since the newest comparison (or, while the table is
    -- empty, in this run: the first branch already covers every pair that can exist)
    select ticker, trade_date
    from validated
    where source = 'polygon'
      and validated_at > {{ incremental_watermark('compared_at', default="'" ~ run_started_at ~ "'::timestamptz - interval '1 millisecond'") }}
      and duplicate_rank = 1

),

bar_closes as (

    select validated.source, validated.ticker, validated.trade_date, validated.close,
           validated.validated_at as compared_input_at
    from validated
    join changed_keys using (ticker, trade_date)
    where validated.duplicate_rank = 1
      -- the keys' dates as an array: an index condition, where the join alone may hash all of
      -- validated when the planner misjudges the batch
      and validated.trade_date = any (array(select distinct trade_date from changed_keys))

),

quote_closes as (

    select closing_quotes.*
    from closing_quotes
    join changed_keys using (ticker, trade_date)

),

{% else %}

bar_closes as (

    select source, ticker, trade_date, close, validated_at as compared_input_at
    from validated
    where duplicate_rank = 1

),

quote_closes as (

    select * from closing_quotes

),

{% endif %}

all_closes as (

    select source, ticker, trade_date, close, compared_input_at from bar_closes
    union all
    select source, ticker, trade_date, close, compared_input_at from quote_closes

),

paired as (

    select
        other.ticker,
        other.trade_date,
        other.source,
        reference.source as reference_source,
        reference.close as reference_close,
        other.close as source_close,
        other.close - reference.close as close_difference,
        abs(other.close - reference.close) / nullif(abs(reference.close), 0) as relative_difference,
        greatest(reference.compared_input_at, other.compared_input_at) as compared_at
    from all_closes as other
    join all_closes as reference
        on reference.ticker = other.ticker
       and reference.trade_date = other.trade_date
       and reference.source = 'polygon'
    where other.source <> 'polygon'

),

final as (

    select
        ticker,
        trade_date,
        source,
        reference_source,
        reference_close,
        source_close,
        close_difference,
        relative_difference,
        {{ var('reconciliation_close_tolerance') }}::double precision as tolerance,
        coalesce(relative_difference > {{ var('reconciliation_close_tolerance') }}, true) as is_flagged,
        compared_at
    from paired

)

select * from final
