{{
    config(
        materialized='incremental',
        unique_key=['ticker', 'trade_date'],
        incremental_strategy='hypertable_merge',
        on_schema_change='fail',
        indexes=[
            {'columns': ['ticker', 'trade_date'], 'unique': true},
            {'columns': ['ticker', 'bars_seen', 'trade_date'], 'unique': true},
            {'columns': ['merged_at', 'trade_date']},
        ],
        pre_hook=["set local work_mem = '256MB'", "set local enable_nestloop = off",
                  "set local enable_mergejoin = off"],
        post_hook=["{{ apply_timeseries_storage() }}", "{{ analyze_if_grown() }}"],
        meta={
            'timescale': {'time_column': 'trade_date', 'segment_by': 'ticker'},
            'test_window': {'time_column': 'trade_date', 'batch_column': 'merged_at'},
        },
    )
}}
{#- Technical indicators per ticker and day, from fct_daily_bars.

    Windows count a ticker's bars (a session it did not trade is not a bar), and a value is null
    until its window is full. Exponential averages (EMA, MACD, Wilder's RSI and ATR) start from
    the simple mean of their first N values and then follow the ewma aggregate
    (macros/warehouse/create_analytics_functions.sql). Sliding sums (SMAs, Bollinger and
    volatility variances, mean dollar volume) are differences of running totals from the
    ticker's first bar, stored on every row; each path adds the same values in the same order,
    so every path gives the same bits.

    Incremental, per ticker, from the first day whose bar changed since the last build:
    - the daily case, one new bar after a ticker's last row (with 200 bars or more behind it),
      continues from that row's stored state: the running totals and averages, plus five stored
      rows found by bar number (5, 20, 50, 200 and 251 bars back) and one range read of the
      year of highs and lows behind it. A daily build reads a few rows per ticker and a year of
      two columns, whatever the length of history;
    - anything else (a late correction, several new days at once, a ticker too young) is
      computed with window functions: from the stored state and a year of bars read back when
      the change is recent and the ticker has 252 bars behind it, else from the ticker's first
      bar.
    Every path gives what a full rebuild gives (tests/dbt checks it).
    52-week extremes over the full path use block prefix/suffix maxima (van Herk/Gil-Werman):
    linear, where a sliding max would rescan 252 rows per row.

    Batch sizes are unknowable to the planner (new rows are always beyond its statistics), so
    every join is hashed (nested loops and merge joins off: a catch-up of years must not become
    a nested loop over estimates of 1, nor a day's bars a merge join on the date alone, as in
    int_daily_bars_validated), and the bars a batch needs are found by index conditions that
    need no join: lateral lookups of the stored state, or arrays of the batch's dates or
    tickers. -#}

{%- set window = 252 -%}
{%- set read_back_days = 400 -%}
{%- set totals = ['close', 'close_squared', 'dollar_volume', 'log_return', 'log_return_squared'] -%}
{%- set averages = ['ema_12', 'ema_20', 'ema_26', 'ema_50', 'ema_200', 'macd_signal',
                    'rsi_avg_gain_14', 'rsi_avg_loss_14', 'atr_14'] -%}

with

-- not materialized: every use filters it (by merged_at, ticker or date) through its indexes
bars as not materialized (

    select ticker, trade_date, high, low, close, volume, merged_at
    from {{ ref('fct_daily_bars') }}

),

{% if is_incremental() %}

built as not materialized (

    select * from {{ this }}

),

changes as (

    select ticker, min(trade_date) as start_date, count(*) as changed_bars
    from bars
    where merged_at > {{ incremental_watermark('merged_at') }}
    group by ticker

),

seeds as (

    select
        changes.ticker,
        -- from the first changed bar, or from the first bar after the last row built if the
        -- table lacks bars before it (a build that stopped half-way): the model mends itself
        least(changes.start_date, coalesce(unbuilt.first_bar_after_seed, changes.start_date)) as start_date,
        changes.changed_bars,
        unbuilt.first_bar_after_seed < changes.start_date as fills_gap,
        exists (
            select 1 from built as later
            where later.ticker = changes.ticker and later.trade_date >= changes.start_date
        ) as rebuilds_built_rows,
        seed.*
    from changes
    left join lateral (
        select
            previous.trade_date as seed_date,
            previous.close as seed_close,
            previous.bars_seen as seed_bars_seen
            {%- for column in averages %},
            previous.{{ column }} as seed_{{ column }}
            {%- endfor %}
            {%- for total in totals %},
            previous.running_{{ total }} as seed_running_{{ total }}
            {%- endfor %}
        from built as previous
        where previous.ticker = changes.ticker and previous.trade_date < changes.start_date
        order by previous.trade_date desc
        limit 1
    ) as seed on true
    left join lateral (
        select min(bars.trade_date) as first_bar_after_seed
        from bars
        where bars.ticker = changes.ticker
          and bars.trade_date > coalesce(seed.seed_date, '-infinity')
    ) as unbuilt on true

),

-- The daily case: one new bar after the ticker's last row, every warm-up done.
next_bar_tickers as (

    select *, seed_bars_seen + 1 as bar_number
    from seeds
    where changed_bars = 1 and not rebuilds_built_rows and not fills_gap and seed_bars_seen >= 200

),

next_bar_moves as (

    select
        next_bar_tickers.*,
        bars.trade_date,
        bars.high,
        bars.low,
        bars.close,
        bars.merged_at,
        bars.close * bars.volume as dollar_volume,
        greatest(bars.close - seed_close, 0) as gain,
        greatest(seed_close - bars.close, 0) as loss,
        greatest(bars.high - bars.low, abs(bars.high - seed_close), abs(bars.low - seed_close)) as true_range,
        ln(bars.close / seed_close) as log_return
    from next_bar_tickers
    join bars
        on bars.ticker = next_bar_tickers.ticker and bars.trade_date = next_bar_tickers.start_date
    -- the day's bars through the date index, not a hash of every bar
    where bars.trade_date = any (array(select distinct start_date from next_bar_tickers))

),

next_bar_lookback as (

    -- the stored rows 5, 20, 50, 200 and 251 bars back, found by bar number
    select
        next_bar_tickers.ticker,
        lookback.*
    from next_bar_tickers
    cross join lateral (
        select
            max(earlier.close) filter (where earlier.bars_seen = next_bar_tickers.bar_number - 5)
                as close_5_back,
            max(earlier.close) filter (where earlier.bars_seen = next_bar_tickers.bar_number - 20)
                as close_20_back,
            {%- for total in totals %}
            max(earlier.running_{{ total }}) filter (where earlier.bars_seen = next_bar_tickers.bar_number - 20)
                as running_{{ total }}_20_back,
            {%- endfor %}
            max(earlier.running_close) filter (where earlier.bars_seen = next_bar_tickers.bar_number - 50)
                as running_close_50_back,
            max(earlier.running_close) filter (where earlier.bars_seen = next_bar_tickers.bar_number - 200)
                as running_close_200_back,
            max(earlier.trade_date) filter (
                where earlier.bars_seen = next_bar_tickers.bar_number - {{ window - 1 }}
            ) as window_start_date
        from built as earlier
        where earlier.ticker = next_bar_tickers.ticker
          and earlier.bars_seen in (next_bar_tickers.bar_number - 5, next_bar_tickers.bar_number - 20,
                                    next_bar_tickers.bar_number - 50, next_bar_tickers.bar_number - 200,
                                    next_bar_tickers.bar_number - {{ window - 1 }})
    ) as lookback

),

next_bar_extremes as (

    -- the 52-week extremes: the new bar and the 251 before it, from one range read of the year
    select bars.ticker, max(bars.high) as high_52w, min(bars.low) as low_52w
    from bars
    join next_bar_lookback as lookback using (ticker)
    where bars.trade_date >= (select min(window_start_date) from next_bar_lookback)
      and bars.trade_date >= lookback.window_start_date
    group by bars.ticker

),

next_bar_rows as (

    select
        moves.ticker,
        moves.trade_date,
        moves.close,
        moves.bar_number as bars_seen,
        moves.seed_close as close_1_back,
        lookback.close_5_back,
        lookback.close_20_back,
        -- the running totals, extended by this bar as sum() extends them
        moves.seed_running_close + moves.close as running_close,
        moves.seed_running_close_squared + moves.close * moves.close as running_close_squared,
        moves.seed_running_dollar_volume + moves.dollar_volume as running_dollar_volume,
        moves.seed_running_log_return + moves.log_return as running_log_return,
        moves.seed_running_log_return_squared + moves.log_return * moves.log_return
            as running_log_return_squared,
        lookback.running_close_20_back,
        lookback.running_close_squared_20_back,
        lookback.running_close_50_back,
        lookback.running_close_200_back,
        lookback.running_dollar_volume_20_back,
        lookback.running_log_return_20_back,
        lookback.running_log_return_squared_20_back,
        {{ target.schema }}.ewma_step(moves.seed_ema_12, moves.close, 2.0 / 13, null) as ema_12,
        {{ target.schema }}.ewma_step(moves.seed_ema_20, moves.close, 2.0 / 21, null) as ema_20,
        {{ target.schema }}.ewma_step(moves.seed_ema_26, moves.close, 2.0 / 27, null) as ema_26,
        {{ target.schema }}.ewma_step(moves.seed_ema_50, moves.close, 2.0 / 51, null) as ema_50,
        {{ target.schema }}.ewma_step(moves.seed_ema_200, moves.close, 2.0 / 201, null) as ema_200,
        {{ target.schema }}.ewma_step(moves.seed_rsi_avg_gain_14, moves.gain, 1.0 / 14, null) as rsi_avg_gain_14,
        {{ target.schema }}.ewma_step(moves.seed_rsi_avg_loss_14, moves.loss, 1.0 / 14, null) as rsi_avg_loss_14,
        {{ target.schema }}.ewma_step(moves.seed_atr_14, moves.true_range, 1.0 / 14, null) as atr_14,
        moves.seed_macd_signal,
        extremes.high_52w,
        extremes.low_52w,
        moves.dollar_volume,
        moves.merged_at
    from next_bar_moves as moves
    join next_bar_lookback as lookback using (ticker)
    left join next_bar_extremes as extremes using (ticker)

),

next_bar_indicators as (

    select
        *,
        ema_12 - ema_26 as macd,
        {{ target.schema }}.ewma_step(seed_macd_signal, ema_12 - ema_26, 2.0 / 10, null) as macd_signal
    from next_bar_rows

),

-- Everything else goes through the window functions below.
windowed_tickers as (

    select * from seeds
    where ticker not in (select ticker from next_bar_tickers)

),

continued_tickers as (

    -- recent changes of tickers with a full year behind them: continue from the stored rows
    select *
    from windowed_tickers
    where seed_bars_seen >= {{ window }}
      and start_date >= (select max(start_date) from changes) - 31

),

recent_bars as (

    select bars.*, continued_tickers.start_date
    from bars
    join continued_tickers using (ticker)
    where bars.trade_date >= (select min(start_date) from continued_tickers) - {{ read_back_days }}
      and bars.trade_date >= continued_tickers.start_date - {{ read_back_days }}

),

read_back as (

    select ticker, count(*) as bars_read_before_start
    from recent_bars
    where trade_date < start_date
    group by ticker
    -- the 52-week window of the first changed bar must lie inside what was read
    having count(*) >= {{ window - 1 }}

),

history as (

    -- the bars read back carry their stored totals; the running sums continue from them
    select
        recent_bars.ticker, recent_bars.trade_date, recent_bars.high, recent_bars.low,
        recent_bars.close, recent_bars.volume, recent_bars.merged_at, seeds.start_date,
        seeds.seed_bars_seen - read_back.bars_read_before_start as bars_before_read,
        seeds.seed_date
        {%- for column in averages %},
        seeds.seed_{{ column }}
        {%- endfor %}
        {%- for total in totals %},
        stored.running_{{ total }} as stored_running_{{ total }}
        {%- endfor %}
    from recent_bars
    join read_back using (ticker)
    join seeds using (ticker)
    left join (
        select * from built
        where built.trade_date >= (select min(start_date) from continued_tickers) - {{ read_back_days }}
    ) as stored
        on stored.ticker = recent_bars.ticker
       and stored.trade_date = recent_bars.trade_date
       and recent_bars.trade_date < recent_bars.start_date

    union all

    -- from the first bar: young tickers, old corrections, gaps wider than the year read
    select
        bars.ticker, bars.trade_date, bars.high, bars.low, bars.close, bars.volume,
        bars.merged_at, windowed_tickers.start_date,
        0 as bars_before_read,
        null::date as seed_date
        {%- for column in averages %},
        null::double precision as seed_{{ column }}
        {%- endfor %}
        {%- for total in totals %},
        null::double precision as stored_running_{{ total }}
        {%- endfor %}
    from windowed_tickers
    join bars using (ticker)
    where windowed_tickers.ticker not in (select ticker from read_back)
      -- those tickers' bars through the (ticker, trade_date) index, not a hash of every bar
      and bars.ticker = any (array(
          select ticker from windowed_tickers where ticker not in (select ticker from read_back)
      ))

),

{% else %}

history as (

    select
        ticker, trade_date, high, low, close, volume, merged_at,
        '-infinity'::date as start_date,
        0 as bars_before_read,
        null::date as seed_date
        {%- for column in averages %},
        null::double precision as seed_{{ column }}
        {%- endfor %}
    from bars

),

{% endif %}

sequenced as (

    select
        *,
        bars_before_read + row_number() over by_ticker as bars_seen,
        lag(close) over by_ticker as previous_close,
        trade_date = seed_date as is_seed_row
    from history
    window by_ticker as (partition by ticker order by trade_date)

),

daily_moves as (

    select
        *,
        case when previous_close is not null then greatest(close - previous_close, 0) end as gain,
        case when previous_close is not null then greatest(previous_close - close, 0) end as loss,
        case
            when previous_close is null then high - low
            else greatest(high - low, abs(high - previous_close), abs(low - previous_close))
        end as true_range,
        close * volume as dollar_volume,
        coalesce(ln(close / previous_close), 0) as log_return,
        -- 52-week blocks for the prefix/suffix extremes
        (bars_seen - 1) / {{ window }} as extreme_block
    from sequenced

),

accumulated as (

    select
        *,
        lag(close, 5) over by_ticker as close_5_back,
        lag(close, 20) over by_ticker as close_20_back,
        -- running totals from the ticker's first bar
        {%- for total, value in [('close', 'close'), ('close_squared', 'close * close'),
                                 ('dollar_volume', 'dollar_volume'), ('log_return', 'log_return'),
                                 ('log_return_squared', 'log_return * log_return')] %}
        {%- if is_incremental() %}
        {{ target.schema }}.running_sum({{ value }}, stored_running_{{ total }}) over by_ticker as running_{{ total }},
        {%- else %}
        sum({{ value }}) over by_ticker as running_{{ total }},
        {%- endif %}
        {%- endfor %}
        -- the sums that start Wilder's averages (used on their 14th and 15th bars only)
        sum(gain) over by_ticker as gains_so_far,
        sum(loss) over by_ticker as losses_so_far,
        sum(true_range) over by_ticker as true_ranges_so_far,
        max(high) over block_so_far as high_block_prefix,
        min(low) over block_so_far as low_block_prefix,
        max(high) over block_from_here as high_block_suffix,
        min(low) over block_from_here as low_block_suffix
    from daily_moves
    window
        by_ticker as (partition by ticker order by trade_date),
        block_so_far as (partition by ticker, extreme_block order by trade_date),
        block_from_here as (partition by ticker, extreme_block order by trade_date desc)

),

smoothed as (

    select
        ticker,
        trade_date,
        close,
        merged_at,
        start_date,
        seed_date,
        bars_seen,
        is_seed_row,
        seed_macd_signal,
        dollar_volume,
        previous_close as close_1_back,
        close_5_back,
        close_20_back,
        {%- for total in totals %}
        running_{{ total }},
        lag(running_{{ total }}, 20, 0) over by_ticker as running_{{ total }}_20_back,
        {%- endfor %}
        lag(running_close, 50, 0) over by_ticker as running_close_50_back,
        lag(running_close, 200, 0) over by_ticker as running_close_200_back,
        -- each average starts from the mean of its first N values, a running total / N
        {%- for n in [12, 20, 26, 50, 200] %}
        {{ target.schema }}.ewma(close, 2.0 / {{ n + 1 }}, case
            when is_seed_row then seed_ema_{{ n }} when bars_seen = {{ n }} then running_close / {{ n }}
        end) over by_ticker as ema_{{ n }},
        {%- endfor %}
        -- Wilder's smoothing (alpha 1/14) from the mean of the first 14 values: gains and
        -- losses exist from the second bar, so RSI starts on the 15th; the first bar's true
        -- range is its high - low, so ATR starts on the 14th.
        {{ target.schema }}.ewma(gain, 1.0 / 14, case
            when is_seed_row then seed_rsi_avg_gain_14 when bars_seen = 15 then gains_so_far / 14
        end) over by_ticker as rsi_avg_gain_14,
        {{ target.schema }}.ewma(loss, 1.0 / 14, case
            when is_seed_row then seed_rsi_avg_loss_14 when bars_seen = 15 then losses_so_far / 14
        end) over by_ticker as rsi_avg_loss_14,
        {{ target.schema }}.ewma(true_range, 1.0 / 14, case
            when is_seed_row then seed_atr_14 when bars_seen = 14 then true_ranges_so_far / 14
        end) over by_ticker as atr_14,
        -- the 252 bars ending here are the suffix of the block holding the first of them and
        -- the prefix of the block holding this one
        greatest(high_block_prefix, lag(high_block_suffix, {{ window - 1 }}) over by_ticker) as high_52w,
        least(low_block_prefix, lag(low_block_suffix, {{ window - 1 }}) over by_ticker) as low_52w
    from accumulated
    window by_ticker as (partition by ticker order by trade_date)

),

windowed_indicators as (

    select
        *,
        case when bars_seen >= 26 then ema_12 - ema_26 end as macd,
        -- the signal line: a 9-bar EMA of MACD (which exists from the 26th bar), so from the 34th;
        -- alpha 1/k on the k-th MACD value keeps the running mean that starts it
        {{ target.schema }}.ewma(
            case when bars_seen >= 26 then ema_12 - ema_26 end,
            {{ tickerhouse.warm_up_alpha('bars_seen - 25', 9, '2.0 / 10') }},
            case when is_seed_row then seed_macd_signal end
        ) over (partition by ticker order by trade_date) as macd_signal
    from smoothed
    -- the signal needs no look-back beyond its seed: continued tickers from their stored row on
    where seed_date is null or trade_date >= seed_date

),

{%- set computed_columns -%}
        ticker, trade_date, close, bars_seen, close_1_back, close_5_back, close_20_back,
        running_close, running_close_squared, running_dollar_volume, running_log_return,
        running_log_return_squared, running_close_20_back, running_close_squared_20_back,
        running_close_50_back, running_close_200_back, running_dollar_volume_20_back,
        running_log_return_20_back, running_log_return_squared_20_back,
        ema_12, ema_20, ema_26, ema_50, ema_200, rsi_avg_gain_14, rsi_avg_loss_14, atr_14,
        high_52w, low_52w, dollar_volume, merged_at, macd, macd_signal
{%- endset %}

computed as (

    select {{ computed_columns }}
    from windowed_indicators
    where trade_date >= start_date
    {%- if is_incremental() %}
    union all
    select {{ computed_columns }}
    from next_bar_indicators
    {%- endif %}

),

windows as (

    select
        *,
        (running_close - running_close_20_back) / 20 as mean_20,
        -- population variance of the last 20 closes: (sum(x^2) - sum(x)^2 / n) / n
        greatest(((running_close_squared - running_close_squared_20_back)
                  - (running_close - running_close_20_back) ^ 2 / 20) / 20, 0) as variance_20,
        -- sample variance of the last 20 daily log returns
        greatest(((running_log_return_squared - running_log_return_squared_20_back)
                  - (running_log_return - running_log_return_20_back) ^ 2 / 20) / 19, 0)
            as log_return_variance_20
    from computed

),

final as (

    select
        ticker,
        trade_date,
        close,
        bars_seen,
        close / close_1_back - 1 as return_1d,
        close / close_5_back - 1 as return_5d,
        close / close_20_back - 1 as return_20d,
        case when bars_seen >= 20 then mean_20 end as sma_20,
        case when bars_seen >= 50 then (running_close - running_close_50_back) / 50 end as sma_50,
        case when bars_seen >= 200 then (running_close - running_close_200_back) / 200 end as sma_200,
        case when bars_seen >= 12 then ema_12 end as ema_12,
        case when bars_seen >= 20 then ema_20 end as ema_20,
        case when bars_seen >= 26 then ema_26 end as ema_26,
        case when bars_seen >= 50 then ema_50 end as ema_50,
        case when bars_seen >= 200 then ema_200 end as ema_200,
        case when bars_seen >= 26 then macd end as macd,
        case when bars_seen >= 34 then macd_signal end as macd_signal,
        case when bars_seen >= 34 then macd - macd_signal end as macd_histogram,
        case
            when bars_seen < 15 then null
            when rsi_avg_gain_14 = 0 and rsi_avg_loss_14 = 0 then 50
            when rsi_avg_loss_14 = 0 then 100
            else 100 - 100 / (1 + rsi_avg_gain_14 / rsi_avg_loss_14)
        end as rsi_14,
        case when bars_seen >= 15 then rsi_avg_gain_14 end as rsi_avg_gain_14,
        case when bars_seen >= 15 then rsi_avg_loss_14 end as rsi_avg_loss_14,
        case when bars_seen >= 20 then mean_20 + 2 * sqrt(variance_20) end as bollinger_upper_20,
        case when bars_seen >= 20 then mean_20 - 2 * sqrt(variance_20) end as bollinger_lower_20,
        case when bars_seen >= 14 then atr_14 end as atr_14,
        case when bars_seen >= 21 then sqrt(log_return_variance_20) * sqrt(252) end
            as realized_volatility_20d,
        case when bars_seen >= {{ window }} then high_52w end as high_52w,
        case when bars_seen >= {{ window }} then low_52w end as low_52w,
        case when bars_seen >= {{ window }} then close / high_52w - 1 end as distance_from_52w_high,
        case when bars_seen >= {{ window }} then close / low_52w - 1 end as distance_from_52w_low,
        dollar_volume,
        case when bars_seen >= 20 then (running_dollar_volume - running_dollar_volume_20_back) / 20 end
            as avg_dollar_volume_20d,
        running_close,
        running_close_squared,
        running_dollar_volume,
        running_log_return,
        running_log_return_squared,
        merged_at
    from windows
    -- rows reach the table in date order: a date window's rows share pages (time_index)
    order by trade_date, ticker

)

select * from final
