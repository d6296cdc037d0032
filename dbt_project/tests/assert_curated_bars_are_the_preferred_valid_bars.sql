{#- fct_daily_bars holds, for every recently validated key, the valid bar of the feed with the
    best precedence, with its values. -#}
{{ config(tags=['cross_model']) }}

with

validated as (

    select * from {{ ref('int_daily_bars_validated') }}
    where {{ recent_rows_condition(ref('int_daily_bars_validated'), 'trade_date', 'validated_at') }}

),

bars as (

    -- the same window (anchored on validated's latest batch), read through the date index
    select * from {{ ref('fct_daily_bars') }}
    where {{ recent_rows_condition(ref('fct_daily_bars'), 'trade_date', 'validated_at',
                                   anchor=ref('int_daily_bars_validated')) }}

),

preferred as (

    select distinct on (ticker, trade_date) *
    from validated
    where is_valid
    order by ticker, trade_date, precedence, load_id desc

),

differences as (

    select preferred.ticker, preferred.trade_date, preferred.source, bars.source as curated_source,
           preferred.close, bars.close as curated_close
    from preferred
    left join bars using (ticker, trade_date)
    where bars.ticker is null
       or bars.source is distinct from preferred.source
       or bars.load_id is distinct from preferred.load_id
       or bars.close is distinct from preferred.close

)

select * from differences
