"""`tickerhouse report`: one self-contained HTML page about the warehouse and its pipeline.

Charts are drawn here as inline SVG (no plotting library, no CDN): the page opens from a file
on a machine with no network, weighs a few hundred KiB, and has nothing to keep in sync with a
JavaScript bundle. The little script only adds hover details and sortable tables. Every
section reads its tables only when they exist and says plainly what is missing otherwise.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from typing import Any

from orchestration.status import FAIL, INFO, OK, WARN, Status, collect
from tickerhouse import calendar
from tickerhouse.database import Database
from tickerhouse.settings import Settings

COLORS = {OK: "#2e9d5b", WARN: "#d99a1e", FAIL: "#d2413a", INFO: "#8a94a6"}
SERIES = ["#3b6fd4", "#e07b39", "#2e9d5b", "#9b59b6", "#d2413a", "#17a2b8", "#8a6d3b"]
DAYS_SHOWN = 30
HEATMAP_SESSIONS = 20
SCATTER_POINTS = 2000


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _exists(conn, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


# -- data --------------------------------------------------------------------------------------

def rows_per_day(conn) -> dict[str, dict[dt.date, int]]:
    """Rows landed per vendor and day over the last DAYS_SHOWN days: market bars by the session
    they are for, every other feed by the day it was fetched."""
    tables = [name for (name,) in conn.execute(
        "select table_name from information_schema.columns where table_schema = 'raw' "
        "and column_name = '_fetched_at' order by table_name")]
    result: dict[str, dict[dt.date, int]] = {}
    for table in tables:
        vendor = table.split("_", 1)[0]
        day_expr = ("_session_date" if table == "polygon_grouped_daily"
                    else "(_fetched_at at time zone 'UTC')::date")
        rows = conn.execute(
            f'select {day_expr} as day, count(*) from raw."{table}" '  # noqa: S608 - catalog names
            f"where {day_expr} >= (select max({day_expr}) from raw.\"{table}\") - %s "
            "group by 1", (DAYS_SHOWN,)).fetchall()
        per_day = result.setdefault(vendor, {})
        for day, count in rows:
            if day is not None:
                per_day[day] = per_day.get(day, 0) + count
    return {vendor: days for vendor, days in result.items() if days}


def quality_history(conn) -> tuple[list[tuple], list[tuple]]:
    if not _exists(conn, "ops.dbt_invocations"):
        return [], []
    invocations = conn.execute(
        "select run_started_at, command, tests_passed, tests_warned, tests_failed, tests_skipped "
        "from ops.dbt_invocations order by run_started_at desc limit 30").fetchall()[::-1]
    failing: list[tuple] = []
    if _exists(conn, "ops.dbt_test_results"):
        failing = conn.execute(
            "select test_name, coalesce(tested_node, ''), coalesce(column_name, ''), "
            "count(*) filter (where status in ('fail', 'error')), "
            "count(*) filter (where status = 'warn'), max(run_started_at) "
            "from ops.dbt_test_results where status in ('fail', 'error', 'warn') "
            "and run_started_at >= now() - interval '30 days' "
            "group by 1, 2, 3 order by 4 desc, 5 desc limit 15").fetchall()
    return invocations, failing


def quarantine_counts(conn) -> tuple[list[tuple], list[tuple]]:
    relation = "quarantine.quarantined_daily_bars"
    if not _exists(conn, relation):
        return [], []
    by_rule = conn.execute(f"select primary_rule, count(*) from {relation} "
                           "group by 1 order by 2 desc").fetchall()
    by_day = conn.execute(f"select trade_date, count(*) from {relation} group by 1 "
                          "order by 1 desc limit %s", (DAYS_SHOWN,)).fetchall()[::-1]
    return by_rule, by_day


def sector_returns(conn) -> list[tuple]:
    if not (_exists(conn, "curated.fct_daily_indicators") and _exists(conn, "curated.dim_ticker")):
        return []
    latest = conn.execute("select max(trade_date) from curated.fct_daily_indicators").fetchone()[0]
    if latest is None:
        return []
    first = (calendar.sessions_before(latest, HEATMAP_SESSIONS - 1) or [latest])[0]
    return conn.execute(
        "select t.sector, i.trade_date, avg(i.return_1d), count(*) "
        "from curated.fct_daily_indicators i join curated.dim_ticker t using (ticker) "
        "where i.trade_date between %s and %s and i.return_1d is not null "
        "group by 1, 2 order by 1, 2", (first, latest)).fetchall()


def sentiment_series(conn) -> list[tuple]:
    relation = "curated.agg_ticker_daily_sentiment"
    if not _exists(conn, relation):
        return []
    return conn.execute(
        f"select session_date, sum(article_count), "
        f"sum(mean_sentiment_score * article_count) / nullif(sum(article_count), 0), "
        f"sum(positive_count), sum(negative_count) from {relation} "
        "group by 1 order by 1 desc limit 60").fetchall()[::-1]


def prediction_pairs(conn) -> list[tuple]:
    if not (_exists(conn, "ml.predictions") and _exists(conn, "curated.fct_daily_bars")):
        return []
    # Realised = log return from the as-of close to the target close: what the model predicts.
    return conn.execute(
        """
        with recent as (
            select distinct p.as_of_date from ml.predictions p
            where exists (select from curated.fct_daily_bars b where b.trade_date = p.target_date)
            order by 1 desc limit 5
        )
        select p.predicted_return, ln(b.close / a.close), p.ticker, p.as_of_date, p.model_name
        from ml.predictions p
        join recent using (as_of_date)
        join curated.fct_daily_bars a on a.ticker = p.ticker and a.trade_date = p.as_of_date
        join curated.fct_daily_bars b on b.ticker = p.ticker and b.trade_date = p.target_date
        where a.close > 0 and b.close > 0
        order by md5(p.ticker || p.as_of_date::text) limit %s
        """, (SCATTER_POINTS,)).fetchall()


# -- SVG pieces --------------------------------------------------------------------------------

def gauge(fraction: float | None, title: str, value: str, caption: str, state: str) -> str:
    """A half-circle gauge: the arc fills with `fraction` (1 = at the limit, capped at 1.5)."""
    shown = 0.0 if fraction is None else max(0.0, min(fraction, 1.5)) / 1.5
    radius, cx, cy = 50, 60, 60

    def point(share: float) -> tuple[float, float]:
        angle = math.pi * (1 - share)
        return cx + radius * math.cos(angle), cy - radius * math.sin(angle)

    x0, y0 = point(0)
    x1, y1 = point(1)
    xv, yv = point(shown)
    xl, yl = point(1 / 1.5)  # the SLA / limit mark
    arc = (f'<path d="M{x0:.1f},{y0:.1f} A{radius},{radius} 0 0 1 {xv:.1f},{yv:.1f}" '
           f'stroke="{COLORS[state]}" stroke-width="12" fill="none"/>' if shown > 0 else "")
    return (
        f'<figure class="gauge" data-tip="{esc(title)}: {esc(value)} ({esc(caption)})">'
        f'<svg viewBox="0 0 120 74" role="img" aria-label="{esc(title)}">'
        f'<path d="M{x0:.1f},{y0:.1f} A{radius},{radius} 0 0 1 {x1:.1f},{y1:.1f}" '
        f'stroke="#e3e6ec" stroke-width="12" fill="none"/>{arc}'
        f'<line x1="{cx + (xl - cx) * 0.78:.1f}" y1="{cy + (yl - cy) * 0.78:.1f}" '
        f'x2="{cx + (xl - cx) * 1.22:.1f}" y2="{cy + (yl - cy) * 1.22:.1f}" stroke="#333" '
        f'stroke-width="2"/>'
        f'<text x="60" y="58" text-anchor="middle" class="gv">{esc(value)}</text>'
        f'<text x="60" y="71" text-anchor="middle" class="gs" fill="{COLORS[state]}">'
        f'{esc(state)}</text></svg>'
        f'<figcaption><b>{esc(title)}</b><br>{esc(caption)}</figcaption></figure>')


def bar_chart(values: Sequence[tuple[str, float]], *, width: int = 640, height: int = 120,
              color: str = SERIES[0], label: str = "") -> str:
    if not values:
        return ""
    top = max(v for _, v in values) or 1
    step = width / len(values)
    bars = []
    for index, (name, value) in enumerate(values):
        h = (height - 30) * value / top
        bars.append(f'<rect x="{index * step + 1:.1f}" y="{height - 14 - h:.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{color}" '
                    f'data-tip="{esc(name)}: {esc(_fmt(value))}"/>')
    return (f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
            f'aria-label="{esc(label)}">{"".join(bars)}'
            f'<text x="0" y="10" class="axis">max {esc(_fmt(top))}</text>'
            f'<text x="0" y="{height - 2}" class="axis">{esc(values[0][0])}</text>'
            f'<text x="{width}" y="{height - 2}" class="axis" text-anchor="end">'
            f'{esc(values[-1][0])}</text></svg>')


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], names: Sequence[str],
                 colors: Sequence[str], *, width: int = 640, height: int = 140) -> str:
    top = max((sum(parts) for _, parts in rows), default=0) or 1
    step = width / max(len(rows), 1)
    shapes = []
    for index, (label, parts) in enumerate(rows):
        y = height - 14
        tip = f"{label}: " + ", ".join(f"{n} {_fmt(p)}" for n, p in zip(names, parts, strict=True))
        for part, color in zip(parts, colors, strict=True):
            h = (height - 30) * part / top
            y -= h
            if h > 0:
                shapes.append(f'<rect x="{index * step + 1:.1f}" y="{y:.1f}" '
                              f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{color}" '
                              f'data-tip="{esc(tip)}"/>')
    legend = "".join(f'<span class="key" style="background:{c}"></span>{esc(n)} '
                     for n, c in zip(names, colors, strict=True))
    return (f'<svg viewBox="0 0 {width} {height}" class="chart" role="img">{"".join(shapes)}'
            f'<text x="0" y="10" class="axis">max {esc(_fmt(top))}</text>'
            f'<text x="0" y="{height - 2}" class="axis">{esc(rows[0][0] if rows else "")}</text>'
            f'<text x="{width}" y="{height - 2}" class="axis" text-anchor="end">'
            f'{esc(rows[-1][0] if rows else "")}</text></svg><div class="legend">{legend}</div>')


def _diverging(value: float, scale: float) -> str:
    """Red for losses, green for gains, white at zero."""
    share = max(-1.0, min(1.0, value / scale)) if scale else 0.0
    target = (46, 157, 91) if share > 0 else (210, 65, 58)
    mix = [round(255 + (c - 255) * abs(share)) for c in target]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})"


def heatmap(cells: Sequence[tuple]) -> str:
    sectors = sorted({sector for sector, *_ in cells})
    days = sorted({day for _, day, *_ in cells})
    values = {(sector, day): (ret, n) for sector, day, ret, n in cells}
    scale = sorted(abs(ret) for _, _, ret, _ in cells)[int(0.95 * (len(cells) - 1))] or 0.01
    cell_w, cell_h, left, top = 28, 20, 170, 8
    width, height = left + cell_w * len(days) + 4, top + cell_h * len(sectors) + 40
    shapes = []
    for row, sector in enumerate(sectors):
        y = top + row * cell_h
        shapes.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" class="axis">'
                      f'{esc(sector)}</text>')
        for col, day in enumerate(days):
            if (sector, day) not in values:
                continue
            ret, count = values[(sector, day)]
            shapes.append(f'<rect x="{left + col * cell_w}" y="{y}" width="{cell_w - 1}" '
                          f'height="{cell_h - 1}" fill="{_diverging(ret, scale)}" '
                          f'data-tip="{esc(sector)} {day}: {ret * 100:+.2f}% mean of {count} '
                          f'tickers"/>')
    for col, day in enumerate(days):
        if col % 5 == 0 or col == len(days) - 1:
            shapes.append(f'<text x="{left + col * cell_w}" y="{top + len(sectors) * cell_h + 14}"'
                          f' class="axis">{day:%m-%d}</text>')
    legend = (f'<div class="legend"><span class="key" style="background:{_diverging(-scale, scale)}">'
              f'</span>{-scale * 100:.1f}% <span class="key" style="background:#fff;border:1px '
              f'solid #ccc"></span>0 <span class="key" style="background:'
              f'{_diverging(scale, scale)}"></span>+{scale * 100:.1f}%</div>')
    return (f'<svg viewBox="0 0 {width} {height}" class="chart wide" role="img" '
            f'aria-label="sector returns">{"".join(shapes)}</svg>{legend}')


def line_chart(points: Sequence[tuple[str, float]], *, low: float, high: float,
               width: int = 640, height: int = 160, color: str = SERIES[0]) -> str:
    if not points:
        return ""
    span = (high - low) or 1
    step = width / max(len(points) - 1, 1)

    def y(value: float) -> float:
        return 8 + (height - 28) * (high - value) / span

    path = " ".join(f"{'M' if i == 0 else 'L'}{i * step:.1f},{y(v):.1f}"
                    for i, (_, v) in enumerate(points))
    dots = "".join(f'<circle cx="{i * step:.1f}" cy="{y(v):.1f}" r="3" fill="{color}" '
                   f'data-tip="{esc(label)}: {v:+.3f}"/>' for i, (label, v) in enumerate(points))
    zero = (f'<line x1="0" x2="{width}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#bbb" '
            f'stroke-dasharray="4 3"/>' if low < 0 < high else "")
    return (f'<svg viewBox="-4 0 {width + 8} {height}" class="chart" role="img">{zero}'
            f'<path d="{path}" stroke="{color}" stroke-width="2" fill="none"/>{dots}'
            f'<text x="0" y="{height - 2}" class="axis">{esc(points[0][0])}</text>'
            f'<text x="{width}" y="{height - 2}" class="axis" text-anchor="end">'
            f'{esc(points[-1][0])}</text><text x="0" y="10" class="axis">{high:+.2f}</text>'
            f'<text x="0" y="{height - 16}" class="axis">{low:+.2f}</text></svg>')


def scatter(pairs: Sequence[tuple]) -> tuple[str, str]:
    xs = [float(p[0]) for p in pairs]
    ys = [float(p[1]) for p in pairs]
    bound = sorted(abs(v) for v in xs + ys)[int(0.98 * (len(xs + ys) - 1))] or 0.01
    size, pad = 360, 30

    def pos(value: float) -> float:
        return pad + (size - 2 * pad) * (max(-bound, min(bound, value)) + bound) / (2 * bound)

    dots = "".join(
        f'<circle cx="{pos(x):.1f}" cy="{size - pos(y):.1f}" r="2.5" fill="{SERIES[0]}" '
        f'fill-opacity="0.45" data-tip="{esc(t)} {d}: predicted {x * 100:+.2f}%, realised '
        f'{y * 100:+.2f}%"/>' for x, y, t, d, _ in pairs)
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((a - mean_x) * (b - mean_y) for a, b in zip(xs, ys, strict=True))
    var_x = sum((a - mean_x) ** 2 for a in xs)
    var_y = sum((b - mean_y) ** 2 for b in ys)
    corr = cov / math.sqrt(var_x * var_y) if var_x > 0 and var_y > 0 else float("nan")
    hits = sum((a > 0) == (b > 0) for a, b in zip(xs, ys, strict=True)) / n
    svg = (f'<svg viewBox="0 0 {size} {size}" class="chart square" role="img" '
           f'aria-label="predicted against realised">'
           f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
           f'fill="none" stroke="#ddd"/>'
           f'<line x1="{pos(-bound)}" y1="{size - pos(-bound)}" x2="{pos(bound)}" '
           f'y2="{size - pos(bound)}" stroke="#999" stroke-dasharray="4 3"/>'
           f'<line x1="{pos(0)}" y1="{pad}" x2="{pos(0)}" y2="{size - pad}" stroke="#eee"/>'
           f'<line x1="{pad}" y1="{size - pos(0)}" x2="{size - pad}" y2="{size - pos(0)}" '
           f'stroke="#eee"/>{dots}'
           f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle" class="axis">predicted '
           f'(±{bound * 100:.1f}%)</text><text x="10" y="{size / 2}" class="axis" '
           f'transform="rotate(-90 10 {size / 2})" text-anchor="middle">realised</text></svg>')
    summary = (f"{n:,} predictions; correlation {corr:.3f}; direction right "
               f"{hits * 100:.1f}% of the time")
    return svg, summary


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          states: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        state = states[index] if states else None
        cls = f' class="s-{state}"' if state else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>")
    return (f'<table class="sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


# -- the page ----------------------------------------------------------------------------------

def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def _guarded(build: Callable[[], str]) -> str:
    """One section's failure (a table being rebuilt, a column renamed) must not cost the page."""
    try:
        return build()
    except Exception as exc:  # the page says what went wrong where the chart would be
        return _note(f"could not draw this section: {type(exc).__name__}: {exc}"[:300])


def build_report(database: Database, settings: Settings, now: dt.datetime | None = None) -> str:
    status = collect(database, settings, now)
    with database.connect() as conn:
        sections = [
            _section("Health", _guarded(lambda: _health(status)), "health"),
            _section("Freshness against SLA", _guarded(lambda: _freshness(status)), "freshness"),
            _section("API quota today", _guarded(lambda: _quota(status)), "quota"),
            _section("Rows landed per day, by source", _guarded(lambda: _rows(conn)), "rows"),
            _section("Data quality: dbt test history", _guarded(lambda: _quality(conn)),
                     "quality"),
            _section("Quarantined bars", _guarded(lambda: _quarantine(conn)), "quarantine"),
            _section("Sector returns", _guarded(lambda: _sectors(conn)), "sectors"),
            _section("News sentiment over time", _guarded(lambda: _sentiment(conn)),
                     "sentiment"),
            _section("Predicted against realised returns", _guarded(lambda: _predictions(conn)),
                     "predictions"),
            _section("Recent runs", _guarded(lambda: _runs(status)), "runs"),
        ]
    return PAGE.format(
        title="tickerhouse report",
        generated=esc(f"{status.checked_at:%Y-%m-%d %H:%M %Z}"),
        database=esc(status.database),
        state_class="ok" if status.healthy else "fail",
        state="healthy" if status.healthy else f"not healthy: {len(status.problems)} problem(s)",
        nav="".join(f'<a href="#{a}">{esc(t)}</a>' for t, a in NAV),
        sections="".join(sections), style=STYLE, script=SCRIPT)


NAV = [("Health", "health"), ("Freshness", "freshness"), ("Quota", "quota"), ("Rows", "rows"),
       ("Quality", "quality"), ("Quarantine", "quarantine"), ("Sectors", "sectors"),
       ("Sentiment", "sentiment"), ("Predictions", "predictions"), ("Runs", "runs")]


def _health(status: Status) -> str:
    if not status.findings:
        return '<p class="good">Nothing stale, nothing failing.</p>'
    rows = [(f.state, f.area, f.message) for f in status.problems + status.warnings]
    return table(["state", "area", "why"], rows, [r[0] for r in rows])


def _freshness(status: Status) -> str:
    gauges = []
    for row in status.freshness:
        if row.latest is None:
            continue
        gauges.append(gauge(row.fraction, row.relation, row.detail.split(",")[0].removeprefix(
            "loaded ").removeprefix("latest "), row.sla, row.state))
    missing = [row.relation for row in status.freshness if row.latest is None]
    note = _note("No data yet in: " + ", ".join(missing)) if missing else ""
    if not gauges:
        return _note("Nothing has been loaded yet: run `tickerhouse run`.") + note
    return ('<p class="hint">The arc fills up to the SLA mark at two thirds; past it the data '
            'is late.</p><div class="gauges">' + "".join(gauges) + "</div>" + note)


def _quota(status: Status) -> str:
    if not status.quota:
        return _note("No API calls counted today (ops.api_quota_daily has no row for today).")
    gauges = []
    for row in status.quota:
        limit = row.day_limit or row.per_run
        fraction = row.calls / limit if limit else None
        caption = (f"{row.calls} of {row.day_limit} a day" if row.day_limit
                   else f"{row.calls} calls; no daily limit"
                   + (f", {row.per_run} per run" if row.per_run else ""))
        gauges.append(gauge(fraction, f"{row.vendor} · {row.key}", str(row.calls), caption,
                            row.state))
    return ('<p class="hint">Calls counted today per vendor and key; the mark is the daily limit '
            '(or the per-run budget where the vendor has no daily limit).</p>'
            '<div class="gauges">' + "".join(gauges) + "</div>")


def _rows(conn) -> str:
    per_vendor = rows_per_day(conn)
    if not per_vendor:
        return _note("The raw schema holds no landed rows yet.")
    parts = ['<p class="hint">Market bars by the session they are for; other feeds by the day '
             'they were fetched. Each source has its own scale.</p>']
    for index, (vendor, days) in enumerate(sorted(per_vendor.items())):
        values = [(f"{day}", float(count)) for day, count in sorted(days.items())]
        parts.append(f'<h3>{esc(vendor)} <small>{sum(days.values()):,} rows over '
                     f'{len(days)} day(s)</small></h3>'
                     + bar_chart(values, color=SERIES[index % len(SERIES)],
                                 label=f"{vendor} rows per day"))
    return "".join(parts)


def _quality(conn) -> str:
    invocations, failing = quality_history(conn)
    if not invocations:
        return _note("No dbt invocation recorded yet (ops.dbt_invocations): the first "
                     "`tickerhouse run` records one.")
    rows = [(f"{started:%m-%d %H:%M} {command}", (passed, warned, failed, skipped))
            for started, command, passed, warned, failed, skipped in invocations]
    chart = stacked_bars(rows, ["passed", "warned", "failed", "skipped"],
                         [COLORS[OK], COLORS[WARN], COLORS[FAIL], COLORS[INFO]])
    if failing:
        detail = table(["test", "model", "column", "failed runs", "warned runs", "last"],
                       [(n, m, c, f, w, f"{last:%Y-%m-%d}") for n, m, c, f, w, last in failing],
                       [FAIL if f else WARN for _, _, _, f, _, _ in failing])
    else:
        detail = _note("No test failed or warned in the last 30 days.")
    return chart + "<h3>Tests that failed or warned (30 days)</h3>" + detail


def _quarantine(conn) -> str:
    by_rule, by_day = quarantine_counts(conn)
    if not by_rule:
        exists = _exists(conn, "quarantine.quarantined_daily_bars")
        return _note("No bar is quarantined: every landed bar passes validation." if exists
                     else "quarantine.quarantined_daily_bars is not built yet.")
    top = max(count for _, count in by_rule)
    bars = "".join(
        f'<div class="hbar"><span>{esc(rule)}</span><i style="width:{60 * count / top:.1f}%;'
        f'background:{COLORS[WARN]}" data-tip="{esc(rule)}: {count:,}"></i>'
        f'<b>{count:,}</b></div>' for rule, count in by_rule)
    days = bar_chart([(f"{day}", float(count)) for day, count in by_day], color=COLORS[WARN],
                     label="quarantined bars per session")
    return (f"<h3>By first failed rule</h3>{bars}<h3>By session (latest {len(by_day)})</h3>"
            + days)


def _sectors(conn) -> str:
    cells = sector_returns(conn)
    if not cells:
        return _note("No returns yet: curated.fct_daily_indicators and curated.dim_ticker fill "
                     "after the first `tickerhouse run`.")
    return ('<p class="hint">Mean one-day return of each sector\'s tickers per session '
            '(close over the previous close); colour scale clipped at the 95th percentile.</p>'
            + heatmap(cells))


def _sentiment(conn) -> str:
    series = sentiment_series(conn)
    if not series:
        return _note("No scored news yet: curated.agg_ticker_daily_sentiment fills after "
                     "`tickerhouse sentiment run` (or `sentiment score` and the next "
                     "`tickerhouse run`).")
    scores = [(f"{day}", float(score or 0)) for day, _, score, _, _ in series]
    low = min(-0.1, min(s for _, s in scores))
    high = max(0.1, max(s for _, s in scores))
    articles = bar_chart([(f"{day}", float(count)) for day, count, *_ in series],
                         color=SERIES[1], height=90, label="articles per session")
    return ("<h3>Article-weighted mean sentiment score per session (−1 to 1)</h3>"
            + line_chart(scores, low=low, high=high) + "<h3>Scored articles per session</h3>"
            + articles)


def _predictions(conn) -> str:
    pairs = prediction_pairs(conn)
    if len(pairs) < 2:
        return _note("No prediction can be checked yet: ml.predictions needs a later session's "
                     "bars in curated.fct_daily_bars (the day after a run, it can).")
    svg, summary = scatter(pairs)
    days = sorted({str(p[3]) for p in pairs})
    return (f'<p class="hint">Next-session log returns, as-of {esc(", ".join(days))}; the '
            f'dashed line is a perfect forecast. {esc(summary)}.</p>' + svg)


def _runs(status: Status) -> str:
    if not status.runs:
        return _note("No run recorded yet (ops.pipeline_runs).")
    rows, states = [], []
    for run in status.runs:
        summary = run["summary"]
        took = (f"{(run['finished_at'] - run['started_at']).total_seconds():.0f} s"
                if run["finished_at"] else "")
        rows.append((run["run_id"], run["trade_date"] or "", run["trigger"], run["status"],
                     f"{run['started_at']:%Y-%m-%d %H:%M}", took,
                     f"{sum(summary['rows'].values()):,}",
                     ", ".join(f"{v} {n}" for v, n in summary["calls"].items()),
                     summary.get("model", "")))
        states.append({"done": OK, "failed": FAIL, "skipped": INFO}.get(run["status"], WARN))
    return table(["run", "date", "trigger", "status", "started", "took", "rows", "API calls",
                  "model"], rows, states)


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7fa}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header .meta{color:#b8c0d0;font-size:13px}.badge{display:inline-block;padding:2px 10px;
border-radius:12px;font-weight:600;margin-left:8px}.badge.ok{background:#2e9d5b}
.badge.fail{background:#d2413a}nav{padding:8px 24px;background:#fff;border-bottom:1px solid #e3e6ec;
position:sticky;top:0;z-index:2}nav a{margin-right:14px;color:#3b6fd4;text-decoration:none}
main{padding:8px 24px 40px;max-width:1100px}section{background:#fff;border:1px solid #e3e6ec;
border-radius:8px;padding:12px 18px;margin:14px 0}h2{font-size:17px;margin:4px 0 10px}
h3{font-size:14px;margin:14px 0 4px}h3 small{color:#8a94a6;font-weight:400}
.note{background:#fff8e6;border-left:4px solid #d99a1e;padding:8px 12px;margin:6px 0}
.good{background:#eaf6ef;border-left:4px solid #2e9d5b;padding:8px 12px;margin:6px 0}
.hint{color:#5b6578;margin:4px 0 8px}.gauges{display:flex;flex-wrap:wrap;gap:10px}
.gauge{margin:0;width:150px;text-align:center;font-size:12px;overflow-wrap:anywhere}.gauge svg{width:150px}
.gv{font-size:13px;font-weight:600}.gs{font-size:10px;text-transform:uppercase}
.chart{width:100%;max-width:720px;height:auto;display:block}.chart.wide{max-width:100%}
.chart.square{max-width:380px}.axis{font-size:10px;fill:#5b6578}
.legend{font-size:12px;color:#5b6578;margin:4px 0}.key{display:inline-block;width:10px;
height:10px;margin:0 4px 0 10px;vertical-align:middle}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #eef0f4}th{cursor:pointer;background:#fafbfc}
tr.s-fail td:first-child{border-left:4px solid #d2413a}tr.s-warn td:first-child{border-left:4px
solid #d99a1e}tr.s-ok td:first-child{border-left:4px solid #2e9d5b}
.hbar{display:flex;align-items:center;gap:8px;margin:3px 0}.hbar span{width:190px;font-size:12px}
.hbar i{display:inline-block;height:14px}.hbar b{font-size:12px}
#tip{position:fixed;pointer-events:none;background:#1d2330;color:#fff;padding:4px 8px;
border-radius:4px;font-size:12px;display:none;z-index:5;max-width:360px}
#errors{display:none;background:#d2413a;color:#fff;padding:8px 24px}
"""

SCRIPT = """
(function () {
  var errors = document.getElementById('errors');
  window.addEventListener('error', function (event) {
    errors.style.display = 'block';
    errors.textContent = 'This page hit a script error: ' + event.message;
  });
  var tip = document.getElementById('tip');
  document.addEventListener('mousemove', function (event) {
    var target = event.target.closest ? event.target.closest('[data-tip]') : null;
    if (!target) { tip.style.display = 'none'; return; }
    tip.textContent = target.getAttribute('data-tip');
    tip.style.display = 'block';
    tip.style.left = (event.clientX + 12) + 'px';
    tip.style.top = (event.clientY + 12) + 'px';
  });
  function cellValue(row, index) {
    var text = row.children[index] ? row.children[index].textContent.trim() : '';
    return /^[+-]?[0-9,]*[.]?[0-9]+ ?[%s]?$/.test(text)
      ? parseFloat(text.replace(/,/g, '')) : text.toLowerCase();
  }
  document.querySelectorAll('table.sortable th').forEach(function (header, index) {
    header.addEventListener('click', function () {
      var body = header.closest('table').querySelector('tbody');
      var ascending = header.getAttribute('data-order') !== 'asc';
      header.setAttribute('data-order', ascending ? 'asc' : 'desc');
      Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = cellValue(a, index), y = cellValue(b, index);
        return (x > y ? 1 : x < y ? -1 : 0) * (ascending ? 1 : -1);
      }).forEach(function (row) { body.appendChild(row); });
    });
  });
  document.documentElement.setAttribute('data-rendered', 'yes');
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body><div id="errors"></div>
<header><h1>tickerhouse <span class="badge {state_class}">{state}</span></h1>
<div class="meta">{database} · generated {generated}</div></header>
<nav>{nav}</nav><main>{sections}</main><div id="tip"></div>
<script>{script}</script></body></html>
"""

