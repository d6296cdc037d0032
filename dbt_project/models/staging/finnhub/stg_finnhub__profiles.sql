with

source as (

    select * from {{ source_or_empty('finnhub', 'finnhub_profiles') }}

),

renamed as (

    select
        ticker::text                                    as ticker,
        name::text                                      as company_name,
        exchange::text                                  as exchange_name,
        nullif("finnhubIndustry", 'N/A')::text          as industry,
        country::text                                   as country,
        currency::text                                  as currency,
        nullif(ipo, '')::date                           as ipo_date,
        -- Finnhub reports both in millions
        "marketCapitalization"::double precision * 1e6  as market_cap,
        "shareOutstanding"::double precision * 1e6      as shares_outstanding,
        weburl::text                                    as website,
        logo::text                                      as logo_url,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
