"""spacy-gliznet: zero-shot multi-label text classification as a spaCy component.

Modules, in the order data flows through them (each imports only those above it;
tests/project/test_architecture.py holds the exact layers):

- ``errors``, ``config``, ``outputs``, ``labels``, ``settings``, ``fork_safety``,
  ``label_cache``: leaves (exceptions and warnings, the model config, what the
  model and the prediction API return, label sets, the component's settings with
  their one validation, the fork handler that keeps forked workers from hanging,
  the cache of label vectors);
- ``decisions``: which labels a doc gets from its scores; ``encoding``: texts and
  labels -> token ids and passes; ``model_files``: reading HF-layout files;
- ``metrics``: the one macro-F1 (spaCy's), threshold tuning and the registered
  scorer; ``collation``: encoded inputs -> padded batches;
- ``windows``: token windows over long texts; ``spans``: the spans scored;
  ``modeling``: the torch network and its one forward;
- ``planning``: a batch of docs -> the model inputs and where their scores go;
  ``prediction``: the plain PyTorch prediction API (texts and labels -> scores);
  ``original``: checkpoints of the original GliZNet implementation;
- ``aggregation``: window and span scores back into doc and span scores;
  ``checkpoints``: loading and saving (this project's format, bare backbones,
  the bundled default model, pipeline bytes);
- ``layers``: the Thinc layer; ``losses``: the training loss; ``adapt``:
  unsupervised adaptation to a corpus;
- ``component``: the ``gliznet_textcat`` pipe; ``readers``: training corpora;
- ``registrations``: the factory, its ``DEFAULT_CONFIG`` and every name
  registered with spaCy;
- ``cli``: ``python -m spacy_gliznet ...``; ``distributed``: Ray Data actors.
"""

from .errors import (
    GliZNetInputError,
    GliZNetLoadError,
    LabelTooLongError,
    TruncationWarning,
    UnknownLabelWarning,
)
from .config import GliZNetConfig
from .outputs import ClassificationResult
from .checkpoints import GliZNetForSequenceClassification
from .layers import build_gliznet_model
from .component import GliZNetTextCategorizer
from .registrations import make_gliznet_textcat
from . import registrations  # noqa: F401  (registers the factory and the other names)
from . import fork_safety  # noqa: F401  (forked children, e.g. nlp.pipe(n_process=N), never hang)

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
