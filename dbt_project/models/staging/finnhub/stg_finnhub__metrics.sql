{#- The few of Finnhub's ~130 metrics the warehouse models, typed; the rest stay in raw. -#}
with

source as (

    select * from {{ source_or_empty('finnhub', 'finnhub_metrics') }}

),

renamed as (

    select
        symbol::text                                                    as ticker,
        (metric ->> 'peTTM')::double precision                          as pe_ratio_ttm,
        (metric ->> 'pbQuarterly')::double precision                    as price_to_book,
        (metric ->> 'epsTTM')::double precision                         as eps_ttm,
        (metric ->> 'bookValuePerShareQuarterly')::double precision     as book_value_per_share,
        -- Finnhub reports the yield in percent
        (metric ->> 'dividendYieldIndicatedAnnual')::double precision / 100 as dividend_yield,
        (metric ->> 'dividendPerShareAnnual')::double precision         as dividend_per_share,
        (metric ->> 'marketCapitalization')::double precision * 1e6     as market_cap,
        (metric ->> 'beta')::double precision                           as beta,
        (metric ->> '52WeekHigh')::double precision                     as high_52w,
        (metric ->> '52WeekLow')::double precision                      as low_52w,
        _request_id::text                                               as request_id,
        _fetched_at::timestamptz                                        as fetched_at,
        _dlt_load_id::text                                              as load_id,
        to_timestamp(_dlt_load_id::double precision)                    as loaded_at

    from source

)

select * from renamed
