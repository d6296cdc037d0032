{{
    config(
        indexes=[
            {'columns': ['session_date'], 'unique': true},
            {'columns': ['session_number'], 'unique': true},
        ],
        post_hook=["analyze {{ this }}"],
    )
}}
{#- One row per NYSE session, 1995 through 2028: every weekday, less the closures, with the
    irregular hours (early closes) of the calendar exceptions seed
    (scripts/generate_nyse_calendar.py checks the expansion against exchange-calendars). -#}
with

exceptions as (

    select * from {{ ref('nyse_calendar_exceptions') }}

),

calendar_days as (

    select day::date as calendar_date
    from generate_series(date '1995-01-01', date '2028-12-31', interval '1 day') as days (day)

),

weekdays as (

    select calendar_date
    from calendar_days
    where extract(isodow from calendar_date) <= 5

),

sessions as (

    select
        weekdays.calendar_date as session_date,
        coalesce(exceptions.open_time, time '09:30') as open_time,
        coalesce(exceptions.close_time, time '16:00') as close_time,
        coalesce(exceptions.close_time < time '16:00', false) as is_early_close
    from weekdays
    left join exceptions on exceptions.calendar_date = weekdays.calendar_date
    where exceptions.kind is distinct from 'closed'

),

final as (

    select
        session_date,
        row_number() over (order by session_date)::integer as session_number,
        ((session_date + open_time) at time zone 'America/New_York') as market_open_at,
        ((session_date + close_time) at time zone 'America/New_York') as market_close_at,
        is_early_close
    from sessions

)

select * from final
