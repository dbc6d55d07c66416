"""Errors and warnings of spacy-gliznet, and :func:`warn_once` (a leaf: imports nothing
of the package)."""

import warnings
from typing import Any, Type


class GliZNetInputError(ValueError):
    """Raised for texts, labels or settings that cannot be used as given."""


class GliZNetDataError(GliZNetInputError):
    """Raised for a data file (a corpus, a dataset manifest, a labels file) that cannot be
    read as given; the message names the file, and the line or row where there is one."""


class GliZNetConfigError(GliZNetInputError):
    """Raised for a setting of the model or of a registered function that cannot be
    used (a value in a config block, a model's ``config.json`` or a constructor)."""


class GliZNetTrainingError(ValueError):
    """Raised when a training step cannot go on (e.g. a loss that is not finite)."""


class LabelTooLongError(GliZNetInputError):
    """Raised when one label does not fit in the model's maximum length."""


class GliZNetLoadError(OSError):
    """Raised when a model directory is missing, partial, corrupted or unsupported."""


class TruncationWarning(UserWarning):
    """Emitted when a text had to be cut to fit the model's maximum length."""


class UnknownLabelWarning(UserWarning):
    """A per-label threshold names a label the component does not have (yet)."""


class UnreadTextWarning(UserWarning):
    """Emitted when part of a text reaches the model only as unknown tokens (e.g. a run
    of more characters without spaces than a WordPiece tokenizer reads)."""


class LearnRateWarning(UserWarning):
    """Emitted (once per pipe) when an optimizer's learning rate is high enough to wreck
    the pretrained encoder (e.g. Adam's default 1e-3 from ``spacy init config``)."""


def warn_once(owner: Any, key: str, message: str, category: Type[Warning],
              stacklevel: int = 1) -> None:
    """Warn ``message`` (a ``category``) the first time ``owner`` (e.g. a pipe) asks
    under ``key``, and never again for that owner and key. ``stacklevel`` as for
    ``warnings.warn`` called where ``warn_once`` is called (1: that line)."""
    warned = owner.__dict__.setdefault("_warned_once", set())
    if key not in warned:
        warned.add(key)
        warnings.warn(message, category, stacklevel=stacklevel + 1)
