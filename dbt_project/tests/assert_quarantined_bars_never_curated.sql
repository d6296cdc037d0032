{#- A bar failing validation is never in curated: no curated bar is the row, from the same feed
    and load, of a quarantined bar. (Older duplicates, rank 2 and up, are other raw rows of a key
    whose newest row may well be valid and curated.) -#}
{{ config(tags=['cross_model']) }}

with

quarantined as (

    select source, ticker, trade_date, load_id
    from {{ ref('quarantined_daily_bars') }}
    where duplicate_rank = 1

),

bars as (

    -- only the sessions with quarantined bars, through the date index
    select source, ticker, trade_date, load_id from {{ ref('fct_daily_bars') }}
    where trade_date = any (array(select distinct trade_date from quarantined))

),

leaked as (

    select quarantined.*
    from quarantined
    join bars using (source, ticker, trade_date, load_id)

)

select * from leaked
