"""pipeline/runtime_settings.py and the pipe in spaCy's shape: per-call settings are
resolved and checked once into the CallSettings a Prediction carries; predict,
set_annotations and get_loss take spaCy's parameters."""

import inspect

import numpy as np
import pytest
import spacy
from spacy.pipeline import TrainablePipe
from spacy.training import Example
from thinc.api import set_dropout_rate

import spacy_gliznet.settings as settings_module
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.pipeline.component import GliZNetTextCategorizer
from spacy_gliznet.pipeline.runtime_settings import CallSettings, labels_for_doc

from helpers import TRAIN, make_nlp

LABELS = ["sports", "politics", "food"]
NLP = {"labels": LABELS}
TEXTS = ["the team won the match", "the minister spoke", "pasta and a song", "hello", "cats"]


@pytest.mark.parametrize("method", ["predict", "set_annotations", "get_loss"])
def test_spacy_signatures(method):
    ours = list(inspect.signature(getattr(GliZNetTextCategorizer, method)).parameters)
    theirs = {"predict": ["self", "docs"], "set_annotations": ["self", "docs", "scores"],
              "get_loss": ["self", "examples", "scores"]}[method]
    assert ours == theirs
    assert callable(getattr(TrainablePipe, method))


def test_predict_then_set_annotations_is_a_call(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    docs = [nlp.make_doc(t) for t in TEXTS]
    scores = pipe.predict(docs)
    assert scores.settings is pipe.settings()  # the pipe's own, resolved once and kept
    pipe.set_annotations(docs, scores)
    for doc, text in zip(docs, TEXTS):
        want = nlp(text)
        assert doc.cats == pytest.approx(want.cats, abs=1e-6)
        assert doc._.gliznet_predicted_labels == want._.gliznet_predicted_labels


def test_set_annotations_reads_the_call_settings_from_the_prediction(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    docs = [nlp.make_doc(t) for t in TEXTS]
    settings = pipe.settings(labels=["a", "b"], multi_label=False, cats_top_k=1)
    scores = pipe._predict(docs, settings)
    assert scores.settings is settings
    pipe.set_annotations(docs, scores)
    for doc in docs:
        assert len(doc.cats) == 1 and set(doc.cats) <= {"a", "b"}
        assert doc._.gliznet_predicted_labels == list(doc.cats)
    assert pipe.labels == tuple(LABELS) and pipe.multi_label  # the pipe is unchanged


def test_settings_are_checked_once_per_call_not_per_batch(nlp, monkeypatch):
    """A call without overrides checks nothing again; a stream with overrides checks
    its decision settings once, whatever its number of batches."""
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.settings()  # resolved once for the pipe
    built = []
    original = settings_module.DecisionSettings.__post_init__

    def counting(self):
        built.append(1)
        original(self)

    monkeypatch.setattr(settings_module.DecisionSettings, "__post_init__", counting)
    list(nlp.pipe(TEXTS, batch_size=1))
    nlp(TEXTS[0])
    assert built == []
    list(nlp.pipe(TEXTS, batch_size=1, component_cfg={"gliznet_textcat": {"threshold": 0.2}}))
    assert len(built) == 1


def test_the_pipe_settings_follow_every_write(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    first = pipe.settings()
    assert pipe.settings() is first
    pipe.threshold = 0.25
    assert pipe.settings() is not first and pipe.settings().decision.threshold == 0.25
    pipe.cfg["cats_top_k"] = 2  # even a write that bypasses the attributes is seen
    assert pipe.settings().cats_top_k == 2
    pipe.threshold, pipe.cats_top_k = 0.5, None


def test_overrides(nlp):
    own = nlp.get_pipe("gliznet_textcat").settings()
    assert own.with_overrides("p", threshold=None, labels=None) is own  # None keeps the pipe's
    sents = own.with_overrides("p", span_source="sents")
    assert sents.long_text.span_source == "sents"
    assert sents.with_overrides("p", span_source=None).long_text.span_source is None  # a value
    switched = own.with_overrides("p", decision_rule="ratio")
    assert switched.decision.param == 0.95  # the new rule's own default
    with pytest.raises(GliZNetInputError, match="unknown setting.*'treshold'"):
        own.with_overrides("p", treshold=0.3)
    with pytest.raises(GliZNetInputError, match=r"p: threshold must be a number in \[0, 1\]"):
        own.with_overrides("p", threshold=3)


def test_a_bad_setting_raises_whatever_the_error_handler(nlp):
    """A bad per-call setting is no doc's fault: the pipe raises it before any doc is
    scored, even under an error handler that would swallow a doc's error (``nlp(text)``
    itself hands whatever a component raises to the handler: spaCy's way)."""
    seen = []
    nlp.set_error_handler(lambda name, pipe, docs, err: seen.append(err))
    try:
        docs = [nlp.make_doc(t) for t in TEXTS]
        with pytest.raises(GliZNetInputError, match="cats_top_k"):
            list(nlp.pipe(docs, component_cfg={"gliznet_textcat": {"cats_top_k": 0}}))
        with pytest.raises(GliZNetInputError, match="cats_top_k"):
            nlp.get_pipe("gliznet_textcat")(docs[0], cats_top_k=0)
    finally:
        nlp.set_error_handler(spacy.util.raise_error)
    assert seen == [] and all(not d.cats for d in docs)


def test_a_call_may_leave_a_rule_the_pipe_cannot_use(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, decision_rule="zscore", **NLP)
    with pytest.raises(GliZNetInputError, match="zscore' needs label statistics"):
        nlp(TEXTS[0])
    doc = nlp(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "margin"}})
    assert doc._.gliznet_predicted_labels
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.decision_rule = "margin"  # a setter can leave it too
    assert nlp(TEXTS[0])._.gliznet_predicted_labels == doc._.gliznet_predicted_labels


def test_labels_for_doc(nlp):
    own = nlp.get_pipe("gliznet_textcat").settings()
    doc = nlp.make_doc("x")
    assert labels_for_doc(doc, own, "p") == [(k, k) for k in LABELS]
    assert labels_for_doc(doc, own.with_overrides("p", labels={"a": "the a"}), "p") == [("a", "the a")]
    doc._.gliznet_labels = ["z"]
    assert labels_for_doc(doc, own.with_overrides("p", labels=["a"]), "p") == [("z", "z")]
    with pytest.raises(GliZNetInputError, match="no labels to score"):
        labels_for_doc(nlp.make_doc("x"), CallSettings(**{**own.__dict__, "labels": []}), "p")


def test_get_loss_reads_the_label_order_from_the_layer_output(tiny_gliznet_dir):
    """update() puts each example's label keys (its order, negatives included) on the
    layer output; get_loss(examples, scores) builds the targets in that order."""
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports", "food", "music"], negative_samples=2)
    nlp.initialize()
    pipe = nlp.get_pipe("gliznet_textcat")
    set_dropout_rate(pipe.model, 0.0)  # two forward passes below must give the same output
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in TRAIN[:2]]
    keys = [["music", "sports", "food"], ["food", "sports"]]
    X = [(eg.predicted.text, k) for eg, k in zip(examples, keys)]
    scores, _ = pipe.model.begin_update(X)
    scores.label_keys = keys
    loss, grads = pipe.get_loss(examples, scores)
    again, _ = pipe.get_loss(examples, scores)
    assert loss == again and np.isfinite(loss)
    scores.label_keys = [list(reversed(k)) for k in keys]  # another order: other targets
    assert pipe.get_loss(examples, scores)[0] != pytest.approx(loss, abs=1e-9)
    # without keys: each example's own cats, in their order
    own = [list(eg.reference.cats) for eg in examples]
    plain, _ = pipe.model.begin_update([(eg.predicted.text, k) for eg, k in zip(examples, own)])
    with_keys, _ = pipe.model.begin_update([(eg.predicted.text, k) for eg, k in zip(examples, own)])
    with_keys.label_keys = own
    assert pipe.get_loss(examples, plain)[0] == pytest.approx(pipe.get_loss(examples, with_keys)[0])
