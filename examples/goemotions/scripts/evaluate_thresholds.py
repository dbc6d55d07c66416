"""Test macro-F1 and micro-F1 of a pipeline written by ``find-thresholds``, with
(a) its one dev-tuned threshold and (b) its per-label dev-tuned thresholds.

Scores every test doc once; both rows come from the same scores through
``spacy_gliznet.pipeline.metrics.gliznet_textcat_score`` (spaCy's ``Scorer.score_cats``,
P/R/F from ``spacy_gliznet.pipeline.decisions``), for gliznet_textcat and textcat_multilabel alike.

    python scripts/evaluate_thresholds.py training/gliznet_thresholds corpus/test.spacy \
        --output results/thresholds_gliznet.json
"""

import argparse
import json
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.training import Example

import spacy_gliznet  # noqa: F401
from spacy_gliznet.pipeline.metrics import gliznet_textcat_score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pipeline", type=Path, help="output folder of find-thresholds")
    parser.add_argument("test", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    report = json.loads((args.pipeline / "thresholds.json").read_text())
    labels = report["labels"]
    nlp = spacy.load(args.pipeline)
    docs = list(DocBin().from_disk(args.test).get_docs(nlp.vocab))
    cfg = {report["component"]: {"labels": labels}} if report["factory"] == "gliznet_textcat" else {}
    start = time.perf_counter()
    preds = list(nlp.pipe([d.text for d in docs], batch_size=256, component_cfg=cfg))
    seconds = time.perf_counter() - start
    examples = [Example(p, g) for p, g in zip(preds, docs)]
    rows = {}
    for key, thresholds in (("one_threshold", {}), ("per_label", report["thresholds"])):
        s = gliznet_textcat_score(examples, labels=labels, multi_label=True,
                                  threshold=report["threshold"], thresholds=thresholds,
                                  decision_rule="threshold")
        rows[key] = {"macro_f": s["cats_macro_f"], "micro_f": s["cats_micro_f"],
                     "macro_auc": s["cats_macro_auc"],
                     "f_per_type": {k: v["f"] for k, v in s["cats_f_per_type"].items()}}
    result = {"name": args.name or report["factory"], "pipeline": str(args.pipeline),
              "threshold": report["threshold"], "thresholds": report["thresholds"],
              "min_positives": report["min_positives"],
              "dev": {"macro_f": report["macro_f"], "micro_f": report["micro_f"]},
              "test": rows, "test_docs": len(docs), "docs_per_second": len(docs) / seconds}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    for key, r in rows.items():
        print(f"{result['name']} {key}: test macro-F1 {r['macro_f']:.3f}, micro-F1 {r['micro_f']:.3f}, "
              f"macro AUC {r['macro_auc']:.3f}")


if __name__ == "__main__":
    main()
