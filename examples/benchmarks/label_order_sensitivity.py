"""How much does a label's score move when the order of the labels changes?

GliZNet puts all labels in one sequence, so labels attend to each other (and to
their positions): the same label can score differently when the other labels
are listed in another order. This script measures it.

For N texts of each benchmark set (``benchmark/*.jsonl``, with the set's label
list from ``manifest.json``), every text is scored with its labels in the
manifest order and in R random permutations. For each (text, label) the
absolute change of the label's score against the manifest order is recorded.
Reported per set:

* ``mean|d|``: mean absolute change over all (text, label, permutation);
* ``p95|d|`` / ``max|d|``: 95th percentile and maximum of it;
* ``range``: mean over (text, label) of max - min score across all orders;
* ``top1 flip``: share of (text, permutation) whose top-scoring label differs
  from the manifest order's.

Scores are sigmoid scores (``--activation softmax`` for single-label scores).
Batch composition does not change scores (tested to 1e-5), so all orders of
one text are scored in one batch.

Usage::

    python examples/benchmarks/label_order_sensitivity.py                      # reference fixture
    python examples/benchmarks/label_order_sensitivity.py path/or/hub-id -n 20 -r 8
    python examples/benchmarks/label_order_sensitivity.py MODEL --sets ag_news sst5 --max-labels 20
"""

import argparse
import json
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DEFAULT_MODEL = SHARED / "fixtures" / "gliznet_reference_bert"
DEFAULT_DATA = SHARED / "data" / "benchmark"

Example = Tuple[str, List[str]]


def measure(model, examples: Sequence[Example], permutations: int = 8, seed: int = 0,
            activation: str = "sigmoid", batch_size: int = 32) -> Dict[str, float]:
    """Order sensitivity of ``model`` (a GliZNetForSequenceClassification with
    its tokenizer) on ``examples`` = [(text, labels), ...]; see the module docstring."""
    rng = random.Random(seed)
    deltas: List[float] = []
    ranges: List[float] = []
    flips: List[bool] = []
    for text, labels in examples:
        orders = [list(labels)]
        for _ in range(permutations):
            order = list(labels)
            rng.shuffle(order)
            orders.append(order)
        results = model.predict_batch([text] * len(orders), orders, activation=activation,
                                      batch_size=batch_size)
        scores = np.array([[r.as_dict()[k] for k in labels] for r in results])  # (R+1, K)
        base = scores[0]
        deltas.extend(np.abs(scores[1:] - base).ravel().tolist())
        ranges.extend((scores.max(0) - scores.min(0)).tolist())
        flips.extend((scores[1:].argmax(1) != base.argmax()).tolist())
    d = np.array(deltas) if deltas else np.zeros(1)
    return {
        "n_texts": len(examples),
        "n_scores": len(ranges),
        "mean_abs_change": float(d.mean()),
        "p95_abs_change": float(np.percentile(d, 95)),
        "max_abs_change": float(d.max()),
        "mean_range": float(np.mean(ranges)) if ranges else 0.0,
        "top1_flip_rate": float(np.mean(flips)) if flips else 0.0,
    }


def load_sets(data_dir: Path, names: Sequence[str], n_texts: int, max_labels: int,
              seed: int) -> Dict[str, List[Example]]:
    manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf8"))
    rng = random.Random(seed)
    out = {}
    for name in names or sorted(manifest):
        info = manifest[name]
        labels = list(info["labels"])[:max_labels] if max_labels else list(info["labels"])
        lines = (data_dir / info["file"]).read_text(encoding="utf8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        picked = rng.sample(rows, min(n_texts, len(rows)))
        out[name] = [(row["text"], labels) for row in picked]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL),
                        help="GliZNet checkpoint or backbone (directory or Hub id)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark directory")
    parser.add_argument("--sets", nargs="*", default=[], help="benchmark sets (default: all)")
    parser.add_argument("-n", "--n-texts", type=int, default=20, help="texts per set")
    parser.add_argument("-r", "--permutations", type=int, default=8, help="orders per text")
    parser.add_argument("--max-labels", type=int, default=0,
                        help="use only the first N labels of each set (0: all)")
    parser.add_argument("--activation", choices=("sigmoid", "softmax"), default="sigmoid")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(args.seed)
    model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(args.model)
    sets = load_sets(args.data, args.sets, args.n_texts, args.max_labels, args.seed)
    print(f"model: {args.model}")
    print(f"{args.n_texts} texts per set, manifest order + {args.permutations} random orders, "
          f"{args.activation} scores, seed {args.seed}\n")
    header = (f"{'set':<16}{'labels':>7}{'mean|d|':>10}{'p95|d|':>10}{'max|d|':>10}"
              f"{'range':>10}{'top1 flip':>11}")
    print(header)
    print("-" * len(header))
    rows = []
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation warnings for long texts
        for name, examples in sets.items():
            stats = measure(model, examples, args.permutations, args.seed, args.activation)
            rows.append(stats)
            print(f"{name:<16}{len(examples[0][1]):>7}{stats['mean_abs_change']:>10.4f}"
                  f"{stats['p95_abs_change']:>10.4f}{stats['max_abs_change']:>10.4f}"
                  f"{stats['mean_range']:>10.4f}{stats['top1_flip_rate']:>11.3f}")
    print("-" * len(header))
    weights = np.array([r["n_scores"] for r in rows], dtype=float)
    print(f"{'all (weighted)':<16}{'':>7}"
          f"{np.average([r['mean_abs_change'] for r in rows], weights=weights):>10.4f}"
          f"{'':>10}{max(r['max_abs_change'] for r in rows):>10.4f}"
          f"{np.average([r['mean_range'] for r in rows], weights=weights):>10.4f}"
          f"{np.mean([r['top1_flip_rate'] for r in rows]):>11.3f}")
    print(f"\n({time.time() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
