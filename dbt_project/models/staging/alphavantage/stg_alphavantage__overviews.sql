{%- set number_columns = {
    'MarketCapitalization': 'market_cap', 'PERatio': 'pe_ratio', 'BookValue': 'book_value_per_share',
    'DividendPerShare': 'dividend_per_share', 'DividendYield': 'dividend_yield',
    'EPS': 'eps_ttm', 'PriceToBookRatio': 'price_to_book', 'SharesOutstanding': 'shares_outstanding',
} -%}
with

source as (

    select * from {{ source_or_empty('alphavantage', 'alphavantage_overviews') }}

),

renamed as (

    select
        "Symbol"::text                                  as ticker,
        "Name"::text                                    as company_name,
        "AssetType"::text                               as asset_type,
        "Exchange"::text                                as exchange_name,
        "Currency"::text                                as currency,
        "Country"::text                                 as country,
        initcap(nullif(nullif("Sector", 'None'), '-'))::text    as sector,
        initcap(nullif(nullif("Industry", 'None'), '-'))::text  as industry,
        nullif(nullif("LatestQuarter", 'None'), '-')::date      as latest_quarter,
        {%- for field, name in number_columns.items() %}
        {{ tickerhouse.alphavantage_number('"' ~ field ~ '"') }} as {{ name }},
        {%- endfor %}
        _request_id::text                               as request_id,
        _fetched_at::timestamptz                        as fetched_at,
        _dlt_load_id::text                              as load_id,
        to_timestamp(_dlt_load_id::double precision)    as loaded_at

    from source

)

select * from renamed
