"""Progress bars for long verbs (backfill, bulk scoring), drawn on stderr by rich and only when
stderr is a terminal: piped, logged or under Airflow they print nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None, *,
                 console: Console | None = None) -> Iterator[Callable[..., None]]:
    """Yields `advance(steps=1, total=None)`; `total` may arrive late (None: a spinner and a
    count until it does)."""
    console = console or Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total)

        def advance(steps: int = 1, total: int | None = None) -> None:
            if total is not None:
                progress.update(task, total=total)
            progress.advance(task, steps)

        yield advance


class CountingScorer:
    """Wraps a sentiment scorer so each batch it scores advances a progress bar; everything
    else (name, version, describe) is the wrapped scorer's."""

    def __init__(self, scorer: Any, advance: Callable[..., None]) -> None:
        self._scorer, self._advance = scorer, advance

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scorer, name)

    def score(self, texts: Sequence[str]) -> list[Any]:
        scores = self._scorer.score(texts)
        self._advance(len(texts))
        return scores
