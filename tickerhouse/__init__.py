"""tickerhouse core: settings, database access, the market calendar and user-facing errors.

Everything else (extract, ml, cache, orchestration) imports from here; this package
imports from none of them.
"""

import os

# OpenMP threads (scikit-learn's gradient boosting, torch) spin while they wait for work by
# default. On the small shared machine this platform runs on, with Postgres busy on the other
# core, that turned a 5-second model fit into minutes (measured: 26k rows x 100 trees, 189 s
# spinning vs 4.8 s passive). Waiting threads sleep instead; set before any OpenMP runtime
# loads, which is why it lives here, in the package every process imports first. An operator's
# own OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from tickerhouse.errors import UserError  # noqa: E402

__all__ = ["UserError"]
