with

source as (

    select * from {{ source_or_empty('finnhub', 'finnhub_company_news') }}

),

renamed as (

    select
        id::bigint                                      as article_id,
        related::text                                   as ticker,
        headline::text                                  as headline,
        nullif(summary, '')::text                       as summary,
        source::text                                    as publisher,
        category::text                                  as category,
        url::text                                       as url,
        nullif(image, '')::text                         as image_url,
        to_timestamp("datetime")                        as published_at,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
