"""The ``gliznet_textcat`` pipeline component: zero-shot, multi-label text
classification whose labels can change per pipe, per call and per doc.

Scores go to ``doc.cats`` (every label -> float in [0, 1]); ``doc._.gliznet_truncated``
tells whether the text was cut to fit the model (all labels are always scored).
The labels a doc gets go to ``doc._.gliznet_predicted_labels`` (best first), decided by
the :class:`~spacy_gliznet.settings.DecisionSettings` (rules in ``decisions.py``).
Texts longer than the model are read in overlapping windows, and sentences or
``doc.spans`` spans can be scored too (:class:`~spacy_gliznet.settings.LongTextSettings`;
``planning.py`` and ``aggregation.py`` carry them out).

The pipe has spaCy's ``TrainablePipe`` shape: ``predict(docs)`` returns a
:class:`Prediction` that carries the settings of the call
(``runtime_settings.CallSettings``), ``set_annotations(docs, scores)`` writes it
(``annotations.py``), ``get_loss(examples, scores)`` builds its targets from the
examples and the label keys the layer output carries (``losses.loss_targets``).
Per-call settings (spaCy's ``component_cfg``, or keywords of ``__call__``/``pipe``)
are resolved and checked once per call, then the batch goes through the same
``predict`` and ``set_annotations`` as a call without them; ``predict(docs)`` alone
uses the pipe's own settings. Settings written on the pipe (``pipe.threshold = 0.3``)
go through ``config_mirror.py`` into ``nlp.config``.

The factory, its ``DEFAULT_CONFIG`` and score weights live with the other
registrations in ``registrations.py``.
"""

import random
import warnings
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch
from spacy.vocab import Vocab
from thinc.api import Model, set_dropout_rate

from .adapt import adapt_pipe
from ..longtext.aggregation import collect_scores
from .annotations import write_annotations
from .config_mirror import config_settings, restore_settings
from ..errors import TruncationWarning, warn_once
from ..labels import LabelsArg, training_labels
from .layer import LayerOutput, ensure_loaded
from .learn_rate import check_learn_rate
from ..model.losses import LossFunction, loss_and_gradient, loss_targets, make_gliznet_loss
from .metrics import gliznet_textcat_score
from ..model.outputs import ModelOutput, activate
from ..longtext.planning import ScoringPlan, plan_scoring
from .runtime_settings import (
    CallSettings,
    RuntimeSetting,
    SettingsCache,
    change_settings,
    labels_for_doc,
    new_pipe_cfg,
)
from ..settings import DecisionSettings, validate_int, validate_rule


@dataclass
class Prediction:
    """What :meth:`GliZNetTextCategorizer.predict` returns for a batch of docs, and all
    that ``set_annotations`` reads.

    settings: the settings of the call, resolved and checked once.
    plan: the model inputs of the batch (each doc's label pairs among them) and where
        their scores go (None: no docs).
    result: the layer's output for ``plan.inputs`` (None: no docs).
    """

    settings: CallSettings
    plan: Optional[ScoringPlan] = None
    result: Optional[LayerOutput] = None


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
        self.cfg: Dict[str, Any] = new_pipe_cfg(name, labels=labels, multi_label=multi_label,
                                                cats_top_k=cats_top_k, **settings)
        self.loss_fn = loss if loss is not None else make_gliznet_loss()
        self.scorer = scorer
        self._rng = random.Random(0)
        self._own_settings = SettingsCache()

    # -- settings: each attribute checks a value once and writes it through the config mirror
    labels = RuntimeSetting("The pipe's default labels (keys written to doc.cats); assign a "
                            "list or a {label: description the model reads} dict.",
                            read=lambda pipe: tuple(k for k, _ in pipe.cfg["labels"]))
    multi_label = RuntimeSetting("Independent sigmoid scores (True) or a softmax over labels.")
    threshold = RuntimeSetting("The score a label needs under the 'threshold' rule.")
    thresholds = RuntimeSetting("Per-label thresholds (a copy; assign a dict to change them).",
                                read=lambda pipe: dict(pipe.cfg["thresholds"]))
    decision_rule = RuntimeSetting("The decision rule; assigning another rule resets "
                                   "rule_param to that rule's default.")
    rule_param = RuntimeSetting("The parameter of decision_rule in use (its default when none "
                                "was set).", read=lambda pipe: validate_rule(
                                    pipe.cfg["decision_rule"], pipe.cfg["rule_param"])[1])
    cats_top_k = RuntimeSetting("How many of the best labels go to doc.cats (None: all).")
    long_text = RuntimeSetting("'windows' or 'truncate' (LongTextSettings).")
    window_overlap = RuntimeSetting("Model tokens consecutive windows share (None: auto).")
    aggregation = RuntimeSetting("'auto', 'max' or 'mean': windows into a text, spans into a doc.")
    span_source = RuntimeSetting("None, 'sents' or 'spans': the spans scored inside each doc.")
    spans_key = RuntimeSetting("The doc.spans key read when span_source is 'spans'.")
    doc_cats = RuntimeSetting("'doc', 'spans' or 'none': where doc.cats comes from.")
    decided_spans_key = RuntimeSetting("The doc.spans key that gets each scored span's decided "
                                       "labels (None: not written).")
    label_stats = RuntimeSetting(
        "Each label's logit [mean, std] over an unlabeled corpus (set by adapt; read by the "
        "'zscore' rule; saved with the pipe). A copy.",
        read=lambda pipe: {k: list(v) for k, v in pipe.cfg.get("label_stats", {}).items()})

    @property
    def label_descriptions(self) -> Dict[str, str]:
        """``{label: the text the model reads for it}``."""
        return {k: t for k, t in self.cfg["labels"]}

    @property
    def label_data(self) -> LabelsArg:
        """The pipe's labels as ``spacy init labels`` writes them (and
        ``[initialize.components.NAME] labels`` reads them back): a list, or a
        ``{label: description}`` dict when a description differs from its label."""
        if all(k == t for k, t in self.cfg["labels"]):
            return list(self.labels)
        return self.label_descriptions

    def set_decision_rule(self, rule: str, param: Optional[float]) -> None:
        """Switch the decision rule and its parameter together (each is checked
        against the other; None: the rule's own default)."""
        change_settings(self, decision_rule=rule, rule_param=param)

    def settings(self, **overrides: Any) -> CallSettings:
        """The settings a call runs with: the pipe's own, with per-call ``overrides``
        (``labels``, ``multi_label``, ``threshold``, ``thresholds``, ``decision_rule``,
        ``rule_param``, ``cats_top_k``, the long-text settings; see ``__call__``), checked."""
        own = self._own_settings.get(self.cfg, self.name)
        return (own.with_overrides(self.name, **overrides) if overrides else own).usable(self.name)

    def decision_settings(self) -> DecisionSettings:
        """The pipe's decision settings, with its ``label_stats``."""
        return self.settings().decision

    def add_label(self, label: str, description: Optional[str] = None) -> int:
        """Add a default label (optionally with the description the model reads)."""
        if label in self.labels:
            return 0
        self.labels = {**self.label_descriptions, label: description or label}
        return 1

    # -- prediction -------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> Prediction:
        """Label logits for each doc under the pipe's own settings (its windows and
        spans: see ``planning.plan_scoring``); a call with per-call settings resolves
        them first (:meth:`settings`) and predicts through the same code."""
        return self._predict(docs, self.settings())

    def _predict(self, docs: Iterable[Doc], settings: CallSettings) -> Prediction:
        docs = list(docs)
        pairs = [labels_for_doc(doc, settings, self.name) for doc in docs]
        if not docs:
            return Prediction(settings)
        encoder = ensure_loaded(self.model).get_encoder()
        plan = plan_scoring(docs, pairs, settings.long_text, encoder, self.name)
        if not plan.inputs:
            return Prediction(settings, plan, LayerOutput([], logits=[]))
        return Prediction(settings, plan, self.model.predict(plan.layer_inputs()))

    def set_annotations(self, docs: Iterable[Doc], scores: Prediction) -> None:
        """Write ``scores`` (what :meth:`predict` returned for ``docs``) on the docs under
        the settings they carry: ``doc.cats``, the decided labels and the spans
        (``annotations.write_annotations``); warns when a text was cut."""
        if scores.plan is None:
            return
        multi = scores.settings.multi_label
        activation = "sigmoid" if multi else "softmax"
        per_doc = collect_scores(scores.plan, scores.result.encoded, scores.result.logits,
                                 lambda logits: activate(logits, activation), multi)
        truncated = write_annotations(docs, per_doc, scores.settings,
                                      [d.pairs for d in scores.plan.docs])
        if truncated:
            warnings.warn(
                f"{self.name}: {truncated} text(s) were cut to fit the model's maximum length "
                f"(see doc._.gliznet_truncated); every label was still scored.",
                TruncationWarning, stacklevel=2)

    def __call__(self, doc: Doc, **overrides: Any) -> Doc:
        """Score one doc. ``overrides`` change the pipe's settings for this call (spaCy's
        ``component_cfg``): ``labels``, ``multi_label``, ``threshold``, ``thresholds``,
        ``decision_rule``, ``rule_param``, ``cats_top_k`` (None: the pipe's) and the
        long-text settings (long_text, window_overlap, aggregation, span_source,
        spans_key, doc_cats, decided_spans_key). A bad setting raises at once; a doc
        that fails goes to the error handler."""
        return self._annotate_one(doc, self.settings(**overrides))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128,
             **overrides: Any) -> Iterator[Doc]:
        """Score a stream of docs in batches of ``batch_size``; ``overrides`` as in
        :meth:`__call__`, resolved once for the stream. A batch that fails is scored
        again one doc at a time, so only a bad doc goes to the error handler."""
        settings = self.settings(**overrides)
        batch_size = validate_int(batch_size, f"{self.name}: batch_size", 1)  # 0 lost every doc
        for docs in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(docs, self._predict(docs, settings))
            except Exception:
                docs = [self._annotate_one(doc, settings) for doc in docs]
            yield from docs

    def _annotate_one(self, doc: Doc, settings: CallSettings) -> Doc:
        """Score one doc under ``settings``; a failure goes to the error handler (the
        doc comes back unscored when the handler does not raise)."""
        try:
            self.set_annotations([doc], self._predict([doc], settings))
        except Exception as err:
            self.get_error_handler()(self.name, self, [doc], err)
        return doc

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
        scores.label_keys = keys  # get_loss(examples, scores) reads the targets' order here
        self._warn_training_cut(scores)
        loss, d_scores = self.get_loss(examples, scores)
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
        if cut:
            warn_once(self, "training_cut",
                      f"{self.name}: {cut} training text(s) in this batch are longer than the "
                      f"model; training reads the first {ensure_loaded(self.model).max_length - 2} "
                      f"tokens of each (long_text applies to prediction only). Split long training "
                      f"docs to train on all of their text. This warning is shown once.",
                      TruncationWarning, stacklevel=3)

    def get_loss(self, examples: Iterable[Example], scores: LayerOutput) -> Tuple[float, ModelOutput]:
        """The loss of a training forward pass and its gradient with respect to the
        scores (``losses.loss_and_gradient``: calling it twice gives the same result).

        examples: the examples scored; targets come from their reference cats
            (>= 0.5 positive), in the order of ``scores.label_keys`` (set by
            :meth:`update`; None: each example's own cats, in their order).
        scores: the layer's training output.
        """
        examples = list(examples)
        keys = scores.label_keys
        if keys is None:
            keys = [list(eg.reference.cats) for eg in examples]
        targets, mask = loss_targets([eg.reference.cats for eg in examples], keys,
                                     tuple(scores.output.logits.shape))
        return loss_and_gradient(self.loss_fn, scores.output, targets, mask, self.name)

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

    adapt = adapt_pipe  # pipe.adapt(texts, nlp=..., ...): self-training (pipeline/adapt.py)

    # -- serialization ----------------------------------------------------
    def from_disk(self, path, *, exclude=tuple()):
        """Load the weights and ``cfg`` saved by ``to_disk``. In a pipeline, each runtime
        setting the config can hold comes from the config the pipe was built with (a
        ``spacy.load(..., config=...)`` override wins); the saved ``cfg`` gives the rest
        (see ``config_mirror.restore_settings``)."""
        given = config_settings(self)
        super().from_disk(path, exclude=exclude)
        restore_settings(self, given)
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        """Load what ``to_bytes`` saved; the saved settings win (bytes carry no
        load-time config)."""
        super().from_bytes(bytes_data, exclude=exclude)
        restore_settings(self, {})
        return self
