"""The ``gliznet_textcat`` pipeline component: zero-shot, multi-label text
classification whose labels can change per pipe, per call and per doc.

Scores go to ``doc.cats`` (every label -> float in [0, 1]); ``doc._.gliznet_truncated``
tells whether the text was cut to fit the model (all labels are always scored).
"""

import random
import warnings
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch, registry
from spacy.vocab import Vocab
from thinc.api import Config, Model

from .encoding import GliZNetInputError, check_unicode, validate_labels
from .layers import GliZNetResult
from .losses import LossFunction, make_gliznet_loss
from .modeling import GliZNetOutput, TruncationWarning, activate

LabelsArg = Union[Sequence[str], Dict[str, str]]
LabelPairs = List[Tuple[str, str]]  # (key written to doc.cats, text the model reads)
RUNTIME_SETTINGS = ("labels", "multi_label", "threshold")

if not Doc.has_extension("gliznet_labels"):
    Doc.set_extension("gliznet_labels", default=None)
if not Doc.has_extension("gliznet_truncated"):
    Doc.set_extension("gliznet_truncated", default=None)

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_gliznet.GliZNet.v1"
name = null
max_length = null
text_pooling = "cls"
label_pooling = "mean"
projected_dim = null
use_projection_layernorm = true
projector_init = "random"
logit_scale_init = 2.0
dropout = 0.1
batch_size = 32
mixed_precision = false
quantize = false
"""

DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

DEFAULT_CONFIG = {
    "labels": [],
    "multi_label": True,
    "threshold": 0.5,
    "negative_samples": 0,
    "shuffle_labels": True,
    "loss": {
        "@losses": "spacy_gliznet.GliZNetLoss.v1",
        "supcon_weight": 1.0,
        "repulsion_weight": 0.1,
        "repulsion_threshold": 0.3,
        "bce_weight": 1.0,
    },
    "scorer": {"@scorers": "spacy_gliznet.textcat_scorer.v1"},
}


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


def validate_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


@Language.factory(
    "gliznet_textcat",
    assigns=["doc.cats"],
    default_config={**DEFAULT_CONFIG, "model": DEFAULT_MODEL},
    default_score_weights={
        "cats_score": 1.0,
        "cats_score_desc": None,
        "cats_micro_p": None,
        "cats_micro_r": None,
        "cats_micro_f": None,
        "cats_macro_p": None,
        "cats_macro_r": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_f_per_type": None,
    },
)
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
) -> "GliZNetTextCategorizer":
    """Create a ``gliznet_textcat`` component.

    model: the ``spacy_gliznet.GliZNet.v1`` layer (its ``name`` names the checkpoint).
    labels: default labels, a list or a {label: description the model reads} dict.
    multi_label: True for independent sigmoid scores, False for a softmax over labels.
    threshold: cut-off for counting a label as predicted in multi-label scoring.
    negative_samples: in training, how many labels of the pipe's label set that a
        training example does not mention to add as negatives.
    shuffle_labels: shuffle each training example's labels (labels attend to each other).
    loss: the training loss (``spacy_gliznet.GliZNetLoss.v1``).
    scorer: the scoring function (``spacy_gliznet.textcat_scorer.v1``).
    """
    return GliZNetTextCategorizer(
        nlp.vocab, model, name, labels=labels, multi_label=multi_label, threshold=threshold,
        negative_samples=negative_samples, shuffle_labels=shuffle_labels, loss=loss, scorer=scorer,
    )


def gliznet_textcat_score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """spaCy's ``Scorer.score_cats`` on ``doc.cats``, multi-label or single-label
    as the component says (registered as ``spacy_gliznet.textcat_scorer.v1``)."""
    kwargs.setdefault("multi_label", True)
    return Scorer.score_cats(examples, "cats", **kwargs)


def make_gliznet_textcat_scorer() -> Callable:
    return gliznet_textcat_score


registry.scorers.register("spacy_gliznet.textcat_scorer.v1", func=make_gliznet_textcat_scorer)
registry.losses.register("spacy_gliznet.GliZNetLoss.v1", func=make_gliznet_loss)


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
            "negative_samples": int(negative_samples),
            "shuffle_labels": bool(shuffle_labels),
        }
        # What the constructor was given, to tell load-time overrides from saved state.
        self.cfg["constructed_with"] = {k: self.cfg[k] for k in RUNTIME_SETTINGS}
        self.loss_fn = loss if loss is not None else make_gliznet_loss()
        self.scorer = scorer
        self._rng = random.Random(0)

    # -- settings ---------------------------------------------------------
    @property
    def labels(self) -> Tuple[str, ...]:
        """The pipe's default labels (keys written to doc.cats)."""
        return tuple(k for k, _ in self.cfg["labels"])

    @labels.setter
    def labels(self, labels: LabelsArg) -> None:
        self.cfg["labels"] = label_pairs(labels, f"{self.name} labels")

    @property
    def label_descriptions(self) -> Dict[str, str]:
        return {k: t for k, t in self.cfg["labels"]}

    @property
    def multi_label(self) -> bool:
        return self.cfg["multi_label"]

    @multi_label.setter
    def multi_label(self, value: bool) -> None:
        self.cfg["multi_label"] = bool(value)

    @property
    def threshold(self) -> float:
        return self.cfg["threshold"]

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.cfg["threshold"] = validate_threshold(value)

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

    def predict(self, docs: Iterable[Doc], labels: Optional[LabelsArg] = None
                ) -> Tuple[List[LabelPairs], Optional[GliZNetResult]]:
        """Label logits for each doc; ``labels`` overrides the pipe's labels."""
        docs = list(docs)
        call_labels = label_pairs(labels, "labels") if labels is not None else None
        pairs = [self._doc_labels(doc, call_labels) for doc in docs]
        if not docs:
            return pairs, None
        result = self.model.predict([(doc.text, [t for _, t in p]) for doc, p in zip(docs, pairs)])
        return pairs, result

    def set_annotations(self, docs: Iterable[Doc], scores: Tuple[List[LabelPairs], Optional[GliZNetResult]],
                        multi_label: Optional[bool] = None) -> None:
        pairs, result = scores
        if result is None:
            return
        multi = self.multi_label if multi_label is None else bool(multi_label)
        activation = "sigmoid" if multi else "softmax"
        truncated = 0
        for doc, p, enc, logits in zip(docs, pairs, result.encoded, result.logits):
            probs = activate(logits, activation)
            for (key, _), score in zip(p, probs):
                doc.cats[key] = float(score)
            doc._.gliznet_truncated = enc.text_truncated
            truncated += enc.text_truncated
        if truncated:
            warnings.warn(
                f"{self.name}: {truncated} text(s) were cut to fit the model's maximum length "
                f"(see doc._.gliznet_truncated); every label was still scored.",
                TruncationWarning,
                stacklevel=2,
            )

    def __call__(self, doc: Doc, *, labels: Optional[LabelsArg] = None,
                 multi_label: Optional[bool] = None) -> Doc:
        error_handler = self.get_error_handler()
        try:
            scores = self.predict([doc], labels=labels)
            self.set_annotations([doc], scores, multi_label=multi_label)
            return doc
        except Exception as err:
            error_handler(self.name, self, [doc], err)
            return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128,
             labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None) -> Iterator[Doc]:
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                scores = self.predict(docs, labels=labels)
                self.set_annotations(docs, scores, multi_label=multi_label)
                yield from docs
            except Exception as err:
                error_handler(self.name, self, docs, err)

    # -- training ---------------------------------------------------------
    def _training_labels(self, example: Example) -> LabelPairs:
        cats = example.reference.cats
        described = self.label_descriptions
        keys = list(cats)
        if self.cfg["negative_samples"]:
            pool = [k for k in self.labels if k not in cats]
            keys += self._rng.sample(pool, min(len(pool), self.cfg["negative_samples"]))
        if self.cfg["shuffle_labels"]:
            self._rng.shuffle(keys)
        return [(k, described.get(k, k)) for k in keys]

    def update(self, examples: Iterable[Example], *, drop: float = 0.0,
               sgd: Optional[Any] = None, losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        """Learn from examples whose ``reference.cats`` hold 1.0 for positive and
        0.0 for negative labels. Examples without cats are skipped."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "GliZNetTextCategorizer.update")
        examples = [eg for eg in examples if eg.reference.cats]
        if not examples:
            return losses
        pairs = [self._training_labels(eg) for eg in examples]
        X = [(eg.predicted.text, [t for _, t in p]) for eg, p in zip(examples, pairs)]
        result, backprop = self.model.begin_update(X)
        loss, d_output = self._loss(examples, pairs, result)
        backprop(d_output)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def _loss(self, examples: Sequence[Example], pairs: Sequence[LabelPairs],
              result: GliZNetResult) -> Tuple[float, GliZNetOutput]:
        output = result.output
        N, K = output.logits.shape
        targets = torch.zeros((N, K), dtype=torch.float32)
        mask = torch.zeros((N, K), dtype=torch.bool)
        for i, (eg, p) in enumerate(zip(examples, pairs)):
            cats = eg.reference.cats
            for j, (key, _) in enumerate(p):
                targets[i, j] = 1.0 if cats.get(key, 0.0) >= 0.5 else 0.0
                mask[i, j] = True
        device = output.logits.device
        total, parts = self.loss_fn(output, targets.to(device), mask.to(device))
        if not torch.isfinite(total):
            raise ValueError(f"{self.name}: the training loss is not finite ({parts})")
        total.backward()
        grads = GliZNetOutput(*[t.grad if t.requires_grad else None for t in output])
        return float(total.detach()), grads

    def get_loss(self, examples: Iterable[Example], scores: GliZNetResult) -> Tuple[float, GliZNetOutput]:
        """Loss and gradients for a training forward pass whose inputs were
        ``[(eg.predicted.text, list(eg.reference.cats)) ...]`` (no shuffling)."""
        examples = list(examples)
        described = self.label_descriptions
        pairs = [[(k, described.get(k, k)) for k in eg.reference.cats] for eg in examples]
        return self._loss(examples, pairs, scores)

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

    def score(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
        validate_examples(examples, "GliZNetTextCategorizer.score")
        kwargs.setdefault("labels", self.labels)
        kwargs.setdefault("multi_label", self.multi_label)
        kwargs.setdefault("threshold", self.threshold)
        return self.scorer(examples, **kwargs)

    # -- serialization ----------------------------------------------------
    def _restore_runtime_settings(self, given: Dict[str, Any]) -> None:
        """After loading, a setting passed to the constructor that differs from
        what the saved pipe was constructed with is a load-time override: keep it."""
        saved_given = self.cfg.get("constructed_with", {})
        for key in RUNTIME_SETTINGS:
            if key in saved_given and _norm(given[key]) != _norm(saved_given[key]):
                self.cfg[key] = given[key]
        self.cfg["labels"] = [tuple(p) for p in self.cfg["labels"]]
        self.cfg["constructed_with"] = given

    def from_disk(self, path, *, exclude=tuple()):
        given = dict(self.cfg["constructed_with"])
        super().from_disk(path, exclude=exclude)
        self._restore_runtime_settings(given)
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        given = dict(self.cfg["constructed_with"])
        super().from_bytes(bytes_data, exclude=exclude)
        self._restore_runtime_settings(given)
        return self


def _norm(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value
