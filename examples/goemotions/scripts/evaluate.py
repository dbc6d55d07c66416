"""Macro-F1 at a threshold chosen on dev, and macro AUC, on GoEmotions test.

Scores every dev and test doc once with the pipeline (or, with MODEL = "zero-shot",
with a blank pipeline holding gliznet_textcat on the bundled default model and the
28 labels), picks the single threshold that maximizes dev macro-F1 (grid 0.02..0.98),
and reports spaCy's Scorer.score_cats on test at that threshold.

    python scripts/evaluate.py MODEL corpus/dev.spacy corpus/test.spacy --output metrics/x.json
"""

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import spacy
from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Example

GRID = [round(x, 2) for x in np.arange(0.02, 0.99, 0.02)]


def load_pipeline(model: str, labels: List[str]):
    if model == "zero-shot":
        import spacy_gliznet  # noqa: F401

        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", config={"labels": labels, "multi_label": True})
        return nlp
    return spacy.load(model)


def predict(nlp, path: Path) -> List[Example]:
    docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    preds = nlp.pipe([d.text for d in docs], batch_size=256)
    return [Example(pred, gold) for pred, gold in zip(preds, docs)]


def score(examples: List[Example], labels: List[str], threshold: float) -> Dict[str, float]:
    s = Scorer.score_cats(examples, "cats", labels=labels, multi_label=True, threshold=threshold)
    return {"macro_f": s["cats_macro_f"], "macro_auc": s["cats_macro_auc"],
            "micro_f": s["cats_micro_f"], "f_per_type": {k: v["f"] for k, v in s["cats_f_per_type"].items()}}


def choose_threshold(examples: List[Example], labels: List[str]) -> float:
    best = max(GRID, key=lambda t: (score(examples, labels, t)["macro_f"], -abs(t - 0.5)))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("dev", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    labels = list(next(DocBin().from_disk(args.dev).get_docs(spacy.blank("en").vocab)).cats)
    nlp = load_pipeline(args.model, labels)
    start = time.perf_counter()
    dev = predict(nlp, args.dev)
    test = predict(nlp, args.test)
    seconds = time.perf_counter() - start
    threshold = choose_threshold(dev, labels)
    result = {
        "name": args.name or args.model,
        "threshold": threshold,
        "dev": score(dev, labels, threshold),
        "test": score(test, labels, threshold),
        "docs_per_second": (len(dev) + len(test)) / seconds,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(f"{result['name']}: threshold {threshold} (dev macro-F1 {result['dev']['macro_f']:.3f}); "
          f"test macro-F1 {result['test']['macro_f']:.3f}, macro AUC {result['test']['macro_auc']:.3f}")


if __name__ == "__main__":
    main()
