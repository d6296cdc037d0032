{#- Every curated bar beside its split-adjusted version.

    Polygon's bars are split-adjusted as of when they were fetched (`adjusted=true`), Alpha
    Vantage's daily series not at all; so a bar needs adjusting for each of its ticker's splits
    executed after its session that it does not reflect yet: all of them for Alpha Vantage, the
    ones executed after the bar was loaded for Polygon. Prices are divided by, and volume
    multiplied by, split_to / split_from of each such split (from Polygon's reference splits,
    stg_polygon__splits). Without a split feed the adjusted series equals the raw one. A view:
    a new split re-adjusts its ticker's whole history at once, with nothing to rebuild. -#}

with

-- not materialized: filters on the view (by ticker, date or merged_at) reach its indexes
bars as not materialized (

    select * from {{ ref('fct_daily_bars') }}

),

splits as (

    select * from {{ ref('stg_polygon__splits') }}

),

split_events as (

    select
        ticker,
        execution_date,
        split_to / split_from as share_ratio,
        (execution_date::timestamp at time zone 'America/New_York') as effective_at
    from splits
    where split_from > 0 and split_to > 0

),

pending_adjustments as (

    -- per bar, the product of the ratios of the splits its prices do not reflect yet
    select
        bars.ticker,
        bars.trade_date,
        exp(sum(ln(split_events.share_ratio))) as share_factor,
        count(*) as splits_applied
    from bars
    join split_events
        on split_events.ticker = bars.ticker
       and split_events.execution_date > bars.trade_date
       and (bars.source = 'alphavantage' or bars.loaded_at < split_events.effective_at)
    group by bars.ticker, bars.trade_date

),

final as (

    select
        bars.ticker,
        bars.trade_date,
        bars.source,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        bars.volume,
        coalesce(pending_adjustments.share_factor, 1) as split_factor,
        coalesce(pending_adjustments.splits_applied, 0) as splits_applied,
        bars.open / coalesce(pending_adjustments.share_factor, 1) as adjusted_open,
        bars.high / coalesce(pending_adjustments.share_factor, 1) as adjusted_high,
        bars.low / coalesce(pending_adjustments.share_factor, 1) as adjusted_low,
        bars.close / coalesce(pending_adjustments.share_factor, 1) as adjusted_close,
        round(bars.volume * coalesce(pending_adjustments.share_factor, 1))::bigint as adjusted_volume,
        bars.loaded_at,
        bars.merged_at
    from bars
    left join pending_adjustments using (ticker, trade_date)

)

select * from final
