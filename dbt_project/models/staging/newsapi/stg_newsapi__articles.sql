with

source as (

    select * from {{ source_or_empty('newsapi', 'newsapi_articles') }}

),

renamed as (

    select
        url::text                                       as url,
        title::text                                     as headline,
        description::text                               as summary,
        author::text                                    as author,
        (source ->> 'name')::text                       as publisher,
        (source ->> 'id')::text                         as publisher_id,
        "publishedAt"::timestamptz                      as published_at,
        "urlToImage"::text                              as image_url,
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
