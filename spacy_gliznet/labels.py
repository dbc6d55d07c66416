"""Label sets: validation, ``{label: description}`` pairs, and the negatives and
order of training labels (a leaf: imports nothing of the package but its errors)."""

import random
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .errors import GliZNetInputError

LabelsArg = Union[Sequence[str], Dict[str, str]]
LabelPairs = List[Tuple[str, str]]  # (key written to doc.cats, text the model reads)


def short_repr(text: str, limit: int = 60) -> str:
    """repr() of a text, shortened for error messages."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_unicode(text: str, what: str) -> None:
    """Raise GliZNetInputError if ``text`` holds lone surrogates (not valid
    Unicode; tokenizers fail on them deep inside)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise GliZNetInputError(
            f"{what} is not valid Unicode: lone surrogate {text[err.start]!r} at character "
            f"{err.start} (decode the source with errors='replace' to fix it)"
        ) from None


def validate_labels(labels: Sequence[str]) -> List[str]:
    """Check a label list and return it as a list of strings.

    Raises GliZNetInputError for a label list that is not an ordered sequence
    (a single string, None, a set: a set's order changes between runs and label
    order changes the scores), and for non-string, empty, duplicate or invalid
    Unicode labels.
    """
    if isinstance(labels, (str, bytes)):
        raise GliZNetInputError(
            f"Labels must be a list of strings, not a single string: {labels!r}"
        )
    if isinstance(labels, (set, frozenset)):
        raise GliZNetInputError(
            "Labels must be an ordered list, not a set: label order changes the scores "
            "and a set's order changes between runs (use sorted(labels))"
        )
    try:
        out = list(labels)
    except TypeError:
        raise GliZNetInputError(
            f"Labels must be a list of strings; got {type(labels).__name__}: {labels!r}"
        ) from None
    seen = set()
    for i, label in enumerate(out):
        if not isinstance(label, str):
            raise GliZNetInputError(
                f"Every label must be a string; label {i} is {type(label).__name__}: {label!r}"
            )
        if not label.strip():
            raise GliZNetInputError(
                f"Labels must not be empty or whitespace-only; label {i} is {label!r}"
            )
        check_unicode(label, f"Label {i} ({short_repr(label)})")
        if label in seen:
            raise GliZNetInputError(f"Duplicate label: {label!r}")
        seen.add(label)
    return out



def label_pairs(labels: Optional[LabelsArg], where: str) -> LabelPairs:
    """Normalise a label list or a {label: description} dict to (key, text) pairs,
    raising GliZNetInputError (prefixed with ``where``) for invalid labels."""
    if labels is None:
        return []
    try:
        if isinstance(labels, dict):
            keys = validate_labels(list(labels.keys()))
            texts = [labels[k] for k in keys]
            for k, t in zip(keys, texts):
                if not isinstance(t, str) or not t.strip():
                    raise GliZNetInputError(
                        f"the description of label {k!r} must be a non-empty string, got {t!r}"
                    )
                check_unicode(t, f"The description of label {k!r}")
            if len(set(texts)) != len(texts):
                raise GliZNetInputError("two labels share one description")
            return list(zip(keys, texts))
        keys = validate_labels(labels)
    except GliZNetInputError as err:
        raise GliZNetInputError(f"{where}: {err}") from None
    return [(k, k) for k in keys]


def training_labels(cats: Dict[str, float], pool: Sequence[str], negative_samples: int,
                    rng: random.Random, shuffle: bool) -> Dict[str, float]:
    """The labels one training example is scored against: its ``cats`` (1.0
    positive, 0.0 negative) plus ``negative_samples`` labels of ``pool`` that it
    does not mention, as 0.0, in shuffled order when ``shuffle`` (labels that
    attend to each other must not learn an order). Used by the corpus reader
    (pool: the dataset's label set) and the component (pool: the pipe's labels)."""
    out = dict(cats)
    if negative_samples > 0:
        free = [lab for lab in pool if lab not in out]
        for neg in rng.sample(free, min(len(free), negative_samples)):
            out[neg] = 0.0
    if shuffle:
        keys = list(out)
        rng.shuffle(keys)
        out = {k: out[k] for k in keys}
    return out
