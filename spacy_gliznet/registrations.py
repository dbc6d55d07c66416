"""Every name spacy-gliznet registers with spaCy, in one place, with the
``gliznet_textcat`` factory, its ``DEFAULT_CONFIG`` and its score weights.

Registry names are versioned and never change once published; a new
behaviour gets a new version (``...v2``) beside the old one.

- factory ``gliznet_textcat``: :func:`make_gliznet_textcat` (below; the class is
  ``component.GliZNetTextCategorizer``), default config :data:`DEFAULT_CONFIG`, built
  from the defaults of ``settings.py``;
- architecture ``spacy_gliznet.GliZNet.v1``: :func:`layers.build_gliznet_model`;
- loss ``spacy_gliznet.GliZNetLoss.v1``: :func:`losses.make_gliznet_loss`;
- scorer ``spacy_gliznet.textcat_scorer.v1``: :func:`metrics.make_gliznet_textcat_scorer`;
- reader ``spacy_gliznet.JsonlCorpus.v1``: :func:`readers.create_jsonl_corpus`;
- reader ``spacy_gliznet.read_labels.v1``: :func:`readers.make_labels_reader` (a label
  set from a text or JSON file);
- schedule ``spacy_gliznet.warmup_linear.v1``: :func:`learn_rate.warmup_linear_fraction`
  (warmup as a fraction of the run);
- callback ``spacy_gliznet.label_report.v1``: :func:`label_report.make_label_report_callback`
  (``[initialize] after_init``: the training corpus's label counts before training);
- Doc extensions ``gliznet_labels`` (per-doc labels, read), ``gliznet_truncated``
  (whether the text was cut, written), ``gliznet_windows`` (how many model inputs
  the doc's scores came from, written) and ``gliznet_predicted_labels`` (the labels
  the doc gets, best first, written); Span extension ``gliznet_cats`` (a span's
  scores, written when spans are scored).

The entry points in setup.cfg point here, so spaCy finds these names in a
fresh process without importing the package first.
"""

import dataclasses
from typing import Callable, Dict, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import registry
from thinc.api import Config, Model

from .pipeline.component import GliZNetTextCategorizer
from .pipeline.config_mirror import bind_pipeline
from .labels import LabelsArg
from .pipeline.layer import build_gliznet_model
from .model.losses import LossFunction, make_gliznet_loss
from .pipeline.metrics import make_gliznet_textcat_scorer
from .corpus.label_report import make_label_report_callback
from .pipeline.learn_rate import warmup_linear_fraction
from .corpus.readers import create_jsonl_corpus, make_labels_reader
from .settings import DecisionSettings, LongTextSettings, LossSettings, TrainingSettings

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
batch_tokens = null
mixed_precision = false
quantize = false
"""

DEFAULT_CONFIG = {
    "labels": [],
    "multi_label": True,
    **DecisionSettings().config(),
    "cats_top_k": None,
    **dataclasses.asdict(TrainingSettings()),
    **LongTextSettings().as_dict(),
    "loss": {"@losses": "spacy_gliznet.GliZNetLoss.v1", **dataclasses.asdict(LossSettings())},
    "scorer": {"@scorers": "spacy_gliznet.textcat_scorer.v1"},
    "model": Config().from_str(DEFAULT_MODEL_CONFIG)["model"],
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

_LONG = LongTextSettings()
_DECISION = DecisionSettings()


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
    long_text: str = _LONG.long_text,
    window_overlap: Optional[int] = _LONG.window_overlap,
    aggregation: str = _LONG.aggregation,
    span_source: Optional[str] = _LONG.span_source,
    spans_key: str = _LONG.spans_key,
    doc_cats: str = _LONG.doc_cats,
    decided_spans_key: Optional[str] = _LONG.decided_spans_key,
    thresholds: Optional[Dict[str, float]] = None,
    decision_rule: str = _DECISION.decision_rule,
    rule_param: Optional[float] = _DECISION.rule_param,
    cats_top_k: Optional[int] = None,
) -> GliZNetTextCategorizer:
    """Create a ``gliznet_textcat`` component.

    model: the ``spacy_gliznet.GliZNet.v1`` layer (its ``name`` names the checkpoint).
    labels: default labels, a list or a {label: description the model reads} dict.
    multi_label: True for independent sigmoid scores, False for a softmax over labels.
    threshold, thresholds, decision_rule, rule_param: which labels a doc gets
        (``doc._.gliznet_predicted_labels`` and the scorer's P/R/F); see
        ``settings.DecisionSettings`` and ``decisions.py``. ``thresholds`` are
        per-label (``find-thresholds`` tunes them on dev data; a label the pipe does
        not have gets a warning). ``rule_param`` null: the rule's own default
        (margin 0.015, ratio 0.95, zscore 2.0); it belongs to ``decision_rule``: a
        per-call ``decision_rule`` other than the pipe's, without a per-call
        ``rule_param``, takes that rule's default, and setting ``pipe.decision_rule``
        to another rule resets it to null. Single-label mode takes the top label.
    cats_top_k: null writes every label's score to ``doc.cats``; k writes only the
        k best (best first). Decisions still see every label. spaCy's scorer
        reads a label missing from ``doc.cats`` as 0.0 (see the README).
    negative_samples, shuffle_labels: the labels a training example trains on
        (``settings.TrainingSettings``).
    loss: the training loss (``spacy_gliznet.GliZNetLoss.v1``).
    scorer: the scoring function (``spacy_gliznet.textcat_scorer.v1``).
    long_text, window_overlap, aggregation, span_source, spans_key, doc_cats,
    decided_spans_key: texts
        longer than the model and the spans scored (``settings.LongTextSettings``).
        ``long_text="windows"`` reads the whole text in overlapping windows (cut at
        sentence starts when the doc has sentences) and aggregates their scores;
        ``"truncate"`` reads the first ``max_length - 2`` tokens, sets
        ``doc._.gliznet_truncated`` and warns. Prediction only: training reads the
        first ``max_length - 2`` tokens of each example. ``span_source`` ``"sents"``
        (needs a sentencizer, senter or parser before this component) or ``"spans"``
        (``doc.spans[spans_key]``) puts each span's scores in ``span._.gliznet_cats``
        and its decided labels in ``doc.spans[decided_spans_key]`` (null: not written),
        which ``displacy.render(doc, style="span")`` shows.

    Settings and saving: ``labels``, ``multi_label``, ``cats_top_k``, the decision
    settings and the long-text settings are runtime settings. The pipeline's config
    (``nlp.config``, saved as ``config.cfg``) always holds their current values:
    setting them on the pipe (``pipe.threshold = 0.3``, what ``find-thresholds``
    does) writes the config too, except a value the config cannot hold (a dict key
    starting with ``@``, or one holding ``=``, ``:``, ``[``, ...), which is saved
    with the pipe's own data. On load, a value given to ``spacy.load(path,
    config=...)`` wins over the saved one.
    """
    pipe = GliZNetTextCategorizer(
        nlp.vocab, model, name, labels=labels, multi_label=multi_label, cats_top_k=cats_top_k,
        loss=loss, scorer=scorer, threshold=threshold, thresholds=thresholds,
        decision_rule=decision_rule, rule_param=rule_param,
        negative_samples=negative_samples, shuffle_labels=shuffle_labels,
        long_text=long_text, window_overlap=window_overlap, aggregation=aggregation,
        span_source=span_source, spans_key=spans_key, doc_cats=doc_cats,
        decided_spans_key=decided_spans_key,
    )
    bind_pipeline(pipe, nlp)
    return pipe


registry.architectures.register("spacy_gliznet.GliZNet.v1", func=build_gliznet_model)
registry.losses.register("spacy_gliznet.GliZNetLoss.v1", func=make_gliznet_loss)
registry.scorers.register("spacy_gliznet.textcat_scorer.v1", func=make_gliznet_textcat_scorer)
registry.readers.register("spacy_gliznet.JsonlCorpus.v1", func=create_jsonl_corpus)
registry.readers.register("spacy_gliznet.read_labels.v1", func=make_labels_reader)
registry.schedules.register("spacy_gliznet.warmup_linear.v1", func=warmup_linear_fraction)
registry.callbacks.register("spacy_gliznet.label_report.v1", func=make_label_report_callback)
Language.factory(
    "gliznet_textcat",
    assigns=["doc.cats"],
    default_config=DEFAULT_CONFIG,
    default_score_weights=DEFAULT_SCORE_WEIGHTS,
    func=make_gliznet_textcat,
)

for _name in ("gliznet_labels", "gliznet_truncated", "gliznet_windows"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)

# stored where a plain extension keeps it; read back as a list (msgpack, e.g. a DocBin or
# nlp.pipe(n_process=N), gives it back as a tuple)
_PREDICTED_KEY = ("._.", "gliznet_predicted_labels", None, None)


def _get_predicted(doc: Doc):
    value = doc.user_data.get(_PREDICTED_KEY)
    return None if value is None else list(value)


def _set_predicted(doc: Doc, value) -> None:
    doc.user_data[_PREDICTED_KEY] = value


if not Doc.has_extension("gliznet_predicted_labels"):
    Doc.set_extension("gliznet_predicted_labels", getter=_get_predicted, setter=_set_predicted)
if not Span.has_extension("gliznet_cats"):
    Span.set_extension("gliznet_cats", default=None)
