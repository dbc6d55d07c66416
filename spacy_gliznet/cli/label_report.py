"""``python -m spacy_gliznet label-report DATA``: positives and negatives per label, labels
never positive and docs without a positive label, for a ``.spacy`` file (its
``doc.cats``) or a JSONL + manifest folder (each dataset against its manifest labels).
The same report prints before ``spacy train`` starts with the shipped config
(``[initialize.after_init] @callbacks = "spacy_gliznet.label_report.v1"``)."""

import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional

from ..corpus.label_report import LabelReport, label_report
from ..atomic import check_output, write_text
from ..corpus.readers import MANIFEST, load_datasets, read_docbin
from ..errors import GliZNetInputError
from ._common import add_overwrite_option, load_pipeline, read_labels_option


def report_path(path: str, labels: Optional[List[str]] = None, split: str = "all",
                holdout_fraction: float = 0.0) -> Dict[str, LabelReport]:
    """Reports for ``path``: {file name: report} for a .spacy file, {dataset: report} for
    a manifest folder."""
    import spacy

    p = Path(path)
    if p.is_dir() and (p / MANIFEST).is_file():
        sets = load_datasets(p, split=split, holdout_fraction=holdout_fraction)
        empty = [d.name for d in sets if not d.rows]
        if empty:
            raise GliZNetInputError(f"{str(path)!r}: no rows in dataset(s) {empty} (split "
                                    f"{split!r}): there is nothing to report on")
        return {d.name: label_report([(row["text"], row["labels"]) for row in d.rows],
                                     labels or d.labels) for d in sets}
    if p.is_file() and p.suffix == ".spacy":
        docs = read_docbin(p, spacy.blank("xx").vocab)
        if not docs:
            raise GliZNetInputError(f"{str(path)!r} holds no docs: there is nothing to report on")
        return {p.name: label_report(docs, labels)}
    raise GliZNetInputError(f"{path}: expected a .spacy file or a folder with {MANIFEST}")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``label-report`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("label-report", help="label counts of training data (positives per "
                              "label, labels never positive, docs without a positive label)")
    p.add_argument("data", help="a .spacy file (doc.cats: >= 0.5 positive) or a folder with "
                                "manifest.json and JSONL files")
    p.add_argument("--labels", default=None,
                   help="comma-separated labels the data should cover (e.g. the pipe's); a "
                        "label never positive in the data is reported")
    p.add_argument("--pipeline", default=None,
                   help="a saved pipeline: its gliznet_textcat labels are the labels to check")
    p.add_argument("--split", default="all", choices=["all", "train", "dev", "test"],
                   help="manifest folders: the split to read (see convert --help)")
    p.add_argument("--holdout-fraction", type=float, default=0.0,
                   help="manifest folders without their own splits: the dev share for --split")
    p.add_argument("--json", default=None, help="also write the counts to this JSON file")
    add_overwrite_option(p, help="replace the --json file if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``label-report`` from parsed arguments and print the counts."""
    if args.json:
        check_output(args.json, inputs=[args.data, args.pipeline], overwrite=args.overwrite,
                     folder=False, what="--json")
    given = read_labels_option(args.labels)
    labels = list(given) if given else None
    if args.pipeline:
        nlp = load_pipeline(args.pipeline, component=None)
        pipes = [pipe for _, pipe in nlp.pipeline if hasattr(pipe, "labels")]
        if not pipes:
            raise GliZNetInputError(f"{args.pipeline} has no component with labels")
        labels = list(pipes[-1].labels)
    reports = report_path(args.data, labels, args.split, args.holdout_fraction)
    for name, report in reports.items():
        report.print(f"Labels in {name}")
    if args.json:
        write_text(args.json, json.dumps({k: r.to_dict() for k, r in reports.items()}, indent=1),
                   args.overwrite)
