"""How busy the shared machine is, so a bench times its work when nothing else runs.

The machine is shared: a neighbour on one of its two cores halves what a bench measures, and a
disk still writing back gigabytes (after a bulk load) slows every read. The figures come from
/proc (all processes, all disks), since a timed step's own work runs in other processes too
(PostgreSQL's backends, dbt's subprocess) and cannot be told apart.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

QUIET_CORES = 0.25  # below this, over a whole window, the CPUs count as quiet
QUIET_DISK_MB_S = 4.0  # and below this (read + written), the disks
_WHOLE_DISK = re.compile(r"(sd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+)")


def busy_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def disk_megabytes(written: bool = True) -> float:
    """Megabytes read (and written, unless not `written`) by every whole disk so far, from
    /proc/diskstats."""
    total = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if _WHOLE_DISK.fullmatch(fields[2]):
            total += int(fields[5]) + (int(fields[9]) if written else 0)  # sectors (512 B)
    return total * 512 / 1e6


def busy_over(seconds: float) -> tuple[float, float]:
    """(cores kept busy, disk MB/s) on average over the next `seconds`, the caller idle."""
    cpu, disk, start = busy_cpu_seconds(), disk_megabytes(), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    return (busy_cpu_seconds() - cpu) / elapsed, (disk_megabytes() - disk) / elapsed


def wait_until_quiet(window: float = 10.0, max_wait: float = 3600.0) -> tuple[float, bool]:
    """Wait (idle) until a `window` in which the machine used under QUIET_CORES and its disks
    moved under QUIET_DISK_MB_S, or `max_wait` passed.

    Returns (seconds waited beyond the first window, whether the last window was quiet): a
    caller still busy after `max_wait` timed a busy machine and should say so.
    """
    start = time.monotonic()
    while True:
        cores, disk = busy_over(window)
        waited = time.monotonic() - start - window
        quiet = cores < QUIET_CORES and disk < QUIET_DISK_MB_S
        if quiet or waited >= max_wait:
            return max(0.0, waited), quiet
