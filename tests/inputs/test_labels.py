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


# -- labels with examples --------------------------------------------------------------
from spacy_gliznet.labels import (  # noqa: E402
    MAX_EXAMPLE_CHARS, ExampleSet, example_set, label_config, label_specs)


def test_label_specs_read_examples_and_descriptions_and_write_them_back():
    given = {"sports": {"examples": ["a goal", "the match"]},
             "food": {"description": "cooking and recipes", "examples": ["pasta"]},
             "music": "songs", "news": "news"}
    pairs, examples = label_specs(given, "x")
    assert pairs == [("sports", "sports"), ("food", "cooking and recipes"), ("music", "songs"),
                     ("news", "news")]
    assert examples == {"sports": ("a goal", "the match"), "food": ("pasta",)}
    assert label_config(pairs, examples) == {
        "sports": {"examples": ["a goal", "the match"]},
        "food": {"description": "cooking and recipes", "examples": ["pasta"]},
        "music": "songs", "news": "news"}
    assert label_specs(label_config(pairs, examples), "x") == (pairs, examples)
    # the forms without examples are read and written as before
    assert label_specs(["a", "b"], "x") == ([("a", "a"), ("b", "b")], {})
    assert label_config([("a", "a"), ("b", "b")]) == ["a", "b"]
    assert label_config([("a", "about a")]) == {"a": "about a"}
    assert label_pairs(given, "x") == pairs


@pytest.mark.parametrize("value,match", [
    ({"examples": []}, "'sports' are an empty list"),
    ({"examples": ["a", "a"]}, "'sports': example 1 repeats example 0"),
    ({"examples": ["a", 3]}, "'sports': example 1 is int"),
    ({"examples": ["a", "  "]}, "'sports': example 1 is empty"),
    ({"examples": "a goal"}, "'sports' must be a list of texts"),
    ({"examples": ["x" * (MAX_EXAMPLE_CHARS + 1)]}, "'sports': example 0 has 20,001 characters"),
    ({"examples": ["bad \ud800"]}, "Example 0 of label 'sports' is not valid Unicode"),
    ({"example": ["a"]}, "label 'sports' has unknown fields \\['example'\\]"),
    ({"description": "", "examples": ["a"]}, "description of label 'sports' must be a non-empty"),
])
def test_invalid_examples_are_named(value, match):
    with pytest.raises(GliZNetInputError, match="^where: .*" + match):
        label_specs({"sports": value, "food": "food"}, "where")


def test_example_set_in_label_order_or_none():
    pairs = [("a", "a"), ("b", "about b")]
    assert example_set(pairs, {}, False) is None
    assert example_set(pairs, {"b": ("x", "y")}, True) == ExampleSet(((), ("x", "y")), True)
