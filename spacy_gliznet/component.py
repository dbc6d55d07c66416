"""The ``gliznet_textcat`` pipeline component: zero-shot, multi-label text
classification whose labels can change per pipe, per call and per doc.

Scores go to ``doc.cats`` (every label -> float in [0, 1]); ``doc._.gliznet_truncated``
tells whether the text was cut to fit the model (all labels are always scored).
The labels a doc gets go to ``doc._.gliznet_predicted_labels`` (best first), decided by
``decision_rule`` / ``rule_param`` / ``threshold`` / ``thresholds`` (see ``decisions.py``).
Texts longer than the model are read in overlapping windows (``long_text``), and
sentences or ``doc.spans`` spans can be scored too (``span_source``, scores in
``span._.gliznet_cats``); the logic lives in ``windows.py``.
"""

import dataclasses
import random
import warnings
import weakref
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch
from spacy.vocab import Vocab
from thinc.api import Config, Model, set_dropout_rate

from .adapt import AdaptReport, AdaptSettings, self_train
from .errors import GliZNetInputError, TruncationWarning
from . import decisions
from .decisions import validate_threshold
from .labels import LabelPairs, LabelsArg, label_pairs, training_labels
from .learn_rate import check_learn_rate
from .visualize import DECIDED_SPANS_KEY, check_decided_spans_key, write_decided_spans
from .layers import GliZNetResult, ensure_loaded
from .windows import LONG_TEXT_DEFAULTS, ScoringPlan, collect_scores, plan_scoring, validate_settings
from .losses import LossFunction, make_gliznet_loss
from .outputs import GliZNetOutput, activate

RUNTIME_SETTINGS = ("labels", "multi_label", "threshold", "thresholds", "decision_rule", "rule_param",
                    "cats_top_k",
                    *LONG_TEXT_DEFAULTS)
# The multi-label decision rule of the bundled model, chosen on train_pool alone
# (examples/zero_shot/select_rule.py); see decisions.py for the rules. rule_param null:
# the rule's own default (decisions.RULE_PARAM_DEFAULTS: margin 0.015, ratio 0.97).
DECISION_DEFAULTS = {"thresholds": {}, "decision_rule": "margin", "rule_param": None}
DECISION_SETTINGS = ("threshold", *DECISION_DEFAULTS)


DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_gliznet.GliZNet.v1"
name = null
max_length = null
text_pooling = null
label_pooling = null
projected_dim = null
use_projection_layernorm = null
projector_init = null
logit_scale_init = null
dropout = null
batch_size = 32
mixed_precision = false
quantize = false
"""

DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

DEFAULT_CONFIG = {
    "labels": [],
    "multi_label": True,
    "threshold": 0.5,
    **DECISION_DEFAULTS,
    "cats_top_k": None,
    "negative_samples": 0,
    "shuffle_labels": True,
    **LONG_TEXT_DEFAULTS,
    "loss": {
        "@losses": "spacy_gliznet.GliZNetLoss.v1",
        "supcon_weight": 1.0,
        "repulsion_weight": 0.1,
        "repulsion_threshold": 0.3,
        "bce_weight": 1.0,
    },
    "scorer": {"@scorers": "spacy_gliznet.textcat_scorer.v1"},
    "model": DEFAULT_MODEL,
}


DEFAULT_SCORE_WEIGHTS = {
    "cats_score": 1.0,
    "cats_score_desc": None,
    "cats_micro_p": None,
    "cats_micro_r": None,
    "cats_micro_f": None,
    "cats_macro_p": None,
    "cats_macro_r": None,
    "cats_macro_f": 0.0,  # shown in spacy train's table (from the decisions), not selecting
    "cats_macro_auc": None,
    "cats_f_per_type": None,
}


def make_gliznet_textcat(
    nlp: Language,
    name: str,
    model: Model,
    labels: LabelsArg,
    multi_label: bool,
    threshold: float,
    negative_samples: int,
    shuffle_labels: bool,
    loss: LossFunction,
    scorer: Optional[Callable],
    long_text: str = LONG_TEXT_DEFAULTS["long_text"],
    window_overlap: Optional[int] = LONG_TEXT_DEFAULTS["window_overlap"],
    aggregation: str = LONG_TEXT_DEFAULTS["aggregation"],
    span_source: Optional[str] = LONG_TEXT_DEFAULTS["span_source"],
    spans_key: str = LONG_TEXT_DEFAULTS["spans_key"],
    doc_cats: str = LONG_TEXT_DEFAULTS["doc_cats"],
    thresholds: Optional[Dict[str, float]] = None,
    decision_rule: str = DECISION_DEFAULTS["decision_rule"],
    rule_param: Optional[float] = DECISION_DEFAULTS["rule_param"],
    cats_top_k: Optional[int] = None,
    decided_spans_key: Optional[str] = DECIDED_SPANS_KEY,
) -> "GliZNetTextCategorizer":
    """Create a ``gliznet_textcat`` component.

    model: the ``spacy_gliznet.GliZNet.v1`` layer (its ``name`` names the checkpoint).
    labels: default labels, a list or a {label: description the model reads} dict.
    multi_label: True for independent sigmoid scores, False for a softmax over labels.
    threshold: the absolute score a label needs to be predicted in multi-label mode
        (``doc._.gliznet_predicted_labels`` and the scorer's P/R/F), for labels without their own.
    thresholds: per-label thresholds ``{label: value in [0, 1]}`` (``find-thresholds``
        tunes them on dev data); a label the pipe does not have gets a warning.
    decision_rule: ``"threshold"``, ``"ratio"`` or ``"margin"`` (multi-label decisions,
        see ``spacy_gliznet.decisions``); single-label mode always takes the top label.
    rule_param: the ratio of the top score (``"ratio"``) or the margin below it
        (``"margin"``); ignored by ``"threshold"``; null: the rule's own default
        (margin 0.015, ratio 0.97). It belongs to ``decision_rule``: a per-call
        ``decision_rule`` other than the pipe's, without a per-call ``rule_param``,
        takes that rule's default, and setting ``pipe.decision_rule`` to another rule
        resets it to null.

    Settings and saving: ``labels``, ``multi_label``, the decision settings and the
    long-text settings are runtime settings. The pipeline's config (``nlp.config``,
    saved as ``config.cfg``) always holds their current values: setting them on the
    pipe (``pipe.threshold = 0.3``, what ``find-thresholds`` does) writes the config
    too, except a value the config cannot hold (a dict key starting with ``@``, or
    one holding ``=``, ``:``, ``[``, ...), which is saved with the pipe's own data.
    On load, a value given to ``spacy.load(path, config=...)`` (or any value that
    differs from the saved config) wins over the saved one, whatever it is.
    cats_top_k: null writes every label's score to ``doc.cats``; k writes only the
        k best (best first). Decisions still see every label. spaCy's scorer
        reads a label missing from ``doc.cats`` as 0.0 (see the README).
    negative_samples: in training, how many labels of the pipe's label set that a
        training example does not mention to add as negatives.
    shuffle_labels: shuffle each training example's labels (labels attend to each other).
    loss: the training loss (``spacy_gliznet.GliZNetLoss.v1``).
    scorer: the scoring function (``spacy_gliznet.textcat_scorer.v1``).
    long_text: texts longer than the model (``max_length - 2`` text tokens):
        ``"windows"`` reads the whole text in overlapping windows (cut at sentence
        starts when the doc has sentences) and aggregates their scores;
        ``"truncate"`` reads the first ``max_length - 2`` tokens, sets
        ``doc._.gliznet_truncated`` and warns. ``doc._.gliznet_windows``: how many
        inputs the doc's own scores came from. Prediction only: training reads
        the first ``max_length - 2`` tokens of each example.
    window_overlap: model tokens consecutive windows share (at most half the window);
        null: an eighth of the window (31 tokens for the bundled model).
    aggregation: ``"auto"`` (``"max"`` for multi-label, token-weighted ``"mean"`` of
        probabilities for single-label), ``"max"`` or ``"mean"``: windows into a
        text's scores, and spans into ``doc.cats`` when ``doc_cats="spans"``.
    span_source: None, ``"sents"`` (every sentence; needs a sentencizer, senter or
        parser before this component) or ``"spans"`` (every span of
        ``doc.spans[spans_key]``); each span's scores go to ``span._.gliznet_cats``.
    spans_key: the ``doc.spans`` key read when ``span_source="spans"``.
    decided_spans_key: with a span source, the ``doc.spans`` key that gets one span per
        decided label of each scored span, the label as its span label (for
        ``displacy.render(doc, style="span", options={"spans_key": key})``); null: none.
    doc_cats: with a span source, ``"doc"`` scores the whole doc as well,
        ``"spans"`` aggregates ``doc.cats`` from the span scores (a doc with no
        spans is scored whole), ``"none"`` leaves ``doc.cats`` alone.
    """
    pipe = GliZNetTextCategorizer(
        nlp.vocab, model, name, labels=labels, multi_label=multi_label, threshold=threshold,
        negative_samples=negative_samples, shuffle_labels=shuffle_labels, loss=loss, scorer=scorer,
        long_text=long_text, window_overlap=window_overlap, aggregation=aggregation,
        span_source=span_source, spans_key=spans_key, doc_cats=doc_cats,
        thresholds=thresholds, decision_rule=decision_rule, rule_param=rule_param,
        cats_top_k=cats_top_k, decided_spans_key=decided_spans_key,
    )
    _PIPELINES[pipe] = weakref.ref(nlp)
    return pipe


# pipe -> its pipeline (weakly: a pipe neither keeps its pipeline alive nor pickles it)
_PIPELINES: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _config_value(key: str, value: Any) -> Any:
    """A runtime setting as the config writes it (labels: a list, or a dict with descriptions)."""
    if key == "labels":
        return [k for k, _ in value] if all(k == t for k, t in value) else dict(value)
    return value


def _config_can_hold(value: Any) -> bool:
    """Whether ``value`` survives config.cfg and ``spacy.load``: a save and a read
    give it back, and no dict key starts with ``@`` (read as a registered function)."""
    def keys(v):
        if isinstance(v, dict):
            for k, item in v.items():
                yield k
                yield from keys(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                yield from keys(item)

    if any(str(k).startswith("@") for k in keys(value)):
        return False
    try:
        return Config().from_str(Config({"s": {"v": value}}).to_str())["s"]["v"] == value
    except Exception:
        return False


def gliznet_textcat_score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """spaCy's ``Scorer.score_cats`` on ``doc.cats`` (registered as
    ``spacy_gliznet.textcat_scorer.v1``): AUC from the scores, P/R/F from the decisions
    of ``decisions.decide_cats`` under ``threshold``, ``thresholds``, ``decision_rule``
    and ``rule_param`` (the component's own when called through ``score``), so the
    scorer counts what ``doc._.gliznet_predicted_labels`` holds. Works on the
    ``doc.cats`` of any component (e.g. ``textcat_multilabel``)."""
    examples = list(examples)
    multi = kwargs.pop("multi_label", True)
    rule = {"threshold": kwargs.pop("threshold", 0.5),
            "thresholds": kwargs.pop("thresholds", None) or {},
            "rule": kwargs.pop("decision_rule", "threshold"), "param": kwargs.pop("rule_param", None),
            "label_stats": kwargs.pop("label_stats", None) or {}}
    rule["rule"], rule["param"] = decisions.validate_rule(rule["rule"], rule["param"])
    getter = kwargs.pop("getter", getattr)
    labels = kwargs.get("labels")
    scores = Scorer.score_cats(examples, "cats", multi_label=multi, getter=getter, **kwargs)
    decided = {id(eg.predicted): decisions.decide_cats(getter(eg.predicted, "cats"), labels,
                                                       multi_label=multi, **rule)
               for eg in examples}

    def decided_getter(doc: Doc, attr: str) -> Any:
        return decided[id(doc)] if id(doc) in decided else getter(doc, attr)

    prf = Scorer.score_cats(examples, "cats", multi_label=multi, threshold=0.5,
                            getter=decided_getter, **kwargs)
    for key in ("cats_macro_auc", "cats_auc_per_type"):
        prf[key] = scores[key]
    if multi:
        prf["cats_score"] = scores["cats_score"]
    return prf


def make_gliznet_textcat_scorer() -> Callable:
    return gliznet_textcat_score


class GliZNetTextCategorizer(TrainablePipe):
    """Zero-shot text classification with GliZNet; see the module docstring."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "gliznet_textcat",
        *,
        labels: LabelsArg = (),
        multi_label: bool = True,
        threshold: float = 0.5,
        negative_samples: int = 0,
        shuffle_labels: bool = True,
        loss: Optional[LossFunction] = None,
        scorer: Optional[Callable] = gliznet_textcat_score,
        thresholds: Optional[Dict[str, float]] = None,
        decision_rule: str = DECISION_DEFAULTS["decision_rule"],
        rule_param: Optional[float] = DECISION_DEFAULTS["rule_param"],
        cats_top_k: Optional[int] = None,
        decided_spans_key: Optional[str] = DECIDED_SPANS_KEY,
        **long_text_settings: Any,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        pairs = label_pairs(labels, f"{name} labels")
        if negative_samples < 0:
            raise ValueError(f"negative_samples must be >= 0, got {negative_samples}")
        self.cfg: Dict[str, Any] = {
            "labels": pairs,
            "multi_label": bool(multi_label),
            "threshold": validate_threshold(threshold),
            **self._check_decision(thresholds=thresholds, decision_rule=decision_rule,
                                   rule_param=rule_param, known=[k for k, _ in pairs]),
            "cats_top_k": decisions.validate_top_k(cats_top_k),
            "negative_samples": int(negative_samples),
            "label_stats": {},
            "shuffle_labels": bool(shuffle_labels),
            # long_text, window_overlap, aggregation, span_source, spans_key, doc_cats
            **validate_settings(name, **long_text_settings).as_dict(),
        }
        self.cfg["decided_spans_key"] = check_decided_spans_key(decided_spans_key, self.cfg)
        # What the constructor was given, to tell load-time overrides from saved state.
        self.cfg["constructed_with"] = {k: self.cfg[k] for k in RUNTIME_SETTINGS}
        self.loss_fn = loss if loss is not None else make_gliznet_loss()
        self.scorer = scorer
        self._rng = random.Random(0)
        self._warned_training_cut = False

    # -- settings ---------------------------------------------------------
    @property
    def labels(self) -> Tuple[str, ...]:
        """The pipe's default labels (keys written to doc.cats)."""
        return tuple(k for k, _ in self.cfg["labels"])

    @labels.setter
    def labels(self, labels: LabelsArg) -> None:
        self._set_setting("labels", label_pairs(labels, f"{self.name} labels"))

    @property
    def label_descriptions(self) -> Dict[str, str]:
        return {k: t for k, t in self.cfg["labels"]}

    @property
    def label_data(self) -> LabelsArg:
        """The pipe's labels as ``spacy init labels`` writes them (and
        ``[initialize.components.NAME] labels`` reads them back): a list, or a
        ``{label: description}`` dict when a description differs from its label."""
        if all(k == t for k, t in self.cfg["labels"]):
            return list(self.labels)
        return self.label_descriptions

    @property
    def cats_top_k(self) -> Optional[int]:
        """How many of the best labels go to ``doc.cats`` (None: all)."""
        return self.cfg["cats_top_k"]

    @cats_top_k.setter
    def cats_top_k(self, value: Optional[int]) -> None:
        self.cfg["cats_top_k"] = decisions.validate_top_k(value)

    @property
    def multi_label(self) -> bool:
        return self.cfg["multi_label"]

    @multi_label.setter
    def multi_label(self, value: bool) -> None:
        self._set_setting("multi_label", bool(value))

    @property
    def threshold(self) -> float:
        return self.cfg["threshold"]

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._set_setting("threshold", validate_threshold(value))

    @property
    def thresholds(self) -> Dict[str, float]:
        """Per-label thresholds (a copy; assign a dict to change them)."""
        return dict(self.cfg["thresholds"])

    @thresholds.setter
    def thresholds(self, value: Optional[Dict[str, float]]) -> None:
        self._set_setting("thresholds", decisions.validate_thresholds(
            value, self.labels, f"{self.name} thresholds"))

    @property
    def decision_rule(self) -> str:
        return self.cfg["decision_rule"]

    @decision_rule.setter
    def decision_rule(self, value: str) -> None:
        rule, _ = decisions.validate_rule(value, None)
        if rule != self.cfg["decision_rule"]:  # the old rule's parameter is not this rule's
            self._set_setting("rule_param", None)
        self._set_setting("decision_rule", rule)

    @property
    def rule_param(self) -> Optional[float]:
        """The parameter of ``decision_rule`` in use (its default when none was set)."""
        return decisions.validate_rule(self.cfg["decision_rule"], self.cfg["rule_param"])[1]

    @rule_param.setter
    def rule_param(self, value: Optional[float]) -> None:
        decisions.validate_rule(self.cfg["decision_rule"], value)
        self._set_setting("rule_param", None if value is None else float(value))

    def _set_setting(self, key: str, value: Any) -> None:
        """Set a runtime setting and write it into the pipeline's config (see the
        factory's docstring), unless the config cannot hold it."""
        self.cfg[key] = value
        ref = _PIPELINES.get(self)
        nlp = ref() if ref is not None else None
        name = next((n for n, proc in nlp.components if proc is self), None) if nlp is not None else None
        written = _config_value(key, value)
        if name is not None and _config_can_hold(written):
            nlp.get_pipe_config(name)[key] = written
            self.cfg["constructed_with"][key] = value

    def set_decision_rule(self, rule: str, param: Optional[float]) -> None:
        """Switch the decision rule and its parameter together (each is checked
        against the other; None: the rule's own default)."""
        rule, _ = decisions.validate_rule(rule, param)
        self._set_setting("decision_rule", rule)
        self._set_setting("rule_param", None if param is None else float(param))

    @property
    def label_stats(self) -> Dict[str, List[float]]:
        """Each label's logit ``[mean, std]`` over an unlabeled corpus (set by ``adapt``;
        read by the ``"zscore"`` decision rule; saved with the pipe). A copy."""
        return {k: list(v) for k, v in self.cfg.get("label_stats", {}).items()}

    @label_stats.setter
    def label_stats(self, value: Optional[Dict[str, Sequence[float]]]) -> None:
        self.cfg["label_stats"] = decisions.validate_label_stats(value, f"{self.name} label_stats")

    def _check_decision(self, *, known: Sequence[str] = (), **settings: Any) -> Dict[str, Any]:
        """The decision settings (``thresholds``, ``decision_rule``, ``rule_param``), checked."""
        rule, param = decisions.validate_rule(settings["decision_rule"], settings["rule_param"])
        return {"thresholds": decisions.validate_thresholds(settings["thresholds"], known,
                                                            f"{self.name} thresholds"),
                "decision_rule": rule, "rule_param": None if settings["rule_param"] is None else param}

    def decision_settings(self, **overrides: Any) -> Dict[str, Any]:
        """The pipe's decision settings with per-call ``overrides``, as keyword
        arguments of ``decisions.decided_labels``."""
        unknown = set(overrides) - set(DECISION_SETTINGS)
        if unknown:
            raise GliZNetInputError(f"{self.name}: unknown decision settings {sorted(unknown)}")
        merged = {k: self.cfg[k] for k in DECISION_SETTINGS}
        if overrides.get("decision_rule") not in (None, merged["decision_rule"]):
            merged["rule_param"] = None  # the pipe's rule_param belongs to the pipe's rule
        merged.update({k: v for k, v in overrides.items() if v is not None})
        if "thresholds" in overrides and overrides["thresholds"] is not None:
            merged["thresholds"] = decisions.validate_thresholds(overrides["thresholds"])
        rule, param = decisions.validate_rule(merged["decision_rule"], merged["rule_param"])
        if rule == "zscore" and not self.cfg.get("label_stats"):
            raise GliZNetInputError(
                f"{self.name}: decision_rule 'zscore' needs label statistics of a corpus; "
                f"run adapt (python -m spacy_gliznet adapt, or the pipe's adapt method) first")
        return {"threshold": validate_threshold(merged["threshold"]),
                "thresholds": merged["thresholds"], "rule": rule, "param": param,
                "label_stats": self.cfg.get("label_stats", {})}

    def add_label(self, label: str, description: Optional[str] = None) -> int:
        """Add a default label (optionally with the description the model reads)."""
        if label in self.labels:
            return 0
        self.labels = {**self.label_descriptions, label: description or label}
        return 1

    # -- prediction -------------------------------------------------------
    def _doc_labels(self, doc: Doc, labels: Optional[LabelPairs]) -> LabelPairs:
        own = doc._.gliznet_labels
        if own is not None:
            pairs = label_pairs(own, "doc._.gliznet_labels")
        elif labels is not None:
            pairs = labels
        else:
            pairs = self.cfg["labels"]
        if not pairs:
            raise GliZNetInputError(
                f"{self.name}: no labels to score. Give labels in the component config, "
                f"per call (component_cfg={{'{self.name}': {{'labels': [...]}}}}) or per doc "
                f"(doc._.gliznet_labels)."
            )
        return pairs

    def long_text_settings(self, **overrides: Any):
        """The pipe's long-text and span settings with per-call ``overrides``, checked."""
        return validate_settings(self.name, **{**{k: self.cfg[k] for k in LONG_TEXT_DEFAULTS},
                                               **overrides})

    def predict(self, docs: Iterable[Doc], labels: Optional[LabelsArg] = None, **settings: Any
                ) -> Tuple[List[LabelPairs], Optional[Tuple[ScoringPlan, GliZNetResult]]]:
        """Label logits for each doc (its windows and spans: see windows.plan_scoring);
        ``labels`` and the long-text/span ``settings`` override the pipe's."""
        docs = list(docs)
        call_labels = label_pairs(labels, "labels") if labels is not None else None
        pairs = [self._doc_labels(doc, call_labels) for doc in docs]
        if not docs:
            return pairs, None
        encoder = ensure_loaded(self.model).get_encoder()
        plan = plan_scoring(docs, pairs, self.long_text_settings(**settings), encoder, self.name)
        if not plan.inputs:
            return pairs, (plan, GliZNetResult([], logits=[]))
        return pairs, (plan, self.model.predict(plan.inputs))

    def set_annotations(self, docs: Iterable[Doc],
                        scores: Tuple[List[LabelPairs], Optional[Tuple[ScoringPlan, GliZNetResult]]],
                        multi_label: Optional[bool] = None,
                        decision: Optional[Dict[str, Any]] = None,
                        cats_top_k: Optional[int] = None) -> None:
        """Write scores to ``doc.cats`` (the ``cats_top_k`` best) and the decided labels
        (from every label) to ``doc._.gliznet_predicted_labels``; ``decision``:
        per-call decision settings (threshold, thresholds, decision_rule, rule_param);
        ``cats_top_k``: per call, None for the pipe's."""
        pairs, scored = scores
        if scored is None:
            return
        plan, result = scored
        multi = self.multi_label if multi_label is None else bool(multi_label)
        rule = self.decision_settings(**(decision or {}))
        top_k = self.cats_top_k if cats_top_k is None else decisions.validate_top_k(cats_top_k)
        activation = "sigmoid" if multi else "softmax"
        truncated = 0
        per_doc = collect_scores(plan, result.encoded, result.logits,
                                 lambda logits: activate(logits, activation), multi)
        for doc, out in zip(docs, per_doc):
            if out.cats is not None:
                predicted = decisions.decided_labels(  # first: NaN scores raise, unwritten
                    list(out.cats), list(out.cats.values()), multi_label=multi, **rule)
                doc.cats.update(decisions.top_k_cats(out.cats, top_k))
                doc._.gliznet_predicted_labels = predicted
            for span, cats in out.spans:
                span._.gliznet_cats = cats
            write_decided_spans(doc, out.spans, self.cfg.get("decided_spans_key"), multi, rule)
            doc._.gliznet_windows = out.n_windows
            doc._.gliznet_truncated = out.truncated
            truncated += out.truncated
        if truncated:
            warnings.warn(
                f"{self.name}: {truncated} text(s) were cut to fit the model's maximum length "
                f"(see doc._.gliznet_truncated); every label was still scored.",
                TruncationWarning,
                stacklevel=2,
            )

    def __call__(self, doc: Doc, *, labels: Optional[LabelsArg] = None,
                 multi_label: Optional[bool] = None, threshold: Optional[float] = None,
                 thresholds: Optional[Dict[str, float]] = None, decision_rule: Optional[str] = None,
                 rule_param: Optional[float] = None, cats_top_k: Optional[int] = None,
                 **settings: Any) -> Doc:
        """``settings``: per-call long_text, window_overlap, aggregation, span_source,
        spans_key or doc_cats (``component_cfg``), like ``labels`` and ``multi_label``."""
        error_handler = self.get_error_handler()
        try:
            decision = {"threshold": threshold, "thresholds": thresholds,
                        "decision_rule": decision_rule, "rule_param": rule_param}
            scores = self.predict([doc], labels=labels, **settings)
            self.set_annotations([doc], scores, multi_label=multi_label, decision=decision,
                                 cats_top_k=cats_top_k)
            return doc
        except Exception as err:
            error_handler(self.name, self, [doc], err)
            return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128,
             labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None,
             threshold: Optional[float] = None, thresholds: Optional[Dict[str, float]] = None,
             decision_rule: Optional[str] = None, rule_param: Optional[float] = None,
             cats_top_k: Optional[int] = None, **settings: Any) -> Iterator[Doc]:
        error_handler = self.get_error_handler()
        decision = {"threshold": threshold, "thresholds": thresholds,
                    "decision_rule": decision_rule, "rule_param": rule_param}
        for docs in minibatch(stream, size=batch_size):
            try:
                scores = self.predict(docs, labels=labels, **settings)
                self.set_annotations(docs, scores, multi_label=multi_label, decision=decision,
                                     cats_top_k=cats_top_k)
                yield from docs
            except Exception:
                # one doc at a time: the docs that are fine come back scored, and only a
                # bad one goes to the error handler (then comes back unscored, as from __call__)
                for doc in docs:
                    try:
                        scores = self.predict([doc], labels=labels, **settings)
                        self.set_annotations([doc], scores, multi_label=multi_label, decision=decision,
                                             cats_top_k=cats_top_k)
                    except Exception as err:
                        error_handler(self.name, self, [doc], err)
                    yield doc

    # -- training ---------------------------------------------------------
    def _training_labels(self, example: Example) -> List[str]:
        """The label keys one example trains on: its reference cats, plus
        ``negative_samples`` of the pipe's labels that it does not mention,
        shuffled when ``shuffle_labels``."""
        return list(training_labels(example.reference.cats, self.labels,
                                    self.cfg["negative_samples"], self._rng,
                                    self.cfg["shuffle_labels"]))

    def update(self, examples: Iterable[Example], *, drop: float = 0.0,
               sgd: Optional[Any] = None, losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        """Learn from a batch of examples whose ``reference.cats`` hold 1.0 for
        positive and 0.0 for negative labels (examples without cats are skipped).

        examples: the training batch.
        drop: the rate of every dropout in the model, head and backbone, for this
            update (spaCy's ``[training] dropout``).
        sgd: the optimizer; None computes gradients without applying them.
        losses: accumulates this component's loss under its name.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "GliZNetTextCategorizer.update")
        examples = [eg for eg in examples if eg.reference.cats]
        if not examples:
            return losses
        keys = [self._training_labels(eg) for eg in examples]
        described = self.label_descriptions
        X = [(eg.predicted.text, [described.get(k, k) for k in ks]) for eg, ks in zip(examples, keys)]
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update(X)
        self._warn_training_cut(scores)
        loss, d_scores = self.get_loss(examples, scores, labels=keys)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def finish_update(self, sgd: Any) -> None:
        """Apply ``sgd`` to the weights; warns once (LearnRateWarning) when its rate would
        wreck the pretrained encoder (``spacy train`` calls this, not ``update(sgd=...)``)."""
        check_learn_rate(self, sgd)
        super().finish_update(sgd)

    def _warn_training_cut(self, scores: GliZNetResult) -> None:
        """Training reads the first window of a long text (``long_text`` applies to
        prediction): say so, once per pipe, rather than drop the rest silently."""
        cut = sum(enc.text_truncated for enc in scores.encoded)
        if cut and not self._warned_training_cut:
            self._warned_training_cut = True
            warnings.warn(
                f"{self.name}: {cut} training text(s) in this batch are longer than the model; "
                f"training reads the first {ensure_loaded(self.model).max_length - 2} tokens of "
                f"each (long_text applies to prediction only). Split long training docs to "
                f"train on all of their text. This warning is shown once.",
                TruncationWarning, stacklevel=3)

    def get_loss(self, examples: Iterable[Example], scores: GliZNetResult,
                 labels: Optional[Sequence[Sequence[str]]] = None) -> Tuple[float, GliZNetOutput]:
        """The loss of a training forward pass and its gradient with respect to
        the scores.

        examples: the examples scored; targets come from their reference cats
            (>= 0.5 positive).
        scores: the layer's training output.
        labels: per example, the label keys the scores are for, in order
            (default: the keys of its reference cats).
        """
        examples = list(examples)
        if labels is None:
            labels = [list(eg.reference.cats) for eg in examples]
        output = scores.output
        N, K = output.logits.shape
        targets = torch.zeros((N, K), dtype=torch.float32)
        mask = torch.zeros((N, K), dtype=torch.bool)
        for i, (eg, keys) in enumerate(zip(examples, labels)):
            cats = eg.reference.cats
            for j, key in enumerate(keys):
                targets[i, j] = 1.0 if cats.get(key, 0.0) >= 0.5 else 0.0
                mask[i, j] = True
        device = output.logits.device
        total, parts = self.loss_fn(output, targets.to(device), mask.to(device))
        if not torch.isfinite(total):
            raise ValueError(f"{self.name}: the training loss is not finite ({parts})")
        total.backward()
        grads = GliZNetOutput(*[t.grad if t.requires_grad else None for t in output])
        return float(total.detach()), grads

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *,
                   nlp: Optional[Language] = None, labels: Optional[LabelsArg] = None) -> None:
        """Load the model weights and set the labels: ``labels`` if given, else
        the configured ones, else every label found in the examples' cats."""
        validate_get_examples(get_examples, "GliZNetTextCategorizer.initialize")
        if labels is not None:
            self.labels = labels
        elif not self.labels:
            found: Dict[str, None] = {}
            for eg in islice(get_examples(), 10_000):
                found.update(dict.fromkeys(eg.reference.cats))
            self.labels = list(found)
        self.model.initialize()
        self.model.attrs["labels"] = list(self.labels)  # for Docs given to the layer (debug model)

    def adapt(self, texts: Iterable[Union[str, Doc]], *, nlp: Optional[Language] = None,
              labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None,
              settings: Optional[AdaptSettings] = None,
              progress: Optional[Callable[[str, int, int], None]] = None,
              **overrides: Any) -> AdaptReport:
        """Adapt the model in place to unlabeled in-domain texts by self-training
        on its own confident predictions (see ``spacy_gliznet.adapt``); returns a
        report (``report.summary()``). Save the pipeline afterwards as usual.

        texts: the unlabeled corpus, strings (made into Docs by ``nlp.make_doc``)
            or Docs; gold cats on them are not read.
        nlp: the pipeline, needed when ``texts`` are strings.
        labels: the labels to adapt to (default: the pipe's); they become the pipe's.
        multi_label: the mode to adapt for (default: the pipe's); it becomes the pipe's.
        settings: an ``AdaptSettings``; ``overrides``: its fields by name
            (``steps=50``, ``seed=1``, ...), applied over ``settings``.
        progress: called as ``progress(stage, done, total)``.
        """
        unknown = set(overrides) - set(AdaptSettings.__dataclass_fields__)
        if unknown:
            raise GliZNetInputError(f"{self.name}.adapt: unknown settings {sorted(unknown)}")
        settings = dataclasses.replace(settings or AdaptSettings(), **overrides)
        docs = []
        for text in texts:
            if isinstance(text, str):
                if nlp is None:
                    raise GliZNetInputError(f"{self.name}.adapt: texts are strings, so pass "
                                            "nlp=... to make Docs of them (or pass Docs)")
                text = nlp.make_doc(text)
            docs.append(text)
        return self_train(self, docs, labels=labels, multi_label=multi_label, settings=settings,
                          progress=progress)

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        validate_examples(examples, "GliZNetTextCategorizer.score")
        kwargs.setdefault("labels", self.labels)
        kwargs.setdefault("multi_label", self.multi_label)
        kwargs.setdefault("threshold", self.threshold)
        kwargs.setdefault("thresholds", self.thresholds)
        kwargs.setdefault("decision_rule", self.decision_rule)
        kwargs.setdefault("rule_param", self.rule_param)
        kwargs.setdefault("label_stats", self.label_stats)
        return self.scorer(examples, **kwargs)

    # -- serialization ----------------------------------------------------
    def _restore_runtime_settings(self, given: Dict[str, Any], overrides: bool = True) -> None:
        """After loading from disk, a setting passed to the constructor (the loaded
        config with any ``spacy.load`` override) that differs from what the saved
        config held (``constructed_with``) is a load-time override: it wins. Otherwise
        (and always from bytes, which have no load-time config) the saved value stays,
        and goes into the config if the config can hold it."""
        saved_given = self.cfg.get("constructed_with", {})
        self.cfg["labels"] = [tuple(p) for p in self.cfg["labels"]]
        for key in RUNTIME_SETTINGS if overrides else ():
            if key in saved_given and _norm(given[key]) != _norm(saved_given[key]):
                self.cfg[key] = given[key]
        self.cfg["constructed_with"] = given
        for key in RUNTIME_SETTINGS:
            if _norm(self.cfg[key]) != _norm(given[key]):
                self._set_setting(key, self.cfg[key])

    def from_disk(self, path, *, exclude=tuple()):
        given = dict(self.cfg["constructed_with"])
        super().from_disk(path, exclude=exclude)
        self._restore_runtime_settings(given)
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        given = dict(self.cfg["constructed_with"])
        super().from_bytes(bytes_data, exclude=exclude)
        self._restore_runtime_settings(given, overrides=False)
        return self


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value
