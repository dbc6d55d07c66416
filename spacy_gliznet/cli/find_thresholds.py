"""``python -m spacy_gliznet find-thresholds PIPELINE DEV.spacy OUTPUT``: per-label
thresholds tuned on dev data, written into a copy of the pipeline.

Scores every dev doc once (progress bar), then (``decisions.tune_thresholds``):

- one global threshold, the grid value (0.01 ... 0.99) with the best dev macro-F1;
- for each label with at least ``min_positives`` dev positives, the grid value with
  the best F1 of that label; the others keep the global threshold. Ties go to the
  value closest to 0.5.

Works on a multi-label ``gliznet_textcat`` (the output pipe gets ``threshold``,
``thresholds`` and ``decision_rule = "threshold"``, so ``doc._.gliznet_predicted_labels``
and ``spacy evaluate`` use them) and on spaCy's ``textcat_multilabel`` (its own
``threshold`` gets the global value, which its scorer uses; it has no per-label
setting, so the per-label values are in ``OUTPUT/thresholds.json`` and apply through
``spacy_gliznet.pipeline.decisions.predicted_cats`` or the scorer
``spacy_gliznet.pipeline.metrics.gliznet_textcat_score(examples, labels=..., threshold=...,
thresholds=...)``). Gold labels a dev doc does not list count as negatives.
``OUTPUT/thresholds.json`` also holds the before/after figures printed.
"""

import argparse
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..atomic import atomic_folder, check_output
from ..corpus.readers import read_docbin
from ..errors import GliZNetInputError
from ..pipeline.decisions import decision_mask, rule_cutoffs, rule_mask
from ..pipeline.metrics import THRESHOLD_GRID, f1_report, tune_thresholds
from ..settings import DecisionSettings
from ._common import add_gpu_id_option, add_overwrite_option, load_pipeline, use_gpu

SUPPORTED = ("gliznet_textcat", "textcat_multilabel")


def pick_component(nlp, name: Optional[str] = None) -> Tuple[str, str]:
    """(name, factory) of the component to tune: ``name`` or the first supported one."""
    factories = {n: nlp.get_pipe_meta(n).factory for n in nlp.pipe_names}
    if name is not None:
        if name not in factories:
            raise GliZNetInputError(f"no component {name!r} in the pipeline ({nlp.pipe_names})")
        if factories[name] not in SUPPORTED:
            raise GliZNetInputError(
                f"component {name!r} is a {factories[name]!r}; find-thresholds supports {SUPPORTED}")
        return name, factories[name]
    for n, f in factories.items():
        if f in SUPPORTED:
            return n, f
    raise GliZNetInputError(f"the pipeline has no {' or '.join(SUPPORTED)} component "
                            f"(components: {nlp.pipe_names})")


def before_cut(pipe, factory: str, labels: Sequence[str]) -> Tuple[DecisionSettings, np.ndarray]:
    """The pipe's current decision settings and absolute cut per label."""
    if factory == "gliznet_textcat":
        rule = pipe.decision_settings()
    else:
        rule = DecisionSettings(threshold=float(pipe.cfg["threshold"]), decision_rule="threshold")
    return rule, rule_cutoffs(labels, rule.decision_rule, rule.threshold, rule.thresholds)


def tuning_report(scores: np.ndarray, gold: np.ndarray, labels: Sequence[str],
                  before: DecisionSettings, *, min_positives: int = 10,
                  grid: Sequence[float] = THRESHOLD_GRID) -> Dict[str, Any]:
    """Tune thresholds on (N, K) dev scores and gold booleans; before/after figures."""
    tuning = tune_thresholds(scores, gold, labels, min_positives=min_positives, grid=grid)
    old = decision_mask(scores, labels, settings=before)
    runs = {"before": f1_report(old, gold),
            "global": f1_report(rule_mask(scores, cut=tuning.threshold), gold),
            "per_label": f1_report(rule_mask(scores, cut=tuning.cut()), gold)}
    cut = tuning.cut()
    return {
        "labels": list(labels), "docs": int(scores.shape[0]), "min_positives": min_positives,
        "before": {**before.config(), "rule_param": before.param},
        "threshold": tuning.threshold, "thresholds": tuning.thresholds,
        "macro_f": {k: r["macro_f"] for k, r in runs.items()},
        "micro_f": {k: r["micro_f"] for k, r in runs.items()},
        "per_label": {lab: {"positives": tuning.positives[lab], "tuned": tuning.tuned[lab],
                            "threshold": float(cut[k]),
                            "f_before": float(runs["before"]["f"][k]),
                            "f_global": float(runs["global"]["f"][k]),
                            "f_per_label": float(runs["per_label"]["f"][k])}
                      for k, lab in enumerate(labels)},
    }


def format_report(report: Dict[str, Any]) -> str:
    """The before/after table: macro-F1, micro-F1 and every label."""
    b = report["before"]
    before = (f"{b['decision_rule']} {b['rule_param']:g}, " if b["decision_rule"] != "threshold" else "") + \
        f"threshold {b['threshold']:g}" + (f" + {len(b['thresholds'])} per-label" if b["thresholds"] else "")
    lines = [
        f"Dev: {report['docs']} docs, {len(report['labels'])} labels. Before: {before}. "
        f"Global threshold: {report['threshold']:g}. Per-label thresholds for "
        f"{len(report['thresholds'])} labels with >= {report['min_positives']} positives.",
        "",
        f"| label | dev positives | before F1 | global {report['threshold']:g} F1 | threshold | per-label F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for lab, r in report["per_label"].items():
        mark = "" if r["tuned"] else " (global)"
        lines.append(f"| {lab} | {r['positives']} | {r['f_before']:.3f} | {r['f_global']:.3f} | "
                     f"{r['threshold']:.2f}{mark} | {r['f_per_label']:.3f} |")
    for key, name in (("macro_f", "macro-F1"), ("micro_f", "micro-F1")):
        v = report[key]
        lines.append(f"| **{name}** | | **{v['before']:.3f}** | **{v['global']:.3f}** | | "
                     f"**{v['per_label']:.3f}** |")
    return "\n".join(lines)


def score_docs(nlp, name: str, factory: str, docs: List, labels: Sequence[str],
               batch_size: int = 64, progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(N, K) scores of the pipeline on the docs' texts and (N, K) gold booleans."""
    from tqdm import tqdm

    cfg = {name: {"labels": list(labels)}} if factory == "gliznet_textcat" else {}
    scores = np.zeros((len(docs), len(labels)), dtype=np.float64)
    gold = np.zeros((len(docs), len(labels)), dtype=bool)
    texts = (d.text for d in docs)
    bar = tqdm(total=len(docs), desc="find-thresholds", unit="doc", disable=not progress)
    for i, (pred, ref) in enumerate(zip(nlp.pipe(texts, batch_size=batch_size, component_cfg=cfg),
                                        docs)):
        scores[i] = [pred.cats.get(lab, 0.0) for lab in labels]
        gold[i] = [(ref.cats.get(lab) or 0.0) > 0 for lab in labels]
        bar.update(1)
    bar.close()
    return scores, gold


def check_dev_cats(docs: List, labels: Sequence[str], name: str, dev: Any) -> None:
    """Refuse dev data that cannot support tuning (no doc has cats for the pipe's
    labels, or no label has a positive: F1 is 0 at every cut, and the rule would
    switch on nothing), and warn about pipe labels no dev doc mentions."""
    annotated = {k for d in docs for k in d.cats}
    found = [lab for lab in labels if lab in annotated]
    if not found:
        seen = f"their cats name only {sorted(annotated)[:10]}" if annotated else "they carry no cats"
        raise GliZNetInputError(
            f"no dev doc in {str(dev)!r} has cats for the labels of {name} {list(labels)[:10]}: "
            f"{seen}. Nothing was tuned and the pipeline was not written.")
    if not any((d.cats.get(lab) or 0.0) > 0 for d in docs for lab in labels):
        raise GliZNetInputError(
            f"the dev docs in {str(dev)!r} have no positive label (cats > 0) among {name}'s "
            f"labels: every threshold scores F1 0. Nothing was tuned and the pipeline was not written.")
    missing = [lab for lab in labels if lab not in annotated]
    if missing:
        warnings.warn(f"find-thresholds: {len(missing)} label(s) of {name} are in no dev doc's cats "
                      f"and count as negatives everywhere: {missing[:10]}", UserWarning, stacklevel=3)


def find_thresholds(pipeline: Union[str, Path], dev: Union[str, Path], output: Union[str, Path], *,
                    component: Optional[str] = None, min_positives: int = 10,
                    batch_size: int = 64, progress: bool = True,
                    overwrite: bool = False) -> Dict[str, Any]:
    """Tune thresholds of ``pipeline`` on ``dev`` (a .spacy file with gold cats) and save
    the pipeline with them to ``output``; returns the report (also in output/thresholds.json)."""
    check_output(output, inputs=[pipeline, dev], overwrite=overwrite)
    nlp = load_pipeline(pipeline, component=None)
    name, factory = pick_component(nlp, component)
    pipe = nlp.get_pipe(name)
    if factory == "gliznet_textcat" and not pipe.multi_label:
        raise GliZNetInputError(f"{name} is single-label (multi_label = false): it takes the top "
                                f"label, thresholds do not apply")
    docs = read_docbin(dev, nlp.vocab)
    if not docs:
        raise GliZNetInputError(f"no docs in {str(dev)!r}")
    labels = list(pipe.labels)
    if not labels:
        labels = list(dict.fromkeys(k for d in docs for k in d.cats))
    if not labels:
        raise GliZNetInputError(f"no labels: {name} has none and the dev docs carry no cats")
    check_dev_cats(docs, labels, name, dev)
    scores, gold = score_docs(nlp, name, factory, docs, labels, batch_size, progress)
    before, _ = before_cut(pipe, factory, labels)
    report = tuning_report(scores, gold, labels, before, min_positives=min_positives)
    report.update({"pipeline": str(pipeline), "dev": str(dev), "component": name,
                   "factory": factory})
    if factory == "gliznet_textcat":
        # the pipe writes them into config.cfg too (per-label ones only where the config
        # can hold every label; they are always in the component's own saved cfg)
        pipe.threshold = report["threshold"]
        pipe.thresholds = report["thresholds"]
        pipe.decision_rule = "threshold"
    else:
        pipe.cfg["threshold"] = report["threshold"]
    with atomic_folder(output, overwrite) as tmp:
        nlp.to_disk(tmp)
        (tmp / "thresholds.json").write_text(json.dumps(report, indent=2), encoding="utf8")
    return report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``find-thresholds`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("find-thresholds", help="per-label thresholds tuned on dev data, "
                              "saved with the pipeline (gliznet_textcat or textcat_multilabel)")
    p.add_argument("pipeline", help="trained or zero-shot spaCy pipeline directory")
    p.add_argument("dev", help=".spacy file whose docs carry gold cats")
    p.add_argument("output", help="folder for the pipeline with the thresholds")
    p.add_argument("--component", default=None, help="component name (default: the first "
                   "gliznet_textcat or textcat_multilabel)")
    p.add_argument("--min-positives", type=int, default=10,
                   help="dev positives a label needs for its own threshold (else the global one)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-progress", action="store_true")
    add_overwrite_option(p)
    add_gpu_id_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``find-thresholds`` from parsed arguments and print the before/after table."""
    use_gpu(args.gpu_id)
    report = find_thresholds(args.pipeline, args.dev, args.output, component=args.component,
                             min_positives=args.min_positives, batch_size=args.batch_size,
                             progress=not args.no_progress, overwrite=args.overwrite)
    print(format_report(report))
    print(f"Saved the pipeline with these thresholds to {args.output} "
          f"(report: {Path(args.output) / 'thresholds.json'})")
