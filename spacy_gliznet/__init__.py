"""spacy-gliznet: zero-shot multi-label text classification as a spaCy component.

The module map: folders in the order data flows through them, and in each folder its
modules by layer. A module imports only modules named before it here (function-level
imports included); tests/project/test_architecture.py holds the exact layers (LAYERS)
and checks this map against them and against the files.

- the top: ``errors.py`` (exceptions and warnings), ``labels.py`` (label sets and
  their validation), ``settings.py`` (the component's settings, each with its one
  validation), ``atomic.py`` (outputs written whole, never over an input);
- ``model/``, torch only (no spaCy or Thinc): ``config.py`` (the model
  configuration), ``outputs.py`` (what the model returns), ``label_cache.py`` (the
  label-vector cache), ``prototypes.py`` (labels combined with their examples),
  ``encoding.py`` (token ids and the pass plan), ``files.py``
  (a model directory's files), ``collation.py`` (padded tensors), ``network.py``
  (the torch network: one forward for training and prediction), ``predictor.py``
  (the plain PyTorch prediction API), ``original.py`` (the original implementation's
  checkpoints), ``checkpoints.py`` (loading and saving), ``losses.py`` (the training
  losses);
- ``longtext/``: ``windows.py`` (token windows over a long doc), ``spans.py`` (the
  spans scored), ``planning.py`` (what a batch of docs sends to the model),
  ``aggregation.py`` (scores merged back);
- ``corpus/``: ``label_report.py`` (what training data say about the labels),
  ``readers.py`` (JSONL + manifest corpora, unlabeled corpora, label files);
- ``pipeline/``: ``learn_rate.py`` (the guard against rates that wreck the encoder),
  ``decisions.py`` (the labels a doc gets from its scores), ``config_mirror.py`` (every
  settings write, mirrored into ``nlp.config``), ``metrics.py`` (the one F1, threshold
  tuning, the scorer), ``runtime_settings.py`` (the settings of one call, resolved
  once), ``layer.py`` (the Thinc layer), ``annotations.py`` (what the pipe writes on a
  doc), ``adapt.py`` (adapting to a corpus without labels), ``visualize.py`` (HTML and
  displaCy spans), ``component.py`` (the ``gliznet_textcat`` pipe);
- the top: ``registrations.py`` (the factory, its ``DEFAULT_CONFIG`` and every
  registered name);
- ``scale/``: ``fork_safety.py`` (``nlp.pipe(n_process=N)`` never hangs),
  ``distributed.py`` (Ray Data);
- ``cli/``: the commands of ``python -m spacy_gliznet`` (``__main__.py``), one module
  each (``cli/__init__.py`` names them).
"""

from .errors import (
    GliZNetDataError,
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
    "GliZNetDataError",
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
