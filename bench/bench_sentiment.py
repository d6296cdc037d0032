"""News sentiment scoring: the lexicon's accuracy against the emulator's ground truth, and
headlines per second for the lexicon and for a bert-base-sized classifier (random weights,
the size of ProsusAI/finbert) in fp32 and with dynamic int8 quantisation.

Targets (issue 7): the lexicon scores 10,000 headlines in under 2 s; int8 bert-base scores at
least 100 headlines/s on 2 cores. The transformer is timed through `TransformerScorer`, the
production path (tokenising, length-sorted batches of 32, softmax), timed in passes during
which the rest of the shared machine was quiet (see `quiet_per_second`).

Run: python -m bench.bench_sentiment
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from bench._quiet import QUIET_CORES as QUIET  # noqa: E402
from bench._quiet import busy_cpu_seconds  # noqa: E402
from emulator import Emulator, EmulatorConfig  # noqa: E402
from ml.sentiment.articles import from_finnhub  # noqa: E402
from ml.sentiment.config import SentimentConfig  # noqa: E402
from ml.sentiment.scorers import LABELS, LexiconScorer, TransformerScorer  # noqa: E402

AS_OF = dt.datetime(2025, 6, 6, 21, 30, tzinfo=ZoneInfo("America/New_York"))
NEWS_FROM, NEWS_TO = "2025-01-02", "2025-06-06"
N_TICKERS = 300
LEXICON_HEADLINES = 10_000
MODEL_TEXTS = 192
BATCH = 32
CUT = 24
MAX_PASSES = 8


def emulator_news() -> tuple[list, list[dict]]:
    """Finnhub company news for every ticker (with summaries), and every labelled article of the
    window (ticker, sector and market news; headlines only)."""
    config = EmulatorConfig(seed=42, n_tickers=N_TICKERS, as_of=AS_OF, freeze_clock=True,
                            limits_enabled=False, plans={"bench": "paid"})
    with Emulator(config) as emu, httpx.Client(base_url=emu.url, timeout=120) as client:
        def get(path: str, **params):
            response = client.get(path, params=params)
            response.raise_for_status()
            return response.json()

        window = {"from": NEWS_FROM, "to": NEWS_TO}
        tickers = [row["ticker"] for row in get("/_emulator/universe", date=NEWS_TO)["tickers"]]
        finnhub = [a for t in tickers
                   for item in get("/api/v1/company-news", symbol=t, token="bench", **window)
                   if (a := from_finnhub(item)) is not None]
        labels = get("/_emulator/news/labels", **window)["labels"]
    by_url = {row["url"]: row["label"] for row in labels}
    return [(a, by_url[a.url]) for a in finnhub if a.url in by_url], labels


def confusion_table(predicted: list[str], truth: list[str]) -> str:
    counts = Counter(zip(truth, predicted, strict=True))
    rows = ["| truth \\ lexicon | " + " | ".join(LABELS) + " | recall |", "|---" * 5 + "|"]
    for t in LABELS:
        total = sum(counts[(t, p)] for p in LABELS)
        rows.append(f"| {t} | " + " | ".join(f"{counts[(t, p)]:,}" for p in LABELS)
                    + f" | {counts[(t, t)] / total:.0%} |")
    return "\n".join(rows)


def accuracy(predicted: list[str], truth: list[str]) -> float:
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def per_second(score, texts: list[str], repeats: int = 3) -> float:
    best = min(_elapsed(score, texts) for _ in range(repeats))
    return len(texts) / best


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def quiet_per_second(score, texts: list[str]) -> tuple[float, float]:
    """(texts per second, cores other processes kept busy meanwhile) of the fastest quiet pass.

    The machine is shared, and a neighbour on one of the two cores halves a two-thread torch
    run. Each pass measures what the rest of the machine used during it; passes go on until two
    were quiet (neighbours under a quarter of a core) or MAX_PASSES ran. The first pass also
    warms up every batch shape.
    """
    passes: list[tuple[float, float]] = []
    for _ in range(MAX_PASSES):
        busy, own, start = busy_cpu_seconds(), _own_cpu_seconds(), time.perf_counter()
        score(texts)
        wall = time.perf_counter() - start
        others = max(0.0, (busy_cpu_seconds() - busy - (_own_cpu_seconds() - own)) / wall)
        passes.append((wall, others))
        if len(passes) > 1 and sum(o < QUIET for _, o in passes[1:]) >= 2:
            break
        if others >= QUIET:
            time.sleep(5)
    timed = passes[1:]
    quiet = [p for p in timed if p[1] < QUIET] or timed
    wall, others = min(quiet)
    return len(texts) / wall, others


def _elapsed(score, texts: list[str]) -> float:
    start = time.perf_counter()
    score(texts)
    return time.perf_counter() - start


def main() -> str:
    import torch
    from transformers import AutoTokenizer

    from ml.sentiment.testing import BERT_BASE, build_random_classifier

    t0 = time.perf_counter()
    company_news, labelled = emulator_news()
    fetch_s = time.perf_counter() - t0

    start = time.perf_counter()
    lexicon = LexiconScorer()
    lexicon_load_s = time.perf_counter() - start
    truth = [label for _, label in company_news]
    with_summary = [s.label for s in lexicon.score([a.text for a, _ in company_news])]
    headline_only = [s.label for s in lexicon.score([a.headline for a, _ in company_news])]
    all_truth = [row["label"] for row in labelled]
    all_headlines = [s.label for s in lexicon.score([row["title"] for row in labelled])]
    majority = Counter(truth).most_common(1)[0][1] / len(truth)
    all_majority = Counter(all_truth).most_common(1)[0][1] / len(all_truth)

    headlines = [row["title"] for row in labelled]
    lexicon_texts = (headlines * (LEXICON_HEADLINES // len(headlines) + 1))[:LEXICON_HEADLINES]
    lexicon_rate = per_second(lexicon.score, lexicon_texts)
    long_texts = [a.text for a, _ in company_news]
    lexicon_long_rate = per_second(lexicon.score, (long_texts * 10)[:LEXICON_HEADLINES])

    sample = headlines[::max(1, len(headlines) // MODEL_TEXTS)][:MODEL_TEXTS]
    texts_sample = long_texts[::max(1, len(long_texts) // MODEL_TEXTS)][:MODEL_TEXTS]
    model_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        build_start = time.perf_counter()
        model_dir = build_random_classifier(Path(tmp) / "bert-base-random", headlines,
                                            wordpiece_size=4000, **BERT_BASE)
        build_s = time.perf_counter() - build_start
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        tokens = statistics.mean(len(tokenizer(t)["input_ids"]) for t in sample)
        text_tokens = statistics.mean(min(128, len(tokenizer(t)["input_ids"])) for t in texts_sample)
        for quantize in (False, True):
            load_start = time.perf_counter()
            scorer = TransformerScorer.load(SentimentConfig(model=str(model_dir), batch_size=BATCH,
                                                            quantize=quantize))
            load_s = time.perf_counter() - load_start
            rate, busy_headlines = quiet_per_second(scorer.score, sample)
            text_rate, busy_texts = quiet_per_second(scorer.score, texts_sample)
            # Every text exactly CUT tokens long: the length bert-base-uncased gives real headlines.
            cut = TransformerScorer.load(SentimentConfig(model=str(model_dir), batch_size=BATCH,
                                                         quantize=quantize, max_length=CUT))
            cut_rate, busy_cut = quiet_per_second(cut.score, texts_sample)
            model_rows.append(("int8 (dynamic)" if quantize else "fp32", rate, cut_rate, text_rate, load_s,
                               max(busy_headlines, busy_texts, busy_cut)))

    int8_rate, int8_cut = model_rows[1][1], model_rows[1][2]
    lexicon_10k_s = LEXICON_HEADLINES / lexicon_rate
    accuracy_rows = "\n".join(
        f"| {what} | {text} | {n:,} | {acc:.1%} | {base:.1%} |" for what, text, n, acc, base in (
        ("Finnhub company news", "headline + summary (what production scores)", len(truth),
         accuracy(with_summary, truth), majority),
        ("Finnhub company news", "headline only", len(truth), accuracy(headline_only, truth), majority),
        ("every labelled article (ticker, sector, market)", "headline only", len(all_truth),
         accuracy(all_headlines, all_truth), all_majority)))
    errors = Counter((t, p) for t, p in zip(truth, with_summary, strict=True) if t != p)
    (worst_truth, worst_predicted), worst = errors.most_common(1)[0]
    words = lexicon.describe()
    model_table = "\n".join(
        f"| bert-base, random weights, {name} | {rate:,.0f} | {cut:,.0f} | {text:,.0f} | {load:.1f} "
        f"| {busy:.2f} |" for name, rate, cut, text, load, busy in model_rows)
    return f"""
Emulated news (seed 42, {N_TICKERS} tickers, {NEWS_FROM} to {NEWS_TO}; fetched in {fetch_s:.1f} s).
Ground truth is the emulator's label for each article (positive > 0.25 ≥ neutral ≥ -0.25 >
negative). Torch {torch.__version__}, {torch.get_num_threads()} threads.

### Lexicon (Loughran–McDonald) accuracy against ground truth

| articles | text scored | n | accuracy | always the commonest label |
|---|---|---|---|---|
{accuracy_rows}

Company news, headline + summary:

{confusion_table(with_summary, truth)}

The commonest error is {worst_truth} news called {worst_predicted} ({worst:,} of
{sum(errors.values()):,} errors). The dictionary comes from 10-K filings: it has few of the
market verbs headlines use (jump, rally, surge, climb are not in it) and far more negative words
than positive ones ({words["negative_words"]:,} against {words["positive_words"]:,}).

### Throughput

| scorer | headlines/s | texts/s, {CUT} tokens each | headline + summary texts/s | load s | neighbours' cores |
|---|---|---|---|---|---|
| lexicon | {lexicon_rate:,.0f} | | {lexicon_long_rate:,.0f} | {lexicon_load_s:.2f} | |
{model_table}

- Lexicon: {LEXICON_HEADLINES:,} headlines in {lexicon_10k_s:.2f} s (target: under 2 s):
  **{"meets" if lexicon_10k_s < 2 else "MISSES"}**.
- bert-base int8: {int8_rate:,.0f} headlines/s at {tokens:.0f} tokens, {int8_cut:,.0f}/s at {CUT}
  tokens (target: at least 100 headlines/s on 2 cores):
  **{"meets" if int8_cut >= 100 else "MISSES"}** at {CUT} tokens; int8 runs
  {int8_rate / model_rows[0][1]:.1f}× fp32.
- Transformer timing: {len(sample)} headlines (mean {tokens:.1f} tokens with [CLS]/[SEP]),
  {len(texts_sample)} headline + summary texts cut at {CUT} tokens, and the same texts cut at
  128 (mean {text_tokens:.1f} tokens, what production scores), in length-sorted batches of
  {BATCH}. The machine is shared: each figure is the fastest pass during which other processes
  used under {QUIET} of a core, if any was (the last column: the most they used in a counted
  pass). No BERT vocabulary ships on PyPI here, so the
  tokenizer is a 4,000-word WordPiece vocabulary trained on these headlines; it knows the
  emulator's invented company names whole, so headlines come out shorter than
  bert-base-uncased would cut them (about 23 tokens for real headlines, measured earlier on
  this machine class): the {CUT}-token column is the one to read against the target. Building
  and saving the random model took {build_s:.1f} s; "load s" includes hashing the weights for
  the scorer version.
"""


if __name__ == "__main__":
    markdown = main()
    print(markdown)
    from bench._report import write_section

    write_section("sentiment scoring", markdown)
