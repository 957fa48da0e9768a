"""Evaluate the message cue detector on labelled sets.

    python bench/cue_eval.py [--json] [--data PATH ...]

By default it reads three files:

- ``bench/data/cue_eval.jsonl``, the dev set: the cue lists were written and improved
  against it, so its figures are in-sample. It is the gate.
- ``bench/data/cue_eval_holdout.jsonl``: written after the v1 lists as a held-out set. The
  families of its misses were then added in v2, so from v2 on it is in-sample too.
- ``bench/data/cue_eval_holdout2.jsonl``: written before the v2 lists were changed and never
  used to change them; the honest figure for text nobody tuned on. Same labelling rules,
  below. Do not tune on it; write a new held-out set when it has been looked at.

Each line is ``{"text", "label": "risk"|"none", "cue_class", "lang"}`` and may carry a
``note`` saying why an ambiguous message got its label. Labelling rules: a message is
"risk" when a careful volunteer would want it flagged for the *seeker* now. So "none"
covers hyperbole and idiom ("this exam is killing me", "mar gaya hasi se"), sarcasm, song
lyrics, films/books/news, a friend's or a stranger's risk (the volunteer still handles it, but
it is not a cue about the seeker), and past ideation or attempts told with recovery framing
("I used to want to die but therapy helped"). A past attempt without recovery framing, or
with "it's back", is "risk"/method_or_attempt. The class is the strongest that applies:
method_or_attempt (means, doses, places, an attempt, self-harm) > first_person_ideation
(wish or plan to die) > warning_sign (burden, trapped, no reason to live, goodbyes, giving
things away, sudden calm, drinking to go numb).

For each file it reports binary recall and precision (risk vs none) overall, per expected cue
class and per language form; class agreement (whether ``strongest`` names the expected
class); and every false negative and false positive. Exits 1 when the first file (the dev
set by default) misses recall >= 0.95 or precision >= 0.80; the held-out sets are reported,
not gated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.risk.cues import CueMatcher, strongest

DATA = Path(__file__).parent / "data" / "cue_eval.jsonl"
HOLDOUT = Path(__file__).parent / "data" / "cue_eval_holdout.jsonl"
HOLDOUT2 = Path(__file__).parent / "data" / "cue_eval_holdout2.jsonl"
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.80


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate(rows: list[dict], matcher: CueMatcher) -> dict:
    """Binary and per-group figures; a row is predicted "risk" when any cue matches."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    false_negatives, false_positives = [], []
    class_agree = class_total = 0
    for row in rows:
        matches = matcher.match(row["text"])
        top = strongest(matches)
        predicted = "risk" if matches else "none"
        actual = row["label"]
        groups = ["overall", f"lang:{row['lang']}"]
        if row.get("cue_class"):
            groups.append(f"class:{row['cue_class']}")
        for group in groups:
            c = counts[group]
            if actual == "risk":
                c["tp" if predicted == "risk" else "fn"] += 1
            else:
                c["fp" if predicted == "risk" else "tn"] += 1
        # A false positive also counts against the class the detector named.
        if actual == "none" and top is not None:
            counts[f"class:{top.cue_class}"]["fp"] += 1
        if actual == "risk":
            class_total += 1
            class_agree += top is not None and top.cue_class == row["cue_class"]
        found = [m.pattern_ref for m in matches]
        if actual == "risk" and predicted == "none":
            false_negatives.append({**row, "matched": found})
        elif actual == "none" and predicted == "risk":
            false_positives.append({**row, "matched": found})
    figures = {}
    for group, c in sorted(counts.items()):
        figures[group] = {
            "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
            "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
            **{k: c[k] for k in ("tp", "fn", "fp", "tn")},
        }
    return {
        "rows": len(rows),
        "risk_rows": sum(r["label"] == "risk" for r in rows),
        "figures": figures,
        "class_agreement": _ratio(class_agree, class_total),
        "false_negatives": false_negatives,
        "false_positives": false_positives,
    }


def _print(name: str, report: dict, ok: bool) -> None:
    print(f"== {name}: {report['rows']} messages, {report['risk_rows']} labelled risk")
    print(f"{'group':34} {'recall':>7} {'precision':>9}   tp  fn  fp  tn")
    for group, f in report["figures"].items():
        recall = "-" if f["recall"] is None else f"{f['recall']:.3f}"
        precision = "-" if f["precision"] is None else f"{f['precision']:.3f}"
        print(
            f"{group:34} {recall:>7} {precision:>9}  {f['tp']:3} {f['fn']:3} {f['fp']:3} "
            f"{f['tn']:3}"
        )
    print(f"class agreement on risk rows (strongest == expected): {report['class_agreement']}")
    verdict = "met" if ok else "NOT met"
    print(f"targets recall >= {RECALL_TARGET}, precision >= {PRECISION_TARGET}: {verdict}")
    for title, key in (
        ("false negatives", "false_negatives"),
        ("false positives", "false_positives"),
    ):
        print(f"{title} ({len(report[key])}):")
        for row in report[key]:
            note = f"  ({row['note']})" if row.get("note") else ""
            print(
                f"  [{row['lang']}] {row['text']!r} expected={row['cue_class']} "
                f"matched={row['matched']}{note}"
            )
    print()


def _meets_targets(report: dict) -> bool:
    overall = report["figures"]["overall"]
    return (overall["recall"] or 0) >= RECALL_TARGET and (
        overall["precision"] or 0
    ) >= PRECISION_TARGET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help="eval file(s); default: dev, holdout, holdout2 (the first is the gate)",
    )
    args = parser.parse_args(argv)
    paths = args.data or [DATA, HOLDOUT, HOLDOUT2]
    matcher = CueMatcher.default()
    reports = {}
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        report = evaluate(rows, matcher)
        reports[path.name] = {**report, "meets_targets": _meets_targets(report)}
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        for name, report in reports.items():
            _print(name, report, report["meets_targets"])
    # The gate is the first file (the dev set, a regression check); the held-out sets measure
    # how the lists generalise to phrasings nobody tuned them on, and are reported, not gated.
    return 0 if next(iter(reports.values()))["meets_targets"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
