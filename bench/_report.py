"""Write one benchmark's results into docs/benchmarks.md as its own section.

Every bench script calls `write_section(name, body_markdown)`. The section is
replaced in place between markers, so benches can be rerun one at a time and the
file keeps the others' latest results. Each section records the machine and date,
because numbers from this shared, noisy machine only mean something as ratios
against a baseline measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (each section by its own script in `bench/`). Figures are from one\n"
    "run on the machine named in the section; compare ratios within a section, not absolute\n"
    "times across machines.\n"
)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gib = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem_gib}, Python {platform.python_version()}"


def write_section(name: str, body: str) -> Path:
    """Replace (or append) the section called `name` in docs/benchmarks.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n"
        f"## {name}\n\n"
        f"_Measured {stamp} on {machine_description()}._\n\n"
        f"{body.strip()}\n"
        f"<!-- /bench:{name} -->\n"
    )
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    return REPORT
