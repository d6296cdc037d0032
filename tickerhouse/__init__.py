"""tickerhouse core: settings, database access, the market calendar and user-facing errors.

Everything else (extract, ml, cache, orchestration) imports from here; this package
imports from none of them.
"""

from tickerhouse.errors import UserError

__all__ = ["UserError"]
