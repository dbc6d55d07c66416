"""spacy-gliznet: zero-shot multi-label text classification as a spaCy component."""

from .modeling import (
    ClassificationResult,
    GliZNetConfig,
    GliZNetForSequenceClassification,
    GliZNetLoadError,
    TruncationWarning,
)
from .encoding import GliZNetInputError, LabelTooLongError
from .layers import build_gliznet_model
from .component import GliZNetTextCategorizer, make_gliznet_textcat

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
