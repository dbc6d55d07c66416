"""Raw vs adapted macro-F1 on an honest split, per dataset of a manifest folder.

Each dataset's rows ``--unlabeled`` (default 300:1000) are the unlabeled corpus
(their gold labels are dropped), rows ``--test`` (default 0:300) the test, which
adaptation never sees. Columns, each a macro-F1 on the test rows:

- ``raw``: the start model (single-label: top label; multi-label: the pipe's
  default ``margin`` decisions);
- ``raw_stats``: the start model with the corpus statistics: multi-label the
  ``zscore`` rule on the statistics ``pipe.adapt`` stores, which is what the adapt
  default does for multi-label sets (no fine-tuning); single-label the top label
  after subtracting each label's mean log-score (measured, not kept);
- ``adapted``: after self-training (``pipe.adapt`` with 50 steps, in both modes),
  with the start's decisions; the adapt default for single-label sets;
- ``adapted_stats``: the self-trained model with the statistics of its own scores;
- ``mixed``: the self-trained weights mixed with the start's (``--mixes``);
- the pseudo-label precision (read from the dropped gold labels, for the report
  only) and the adaptation time per 1,000 unlabeled texts.

The ``default`` column of the table is what ``pipe.adapt()`` does with its defaults:
``adapted`` for single-label sets, ``raw_stats`` for multi-label sets. Select
settings on ``../shared/data/train_pool``; report on ``benchmark``. Example::

    python examples/adapt/evaluate.py ../shared/data/benchmark --mixes 0.5 \
        --output examples/adapt/results/benchmark.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import spacy

import dataclasses

import spacy_gliznet  # noqa: F401  (registers the component)
from spacy_gliznet.pipeline.adapt import AdaptSettings, label_stats, score_texts, select_pseudo_labels
from spacy_gliznet.cli.benchmark import decide_as_component
from spacy_gliznet.model.checkpoints import interpolate_states
from spacy_gliznet.pipeline.layer import ensure_loaded
from spacy_gliznet.pipeline.metrics import macro_f1
from spacy_gliznet.corpus.readers import load_datasets


def parse_slice(value: str) -> slice:
    start, stop = value.split(":")
    return slice(int(start or 0), int(stop) if stop else None)


def decide(scores: np.ndarray, labels, multi_label: bool, settings):
    """Predicted label indices per row, as the component decides under ``settings``
    (``pipe.decision_settings()``)."""
    return decide_as_component(scores, labels, multi_label, settings)


def mean_corrected(scores: np.ndarray, corpus_scores: np.ndarray):
    """The alternative measured for single-label sets and not kept: the top label
    after subtracting each label's mean log-score over the unlabeled corpus."""
    logp = np.log(np.clip(scores, 1e-7, 1.0))
    mean = np.log(np.clip(corpus_scores, 1e-7, 1.0)).mean(0)
    return [[int(i)] for i in (logp - mean).argmax(1)]


def with_stats(scores, corpus_scores, labels, multi_label, settings):
    """Decisions with the corpus statistics: single-label the mean correction above;
    multi-label the component's "zscore" rule on the statistics ``adapt`` stores."""
    if not multi_label:
        return mean_corrected(scores, corpus_scores)
    zrule = dataclasses.replace(settings, decision_rule="zscore", rule_param=AdaptSettings().min_z,
                                label_stats=label_stats(labels, corpus_scores))
    return decide(scores, labels, True, zrule)


def score(pipe, nlp, texts, multi_label):
    """Test scores against the pipe's labels (with their descriptions)."""
    return score_texts(pipe, [nlp.make_doc(t) for t in texts], pipe.label_descriptions,
                       multi_label)


def run(args) -> dict:
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    # self-training in both modes, so that every column can be compared (the default of
    # pipe.adapt() is the "default" column: self-training single-label, statistics multi-label)
    overrides = {"steps": 50}
    for item in args.set or []:
        key, value = item.split("=", 1)
        overrides[key] = json.loads(value)
    AdaptSettings().with_overrides("--set", **overrides)  # names a bad field before any work
    sets = load_datasets(args.data, args.datasets.split(",") if args.datasets else None)
    test_rows, unlabeled_rows = parse_slice(args.test), parse_slice(args.unlabeled)
    out = {"data": str(args.data), "test": args.test, "unlabeled": args.unlabeled,
           "settings": {**AdaptSettings().__dict__, **overrides}, "template": args.template, "load_before": os.getloadavg(),
           "datasets": {}}
    for d in sets:
        nlp = spacy.blank("en")
        labels = {lab: args.template.format(lab) for lab in d.labels} if args.template else d.labels
        pipe = nlp.add_pipe("gliznet_textcat", config={"labels": labels,
                                                       "multi_label": d.multi_label,
                                                       "model": {"name": args.model}})
        index = {lab: i for i, lab in enumerate(d.labels)}
        test = d.rows[test_rows]
        corpus = [r["text"] for r in d.rows[unlabeled_rows]]  # gold labels dropped
        gold = [[index[g] for g in r["labels"]] for r in test]
        texts = [r["text"] for r in test]
        raw = score(pipe, nlp, texts, d.multi_label)
        start_rule = pipe.decision_settings()  # the start pipe's decisions (multi-label: margin)
        if args.no_adapt:
            entry = {"task": d.task, "labels": len(d.labels), "test_rows": len(test),
                     "raw": macro_f1(gold, decide(raw, d.labels, d.multi_label, start_rule),
                                     len(d.labels))}
            out["datasets"][d.name] = entry
            print(f"{d.name:24s} raw {entry['raw']:.3f}", flush=True)
            continue
        module = ensure_loaded(pipe.model)
        start = {k: v.detach().clone() for k, v in module.state_dict().items()}
        t0 = time.perf_counter()
        report = pipe.adapt(corpus, nlp=nlp, **overrides)
        seconds = time.perf_counter() - t0
        adapted = score(pipe, nlp, texts, d.multi_label)
        tuned = {k: v.detach().clone() for k, v in module.state_dict().items()}
        mixed = {}
        for mix in args.mixes:
            module.load_state_dict(interpolate_states(start, tuned, mix))
            mixed[str(mix)] = macro_f1(gold, decide(score(pipe, nlp, texts, d.multi_label),
                                                    d.labels, d.multi_label, start_rule),
                                       len(d.labels))
        module.load_state_dict(tuned)
        # how often the first round's pseudo-labels are right: read from the dropped gold
        # labels here, for the report only (adaptation never sees them)
        settings = AdaptSettings(**overrides)
        pseudo = select_pseudo_labels(report.start_scores, d.multi_label, settings.per_label,
                                      settings.min_z)
        unlabeled_gold = [set(index[g] for g in r["labels"]) for r in d.rows[unlabeled_rows]]
        hits = [j in unlabeled_gold[r] for r, pos in zip(pseudo.rows, pseudo.positives) for j in pos]
        entry = {
            "task": d.task, "labels": len(d.labels), "test_rows": len(test),
            "unlabeled_rows": len(corpus),
            "raw": macro_f1(gold, decide(raw, d.labels, d.multi_label, start_rule), len(d.labels)),
            "raw_stats": macro_f1(gold, with_stats(raw, report.start_scores, d.labels,
                                                   d.multi_label, start_rule), len(d.labels)),
            "adapted": macro_f1(gold, decide(adapted, d.labels, d.multi_label, start_rule),
                                len(d.labels)),
            "adapted_stats": macro_f1(gold, with_stats(adapted, report.final_scores, d.labels,
                                                       d.multi_label, start_rule), len(d.labels)),
            "mixed": mixed, "seconds": seconds, "seconds_per_1000": 1000 * seconds / len(corpus),
            "pseudo_label_precision": float(np.mean(hits)) if hits else None,
            "steps": report.steps, "too_few": report.too_few[-1],
            "agreement_with_start": report.agreement_with_start,
        }
        out["datasets"][d.name] = entry
        print(f"{d.name:24s} raw {entry['raw']:.3f} raw+stats {entry['raw_stats']:.3f} "
              f"adapted {entry['adapted']:.3f} adapted+stats {entry['adapted_stats']:.3f} "
              f"({seconds:.0f} s)", flush=True)
    averages(out)
    out["load_after"] = os.getloadavg()
    out["markdown"] = markdown(out)
    print(out["markdown"])
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2), encoding="utf8")
    return out


def averages(out: dict) -> None:
    """Per task, the mean of every column over the datasets of ``out``."""
    for task in ("single_label", "multi_label"):
        names = [n for n, e in out["datasets"].items() if e["task"] == task]
        if not names:
            continue
        first = out["datasets"][names[0]]
        keys = [k for k in ("raw", "raw_stats", "adapted", "adapted_stats") if k in first]
        avg = {k: float(np.mean([out["datasets"][n][k] for n in names])) for k in keys}
        for mix in first.get("mixed", {}):
            avg[f"mix {mix}"] = float(np.mean([out["datasets"][n]["mixed"][mix] for n in names]))
        out[f"average_{task}"] = avg
        print(task, {k: round(v, 3) for k, v in avg.items()})


def merge(paths) -> dict:
    """Results of several runs (e.g. one command split over dataset subsets) as one."""
    runs = [json.loads(Path(p).read_text(encoding="utf8")) for p in paths]
    out = {k: v for k, v in runs[0].items() if not k.startswith("average")}
    out["datasets"] = {n: e for run in runs for n, e in run["datasets"].items()}
    out["runs"] = [str(p) for p in paths]
    averages(out)
    out["markdown"] = markdown(out)
    return out


DEFAULT_COLUMN = {"single_label": "adapted", "multi_label": "raw_stats"}


def markdown(out: dict) -> str:
    """The README table: per dataset raw vs the adapt default, then the alternatives."""
    head = ("| dataset | task | labels | raw | **adapt default** | Δ | raw + stats | self-trained "
            "| self-trained + stats | mixed 0.5 | pseudo-label precision | s per 1,000 texts |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, e in out["datasets"].items():
        if "adapted" not in e:
            continue
        best = e[DEFAULT_COLUMN[e["task"]]]
        mix = e["mixed"].get("0.5")
        prec = e.get("pseudo_label_precision")
        lines.append(
            f"| {name} | {e['task']} | {e['labels']} | {e['raw']:.3f} | **{best:.3f}** | "
            f"{best - e['raw']:+.3f} | {e['raw_stats']:.3f} | {e['adapted']:.3f} | "
            f"{e['adapted_stats']:.3f} | {'' if mix is None else f'{mix:.3f}'} | "
            f"{'' if prec is None else f'{prec:.2f}'} | {e['seconds_per_1000']:.0f} |")
    for task in ("single_label", "multi_label"):
        avg = out.get(f"average_{task}")
        if avg and "adapted" in avg:
            best = avg[DEFAULT_COLUMN[task]]
            mix = avg.get("mix 0.5")
            lines.append(
                f"| **average {task.replace('_', '-')}** | | | **{avg['raw']:.3f}** | "
                f"**{best:.3f}** | {best - avg['raw']:+.3f} | {avg['raw_stats']:.3f} | "
                f"{avg['adapted']:.3f} | {avg['adapted_stats']:.3f} | "
                f"{'' if mix is None else f'{mix:.3f}'} | | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="folder with manifest.json and *.jsonl")
    parser.add_argument("--datasets", default=None, help="comma-separated subset")
    parser.add_argument("--model", default=None, help="GliZNet checkpoint (default: the bundled)")
    parser.add_argument("--test", default="0:300", help="rows of each set used as the test")
    parser.add_argument("--unlabeled", default="300:1000", help="rows used as unlabeled text")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="an AdaptSettings field (selection runs only), e.g. --set steps=50")
    parser.add_argument("--mixes", type=float, nargs="*", default=[],
                        help="also score the test after mixing adapted and start weights")
    parser.add_argument("--template", default=None, help='label template, e.g. "About {}."')
    parser.add_argument("--no-adapt", action="store_true", help="score the start model only")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--output", default=None, help="results JSON")
    parser.add_argument("--render", action="store_true",
                        help="DATA is a comma-separated list of results JSONs of earlier runs: "
                        "print their table (merged), and save it to --output if given")
    args = parser.parse_args(argv)
    if args.render:
        out = merge(args.data.split(","))
        print(out["markdown"])
        if args.output:
            Path(args.output).write_text(json.dumps(out, indent=2), encoding="utf8")
        return
    run(args)


if __name__ == "__main__":
    sys.exit(main())
