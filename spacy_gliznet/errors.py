"""Errors and warnings of spacy-gliznet (a leaf: imports nothing of the package)."""


class GliZNetInputError(ValueError):
    """Raised for texts, labels or settings that cannot be used as given."""


class GliZNetDataError(GliZNetInputError):
    """Raised for a data file (a corpus, a dataset manifest, a labels file) that cannot be
    read as given; the message names the file, and the line or row where there is one."""


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
