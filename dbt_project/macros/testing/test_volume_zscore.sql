{#- Generic anomaly test — fails on rows whose log volume lies more than `max_zscore` standard
    deviations from the same ticker's previous `baseline_rows` rows (at least `min_baseline_rows`
    of them), e.g. a volume multiplied by 100. Log volume, because volume is heavy-tailed.
    Attach it to the volume column; set severity/warn_if/error_if for what a real market's news
    days produce. -#}
{% test volume_zscore(model, column_name, ticker_column='ticker', date_column='trade_date',
                      max_zscore=8, baseline_rows=20, min_baseline_rows=10) %}
    with

    log_volumes as (

        select
            {{ ticker_column }} as ticker,
            {{ date_column }} as observed_on,
            {{ column_name }} as volume,
            ln({{ column_name }}::double precision + 1) as log_volume
        from {{ model }}
        where {{ column_name }} >= 0

    ),

    baselines as (

        select
            *,
            count(*) over baseline as baseline_rows,
            avg(log_volume) over baseline as baseline_mean,
            stddev_samp(log_volume) over baseline as baseline_stddev
        from log_volumes
        window baseline as (
            partition by ticker order by observed_on
            rows between {{ baseline_rows }} preceding and 1 preceding
        )

    ),

    scored as (

        select *, (log_volume - baseline_mean) / nullif(baseline_stddev, 0) as zscore
        from baselines
        where baseline_rows >= {{ min_baseline_rows }}

    )

    select *
    from scored
    where abs(zscore) > {{ max_zscore }}
{% endtest %}
