"""python -m emulator serve --port 8765 --seed 42 --tickers 6000 [--plan KEY=paid ...]"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from .config import PLANS, EmulatorConfig
from .faults import PROFILES


def _plan(text: str) -> tuple[str, str]:
    key, sep, plan = text.partition("=")
    if not sep or not key or plan not in PLANS:
        raise argparse.ArgumentTypeError(
            f"expected KEY=PLAN with PLAN one of {', '.join(PLANS)}, got {text!r}"
        )
    return key, plan


def _as_of(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("--as-of needs a timezone, e.g. 2024-01-05T21:00:00-05:00")
    return when


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Offline Polygon / Finnhub / Alpha Vantage / NewsAPI emulator."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve all four vendors on one address until interrupted")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed at start)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--tickers", type=int, default=6000, help="universe size (rows per grouped-daily file)")
    s.add_argument(
        "--plan",
        type=_plan,
        action="append",
        default=[],
        metavar="KEY=PLAN",
        help=f"map an API key to a plan ({', '.join(PLANS)}); other keys are free",
    )
    s.add_argument("--fault-profile", choices=sorted(PROFILES), default=None)
    s.add_argument("--no-limits", action="store_true", help="turn every rate and day limit off")
    s.add_argument("--as-of", type=_as_of, default=None, help="what the emulator believes is now (ISO 8601)")
    s.add_argument("--market-start", type=dt.date.fromisoformat, default=dt.date(2015, 1, 2))
    s.add_argument("--planted-signal", type=float, default=0.0)
    args = parser.parse_args(argv)

    from .server import App, _Server

    config = EmulatorConfig(
        seed=args.seed,
        n_tickers=args.tickers,
        as_of=args.as_of,
        market_start=args.market_start,
        plans=dict(args.plan),
        limits_enabled=not args.no_limits,
        fault_profile=args.fault_profile,
        planted_signal=args.planted_signal,
    )
    server = _Server((args.host, args.port), App(config))
    host, port = server.server_address[:2]
    print(f"vendor emulator on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
