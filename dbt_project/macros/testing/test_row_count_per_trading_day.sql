{#- Generic anomaly test, calendar-aware — fails on NYSE sessions (between the first and last
    date the model holds) with no rows at all, or with fewer than `min_ratio` times the average
    row count of the `baseline_sessions` sessions before. Weekends and holidays are never
    expected; a missing session is. Attach it to the date column. -#}
{% test row_count_per_trading_day(model, column_name, min_ratio=0.9, baseline_sessions=20) %}
    with

    sessions as (

        select session_date, session_number from {{ ref('dim_trading_sessions') }}

    ),

    daily_counts as (

        select {{ column_name }} as session_date, count(*) as row_count
        from {{ model }}
        group by 1

    ),

    expected_sessions as (

        select sessions.session_date, sessions.session_number
        from sessions
        where sessions.session_date between (select min(session_date) from daily_counts)
                                        and (select max(session_date) from daily_counts)

    ),

    counted as (

        select
            expected_sessions.session_date,
            coalesce(daily_counts.row_count, 0) as row_count,
            avg(coalesce(daily_counts.row_count, 0)) over (
                order by expected_sessions.session_number
                rows between {{ baseline_sessions }} preceding and 1 preceding
            ) as baseline_row_count
        from expected_sessions
        left join daily_counts using (session_date)

    )

    select *
    from counted
    where row_count = 0
       or row_count < {{ min_ratio }} * baseline_row_count
{% endtest %}
