"""pipeline/annotations.py: what the pipe writes on a doc from a doc's scores, against
hand-made scores (no model)."""

import pytest
import spacy

import spacy_gliznet  # noqa: F401  (registers the Doc and Span extensions)
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.longtext.aggregation import DocScores
from spacy_gliznet.pipeline.annotations import write_annotations, write_span_labels
from spacy_gliznet.pipeline.runtime_settings import CallSettings
from spacy_gliznet.settings import DecisionSettings, LongTextSettings

NLP = spacy.blank("en")


def call_settings(**changes):
    base = dict(labels=[], multi_label=True, decision=DecisionSettings(decision_rule="threshold"),
                cats_top_k=None, long_text=LongTextSettings(span_source="sents"))
    return CallSettings(**{**base, **changes})


def test_cats_predicted_labels_spans_and_flags():
    doc = NLP("the team won . pasta is good")
    spans = [(doc[0:4], {"a": 0.9, "b": 0.2, "c": 0.6}), (doc[4:7], {"a": 0.1, "b": 0.7, "c": 0.3})]
    other = NLP("hello")
    per_doc = [DocScores({"a": 0.8, "b": 0.4, "c": 0.55}, spans, True, 3),
               DocScores(None, [], False, None)]
    n = write_annotations([doc, other], per_doc, call_settings(cats_top_k=2))
    assert n == 1
    assert list(doc.cats.items()) == [("a", 0.8), ("c", 0.55)]  # the 2 best, best first
    assert doc._.gliznet_predicted_labels == ["a", "c"]  # decided from every label
    assert doc[0:4]._.gliznet_cats == spans[0][1]
    assert [(s.start, s.end, s.label_) for s in doc.spans["gliznet"]] == \
        [(0, 4, "a"), (0, 4, "c"), (4, 7, "b")]
    assert (doc._.gliznet_windows, doc._.gliznet_truncated) == (3, True)
    assert other.cats == {} and other._.gliznet_predicted_labels is None  # doc_cats "none"
    assert (other._.gliznet_windows, other._.gliznet_truncated) == (None, False)


def test_single_label_takes_the_top_label():
    doc = NLP("x")
    write_annotations([doc], [DocScores({"a": 0.3, "b": 0.7}, [], False, 1)],
                      call_settings(multi_label=False))
    assert doc._.gliznet_predicted_labels == ["b"]


def test_nan_scores_raise_before_anything_is_written():
    doc = NLP("x")
    with pytest.raises(GliZNetInputError, match="NaN"):
        write_annotations([doc], [DocScores({"a": float("nan"), "b": 0.7}, [], False, 1)],
                          call_settings())
    assert doc.cats == {} and doc._.gliznet_predicted_labels is None


def test_span_labels_only_with_a_key_and_spans():
    doc = NLP("a b")
    write_span_labels(doc, [(doc[0:1], {"a": 0.9})], None, True, DecisionSettings())
    write_span_labels(doc, [], "k", True, DecisionSettings())
    assert "k" not in doc.spans and not doc.spans
