"""The runbook's commands exist: each `tickerhouse …` line in docs/runbook.md names a real verb
and parses with its options, so the runbook cannot drift from the CLI unnoticed."""

from __future__ import annotations

import re
import shlex

import pytest
import typer.main

from orchestration.cli import app
from tickerhouse.settings import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
SAMPLE = {"D": "2026-11-24", "D1": "2026-11-02", "D2": "2026-11-24", "ID": "1"}


def runbook_commands() -> list[str]:
    text = (DOCS / "runbook.md").read_text()
    inline = re.findall(r"`(tickerhouse [^`]+)`", text)
    blocks = [line.split("#")[0].strip()
              for block in re.findall(r"```sh\n(.*?)```", text, re.S)
              for line in block.splitlines() if line.strip().startswith("tickerhouse ")]
    return sorted(c for c in set(inline + blocks) if "<" not in c)  # not `tickerhouse <verb>`


def resolve(args: list[str]) -> None:
    """Walk the verb path and parse the options, as the command line would, running nothing."""
    command = typer.main.get_command(app)
    path = []
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        path.append(args.pop(0))
        command = command.commands.get(path[-1])
        assert command is not None, f"no verb {' '.join(path)!r}"
    assert not hasattr(command, "commands"), f"{' '.join(path)!r} is a group, not a verb"
    command.make_context(" ".join(path), args)  # raises on an unknown or malformed option


def test_runbook_cites_commands():
    commands = runbook_commands()
    for verb in ("status", "extract --replay-dead-letters", "run --date", "backfill", "plan",
                 "resolve-alerts", "ml train"):
        assert any(c.startswith(f"tickerhouse {verb}") for c in commands), verb


@pytest.mark.parametrize("line", runbook_commands())
def test_runbook_command_parses(line):
    resolve([SAMPLE.get(word, word) for word in shlex.split(line)[1:]])


def test_docs_are_linked_from_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in ("design.md", "runbook.md", "cost.md"):
        assert (DOCS / name).exists()
        assert f"(docs/{name})" in readme
