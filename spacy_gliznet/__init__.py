"""spacy-gliznet: zero-shot multi-label text classification as a spaCy component.

Modules, in the order data flows through them (each imports only those above it):

- ``errors``, ``config``, ``outputs``, ``labels``, ``decisions``, ``parallel``,
  ``label_cache``: leaves (exceptions, the model config, what the model returns, label
  sets, decision rules and thresholds, the worker-thread fork handler, the cache of
  label vectors);
- ``encoding``: texts and labels -> token ids, passes and padded batches;
- ``windows``: long docs and spans -> the texts to score, and their aggregation;
- ``modeling``: the torch model and its one forward;
- ``model_files``, ``reference``, ``checkpoints``: loading and saving (HF-layout
  files, the original implementation's checkpoints, this project's and the
  bundled default model);
- ``layers``: the Thinc layer; ``losses``: the training loss;
- ``component``: the ``gliznet_textcat`` pipe; ``readers``: training corpora;
- ``registrations``: every name registered with spaCy;
- ``cli``: ``python -m spacy_gliznet ...``; ``distributed``: Ray Data actors.
"""

from .errors import GliZNetInputError, GliZNetLoadError, LabelTooLongError, TruncationWarning
from .config import GliZNetConfig
from .outputs import ClassificationResult
from .checkpoints import GliZNetForSequenceClassification
from .layers import build_gliznet_model
from .component import GliZNetTextCategorizer
from .registrations import make_gliznet_textcat
from . import registrations  # noqa: F401  (registers the factory and the other names)
from . import parallel  # noqa: F401  (forked children, e.g. nlp.pipe(n_process=N), never hang)

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
    "build_gliznet_model",
    "make_gliznet_textcat",
]
