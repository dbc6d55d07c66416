"""Label sets: validation, ``{label: description}`` pairs, labels with examples, and
the negatives and order of training labels (a leaf: imports nothing of the package
but its errors).

A label set is given as a list of labels, a ``{label: description}`` dict, or a dict
whose values may also be ``{"description": ..., "examples": [...]}`` (both keys
optional): a few texts that carry the label, which the model reads at prediction
time (see ``model/prototypes.py``). :func:`label_specs` reads any of these into
(key, text) pairs (the key written to ``doc.cats``, the text the model reads) and
the examples of the labels that have some; :func:`label_config` writes them back.
"""

import random
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import GliZNetInputError

LabelsArg = Union[Sequence[str], Dict[str, Any]]
LabelPairs = List[Tuple[str, str]]  # (key written to doc.cats, text the model reads)
LabelExamples = Dict[str, Tuple[str, ...]]  # label key -> its example texts (labels with examples)
LABEL_FIELDS = ("description", "examples")  # what a label's dict may hold
#: the longest example text accepted (an example is a text like those to classify; the
#: model reads the first window of a longer one, as training does)
MAX_EXAMPLE_CHARS = 20_000


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
    """The (key, text) pairs of a label set (see :func:`label_specs`; this view leaves
    out examples: use it only where they do not matter, e.g. for the keys)."""
    return label_specs(labels, where)[0]


def validate_examples(examples: Any, label: str) -> Tuple[str, ...]:
    """A label's examples as a tuple of texts; GliZNetInputError (naming the label) for
    a value that is not a list of non-empty, distinct, valid strings."""
    what = f"the examples of label {label!r}"
    if isinstance(examples, (str, bytes)) or not isinstance(examples, (list, tuple)):
        raise GliZNetInputError(f"{what} must be a list of texts, got {type(examples).__name__}: "
                                f"{short_repr(str(examples))}")
    if not examples:
        raise GliZNetInputError(f"{what} are an empty list: give at least one text or leave "
                                f"'examples' out")
    seen: Dict[str, int] = {}
    for i, text in enumerate(examples):
        if not isinstance(text, str):
            raise GliZNetInputError(f"{what}: example {i} is {type(text).__name__}, not a string: "
                                    f"{short_repr(str(text))}")
        if not text.strip():
            raise GliZNetInputError(f"{what}: example {i} is empty or whitespace-only")
        if len(text) > MAX_EXAMPLE_CHARS:
            raise GliZNetInputError(f"{what}: example {i} has {len(text):,} characters, more than "
                                    f"{MAX_EXAMPLE_CHARS:,}: give a short text like the ones to "
                                    f"classify (the model reads its first window only)")
        check_unicode(text, f"Example {i} of label {label!r}")
        if text in seen:
            raise GliZNetInputError(f"{what}: example {i} repeats example {seen[text]} "
                                    f"({short_repr(text)})")
        seen[text] = i
    return tuple(examples)


def _label_entry(key: str, value: Any) -> Tuple[str, Optional[Tuple[str, ...]]]:
    """(text the model reads, examples or None) of one value of a label dict."""
    if isinstance(value, Mapping):
        unknown = sorted(set(map(str, value)) - set(LABEL_FIELDS))
        if unknown:
            raise GliZNetInputError(f"label {key!r} has unknown fields {unknown}; a label's dict "
                                    f"holds {' and/or '.join(repr(f) for f in LABEL_FIELDS)}")
        text = value.get("description", key)
        examples = value.get("examples")
        return text, None if examples is None else validate_examples(examples, key)
    return value, None


def label_specs(labels: Optional[LabelsArg], where: str) -> Tuple[LabelPairs, LabelExamples]:
    """Normalise a label list, a ``{label: description}`` dict or a dict with
    ``{"description", "examples"}`` values to (key, text) pairs and the examples of the
    labels that have them, raising GliZNetInputError (prefixed with ``where``) for
    invalid labels, descriptions or examples."""
    if labels is None:
        return [], {}
    try:
        if isinstance(labels, Mapping):
            keys = validate_labels(list(labels.keys()))
            entries = [_label_entry(k, labels[k]) for k in keys]
            texts = [t for t, _ in entries]
            examples = {k: ex for k, (_, ex) in zip(keys, entries) if ex is not None}
            for k, t in zip(keys, texts):
                if not isinstance(t, str) or not t.strip():
                    raise GliZNetInputError(
                        f"the description of label {k!r} must be a non-empty string, got {t!r}"
                    )
                check_unicode(t, f"The description of label {k!r}")
            if len(set(texts)) != len(texts):
                raise GliZNetInputError("two labels share one description")
            return list(zip(keys, texts)), examples
        keys = validate_labels(labels)
    except GliZNetInputError as err:
        raise GliZNetInputError(f"{where}: {err}") from None
    return [(k, k) for k in keys], {}


def label_config(pairs: LabelPairs, examples: Optional[LabelExamples] = None) -> LabelsArg:
    """A label set as configs and label files write it (what :func:`label_specs` reads
    back): a list when every label is its own text and none has examples; else a dict,
    ``{label: description}``, with ``{"description": ..., "examples": [...]}`` for the
    labels with examples (``description`` only where it differs from the label)."""
    examples = examples or {}
    if not examples and all(k == t for k, t in pairs):
        return [k for k, _ in pairs]
    out: Dict[str, Any] = {}
    for k, t in pairs:
        if k in examples:
            out[k] = {**({"description": t} if t != k else {}), "examples": list(examples[k])}
        else:
            out[k] = t
    return out


@dataclass(frozen=True)
class ExampleSet:
    """The examples of one label list as the model reads them.

    texts: per label, in the label list's order, its example texts (() for none).
    multi_label: the mode the examples choose the label vectors (and decisions) for.
    """

    texts: Tuple[Tuple[str, ...], ...]
    multi_label: bool = False


def example_set(pairs: LabelPairs, examples: Optional[LabelExamples],
                multi_label: bool) -> Optional[ExampleSet]:
    """The :class:`ExampleSet` of a label list (None when no label has examples)."""
    if not examples or not any(k in examples for k, _ in pairs):
        return None
    return ExampleSet(tuple(tuple(examples.get(k, ())) for k, _ in pairs), bool(multi_label))


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
