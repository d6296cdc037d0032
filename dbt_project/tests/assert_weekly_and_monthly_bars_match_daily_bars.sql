{#- The weekly and monthly rollups (continuous aggregates on TimescaleDB, maintained tables on
    plain PostgreSQL) agree with fct_daily_bars for the latest weeks and months. -#}
{{ config(tags=['cross_model']) }}

{#- From the month before the latest batch's month: its first session. Looked up when the test
    runs and written in as literals, which the planner reads through the date indexes (with
    subqueries there it would guess a third of each table and read all of it). -#}
{%- set fct = ref('fct_daily_bars') -%}
{%- set since = "(select date_trunc('month', max(trade_date))::date - interval '2 months' from " ~ fct
                ~ " where merged_at = (select max(merged_at) from " ~ fct ~ "))" -%}
{%- if execute and load_relation(fct) is not none -%}
    {%- set found = run_query("select " ~ since ~ "::date::text").columns[0].values()[0] -%}
    {%- set since = ("'" ~ found ~ "'::date") if found is not none else "null::date" -%}
{%- endif -%}
{%- set first_session = "(select min(trade_date) from " ~ fct ~ " where trade_date >= " ~ since ~ ")" -%}
{%- if execute and load_relation(fct) is not none -%}
    {%- set found = run_query("select " ~ first_session ~ "::text").columns[0].values()[0] -%}
    {%- set first_session = ("'" ~ found ~ "'::date") if found is not none else "null::date" -%}
{%- endif %}

with

bars as (

    select * from {{ fct }}
    where trade_date >= {{ since }}

),

weekly as (

    select * from {{ ref('agg_weekly_bars') }}
    where week_start > {{ first_session }}

),

monthly as (

    select * from {{ ref('agg_monthly_bars') }}
    where month_start >= {{ first_session }}

),

expected_weeks as (

    select
        ticker,
        date_trunc('week', trade_date)::date as week_start,
        (array_agg(open order by trade_date))[1] as open,
        max(high) as high,
        min(low) as low,
        (array_agg(close order by trade_date desc))[1] as close,
        sum(volume) as volume,
        count(*) as session_count
    from bars
    group by 1, 2

),

expected_months as (

    select
        ticker,
        date_trunc('month', trade_date)::date as month_start,
        (array_agg(open order by trade_date))[1] as open,
        max(high) as high,
        min(low) as low,
        (array_agg(close order by trade_date desc))[1] as close,
        sum(volume) as volume,
        count(*) as session_count
    from bars
    group by 1, 2

),

week_differences as (

    select 'week' as grain, coalesce(weekly.ticker, expected.ticker) as ticker,
           coalesce(weekly.week_start, expected.week_start) as period_start
    from weekly
    full join (select * from expected_weeks where week_start > {{ first_session }}) as expected
        using (ticker, week_start)
    where (weekly.open, weekly.high, weekly.low, weekly.close, weekly.volume, weekly.session_count)
          is distinct from
          (expected.open, expected.high, expected.low, expected.close, expected.volume, expected.session_count)

),

month_differences as (

    select 'month' as grain, coalesce(monthly.ticker, expected.ticker) as ticker,
           coalesce(monthly.month_start, expected.month_start) as period_start
    from monthly
    full join (select * from expected_months where month_start >= {{ first_session }}) as expected
        using (ticker, month_start)
    where (monthly.open, monthly.high, monthly.low, monthly.close, monthly.volume, monthly.session_count)
          is distinct from
          (expected.open, expected.high, expected.low, expected.close, expected.volume, expected.session_count)

)

select * from week_differences
union all
select * from month_differences
