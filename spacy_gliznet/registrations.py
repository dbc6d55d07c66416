"""Every name spacy-gliznet registers with spaCy, in one place.

Registry names are versioned and never change once published; a new
behaviour gets a new version (``...v2``) beside the old one.

- factory ``gliznet_textcat``: :func:`component.make_gliznet_textcat`
  (its default config is ``component.DEFAULT_CONFIG``);
- architecture ``spacy_gliznet.GliZNet.v1``: :func:`layers.build_gliznet_model`;
- loss ``spacy_gliznet.GliZNetLoss.v1``: :func:`losses.make_gliznet_loss`;
- scorer ``spacy_gliznet.textcat_scorer.v1``: :func:`component.make_gliznet_textcat_scorer`;
- reader ``spacy_gliznet.JsonlCorpus.v1``: :func:`readers.create_jsonl_corpus`;
- reader ``spacy_gliznet.read_labels.v1``: :func:`readers.make_labels_reader` (a label
  set from a text or JSON file);
- schedule ``spacy_gliznet.warmup_linear.v1``: :func:`learn_rate.warmup_linear_fraction`
  (warmup as a fraction of the run);
- callback ``spacy_gliznet.label_report.v1``: :func:`label_report.make_label_report_callback`
  (``[initialize] after_init``: the training corpus's label counts before training);
- Doc extensions ``gliznet_labels`` (per-doc labels, read),
  ``gliznet_truncated`` (whether the text was cut, written) and
  ``gliznet_predicted_labels`` (the labels the doc gets, best first, written).

The entry points in setup.cfg point here, so spaCy finds these names in a
fresh process without importing the package first.
"""

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import registry

from .component import (
    DEFAULT_CONFIG,
    DEFAULT_SCORE_WEIGHTS,
    make_gliznet_textcat,
    make_gliznet_textcat_scorer,
)
from .label_report import make_label_report_callback
from .layers import build_gliznet_model
from .learn_rate import warmup_linear_fraction
from .losses import make_gliznet_loss
from .readers import create_jsonl_corpus, make_labels_reader

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
