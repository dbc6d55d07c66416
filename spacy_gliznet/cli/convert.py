"""``python -m spacy_gliznet convert``: JSONL + manifest folder to a .spacy
DocBin, or one split of it to a new manifest folder (``--to jsonl``).

Every option is honoured by the output it applies to and refused by the other
(``--lang`` and ``--negative-samples`` mean nothing to ``--to jsonl``); the
manifest's own ``splits`` (train/dev/test files) are read when a dataset has them."""

import argparse

from ..corpus.readers import jsonl_to_docbin, write_split
from ..errors import GliZNetInputError
from ._common import UsageError, add_overwrite_option, comma_list

ALL_LABELS = 1_000_000  # --negative-samples all: every label of the dataset


def convert(input_dir: str, output: str, *, to: str = "spacy", lang: str = "en",
            datasets=None, exclude=(), negative_samples: int = 5, split: str = "all",
            holdout_fraction: float = 0.0, max_rows_per_dataset: int = 0, seed: int = 0,
            overwrite: bool = False) -> int:
    if to == "spacy":
        return jsonl_to_docbin(input_dir, output, lang=lang, datasets=datasets, exclude=exclude,
                               negative_samples=negative_samples, split=split,
                               holdout_fraction=holdout_fraction, seed=seed,
                               max_rows_per_dataset=max_rows_per_dataset, overwrite=overwrite)
    if to == "jsonl":
        return write_split(input_dir, output, split=split, holdout_fraction=holdout_fraction,
                           datasets=datasets, exclude=exclude,
                           max_rows_per_dataset=max_rows_per_dataset, seed=seed,
                           overwrite=overwrite)
    raise GliZNetInputError(f"--to must be 'spacy' or 'jsonl', got {to!r}")


def _negatives(value: str) -> int:
    if value == "all":
        return ALL_LABELS
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number >= 0 or 'all', got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"a number >= 0 or 'all', got {value!r}")
    return n


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``convert`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser(
        "convert", help="JSONL + manifest folder to .spacy (or one split of it to jsonl)",
        description="Convert a folder of JSONL files with a manifest.json (the layout of "
                    "../shared/data) to a .spacy DocBin for spacy train (doc.cats: 1.0 for gold "
                    "labels, 0.0 for sampled negatives), or copy one split of it to a new "
                    "manifest folder (--to jsonl).")
    p.add_argument("input_dir", help="folder with manifest.json and its *.jsonl files")
    p.add_argument("output", help="the .spacy file (--to spacy) or folder (--to jsonl) to write")
    p.add_argument("--to", default="spacy", choices=["spacy", "jsonl"],
                   help="output format (default: spacy)")
    p.add_argument("--lang", default=None,
                   help="--to spacy: language of the tokenizer that makes the docs (default: en)")
    p.add_argument("--datasets", default=None,
                   help="comma-separated datasets of the manifest to read (default: all)")
    p.add_argument("--exclude", default=None, help="comma-separated datasets to leave out")
    p.add_argument("--negative-samples", type=_negatives, default=None,
                   help="--to spacy: labels of the dataset's label set, not gold for a row, added "
                        "to its cats as 0.0 (one seeded draw); 'all' adds every label "
                        "(default: 5)")
    p.add_argument("--split", default="all", choices=["all", "train", "dev", "test"],
                   help="rows to keep: a dataset with 'splits' in the manifest reads that "
                        "split's file; one without is split by a hash of the text "
                        "(--holdout-fraction; 'test' needs the manifest's splits); 'all' reads "
                        "each entry's 'file' (default)")
    p.add_argument("--holdout-fraction", type=float, default=0.0,
                   help="share of rows (by text hash) that form 'dev' for datasets without "
                        "their own splits; refused for datasets with splits")
    p.add_argument("--max-rows-per-dataset", type=int, default=0,
                   help="at most this many rows per dataset: a seeded sample, in file order "
                        "(0: all)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the row sample and the negative draw")
    add_overwrite_option(p, help="replace OUTPUT if it exists (the whole folder with --to jsonl: the "
                        "entries of an existing manifest there are not kept); written atomically")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``convert`` from parsed arguments."""
    if args.to == "jsonl":
        given = [flag for flag, value in (("--lang", args.lang),
                                          ("--negative-samples", args.negative_samples))
                 if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)}: only for --to spacy (--to jsonl copies rows "
                             f"as they are)")
    if args.max_rows_per_dataset < 0:
        raise UsageError("--max-rows-per-dataset must be >= 0")
    n = convert(args.input_dir, args.output, to=args.to, lang=args.lang or "en",
                datasets=comma_list(args.datasets, "--datasets"),
                exclude=comma_list(args.exclude, "--exclude") or (),
                negative_samples=5 if args.negative_samples is None else args.negative_samples,
                split=args.split, holdout_fraction=args.holdout_fraction,
                max_rows_per_dataset=args.max_rows_per_dataset, seed=args.seed,
                overwrite=args.overwrite)
    print(f"Wrote {n} rows to {args.output}")
