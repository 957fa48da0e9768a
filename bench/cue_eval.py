"""Evaluate the cue detector on the labelled corpus: in-sample, grouped, frozen.

    python bench/cue_eval.py [--json] [--misses] [--by-paraphrase] [--corpus PATH]

The corpus is ``bench/data/cue_corpus.jsonl``; its labelling rules, fields and the frozen
split's retirement rule are in ``bench/data/LABELLING.md``. Three figures, never mixed:

- **in-sample**: every development row, the patterns and the scorer trained on all of
  them. The patterns were written from many of these rows, so this is an upper bound.
- **grouped** (the gate: recall >= 0.95 and precision >= 0.85; since session 23): leave one
  pool out. The rows scored are a pool's (``provenance: unseen``: paraphrase groups written
  by someone who had not read the patterns, never used to change one), and neither signal
  has learnt from any of them: the patterns were written before the pool, and the learned
  scorer is retrained without any row of that pool (its threshold chosen by cross-validation
  inside the training rows). It is the detector that shipped before the pool was written,
  scored on a new writer's words: what a seeker's first message meets.
- **grouped by family** (reported beside it; the gate until session 22): the same unseen
  rows, the scorer retrained without any row of the row's family (of any pool), so it has
  never seen that kind of risk talk; rows pooled over the folds. Stricter than deployment,
  where the scorer has seen every family of the catalogue; the gap says how much of the
  scorer's help is the family's own words.
- **grouped by paraphrase** (``--by-paraphrase``; not the gate): the same unseen rows, the
  scorer retrained without the row's paraphrase group only, so it has seen the rest of the
  pool. The patterns cannot be "untrained" in any of the three; the provenance filter is
  what keeps their own examples out (see README).
- **frozen**: the frozen split with the shipped detector; aggregate figures only. Its misses
  are not printed (``--misses`` leaves them out too), so nobody tunes on them.

Each figure is given per family, cue class, language form, pool (``origin``) and false-alarm
kind (the share of "none" messages flagged) with Wilson 95 % intervals, for the patterns
alone and for patterns plus scorer (the scorer is kept only if it raises the gate's
grouped recall without making its precision fall below 0.85, see
``scorer_earns_its_place``; when it is not kept, no weights ship and the "patterns+scorer"
figures are those of the candidate the corpus trains).
Exits 1 when the gate fails.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import DEFAULT_LISTS, LISTS_DIR, CueMatcher, learned, normalise

CORPUS = Path(__file__).parent / "data" / "cue_corpus.jsonl"
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.85


def load_corpus(path: Path = CORPUS) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (95 % by default)."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)


def _figures(counts: dict[str, int]) -> dict:
    tp, fn, fp, tn = (counts.get(k, 0) for k in ("tp", "fn", "fp", "tn"))
    return {
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "recall_ci": wilson(tp, tp + fn),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "precision_ci": wilson(tp, tp + fp),
        "false_alarm_rate": round(fp / (fp + tn), 4) if fp + tn else None,
        "false_alarm_ci": wilson(fp, fp + tn),
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
    }


def score_rows(rows: Sequence[dict], predicted: Sequence[bool]) -> dict:
    """Binary figures overall and per family, class and form; misses listed by id."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: dict[str, list[str]] = {"false_negatives": [], "false_positives": []}
    for row, flagged in zip(rows, predicted, strict=True):
        risk = row["label"] == "risk"
        cell = ("tp" if flagged else "fn") if risk else ("fp" if flagged else "tn")
        groups = ["overall", f"form:{row['form']}", f"family:{row['family']}"]
        groups.append(f"pool:{row['origin']}")
        if risk:
            groups.append(f"class:{row['cue_class']}")
        else:
            groups.append(f"kind:{row['kind']}")
        for group in groups:
            counts[group][cell] += 1
        if cell == "fn":
            misses["false_negatives"].append(row["id"])
        elif cell == "fp":
            misses["false_positives"].append(row["id"])
    return {
        "rows": len(rows),
        "risk_rows": sum(r["label"] == "risk" for r in rows),
        "figures": {group: _figures(c) for group, c in sorted(counts.items())},
        **misses,
    }


class Detector:
    """Pattern results computed once; the learned part swapped per fold."""

    def __init__(self, rows: Sequence[dict], matcher: CueMatcher | None = None) -> None:
        # The shipped lists without any learned signal (not CueMatcher.default(): training
        # must work when the shipped weights are stale).
        base = (
            matcher or CueMatcher(LISTS_DIR / f"{n}.yaml" for n in DEFAULT_LISTS)
        ).without_scorer()
        self.folded = {r["id"]: normalise(r["text"]) for r in rows}
        self.features = {i: learned.features(text) for i, text in self.folded.items()}
        self.pattern_hit: dict[str, bool] = {}
        self.scorer_allowed: dict[str, bool] = {}
        for row in rows:
            self.pattern_hit[row["id"]] = bool(base.match(row["text"]))
            # The matcher asks the scorer only when no pattern cue survives and no guard
            # matched anywhere in the text.
            self.scorer_allowed[row["id"]] = not self.pattern_hit[
                row["id"]
            ] and not base.guard_spans(self.folded[row["id"]])

    def fit(self, rows: Iterable[dict]) -> learned.LearnedScorer:
        rows = list(rows)
        return learned.fit(
            [self.folded[r["id"]] for r in rows],
            [r["label"] == "risk" for r in rows],
            [r["family"] for r in rows],
            [self.pattern_hit[r["id"]] for r in rows],
            feature_sets=[self.features[r["id"]] for r in rows],
        )

    def predict(self, rows: Iterable[dict], scorer: learned.LearnedScorer | None) -> list[bool]:
        return [
            self.pattern_hit[r["id"]]
            or (
                scorer is not None
                and self.scorer_allowed[r["id"]]
                and scorer.fires_on(self.features[r["id"]])
            )
            for r in rows
        ]


def _leave_one_out(detector: Detector, dev: Sequence[dict], key: str) -> dict[str, dict]:
    """The unseen rows scored in groups by ``key``, the scorer retrained without each group's
    ``key`` value (a group whose rows the patterns flag, or whose guards stop the scorer,
    needs no scorer)."""
    held: list[dict] = []
    with_scorer: list[bool] = []
    test_groups: dict[str, list[dict]] = defaultdict(list)
    for row in dev:
        if row["provenance"] == "unseen":
            test_groups[row[key]].append(row)
    for name in sorted(test_groups):
        test = test_groups[name]
        needs_scorer = any(detector.scorer_allowed[r["id"]] for r in test)
        scorer = detector.fit(r for r in dev if r[key] != name) if needs_scorer else None
        held.extend(test)
        with_scorer.extend(detector.predict(test, scorer))
    return {
        "patterns": score_rows(held, detector.predict(held, None)),
        "patterns+scorer": score_rows(held, with_scorer),
    }


def grouped(detector: Detector, dev: Sequence[dict]) -> dict[str, dict]:
    """The gate: leave one pool out. Each pool's unseen rows are scored with the scorer
    retrained without any row of that pool (``origin``), the patterns never having been
    written from them."""
    return _leave_one_out(detector, dev, "origin")


def grouped_by_family(detector: Detector, dev: Sequence[dict]) -> dict[str, dict]:
    """Leave one family out, scored on each held-out family's unseen rows (the gate until
    session 22; stricter than deployment, where the scorer has seen every family)."""
    return _leave_one_out(detector, dev, "family")


def grouped_by_paraphrase(detector: Detector, dev: Sequence[dict]) -> dict[str, dict]:
    """Leave one paraphrase group out: for each group of unseen rows the scorer is retrained
    without that group only (it has seen the rest of the group's family). Not the gate: it
    says how much of the grouped figure's shortfall is an unseen family rather than an
    unseen wording. The patterns' figure is the same as in ``grouped``."""
    return _leave_one_out(detector, dev, "group")


def evaluate(
    corpus: Sequence[dict], matcher: CueMatcher | None = None, *, by_paraphrase: bool = False
) -> dict:
    dev = [r for r in corpus if r["split"] == "dev"]
    frozen = [r for r in corpus if r["split"] == "frozen"]
    detector = Detector(corpus, matcher)
    full = detector.fit(dev)
    shipped = learned.load()
    report = {
        "in_sample": {
            "patterns": score_rows(dev, detector.predict(dev, None)),
            "patterns+scorer": score_rows(dev, detector.predict(dev, full)),
        },
        "grouped": grouped(detector, dev),
        "grouped_by_family": grouped_by_family(detector, dev),
        **(
            {"grouped_by_paraphrase": grouped_by_paraphrase(detector, dev)} if by_paraphrase else {}
        ),
        "frozen": {
            "patterns": score_rows(frozen, detector.predict(frozen, None)),
            "patterns+scorer": score_rows(frozen, detector.predict(frozen, shipped or full)),
        },
    }
    for part in report["frozen"].values():  # never show the frozen split's messages
        part["false_negatives"] = part["false_positives"] = []
    g = report["grouped"]
    report["gate"] = {
        "recall": g["patterns+scorer"]["figures"]["overall"]["recall"],
        "precision": g["patterns+scorer"]["figures"]["overall"]["precision"],
        "met": meets(g["patterns+scorer"]),
        "scorer_kept": scorer_earns_its_place(g),
    }
    return report


def meets(part: dict) -> bool:
    overall = part["figures"]["overall"]
    return (overall["recall"] or 0) >= RECALL_TARGET and (
        overall["precision"] or 0
    ) >= PRECISION_TARGET


def scorer_earns_its_place(g: dict) -> bool:
    """Issue #20's rule, "raises recall on unseen families without precision falling below
    0.85": the scorer must raise grouped recall, and must not be what takes grouped precision
    below 0.85. With the patterns alone at or above 0.85 the combined precision must stay at
    or above 0.85; with the patterns alone already below it, the scorer must not lower it."""
    alone, both = g["patterns"]["figures"]["overall"], g["patterns+scorer"]["figures"]["overall"]
    if both["tp"] <= alone["tp"]:
        return False
    floor = min(PRECISION_TARGET, alone["precision"] or 0)
    return (both["precision"] or 0) >= floor


def _fmt(f: dict) -> str:
    def one(value: float | None, ci: tuple[float, float] | None) -> str:
        if value is None:
            return f"{'-':>21}"
        return f"{value:.3f} [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else f"{value:.3f}"

    return (
        f"{one(f['recall'], f['recall_ci']):>21} {one(f['precision'], f['precision_ci']):>21}"
        f" {one(f['false_alarm_rate'], f['false_alarm_ci']):>21}"
        f"  {f['tp']:3} {f['fn']:3} {f['fp']:3} {f['tn']:3}"
    )


def _print(report: dict, corpus: Sequence[dict], *, misses: bool, out: Callable = print) -> None:
    by_id = {r["id"]: r for r in corpus}
    for name in ("in_sample", "grouped", "grouped_by_family", "grouped_by_paraphrase", "frozen"):
        for variant, part in report.get(name, {}).items():
            out(f"== {name} / {variant}: {part['rows']} messages, {part['risk_rows']} risk")
            out(
                f"{'group':34} {'recall [95% CI]':>21} {'precision [95% CI]':>21}"
                f" {'false alarms [95% CI]':>21}   tp  fn  fp  tn"
            )
            for group, f in part["figures"].items():
                out(f"{group:34} {_fmt(f)}")
            if misses and name != "frozen":
                for key in ("false_negatives", "false_positives"):
                    for row_id in part[key]:
                        row = by_id[row_id]
                        out(f"  {key[:5]} {row_id} [{row['form']}/{row['family']}] {row['text']!r}")
            out("")
    gate = report["gate"]
    verdict = "met" if gate["met"] else "NOT met"
    out(
        f"gate (grouped, leave one pool out, patterns+scorer): "
        f"recall {gate['recall']} >= {RECALL_TARGET}, "
        f"precision {gate['precision']} >= {PRECISION_TARGET}: {verdict}; "
        f"scorer kept: {gate['scorer_kept']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--misses", action="store_true", help="list misses (not the frozen)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--by-paraphrase",
        action="store_true",
        help="also leave one paraphrase group out (slower; not the gate)",
    )
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus)
    report = evaluate(corpus, by_paraphrase=args.by_paraphrase)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report, corpus, misses=args.misses)
    return 0 if report["gate"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
