"""Progress bars draw on a terminal and stay silent otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from orchestration.progress import CountingScorer, progress_bar


def run(console: Console) -> None:
    with progress_bar("landing sessions", console=console) as advance:
        advance(0, total=4)
        for _ in range(4):
            advance()


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    run(Console(file=out))
    assert out.getvalue() == ""


def test_draws_on_a_terminal():
    out = io.StringIO()
    run(Console(file=out, force_terminal=True, width=100))
    assert "landing sessions" in out.getvalue() and "4/4" in out.getvalue()


def test_counting_scorer_counts_batches_and_delegates():
    class Scorer:
        name, version = "lexicon", "1"

        def score(self, texts):
            return [len(t) for t in texts]

    seen = []
    scorer = CountingScorer(Scorer(), lambda steps: seen.append(steps))
    assert scorer.score(["a", "bb"]) == [1, 2] and scorer.score(["ccc"]) == [3]
    assert seen == [2, 1] and scorer.name == "lexicon" and scorer.version == "1"
