with

source as (

    select * from {{ source_or_empty('polygon', 'polygon_splits') }}

),

renamed as (

    select
        id::text                                        as split_id,
        ticker::text                                    as ticker,
        execution_date::date                            as execution_date,
        split_from::double precision                    as split_from,
        split_to::double precision                      as split_to,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
