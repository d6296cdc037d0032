with

source as (

    select * from {{ source_or_empty('polygon', 'polygon_tickers') }}

),

renamed as (

    select
        ticker::text                                    as ticker,
        name::text                                      as ticker_name,
        market::text                                    as market,
        locale::text                                    as locale,
        primary_exchange::text                          as exchange_code,
        type::text                                      as security_type,
        active::boolean                                 as is_active,
        upper(currency_name)::text                      as currency,
        cik::text                                       as cik,
        composite_figi::text                            as composite_figi,
        share_class_figi::text                          as share_class_figi,
        last_updated_utc::timestamptz                   as vendor_updated_at,
        delisted_utc::timestamptz                       as delisted_at,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
