"""The component's settings, grouped by concern, each with one validation and one
spelling (a leaf: imports nothing of the package but its errors).

- :class:`DecisionSettings`: which labels a doc gets from its scores
  (``threshold``, ``thresholds``, ``decision_rule``, ``rule_param`` and the learned
  ``label_stats``; the rules themselves live in ``decisions.py``);
- :class:`LongTextSettings`: texts longer than the model and the spans scored
  (``windows.py`` and ``spans.py`` carry them out);
- :class:`TrainingSettings`: the labels an example trains on;
- :class:`LossSettings`: the weights of the training loss (``losses.py``).

The config keys of ``gliznet_textcat`` are these field names; its
``DEFAULT_CONFIG`` (``registrations.py``) is built from the defaults here. Every
class validates in ``__post_init__``, so a value that passes through one of them is
checked once, wherever it came from (config, attribute, per-call argument).
"""

import math
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import GliZNetInputError, UnknownLabelWarning

# -- decisions ------------------------------------------------------------------------
RULES = ("threshold", "ratio", "margin", "zscore")
#: each relative rule's ``rule_param`` when none is given (margin and ratio:
#: examples/bundled_model/select_rule.py; zscore: examples/adapt, both on train_pool alone)
RULE_PARAM_DEFAULTS: Dict[str, float] = {"ratio": 0.95, "margin": 0.015, "zscore": 2.0}
#: the multi-label rule of the bundled model, chosen on train_pool alone
#: (examples/bundled_model/select_rule.py)
DEFAULT_RULE = "margin"


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))


def validate_bool(value: Any, what: str) -> bool:
    """``value`` if it is a bool (true/false), else GliZNetInputError naming ``what``: a
    string such as ``"false"`` is refused, not read as True by ``bool()``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise GliZNetInputError(f"{what} must be true or false (a bool), got "
                            f"{type(value).__name__} {value!r}")


def validate_int(value: Any, what: str, minimum: Optional[int] = None) -> int:
    """``value`` as a whole number (>= ``minimum``), else GliZNetInputError naming
    ``what``: a bool, a float such as 1.5 or a string such as ``"7"`` is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise GliZNetInputError(f"{what} must be a whole number{bound}, got "
                                f"{type(value).__name__} {value!r}")
    return int(value)


def validate_number(value: Any, what: str, low: Optional[float] = None,
                    high: Optional[float] = None, low_open: bool = False,
                    high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds given (``low_open``/``high_open``:
    the bound itself is excluded), else GliZNetInputError naming ``what``; a string
    such as ``"0.1"`` or a bool is refused."""
    ok = _is_number(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) < high if high_open else float(value) <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        if lo and hi:
            need = f"in {lo}, {hi} (a number)"
        elif lo:
            need = f"a number >{'' if low_open else '='} {low:g}"
        else:
            need = "a finite number"
        raise GliZNetInputError(f"{what} must be {need}, got {type(value).__name__} {value!r}")
    return float(value)


def validate_threshold(value: Any, what: str = "threshold") -> float:
    """``value`` as a float in [0, 1], else GliZNetInputError naming ``what``."""
    if not _is_number(value) or not math.isfinite(float(value)) or not 0.0 <= float(value) <= 1.0:
        raise GliZNetInputError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


def validate_thresholds(values: Optional[Mapping[str, Any]],
                        known_labels: Optional[Sequence[str]] = None,
                        where: str = "thresholds") -> Dict[str, float]:
    """Per-label thresholds as ``{label: float in [0, 1]}``.

    A label missing from ``known_labels`` (when that is non-empty) gets an
    :class:`UnknownLabelWarning`, not an error: labels can change per call and per
    doc, so a threshold may be meant for labels given later.
    """
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise GliZNetInputError(
            f"{where} must be a dict of label -> threshold, got {type(values).__name__}")
    out: Dict[str, float] = {}
    for label, value in values.items():
        if not isinstance(label, str) or not label.strip():
            raise GliZNetInputError(f"{where}: labels must be non-empty strings, got {label!r}")
        out[label] = validate_threshold(value, f"{where}[{label!r}]")
    if known_labels:
        unknown = sorted(set(out) - set(known_labels))
        if unknown:
            warnings.warn(
                f"{where}: no such label among the component's labels: {unknown}. "
                f"Their thresholds apply only when these labels are given per call or per doc.",
                UnknownLabelWarning, stacklevel=3)
    return out


def validate_rule(rule: Any, param: Any) -> Tuple[str, Optional[float]]:
    """Check a decision rule and its parameter; returns them normalised.

    ``"threshold"`` ignores ``param``; ``"ratio"`` takes a ratio in (0, 1];
    ``"margin"`` a margin in [0, 1]; ``"zscore"`` any number; None gives the rule's
    own default (:data:`RULE_PARAM_DEFAULTS`).
    """
    if rule not in RULES:
        raise GliZNetInputError(f"decision_rule must be one of {list(RULES)}, got {rule!r}")
    if rule == "threshold":
        if param is not None and not _is_number(param):
            raise GliZNetInputError(f"rule_param must be a number or null, got {param!r}")
        return rule, None if param is None else float(param)
    if param is None:
        return rule, RULE_PARAM_DEFAULTS[rule]
    if not _is_number(param) or not math.isfinite(float(param)):
        raise GliZNetInputError(f"rule_param must be a number, got {param!r}")
    value = float(param)
    if rule == "ratio" and not 0.0 < value <= 1.0:
        raise GliZNetInputError(f"rule_param of the 'ratio' rule must be in (0, 1], got {param!r}")
    if rule == "margin" and not 0.0 <= value <= 1.0:
        raise GliZNetInputError(f"rule_param of the 'margin' rule must be in [0, 1], got {param!r}")
    return rule, value


def validate_label_stats(values: Optional[Mapping[str, Any]],
                         where: str = "label_stats") -> Dict[str, List[float]]:
    """Per-label corpus statistics as ``{label: [mean, std]}`` of the label's logit
    (finite, std > 0)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise GliZNetInputError(f"{where} must be a dict of label -> [mean, std], "
                                f"got {type(values).__name__}")
    out: Dict[str, List[float]] = {}
    for label, pair in values.items():
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(_is_number, pair))
              and all(math.isfinite(float(v)) for v in pair) and float(pair[1]) > 0)
        if not isinstance(label, str) or not ok:
            raise GliZNetInputError(f"{where}[{label!r}] must be [mean, std] with std > 0, "
                                    f"got {pair!r}")
        out[label] = [float(pair[0]), float(pair[1])]
    return out


def stats_for_labels(stats: Mapping[str, List[float]], texts_read: Mapping[str, str],
                     pairs: Sequence[Tuple[str, str]]) -> Dict[str, List[float]]:
    """The label statistics that apply to labels read as ``pairs`` (key, text the model
    reads): a label's ``[mean, std]`` only while the model reads the same text for it
    as when they were computed (``texts_read``; a key missing there was read as itself).
    A label whose description changed has none (the ``"zscore"`` rule then decides it
    by the top label and its threshold alone)."""
    return {k: stats[k] for k, t in pairs if k in stats and texts_read.get(k, k) == t}


def validate_top_k(value: Any, what: str = "cats_top_k") -> Optional[int]:
    """``cats_top_k``: None (every label) or a whole number >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GliZNetInputError(f"{what} must be null (every label) or a whole number >= 1, "
                                f"got {value!r}")
    return int(value)


@dataclass(frozen=True)
class DecisionSettings:
    """Which labels a multi-label doc gets from its scores (single-label: the top label).

    threshold: the absolute score a label needs under ``"threshold"``, for labels
        without their own.
    thresholds: per-label thresholds ``{label: value in [0, 1]}``; under every rule a
        label also passes by its own threshold.
    decision_rule: ``"threshold"``, ``"margin"``, ``"ratio"`` or ``"zscore"``
        (see ``decisions.py``).
    rule_param: the rule's parameter as given; None: the rule's own default
        (:data:`RULE_PARAM_DEFAULTS`); :attr:`param` is the one in use.
    label_stats: ``{label: [mean, std]}`` of each label's logit over a corpus, for
        ``"zscore"`` (learned by ``adapt``, not a config setting).
    """

    threshold: float = 0.5
    thresholds: Dict[str, float] = field(default_factory=dict)
    decision_rule: str = DEFAULT_RULE
    rule_param: Optional[float] = None
    label_stats: Dict[str, List[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "threshold", validate_threshold(self.threshold))
        set_(self, "thresholds", validate_thresholds(self.thresholds))
        rule, _ = validate_rule(self.decision_rule, self.rule_param)
        set_(self, "decision_rule", rule)
        set_(self, "rule_param", None if self.rule_param is None else float(self.rule_param))
        set_(self, "label_stats", validate_label_stats(self.label_stats))

    @property
    def param(self) -> Optional[float]:
        """The rule's parameter in use (its default when none was given)."""
        return validate_rule(self.decision_rule, self.rule_param)[1]

    def with_overrides(self, **overrides: Any) -> "DecisionSettings":
        """These settings with per-call ``overrides`` (None: keep). A ``decision_rule``
        other than this one, without a ``rule_param``, takes that rule's default: a
        parameter belongs to its rule."""
        unknown = set(overrides) - set(DECISION_CONFIG_KEYS)
        if unknown:
            raise GliZNetInputError(f"unknown decision settings {sorted(unknown)}; "
                                    f"known: {list(DECISION_CONFIG_KEYS)}")
        given = {k: v for k, v in overrides.items() if v is not None}
        if given.get("decision_rule", self.decision_rule) != self.decision_rule:
            given.setdefault("rule_param", None)
        return replace(self, **given) if given else self

    def config(self) -> Dict[str, Any]:
        """The config keys and values (``label_stats`` is learned state, not config)."""
        return {k: getattr(self, k) for k in DECISION_CONFIG_KEYS}


DECISION_CONFIG_KEYS = ("threshold", "thresholds", "decision_rule", "rule_param")


def fits_rule(rule: Any, param: Any) -> bool:
    """Whether ``param`` is a valid ``rule_param`` of a valid ``rule``."""
    try:
        validate_rule(rule, param)
    except GliZNetInputError:
        return False
    return True


def rule_param_at_load(saved_rule: str, saved_param: Optional[float], rule: str,
                       param: Optional[float]) -> Optional[float]:
    """The ``rule_param`` of a pipe loaded from disk whose config gives ``rule`` and
    ``param`` (``spacy.load(..., config=...)`` may override them) and which was saved
    with ``saved_rule`` and ``saved_param``: a rule switched without a parameter of its
    own (the config still holds the saved rule's) takes its own default (None), as a
    rule switched per call or on the pipe does."""
    if rule != saved_rule and param == saved_param:
        return None
    return param


# -- long texts and spans ---------------------------------------------------------------
LONG_TEXT_POLICIES = ("windows", "truncate")
AGGREGATIONS = ("auto", "max", "mean")
SPAN_SOURCES = (None, "sents", "spans")
DOC_CATS = ("doc", "spans", "none")
#: the ``doc.spans`` key that gets the decided labels of scored spans (for displaCy)
DECIDED_SPANS_KEY = "gliznet"


def choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """``value`` if it is one of ``allowed``, else GliZNetInputError naming ``name``."""
    if value not in allowed or isinstance(value, bool):
        shown = ", ".join("null" if a is None else repr(a) for a in allowed)
        raise GliZNetInputError(f"{name} must be one of {shown}; got {value!r}")
    return value


@dataclass(frozen=True)
class LongTextSettings:
    """How a component treats texts longer than the model and which spans it scores.

    long_text: ``"windows"`` (score overlapping windows over the whole text and
        aggregate) or ``"truncate"`` (score the first ``max_length - 2`` tokens,
        flag ``doc._.gliznet_truncated`` and warn).
    window_overlap: model tokens that consecutive windows may share; None: an
        eighth of the model's text window (31 tokens for the bundled model).
    aggregation: ``"auto"`` (``max`` for multi-label, ``mean`` for single-label),
        ``"max"`` or ``"mean"``; for windows into a text and for spans into a doc.
    span_source: None (docs only), ``"sents"`` (every sentence of ``doc.sents``)
        or ``"spans"`` (every span of ``doc.spans[spans_key]``).
    spans_key: the ``doc.spans`` key read when ``span_source="spans"``.
    doc_cats: ``"doc"`` (``doc.cats`` from the whole doc), ``"spans"``
        (aggregated from the span scores) or ``"none"`` (``doc.cats`` untouched).
    decided_spans_key: with a span source, the ``doc.spans`` key that gets one span
        per decided label of each scored span, the label as its span label (for
        ``displacy.render(doc, style="span", options={"spans_key": key})``); None: none.
    """

    long_text: str = "windows"
    window_overlap: Optional[int] = None
    aggregation: str = "auto"
    span_source: Optional[str] = None
    spans_key: str = "sc"
    doc_cats: str = "doc"
    decided_spans_key: Optional[str] = DECIDED_SPANS_KEY

    def __post_init__(self) -> None:
        choice("long_text", self.long_text, LONG_TEXT_POLICIES)
        choice("aggregation", self.aggregation, AGGREGATIONS)
        choice("span_source", self.span_source, SPAN_SOURCES)
        choice("doc_cats", self.doc_cats, DOC_CATS)
        overlap = self.window_overlap
        if overlap is not None:
            if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
                raise GliZNetInputError(
                    f"window_overlap must be null (auto) or a whole number of model tokens >= 0; "
                    f"got {overlap!r}")
            object.__setattr__(self, "window_overlap", int(overlap))
        if not isinstance(self.spans_key, str) or not self.spans_key:
            raise GliZNetInputError(f"spans_key must be a non-empty string; got {self.spans_key!r}")
        key = self.decided_spans_key
        if key is not None and (not isinstance(key, str) or not key):
            raise GliZNetInputError(f"decided_spans_key must be a non-empty string or null, got {key!r}")
        if self.span_source == "spans" and key == self.spans_key:
            raise GliZNetInputError(
                f"decided_spans_key {key!r} is the spans_key that span_source='spans' reads; "
                f"writing the decisions there would replace the spans scored: choose another key")
        if self.doc_cats != "doc" and self.span_source is None:
            raise GliZNetInputError(
                f"doc_cats={self.doc_cats!r} needs span_source 'sents' or 'spans' "
                f"(there are no span scores to aggregate or to keep instead)")

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


LONG_TEXT_KEYS = tuple(f.name for f in fields(LongTextSettings))


def long_text_settings(where: str = "gliznet_textcat", **settings: Any) -> LongTextSettings:
    """:class:`LongTextSettings` from keyword settings (missing ones take their
    defaults); an unknown or bad setting raises GliZNetInputError naming ``where``."""
    unknown = sorted(set(settings) - set(LONG_TEXT_KEYS))
    if unknown:
        raise GliZNetInputError(f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(LONG_TEXT_KEYS)}")
    try:
        return LongTextSettings(**settings)
    except GliZNetInputError as err:
        raise GliZNetInputError(f"{where}: {err}") from None


# -- training -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingSettings:
    """The labels one training example trains on.

    negative_samples: how many labels of the pipe's label set that the example does
        not mention to add as negatives.
    shuffle_labels: shuffle each example's labels (labels attend to each other).
    """

    negative_samples: int = 0
    shuffle_labels: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "negative_samples",
                           validate_int(self.negative_samples, "negative_samples", 0))
        object.__setattr__(self, "shuffle_labels",
                           validate_bool(self.shuffle_labels, "shuffle_labels"))


@dataclass(frozen=True)
class LossSettings:
    """Weights of the training loss: supervised contrastive (``supcon_weight``),
    label repulsion (``repulsion_weight``, for label pairs whose cosine exceeds
    ``repulsion_threshold``) and BCE (``bce_weight``)."""

    supcon_weight: float = 1.0
    repulsion_weight: float = 0.1
    repulsion_threshold: float = 0.3
    bce_weight: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not _is_number(value) or not math.isfinite(float(value)):
                raise GliZNetInputError(f"loss {f.name} must be a finite number, got {value!r}")
            if f.name.endswith("_weight") and float(value) < 0:
                raise GliZNetInputError(f"loss {f.name} must be >= 0, got {value!r}")
            object.__setattr__(self, f.name, float(value))
