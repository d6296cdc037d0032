"""`tickerhouse report`: a self-contained page that renders in headless Chromium with no
console errors, full or empty."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from orchestration.cli import main
from tests.ops.fixtures import empty, healthy_warehouse

CHROMIUM = next((path for path in (shutil.which("chromium"), "/usr/bin/chromium") if path
                 and shutil.which(path)), None)
SECTIONS = ("health", "freshness", "quota", "rows", "quality", "quarantine", "sectors",
            "sentiment", "predictions", "runs")


@pytest.fixture(scope="module")
def scratch(scratch_databases):
    return scratch_databases("th_test_ops_report")


@pytest.fixture()
def warehouse(scratch, monkeypatch):
    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", scratch.url())
    return empty(scratch)


def write_report(tmp_path, capsys) -> str:
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out)]) == 0
    assert f"report written to {out}" in " ".join(capsys.readouterr().out.split())
    return out.read_text()


def render(path, tmp_path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and every console message Chromium logged."""
    if CHROMIUM is None:
        pytest.skip("no chromium binary: apt-get install -y chromium (Debian's package)")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=2000", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def assert_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external resource"
    assert "@import" not in page and "url(" not in page


def test_full_report_renders_every_chart_without_console_errors(warehouse, tmp_path, capsys):
    healthy_warehouse(warehouse, extras=True)
    page = write_report(tmp_path, capsys)
    assert_self_contained(page)
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page
    assert page.count("<svg") >= 10
    assert "No data yet" not in page.split('id="sectors"')[1]  # the charts drew, not notes
    assert "could not draw" not in page
    assert "duplicate" in page and "volume_zscore" in page  # quarantine and quality detail
    assert "predictions; correlation" in page

    dom, console = render(tmp_path / "report.html", tmp_path)
    assert console == []
    assert 'data-rendered="yes"' in dom  # the page's script ran to its end
    assert '<div id="errors"></div>' in dom  # nothing caught by the page's error handler


def test_empty_database_report_says_what_is_missing(warehouse, tmp_path, capsys):
    page = write_report(tmp_path, capsys)
    assert_self_contained(page)
    assert "not healthy" in page
    assert "Nothing has been loaded yet" in page
    assert "No run recorded yet" in page
    assert "No scored news yet" in page
    assert "could not draw" not in page
    dom, console = render(tmp_path / "report.html", tmp_path)
    assert console == []
    assert 'data-rendered="yes"' in dom and '<div id="errors"></div>' in dom


def test_report_into_a_missing_folder_is_one_line(warehouse, tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "nowhere" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
