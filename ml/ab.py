"""Scoring the A/B arms once realised returns arrive, and promoting the challenger only when it
beats the champion by a statistically meaningful margin over a minimum window.

Per as-of date, each arm's rank IC over its own tickers (the hash split makes the arms random
halves of the universe); the daily differences challenger - champion are tested with a
Newey–West t-statistic (5-day targets overlap). Promotion needs at least `min_days` days, a mean
difference above `min_margin` and a t-statistic above `min_tstat`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import schema
from ml.evaluation import daily_rank_ic, newey_west_tstat
from ml.features import HORIZON
from tickerhouse.database import Database


@dataclass
class ABResult:
    as_of: dt.date
    decision: str  # no_challenger, waiting, keep_champion, promoted
    days: int = 0
    ic_champion: float = float("nan")
    ic_challenger: float = float("nan")
    mean_difference: float = float("nan")
    t_stat: float = float("nan")
    champion_version: str | None = None
    challenger_version: str | None = None


def realised(database: Database, champion: str, challenger: str, through: dt.date) -> pd.DataFrame:
    """Served predictions of the two versions whose target date has a bar by `through`, with
    the realised log return."""
    with database.connect() as conn:
        cursor = conn.execute("""
            select p.as_of_date, p.ticker, p.ab_arm, p.predicted_return,
                   ln(later.close / base.close) as realised_return
            from ml.predictions p
            join curated.fct_daily_bars base on base.ticker = p.ticker and base.trade_date = p.as_of_date
            join curated.fct_daily_bars later on later.ticker = p.ticker and later.trade_date = p.target_date
            where p.horizon_sessions = %(h)s and p.target_date <= %(through)s
              and p.ab_arm is not null
              and ((p.ab_arm = 'champion' and p.served_by = 'champion'
                    and p.model_version = %(champion)s)
                or (p.ab_arm = 'challenger' and p.served_by = 'challenger'
                    and p.model_version = %(challenger)s))
            """, {"h": HORIZON, "through": through, "champion": champion, "challenger": challenger})
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


def evaluate(database: Database, registry, as_of: dt.date, *, min_days: int = 20,
             min_tstat: float = 2.0, min_margin: float = 0.0) -> ABResult:
    from ml.registry import CHALLENGER, CHAMPION

    schema.ensure_tables(database)
    aliases = registry.aliases()
    if CHAMPION not in aliases or CHALLENGER not in aliases:
        return ABResult(as_of, "no_challenger", champion_version=aliases.get(CHAMPION))
    champion, challenger = aliases[CHAMPION], aliases[CHALLENGER]
    rows = realised(database, champion, challenger, as_of)
    result = ABResult(as_of, "waiting", champion_version=champion, challenger_version=challenger)
    if not rows.empty:
        ic = {arm: daily_rank_ic(group["as_of_date"], group["predicted_return"],
                                 group["realised_return"])
              for arm, group in rows.groupby("ab_arm")}
        both = pd.concat(ic, axis=1).dropna() if len(ic) == 2 else pd.DataFrame()
        if not both.empty:
            difference = both["challenger"] - both["champion"]
            result.days = len(both)
            result.ic_champion = float(both["champion"].mean())
            result.ic_challenger = float(both["challenger"].mean())
            result.mean_difference = float(difference.mean())
            result.t_stat = newey_west_tstat(difference, lags=HORIZON - 1)
    if result.days >= min_days:
        meaningful = (result.mean_difference > min_margin and np.isfinite(result.t_stat)
                      and result.t_stat > min_tstat)
        result.decision = "promoted" if meaningful else "keep_champion"
        if meaningful:
            registry.promote(challenger)
    with database.connect() as conn:
        conn.execute(
            "insert into ml.ab_evaluations (as_of_date, champion_version, challenger_version, days, "
            "ic_champion, ic_challenger, mean_difference, t_stat, decision) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (as_of, champion, challenger, result.days, *(
                None if not np.isfinite(v) else v for v in (
                    result.ic_champion, result.ic_challenger, result.mean_difference, result.t_stat)),
             result.decision))
    return result
