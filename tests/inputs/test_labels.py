import random

import pytest

from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.labels import label_pairs, training_labels, validate_labels


@pytest.mark.parametrize("labels,match", [
    ("sports", "not a single string"),
    (["a", "a"], "Duplicate label"),
    (["a", 3], "must be a string"),
    (["a", "  "], "empty"),
])
def test_label_validation(labels, match):
    with pytest.raises(GliZNetInputError, match=match):
        validate_labels(labels)


def test_label_pairs_from_a_list_or_descriptions():
    assert label_pairs(["a", "b"], "x") == [("a", "a"), ("b", "b")]
    assert label_pairs({"a": "about a", "b": "about b"}, "x") == [("a", "about a"), ("b", "about b")]
    with pytest.raises(GliZNetInputError, match="^where: .*share one description"):
        label_pairs({"a": "same", "b": "same"}, "where")


def test_training_labels_adds_unmentioned_negatives_and_shuffles():
    cats = {"pos": 1.0, "neg": 0.0}
    out = training_labels(cats, ["pos", "neg", "x", "y", "z"], 2, random.Random(0), shuffle=False)
    assert list(out)[:2] == ["pos", "neg"]
    assert len(out) == 4 and set(out) - set(cats) <= {"x", "y", "z"}
    assert all(out[k] == 0.0 for k in out if k not in cats)
    # more negatives asked than the pool has: all of the pool, none twice
    out = training_labels(cats, ["pos", "x"], 5, random.Random(0), shuffle=False)
    assert out == {"pos": 1.0, "neg": 0.0, "x": 0.0}
    orders = {tuple(training_labels({k: 1.0 for k in "abcdef"}, [], 0, random.Random(s), shuffle=True))
              for s in range(5)}
    assert len(orders) > 1
