"""GoEmotions JSONL splits (train/dev/test + manifest.json) to .spacy DocBins.

Every doc's cats hold all 28 labels: 1.0 for gold, 0.0 for the others. Optional
few-shot subsets: --few-shot 8 32 128 writes train_k{K}.spacy with K examples per
label (greedy over a seeded shuffle: an example is taken while one of its labels
still needs examples).

    python scripts/convert.py DATA_DIR OUTPUT_DIR [--dev-sample 500] [--few-shot 8 32 128]

The project's `convert` command writes the splits with the package's own converter
(`python -m spacy_gliznet convert DATA corpus/train.spacy --split train --negative-samples
all`) and runs this script with --only-few-shot for the few-shot subsets.
"""

import argparse
import random
from collections import Counter
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
from spacy.tokens import DocBin


def read_split(data: Path, split: str):
    manifest = srsly.read_json(data / "manifest.json")["goemotions"]
    labels = list(manifest["labels"])
    rows = list(srsly.read_jsonl(data / manifest["splits"][split]))
    return labels, rows


def to_docbin(rows: List[Dict], labels: List[str], path: Path) -> int:
    nlp = spacy.blank("en")
    db = DocBin(attrs=[])
    for row in rows:
        doc = nlp.make_doc(row["text"])
        gold = set(row["labels"])
        unknown = gold - set(labels)
        if unknown:
            raise ValueError(f"labels not in the manifest: {sorted(unknown)}")
        doc.cats = {label: float(label in gold) for label in labels}
        db.add(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(path)
    return len(rows)


def few_shot(rows: List[Dict], labels: List[str], k: int, seed: int = 0) -> List[Dict]:
    """About k examples per label: take a row while one of its labels has fewer than k."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    counts: Counter = Counter()
    chosen = []
    for row in order:
        if any(counts[label] < k for label in row["labels"]):
            chosen.append(row)
            counts.update(row["labels"])
        if all(counts[label] >= k for label in labels):
            break
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--dev-sample", type=int, default=500,
                        help="also write dev_sample.spacy with this many dev docs (model selection)")
    parser.add_argument("--few-shot", type=int, nargs="*", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-few-shot", action="store_true",
                        help="write only the few-shot subsets (the splits come from "
                             "python -m spacy_gliznet convert)")
    args = parser.parse_args()
    for split in (("train",) if args.only_few_shot else ("train", "dev", "test")):
        labels, rows = read_split(args.data, split)
        if not args.only_few_shot:
            n = to_docbin(rows, labels, args.output / f"{split}.spacy")
            print(f"{split}: {n} docs, {len(labels)} labels")
        if split == "dev" and args.dev_sample:
            sample = random.Random(args.seed).sample(rows, min(args.dev_sample, len(rows)))
            to_docbin(sample, labels, args.output / "dev_sample.spacy")
        if split == "train":
            for k in args.few_shot:
                subset = few_shot(rows, labels, k, args.seed)
                to_docbin(subset, labels, args.output / f"train_k{k}.spacy")
                print(f"train_k{k}: {len(subset)} docs")


if __name__ == "__main__":
    main()
