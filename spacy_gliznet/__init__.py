"""spacy-gliznet: zero-shot multi-label text classification as a spaCy component.

Folders, in the order data flows through them (each module imports only those of
lower layers; tests/project/test_architecture.py holds the exact order):

- ``errors``, ``labels``, ``settings``: leaves (exceptions and warnings, label sets,
  the component's settings with their one validation);
- ``model/``: the torch network and what it needs, no spaCy (config, encoding,
  collation, the label-vector cache, the network, losses, the plain PyTorch
  prediction API, checkpoints and the original implementation's format);
- ``longtext/``: windows over long docs, the spans scored, the scoring plan of a
  batch of docs and the scores merged back;
- ``corpus/``: training corpora and the label report;
- ``pipeline/``: the Thinc layer, the ``gliznet_textcat`` pipe, decisions, metrics,
  adapt, the learn-rate guard, rendering;
- ``registrations``: the factory, its ``DEFAULT_CONFIG`` and every registered name;
- ``scale/``: forked workers (``n_process``) and Ray Data; ``cli/``: ``python -m
  spacy_gliznet ...``.
"""

from .errors import (
    GliZNetInputError,
    GliZNetLoadError,
    LabelTooLongError,
    TruncationWarning,
    UnknownLabelWarning,
)
from .model.config import GliZNetConfig
from .model.outputs import ClassificationResult
from .model.checkpoints import GliZNetForSequenceClassification
from .pipeline.layer import build_gliznet_model
from .pipeline.component import GliZNetTextCategorizer
from .registrations import make_gliznet_textcat
from . import registrations  # noqa: F401  (registers the factory and the other names)
from .scale import fork_safety  # noqa: F401  (forked children, e.g. nlp.pipe(n_process=N), never hang)

__version__ = "0.1.0"

__all__ = [
    "ClassificationResult",
    "GliZNetConfig",
    "GliZNetForSequenceClassification",
    "GliZNetInputError",
    "GliZNetLoadError",
    "GliZNetTextCategorizer",
    "LabelTooLongError",
    "TruncationWarning",
    "UnknownLabelWarning",
    "build_gliznet_model",
    "make_gliznet_textcat",
]
