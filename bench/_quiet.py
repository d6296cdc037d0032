"""How busy the shared machine is, so a bench times its work when nothing else runs.

The machine is shared: a neighbour on one of its two cores halves what a bench measures. The
figures come from /proc/stat (all processes, all cores), since a timed step's own work runs in
other processes too (PostgreSQL's backends, dbt's subprocess) and cannot be told apart.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

QUIET_CORES = 0.25  # below this, over a whole window, the machine counts as quiet


def busy_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def busy_cores(seconds: float) -> float:
    """Cores kept busy, on average, over the next `seconds` (the caller idle meanwhile)."""
    before, start = busy_cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (busy_cpu_seconds() - before) / (time.monotonic() - start)


def wait_until_quiet(window: float = 10.0, max_wait: float = 3600.0) -> tuple[float, float]:
    """Wait (idle) until a `window` in which the machine used under QUIET_CORES, or `max_wait`.

    Returns (seconds waited beyond the first window, cores busy in the last window): a caller
    whose last window was not quiet after `max_wait` timed a busy machine and should say so.
    """
    start = time.monotonic()
    while True:
        cores = busy_cores(window)
        waited = time.monotonic() - start - window
        if cores < QUIET_CORES or waited >= max_wait:
            return max(0.0, waited), cores
