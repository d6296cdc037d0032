with

source as (

    select * from {{ source_or_empty('finnhub', 'finnhub_quotes') }}

),

renamed as (

    select
        symbol::text                                                    as ticker,
        -- an unknown symbol answers zeros and a zero time: no quote
        nullif("t", 0)                                                  as quoted_epoch,
        to_timestamp(nullif("t", 0))                                    as quoted_at,
        (to_timestamp(nullif("t", 0)) at time zone 'America/New_York')::date as quote_date,
        nullif(c, 0)::double precision                                  as current_price,
        nullif(o, 0)::double precision                                  as open,
        nullif(h, 0)::double precision                                  as high,
        nullif(l, 0)::double precision                                  as low,
        nullif(pc, 0)::double precision                                 as previous_close,
        d::double precision                                             as change,
        dp::double precision / 100                                      as change_ratio,
        _request_id::text                                               as request_id,
        _fetched_at::timestamptz                                        as fetched_at,
        _dlt_load_id::text                                              as load_id,
        to_timestamp(_dlt_load_id::double precision)                    as loaded_at

    from source

)

select * from renamed
