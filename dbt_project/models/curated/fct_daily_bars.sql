{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'trade_date'],
        incremental_strategy='merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['ticker', 'trade_date'], 'unique': true},
            {'columns': ['trade_date'], 'type': 'brin'},
        ],
    )
}}

with

bars as (

    select * from {{ ref('stg_polygon__grouped_daily') }}

    {% if is_incremental() %}
    -- Only loads newer than the last one merged: a new day, or a late correction of an old
    -- day (which arrives in a new load and is merged over the old row).
    where load_id > (select coalesce(max(load_id), '') from {{ this }})
    {% endif %}

),

final as (

    select
        ticker,
        trade_date,
        open,
        high,
        low,
        close,
        volume,
        vwap,
        trade_count,
        'polygon'::text as source,
        load_id,
        loaded_at
    from bars

)

select * from final
