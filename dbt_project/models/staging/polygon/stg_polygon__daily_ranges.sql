with

source as (

    select * from {{ source_or_empty('polygon', 'polygon_daily_ranges') }}

),

renamed as (

    select
        ticker::text                                                        as ticker,
        -- `t` opens the session's window at midnight New York: its New York date is the session.
        (to_timestamp("t" / 1000.0) at time zone 'America/New_York')::date  as trade_date,
        o::double precision                                                 as open,
        h::double precision                                                 as high,
        l::double precision                                                 as low,
        c::double precision                                                 as close,
        round(v)::bigint                                                    as volume,
        vw::double precision                                                as vwap,
        n::bigint                                                           as trade_count,
        to_timestamp("t" / 1000.0)                                          as bar_start_at,
        _request_id::text                                                   as request_id,
        _fetched_at::timestamptz                                            as fetched_at,
        _dlt_load_id::text                                                  as load_id,
        to_timestamp(_dlt_load_id::double precision)                        as loaded_at

    from source

)

select * from renamed
