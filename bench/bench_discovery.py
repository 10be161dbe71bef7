"""troth's detectors vs Presidio's pattern recognizers on the labelled corpus (not a test).

Presidio (``pip install -e '.[bench]'``) runs as its ``AnalyzerEngine`` with the predefined English
recognizers minus the NLP-model ones (``SpacyRecognizer`` and the like), and an ``NlpEngine`` that
loads no model (it returns no tokens, so no context words are used). Its e-mail check reads the
public suffix list shipped in ``tldextract`` (no download).

Accuracy: one pass of each over the whole corpus (``bench/data/discovery_corpus.jsonl.gz``, see
``bench/discovery_corpus.py``); a predicted span counts when it overlaps a labelled span of the same
entity type (one to one). troth runs at its default minimum confidence (0.5, not tuned); Presidio
gets, for each entity type, the score threshold (0.0, 0.1, ... 0.9) that gives it its best F1.

Throughput: ``--rounds`` rounds; each draws ``--sample`` texts and times troth and Presidio on the
same texts, alternating who goes first; texts per second per round, median and spread (min-max).
Each engine passes over the sample until ``--min-seconds`` (0.25 s) have gone by, at least once:
Presidio's one pass takes about a second, troth's about 20 ms, too short a window to time alone.

    .venv/bin/python bench/bench_discovery.py
    .venv/bin/python bench/bench_discovery.py --rounds 41 --sample 200
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "src"))

from discovery_corpus import Label, load
from troth.discovery import Scanner

#: entity types Presidio's English pattern recognizers also find
SHARED = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "UK_NHS",
)
THRESHOLDS = [i / 10 for i in range(10)]

Pred = tuple[int, int, str, float]


def presidio_engine() -> Callable[[str], list[Pred]]:
    import tldextract
    import tldextract.tldextract as tx
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

    tx.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())  # the shipped list, offline
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

    class NoModel(NlpEngine):  # type: ignore[misc]
        """An NLP engine that loads no model and returns no tokens."""

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts(
                entities=[],
                tokens=[],
                tokens_indices=[],
                lemmas=[],
                nlp_engine=self,
                language=language,
            )

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):  # type: ignore[no-untyped-def]
            for t in texts:
                yield t, self.process_text(t, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"])
    for name in ("SpacyRecognizer", "StanzaRecognizer", "TransformersRecognizer"):
        with contextlib.suppress(Exception):  # not loaded in this version
            registry.remove_recognizer(name)
    engine = AnalyzerEngine(registry=registry, nlp_engine=NoModel(), supported_languages=["en"])
    print(
        "presidio recognizers:", ", ".join(sorted({type(r).__name__ for r in registry.recognizers}))
    )

    def run(text: str) -> list[Pred]:
        return [
            (r.start, r.end, r.entity_type, r.score) for r in engine.analyze(text, language="en")
        ]

    return run


def troth_engine() -> Callable[[str], list[Pred]]:
    scanner = Scanner()

    def run(text: str) -> list[Pred]:
        return [(s.start, s.end, s.entity, s.confidence) for s in scanner.scan(text)]

    return run


def score(
    gold: Sequence[list[Label]], preds: Sequence[list[Pred]], entity: str, threshold: float
) -> tuple[float, float, float, int]:
    tp = fp = fn = 0
    for labels, found in zip(gold, preds, strict=True):
        g = [(a, b) for a, b, e in labels if e == entity]
        p = [(a, b) for a, b, e, s in found if e == entity and s >= threshold]
        used: set[int] = set()
        for a, b in p:
            hit = next((i for i, (c, d) in enumerate(g) if i not in used and a < d and c < b), None)
            if hit is None:
                fp += 1
            else:
                used.add(hit)
                tp += 1
        fn += len(g) - len(used)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, tp + fn


def timed(
    run: Callable[[str], list[Pred]], texts: Sequence[str], min_seconds: float = 0.0
) -> tuple[float, float]:
    """Texts per second of wall-clock time and of the thread's CPU time: passes over ``texts``
    until ``min_seconds`` have gone by (at least one), so a fast engine is not timed over a
    window so short that one scheduler hiccup decides its figure."""
    done = 0
    t0, c0 = time.perf_counter(), time.thread_time()
    while True:
        for t in texts:
            run(t)
        done += len(texts)
        if time.perf_counter() - t0 >= min_seconds:
            break
    return done / (time.perf_counter() - t0), done / (time.thread_time() - c0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--sample", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--min-seconds",
        type=float,
        default=0.25,
        help="each engine passes over its sample until this long has gone by (at least once)",
    )
    args = ap.parse_args()
    corpus = load()
    texts = [t for t, _ in corpus]
    gold = [labels for _, labels in corpus]
    print(f"corpus: {len(texts)} texts, {sum(map(len, gold))} entities; load {os.getloadavg()}")
    troth, presidio = troth_engine(), presidio_engine()
    for run in (troth, presidio):  # warm up: compile patterns, load metadata
        for t in texts[:200]:
            run(t)

    rng = random.Random(args.seed)
    rates: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for r in range(args.rounds):
        sample = rng.sample(texts, min(args.sample, len(texts)))
        order = [("troth", troth), ("presidio", presidio)]
        if r % 2:
            order.reverse()
        for name, run in order:
            wall, on_cpu = timed(run, sample, args.min_seconds)
            rates[name].append(wall)
            cpu[name].append(on_cpu)
    print(
        f"\nthroughput, {args.rounds} samples of {args.sample} texts each "
        "(troth and Presidio alternating sample by sample, who goes first alternating):"
    )
    for label, table in (("wall clock", rates), ("CPU time", cpu)):
        print(f"  {label}:")
        for name in ("troth", "presidio"):
            xs = table[name]
            print(
                f"    {name:9s} median {statistics.median(xs):>10,.0f} texts/s  "
                f"(min {min(xs):,.0f}, max {max(xs):,.0f})"
            )
        ratios = [a / b for a, b in zip(table["troth"], table["presidio"], strict=True)]
        print(
            f"    ratio     median {statistics.median(ratios):.1f}x  "
            f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x)"
        )
    print(f"  load after: {os.getloadavg()}")

    t_preds = [troth(t) for t in texts]
    p_preds = [presidio(t) for t in texts]
    entities = sorted({e for labels in gold for _, _, e in labels})
    print("\naccuracy (overlap, per entity type):")
    print(
        f"  {'entity':22s} {'n':>5s}  {'troth P':>7s} {'R':>5s} {'F1':>5s}   {'presidio P':>10s} {'R':>5s} {'F1':>5s} {'thr':>4s}"
    )
    for e in entities:
        p, rc, f1, n = score(gold, t_preds, e, 0.0)
        line = f"  {e:22s} {n:5d}  {p:7.3f} {rc:5.3f} {f1:5.3f}"
        if e in SHARED:
            best = max(
                ((*score(gold, p_preds, e, th), th) for th in THRESHOLDS), key=lambda x: x[2]
            )
            line += f"   {best[0]:10.3f} {best[1]:5.3f} {best[2]:5.3f} {best[4]:4.1f}"
            line += "  ✔" if f1 >= best[2] else "  ✘"
        print(line)


if __name__ == "__main__":
    main()
