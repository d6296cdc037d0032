{#- Generic anomaly test, calendar-aware — fails on sessions where more than `max_share` of the
    tickers present on the previous NYSE session are absent (a partial load, a vendor dropping
    part of the market). Attach it to the date column; `ticker_column` names the entity. -#}
{% test missing_ticker_share(model, column_name, ticker_column='ticker', max_share=0.05) %}
    with

    tested as (

        select * from {{ model }}

    ),

    sessions as (

        select session_date, session_number from {{ ref('dim_trading_sessions') }}

    ),

    presence as (

        select distinct tested.{{ ticker_column }} as ticker, sessions.session_number
        from tested
        join sessions on sessions.session_date = tested.{{ column_name }}

    ),

    observed_sessions as (

        select session_number, count(*) as ticker_count
        from presence
        group by 1

    ),

    missing as (

        select previous.session_number + 1 as session_number, count(*) as missing_count
        from presence as previous
        where not exists (
            select 1 from presence as current_session
            where current_session.ticker = previous.ticker
              and current_session.session_number = previous.session_number + 1
        )
        group by 1

    ),

    shares as (

        select
            sessions.session_date,
            previous.ticker_count as previous_ticker_count,
            coalesce(missing.missing_count, 0) as missing_count,
            coalesce(missing.missing_count, 0)::double precision / previous.ticker_count as missing_share
        from observed_sessions as previous
        join sessions on sessions.session_number = previous.session_number + 1
        left join missing on missing.session_number = previous.session_number + 1
        -- the newest session has no successor yet: nothing can be missing after it
        where previous.session_number < (select max(session_number) from observed_sessions)

    )

    select *
    from shares
    where missing_share > {{ max_share }}
{% endtest %}
