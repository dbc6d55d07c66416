"""The ``gliznet_textcat`` pipeline component: zero-shot, multi-label text
classification whose labels can change per pipe, per call and per doc.

Scores go to ``doc.cats`` (every label -> float in [0, 1]); ``doc._.gliznet_truncated``
tells whether the text was cut to fit the model (all labels are always scored).
The labels a doc gets go to ``doc._.gliznet_predicted_labels`` (best first), decided by
the :class:`~spacy_gliznet.settings.DecisionSettings` (rules in ``decisions.py``).
Texts longer than the model are read in overlapping windows, and sentences or
``doc.spans`` spans can be scored too (:class:`~spacy_gliznet.settings.LongTextSettings`;
``planning.py`` and ``aggregation.py`` carry them out).

The factory, its ``DEFAULT_CONFIG`` and score weights live with the other
registrations in ``registrations.py``.
"""

import dataclasses
import random
import warnings
import weakref
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch
from spacy.vocab import Vocab
from thinc.api import Config, Model, set_dropout_rate

from . import decisions
from .adapt import AdaptReport, AdaptSettings, prepare_docs, self_train
from ..longtext.aggregation import collect_scores
from ..errors import GliZNetInputError, TruncationWarning
from ..labels import LabelPairs, LabelsArg, label_pairs, training_labels
from .layer import LayerOutput, ensure_loaded
from .learn_rate import check_learn_rate
from .visualize import write_decided_spans
from ..model.losses import LossFunction, make_gliznet_loss
from .metrics import gliznet_textcat_score
from ..model.outputs import ModelOutput, activate
from ..longtext.planning import ScoringPlan, plan_scoring
from ..settings import (
    DECISION_CONFIG_KEYS,
    LONG_TEXT_KEYS,
    DecisionSettings,
    LongTextSettings,
    TrainingSettings,
    long_text_settings,
    DEFAULT_RULE,
    fits_rule,
    rule_param_at_load,
    stats_for_labels,
    validate_bool,
    validate_int,
    validate_label_stats,
    validate_thresholds,
    validate_top_k,
)

#: settings a user may change at run time (per pipe, and most also per call); the
#: pipeline's config always holds their current values (see ``_set_setting``)
RUNTIME_SETTINGS = ("labels", "multi_label", *DECISION_CONFIG_KEYS, "cats_top_k", *LONG_TEXT_KEYS)


@dataclass
class Prediction:
    """What :meth:`GliZNetTextCategorizer.predict` returns for a batch of docs.

    labels: each doc's label pairs (key written to ``doc.cats``, text the model reads).
    plan: the model inputs of the batch and where their scores go (None: no docs).
    result: the layer's output for ``plan.inputs`` (None: no docs).
    """

    labels: List[LabelPairs]
    plan: Optional[ScoringPlan] = None
    result: Optional[LayerOutput] = None


# pipe -> its pipeline (weakly: a pipe neither keeps its pipeline alive nor pickles it)
_PIPELINES: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def bind_pipeline(pipe: "GliZNetTextCategorizer", nlp: Language) -> None:
    """Remember the pipeline a pipe belongs to (the factory does it), so that setting
    a runtime setting on the pipe writes the pipeline's config too."""
    _PIPELINES[pipe] = weakref.ref(nlp)


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


class GliZNetTextCategorizer(TrainablePipe):
    """Zero-shot text classification with GliZNet; see the module docstring and the
    factory's docstring (``registrations.make_gliznet_textcat``) for the settings."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "gliznet_textcat",
        *,
        labels: LabelsArg = (),
        multi_label: bool = True,
        cats_top_k: Optional[int] = None,
        loss: Optional[LossFunction] = None,
        scorer: Optional[Callable] = gliznet_textcat_score,
        **settings: Any,
    ) -> None:
        """vocab: the pipeline's vocab. model: the ``spacy_gliznet.GliZNet.v1`` layer.
        name: the component's name. labels, multi_label, cats_top_k: as in the factory.
        loss: the training loss (default ``spacy_gliznet.GliZNetLoss.v1``'s).
        scorer: the scoring function (default ``metrics.gliznet_textcat_score``).
        settings: fields of ``DecisionSettings`` (but ``label_stats``),
        ``LongTextSettings`` and ``TrainingSettings``, by name."""
        self.vocab = vocab
        self.model = model
        self.name = name
        groups = {"decision": DECISION_CONFIG_KEYS, "long_text": LONG_TEXT_KEYS,
                  "training": tuple(f.name for f in dataclasses.fields(TrainingSettings))}
        unknown = set(settings) - {k for keys in groups.values() for k in keys}
        if unknown:
            raise GliZNetInputError(f"{name}: unknown settings {sorted(unknown)}")
        pairs = label_pairs(labels, f"{name} labels")
        given = {k: v for k, v in settings.items() if k in DECISION_CONFIG_KEYS}
        # a rule_param that does not fit the rule may be the saved rule's, the rule switched
        # by spacy.load(..., config=...): from_disk settles it; otherwise the first use raises
        deferred = not fits_rule(given.get("decision_rule", DEFAULT_RULE), given.get("rule_param")) \
            and fits_rule(given.get("decision_rule", DEFAULT_RULE), None)
        decision = DecisionSettings(**{**given, "thresholds": given.get("thresholds") or {},
                                       **({"rule_param": None} if deferred else {})})
        validate_thresholds(decision.thresholds, [k for k, _ in pairs], f"{name} thresholds")
        long_text = long_text_settings(name, **{k: settings[k] for k in LONG_TEXT_KEYS if k in settings})
        training = TrainingSettings(**{k: settings[k] for k in groups["training"] if k in settings})
        self.cfg: Dict[str, Any] = {
            "labels": pairs,
            "multi_label": validate_bool(multi_label, f"{name} multi_label"),
            **decision.config(),
            **({"rule_param": given["rule_param"]} if deferred else {}),
            "cats_top_k": validate_top_k(cats_top_k),
            **dataclasses.asdict(training),
            **long_text.as_dict(),
            "label_stats": {},  # learned by adapt
            "label_stats_texts": {},  # what the model read for each of them
        }
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
        self._set_setting("cats_top_k", validate_top_k(value))

    @property
    def multi_label(self) -> bool:
        return self.cfg["multi_label"]

    @multi_label.setter
    def multi_label(self, value: bool) -> None:
        self._set_setting("multi_label", validate_bool(value, f"{self.name} multi_label"))

    @property
    def threshold(self) -> float:
        return self.cfg["threshold"]

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._set_decision(threshold=value)

    @property
    def thresholds(self) -> Dict[str, float]:
        """Per-label thresholds (a copy; assign a dict to change them)."""
        return dict(self.cfg["thresholds"])

    @thresholds.setter
    def thresholds(self, value: Optional[Dict[str, float]]) -> None:
        validate_thresholds(value, self.labels, f"{self.name} thresholds")
        self._set_decision(thresholds=value or {})

    @property
    def decision_rule(self) -> str:
        return self.cfg["decision_rule"]

    @decision_rule.setter
    def decision_rule(self, value: str) -> None:
        """Setting another rule resets ``rule_param`` to that rule's default."""
        self._set_decision(decision_rule=value)

    @property
    def rule_param(self) -> Optional[float]:
        """The parameter of ``decision_rule`` in use (its default when none was set)."""
        return self.decision_settings().param

    @rule_param.setter
    def rule_param(self, value: Optional[float]) -> None:
        self._set_decision(rule_param=value)

    def set_decision_rule(self, rule: str, param: Optional[float]) -> None:
        """Switch the decision rule and its parameter together (each is checked
        against the other; None: the rule's own default)."""
        self._set_decision(decision_rule=rule, rule_param=param)

    def _set_decision(self, **changes: Any) -> None:
        """Change decision settings through one validation (``DecisionSettings``). A
        new ``decision_rule`` without a ``rule_param`` resets the parameter to None (the
        new rule's default): a parameter belongs to its rule."""
        current = self.decision_settings()
        if "rule_param" not in changes and changes.get("decision_rule", current.decision_rule) \
                != current.decision_rule:
            changes["rule_param"] = None
        new = dataclasses.replace(current, **changes)
        for key in DECISION_CONFIG_KEYS:
            if getattr(new, key) != getattr(current, key):
                self._set_setting(key, getattr(new, key))

    def _set_setting(self, key: str, value: Any) -> None:
        """Set a runtime setting and write it into the pipeline's config (see the
        factory's docstring), unless the config cannot hold it."""
        self.cfg[key] = value
        nlp = self._pipeline()
        name = next((n for n, proc in nlp.components if proc is self), None) if nlp is not None else None
        written = _config_value(key, value)
        if name is not None and _config_can_hold(written):
            nlp.get_pipe_config(name)[key] = written

    def _pipeline(self) -> Optional[Language]:
        ref = _PIPELINES.get(self)
        return ref() if ref is not None else None

    @property
    def label_stats(self) -> Dict[str, List[float]]:
        """Each label's logit ``[mean, std]`` over an unlabeled corpus (set by ``adapt``;
        read by the ``"zscore"`` decision rule; saved with the pipe). A copy."""
        return {k: list(v) for k, v in self.cfg.get("label_stats", {}).items()}

    @label_stats.setter
    def label_stats(self, value: Optional[Dict[str, Sequence[float]]]) -> None:
        """Statistics computed with the pipe's current labels: each is kept with the text
        the model reads for its label, and applies only while it reads that text."""
        self.cfg["label_stats"] = validate_label_stats(value, f"{self.name} label_stats")
        described = self.label_descriptions
        self.cfg["label_stats_texts"] = {k: described.get(k, k) for k in self.cfg["label_stats"]}

    def decision_settings(self, **overrides: Any) -> DecisionSettings:
        """The pipe's decision settings (with its ``label_stats``) and per-call
        ``overrides`` (None: the pipe's)."""
        settings = DecisionSettings(**{k: self.cfg[k] for k in DECISION_CONFIG_KEYS},
                                    label_stats=self.cfg.get("label_stats", {}))
        try:
            settings = settings.with_overrides(**overrides)
        except GliZNetInputError as err:
            raise GliZNetInputError(f"{self.name}: {err}") from None
        if settings.decision_rule == "zscore" and not settings.label_stats:
            raise GliZNetInputError(
                f"{self.name}: decision_rule 'zscore' needs label statistics of a corpus; "
                f"run adapt (python -m spacy_gliznet adapt, or the pipe's adapt method) first")
        return settings

    def long_text_settings(self, **overrides: Any) -> LongTextSettings:
        """The pipe's long-text and span settings with per-call ``overrides``, checked."""
        return long_text_settings(self.name, **{**{k: self.cfg[k] for k in LONG_TEXT_KEYS},
                                                **overrides})

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

    def predict(self, docs: Iterable[Doc], labels: Optional[LabelsArg] = None,
                **settings: Any) -> Prediction:
        """Label logits for each doc (its windows and spans: see ``planning.plan_scoring``);
        ``labels`` and the long-text/span ``settings`` override the pipe's."""
        docs = list(docs)
        call_labels = label_pairs(labels, "labels") if labels is not None else None
        pairs = [self._doc_labels(doc, call_labels) for doc in docs]
        if not docs:
            return Prediction(pairs)
        encoder = ensure_loaded(self.model).get_encoder()
        plan = plan_scoring(docs, pairs, self.long_text_settings(**settings), encoder, self.name)
        if not plan.inputs:
            return Prediction(pairs, plan, LayerOutput([], logits=[]))
        return Prediction(pairs, plan, self.model.predict(plan.inputs))

    def set_annotations(self, docs: Iterable[Doc], scores: Prediction,
                        multi_label: Optional[bool] = None,
                        decision: Optional[Dict[str, Any]] = None,
                        cats_top_k: Optional[int] = None) -> None:
        """Write scores to ``doc.cats`` (the ``cats_top_k`` best) and the decided labels
        (from every label) to ``doc._.gliznet_predicted_labels``.

        scores: what :meth:`predict` returned for ``docs``.
        multi_label: per call, None for the pipe's.
        decision: per-call decision settings (``threshold``, ``thresholds``,
            ``decision_rule``, ``rule_param``; None values keep the pipe's).
        cats_top_k: per call, None for the pipe's.
        """
        if scores.plan is None:
            return
        multi = self.multi_label if multi_label is None else validate_bool(multi_label, "multi_label")
        rule = self.decision_settings(**(decision or {}))
        top_k = self.cats_top_k if cats_top_k is None else validate_top_k(cats_top_k)
        activation = "sigmoid" if multi else "softmax"
        truncated = 0
        per_doc = collect_scores(scores.plan, scores.result.encoded, scores.result.logits,
                                 lambda logits: activate(logits, activation), multi)
        rules: Dict[int, DecisionSettings] = {}  # per label set: the statistics that apply
        for doc, out, pairs in zip(docs, per_doc, scores.labels):
            if rule.decision_rule == "zscore" and id(pairs) not in rules:
                rules[id(pairs)] = dataclasses.replace(rule, label_stats=stats_for_labels(
                    rule.label_stats, self.cfg.get("label_stats_texts", {}), pairs))
            doc_rule = rules.get(id(pairs), rule)
            if out.cats is not None:
                predicted = decisions.decided_labels(  # first: NaN scores raise, unwritten
                    list(out.cats), list(out.cats.values()), multi_label=multi, settings=doc_rule)
                doc.cats.update(decisions.top_k_cats(out.cats, top_k))
                doc._.gliznet_predicted_labels = predicted
            for span, cats in out.spans:
                span._.gliznet_cats = cats
            write_decided_spans(doc, out.spans, scores.plan.settings.decided_spans_key, multi,
                                doc_rule)
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
        """Score one doc. Every argument overrides the pipe's setting for this call
        (spaCy's ``component_cfg``): ``labels``, ``multi_label``, the decision settings,
        ``cats_top_k``; ``settings``: long_text, window_overlap, aggregation,
        span_source, spans_key or doc_cats."""
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
        """Score a stream of docs in batches of ``batch_size``; the other arguments
        as in :meth:`__call__`. A batch that fails is scored again one doc at a time,
        so only a bad doc goes to the error handler."""
        error_handler = self.get_error_handler()
        batch_size = validate_int(batch_size, f"{self.name}: batch_size", 1)  # 0 lost every doc
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

    def _warn_training_cut(self, scores: LayerOutput) -> None:
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

    def get_loss(self, examples: Iterable[Example], scores: LayerOutput,
                 labels: Optional[Sequence[Sequence[str]]] = None) -> Tuple[float, ModelOutput]:
        """The loss of a training forward pass and its gradient with respect to
        the scores (computed with ``torch.autograd.grad``: nothing is accumulated
        anywhere, so calling it twice gives the same result).

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
        wrt = [t for t in output if t.requires_grad]
        grads = iter(torch.autograd.grad(total, wrt, allow_unused=True)) if wrt else iter(())
        d_output = ModelOutput(*[next(grads) if t.requires_grad else None for t in output])
        return float(total.detach()), d_output

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
        on its own confident predictions (see ``spacy_gliznet.pipeline.adapt``); returns a
        report (``report.summary()``). Save the pipeline afterwards as usual.

        texts: the unlabeled corpus, strings (made into Docs by ``nlp.make_doc``)
            or Docs; their gold cats and own label sets (``doc._.gliznet_labels``, as
            in a ``.spacy`` file from ``convert``) are not read: the adapt labels win.
        nlp: the pipeline, needed when ``texts`` are strings; when given, its
            components before this pipe run on the texts first (the sentencizer a
            pipe that scores sentences needs).
        labels: the labels to adapt to (default: the pipe's); they become the pipe's.
        multi_label: the mode to adapt for (default: the pipe's); it becomes the pipe's.
        settings: an ``AdaptSettings``; ``overrides``: its fields by name
            (``steps=50``, ``seed=1``, ...), applied over ``settings``.
        progress: called as ``progress(stage, done, total)``.
        """
        settings = (settings or AdaptSettings()).with_overrides(f"{self.name}.adapt", **overrides)
        docs = []
        for text in texts:
            if isinstance(text, str):
                if nlp is None:
                    raise GliZNetInputError(f"{self.name}.adapt: texts are strings, so pass "
                                            "nlp=... to make Docs of them (or pass Docs)")
                text = nlp.make_doc(text)
            docs.append(text)
        if nlp is not None:  # e.g. the sentencizer a pipe that scores sentences needs
            docs = prepare_docs(nlp, self.name, docs)
        return self_train(self, docs, labels=labels, multi_label=multi_label, settings=settings,
                          progress=progress)

    # -- serialization ----------------------------------------------------
    def from_disk(self, path, *, exclude=tuple()):
        """Load the weights and ``cfg`` saved by ``to_disk``. In a pipeline (built by
        the factory), each runtime setting the config can hold comes from the config
        the pipe was built with: it was written there on save, so it differs from the
        saved value only by a ``spacy.load(..., config=...)`` override, which wins.
        The saved ``cfg`` gives the rest (values the config cannot hold, learned
        ``label_stats``), and everything for a pipe outside a pipeline."""
        given = {k: self.cfg[k] for k in RUNTIME_SETTINGS}
        super().from_disk(path, exclude=exclude)
        self._restore_settings(given if self._pipeline() is not None else {})
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        """Load what ``to_bytes`` saved; the saved settings win (bytes carry no
        load-time config)."""
        super().from_bytes(bytes_data, exclude=exclude)
        self._restore_settings({})
        return self

    def _restore_settings(self, given: Dict[str, Any]) -> None:
        self.cfg["labels"] = [tuple(p) for p in self.cfg["labels"]]
        if "label_stats_texts" not in self.cfg:  # saved before the texts were kept: the labels'
            described = dict(self.cfg["labels"])
            self.cfg["label_stats_texts"] = {k: described.get(k, k)
                                             for k in self.cfg.get("label_stats", {})}
        self.cfg.pop("constructed_with", None)  # written by spacy-gliznet 0.1 before this change
        if "decision_rule" in given:
            given["rule_param"] = rule_param_at_load(self.cfg["decision_rule"], self.cfg["rule_param"],
                                                     given["decision_rule"], given["rule_param"])
        for key in RUNTIME_SETTINGS:
            if key in given and _config_can_hold(_config_value(key, given[key])) \
                    and _config_can_hold(_config_value(key, self.cfg[key])):
                self.cfg[key] = given[key]
            self._set_setting(key, self.cfg[key])
        try:
            DecisionSettings(**{k: self.cfg[k] for k in DECISION_CONFIG_KEYS})
        except GliZNetInputError as err:
            raise GliZNetInputError(f"{self.name}: {err}") from None
