"""errors.py: the typed errors stay ValueErrors; warn_once warns once per owner and key."""

import warnings

import pytest

from spacy_gliznet.errors import (
    GliZNetConfigError,
    GliZNetInputError,
    GliZNetTrainingError,
    LearnRateWarning,
    warn_once,
)


def test_typed_errors_are_value_errors():
    assert issubclass(GliZNetConfigError, GliZNetInputError)
    assert issubclass(GliZNetInputError, ValueError) and issubclass(GliZNetTrainingError, ValueError)


class Owner:
    pass


def test_warn_once_per_owner_and_key():
    a, b = Owner(), Owner()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            warn_once(a, "k", "first", LearnRateWarning)
        warn_once(a, "other", "second", UserWarning)
        warn_once(b, "k", "third", LearnRateWarning)
    assert [(str(w.message), w.category) for w in seen] == [
        ("first", LearnRateWarning), ("second", UserWarning), ("third", LearnRateWarning)]
    assert seen[0].filename == __file__  # the caller's line, as warnings.warn would say
    with pytest.warns(LearnRateWarning):
        warn_once(Owner(), "k", "again", LearnRateWarning)
