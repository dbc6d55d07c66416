"""``python -m spacy_gliznet convert``: JSONL + manifest folder to a .spacy
DocBin, or one split of it to a new manifest folder (``--to jsonl``)."""


from ..readers import jsonl_to_docbin, write_split


def convert(input_dir: str, output: str, *, to: str = "spacy", lang: str = "en",
            datasets=None, exclude=(), negative_samples: int = 5, split: str = "all",
            holdout_fraction: float = 0.0, max_rows_per_dataset: int = 0, seed: int = 0) -> int:
    if to == "spacy":
        return jsonl_to_docbin(input_dir, output, lang=lang, datasets=datasets, exclude=exclude,
                               negative_samples=negative_samples, split=split,
                               holdout_fraction=holdout_fraction, seed=seed)
    if to == "jsonl":
        return write_split(input_dir, output, split=split, holdout_fraction=holdout_fraction,
                           datasets=datasets, exclude=exclude,
                           max_rows_per_dataset=max_rows_per_dataset, seed=seed)
    raise ValueError(f"--to must be 'spacy' or 'jsonl', got {to!r}")
