with

source as (

    select * from {{ source_or_empty('alphavantage', 'alphavantage_daily') }}

),

renamed as (

    select
        symbol::text                                    as ticker,
        date::date                                      as trade_date,
        nullif(nullif(_1_open, 'None'), '-')::double precision   as open,
        nullif(nullif(_2_high, 'None'), '-')::double precision   as high,
        nullif(nullif(_3_low, 'None'), '-')::double precision    as low,
        nullif(nullif(_4_close, 'None'), '-')::double precision  as close,
        nullif(nullif(_5_volume, 'None'), '-')::bigint           as volume,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
