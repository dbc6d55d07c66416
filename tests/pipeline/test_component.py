import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import spacy
from spacy.training import Example
from thinc.api import Adam

from spacy_gliznet import GliZNetInputError

from helpers import TRAIN, make_nlp



NLP = {"labels": ["sports", "politics", "food"]}


def test_zero_shot_needs_no_initialize(nlp):
    doc = nlp("the team won the match")
    assert set(doc.cats) == {"sports", "politics", "food"}
    assert all(0.0 <= v <= 1.0 for v in doc.cats.values())
    assert doc._.gliznet_truncated is False


def test_labels_per_call_and_per_doc(nlp):
    doc = nlp("the team won", component_cfg={"gliznet_textcat": {"labels": ["red", "blue"]}})
    assert set(doc.cats) == {"red", "blue"}
    doc = nlp.make_doc("the team won")
    doc._.gliznet_labels = {"animal": "cat and dog", "weather": "rain and sun"}
    (out,) = list(nlp.pipe([doc]))
    assert set(out.cats) == {"animal", "weather"}
    # a description is what the model reads: same score as the raw text label
    doc2 = nlp("the team won", component_cfg={"gliznet_textcat": {"labels": ["cat and dog", "rain and sun"]}})
    assert out.cats["animal"] == pytest.approx(doc2.cats["cat and dog"], abs=1e-6)


def test_single_label_mode_is_a_softmax(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports", "food", "music"], multi_label=False)
    assert sum(nlp("the team won").cats.values()) == pytest.approx(1.0, abs=1e-6)
    doc = nlp("the team won", component_cfg={"gliznet_textcat": {"multi_label": True}})
    assert sum(doc.cats.values()) != pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("batch_size,model_batch", [(1, 32), (3, 2), (100, 1)])
def test_pipe_equals_call(tiny_gliznet_dir, batch_size, model_batch):
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports", "food", "music", "cat"])
    nlp.get_pipe("gliznet_textcat").model.attrs["batch_size"] = model_batch
    texts = ["the team won the match today", "pasta", "", "a new song from the film " * 5, "the cat"]
    one = [nlp(t).cats for t in texts]
    many = [d.cats for d in nlp.pipe(texts, batch_size=batch_size)]
    for a, b in zip(one, many):
        assert a.keys() == b.keys()
        np.testing.assert_allclose(list(a.values()), [b[k] for k in a], atol=1e-5)


def test_a_bad_doc_under_a_non_raising_handler_drops_nothing_else(nlp):
    """Only the bad doc goes to the error handler; the rest of its batch comes back scored."""
    seen = []

    def handler(name, pipe, docs, err):
        seen.append(([d.text for d in docs], type(err).__name__))

    texts = [f"the team won match {i}" for i in range(12)]
    docs = [nlp.make_doc(t) for t in texts]
    docs[5]._.gliznet_labels = "notalist"
    nlp.set_error_handler(handler)
    try:
        out = list(nlp.pipe(docs, batch_size=4))
    finally:
        nlp.set_error_handler(spacy.util.raise_error)
    assert [d.text for d in out] == texts
    assert seen == [([texts[5]], "GliZNetInputError")]
    assert out[5].cats == {} and out[5]._.gliznet_predicted_labels is None
    for i, doc in enumerate(out):
        if i != 5:
            assert doc.cats == pytest.approx(nlp(texts[i]).cats, abs=1e-6)


def test_no_labels_is_a_clear_error(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir)
    with pytest.raises(GliZNetInputError, match="no labels to score"):
        nlp("the team won")


def test_bad_threshold_is_refused(tiny_gliznet_dir):
    with pytest.raises(Exception, match=r"threshold must be a number in \[0, 1\]"):
        make_nlp(tiny_gliznet_dir, labels=["a"], threshold=1.5)


def test_beside_sentencizer_and_transformer(tiny_gliznet_dir, tiny_bert_dir):
    pytest.importorskip("spacy_transformers")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("transformer", config={"model": {
        "@architectures": "spacy-transformers.TransformerModel.v3", "name": str(tiny_bert_dir),
        "tokenizer_config": {"use_fast": True}}})
    nlp.add_pipe("gliznet_textcat", config={
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)},
        "labels": ["sports", "food"]})
    nlp.initialize()
    doc = nlp("The team won. Then pasta.")
    assert len(list(doc.sents)) == 2
    assert doc._.trf_data is not None
    assert set(doc.cats) == {"sports", "food"}
    alone = make_nlp(tiny_gliznet_dir, labels=["sports", "food"])("The team won. Then pasta.")
    assert doc.cats == pytest.approx(alone.cats, abs=1e-6)


def _examples(nlp):
    return [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in TRAIN]


@pytest.mark.slow
def test_overfit_save_and_reload_in_fresh_process(tiny_gliznet_dir, tmp_path):
    source = tmp_path / "source_checkpoint"
    shutil.copytree(tiny_gliznet_dir, source)
    nlp = make_nlp(source, shuffle_labels=True, decision_rule="threshold")  # a supervised model
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples, sgd=Adam(2e-3))
    assert nlp.get_pipe("gliznet_textcat").labels == ("sports", "food", "music")
    for _ in range(120):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["gliznet_textcat"] < 1.5
    for text, cats in TRAIN:
        doc = nlp(text)
        for label, gold in cats.items():
            assert (doc.cats[label] >= 0.5) == (gold == 1.0), (text, doc.cats)
    scores = nlp.evaluate(examples)
    assert scores["cats_macro_f"] == 1.0 and "cats_macro_auc" in scores

    expected = {t: nlp(t).cats for t, _ in TRAIN}
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(source)  # the original checkpoint is gone: loading must not need it
    script = (
        "import json, sys, spacy\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "texts = json.loads(sys.argv[2])\n"
        "print(json.dumps({t: nlp(t).cats for t in texts}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "pipeline"), json.dumps(list(expected))],
        capture_output=True, text=True, check=True,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": ""},
    )
    reloaded = json.loads(out.stdout.strip().splitlines()[-1])
    for text, cats in expected.items():
        assert reloaded[text] == pytest.approx(cats, abs=1e-6)


def test_load_time_overrides_beat_saved_settings(tiny_gliznet_dir, tmp_path):
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports", "food"], threshold=0.5)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.add_label("music", "a song")
    nlp.to_disk(tmp_path / "p")
    plain = spacy.load(tmp_path / "p").get_pipe("gliznet_textcat")
    assert plain.labels == ("sports", "food", "music") and plain.threshold == 0.5
    assert plain.label_descriptions["music"] == "a song"
    over = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {"threshold": 0.8}}})
    assert over.get_pipe("gliznet_textcat").threshold == 0.8
    assert over.get_pipe("gliznet_textcat").labels == ("sports", "food", "music")


def test_update_skips_examples_without_cats(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports"])
    eg = Example.from_dict(nlp.make_doc("nothing"), {})
    assert nlp.get_pipe("gliznet_textcat").update([eg]) == {"gliznet_textcat": 0.0}


def test_negative_sampling_adds_pipe_labels(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, labels=["sports", "food", "music", "cat", "dog"], negative_samples=2)
    pipe = nlp.get_pipe("gliznet_textcat")
    eg = Example.from_dict(nlp.make_doc("the team"), {"cats": {"sports": 1.0}})
    keys = pipe._training_labels(eg)
    assert len(keys) == 3 and "sports" in keys and len(set(keys)) == 3


@pytest.fixture(scope="module")
def tiny_isolated_dir(tiny_bert_dir, tmp_path_factory):
    """A GliZNet checkpoint with label_attention "isolated", like the bundled model."""
    from spacy_gliznet.cli.init_model import init_model

    return init_model(str(tiny_bert_dir), tmp_path_factory.mktemp("iso") / "m", max_length=64)


def test_isolated_model_trains_on_texts_and_distinct_labels(tiny_isolated_dir, monkeypatch):
    """nlp.update of an isolated model encodes each text and each distinct label once
    (no packed passes) and still fits the data."""
    import spacy_gliznet.model.collation as collation

    def no_packed(*args, **kwargs):
        raise AssertionError("the packed passes were built for an isolated model")

    monkeypatch.setattr(collation, "collate", no_packed)
    nlp = make_nlp(tiny_isolated_dir, shuffle_labels=True)
    examples = _examples(nlp)
    optimizer = nlp.initialize(lambda: examples, sgd=Adam(2e-3))
    first = nlp.update(examples, sgd=optimizer)["gliznet_textcat"]
    for _ in range(80):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["gliznet_textcat"] < first / 2
    for text, cats in TRAIN:
        doc = nlp(text)
        for label, gold in cats.items():
            assert (doc.cats[label] >= 0.5) == (gold == 1.0), (text, doc.cats)


def test_update_honours_spacys_dropout(tiny_gliznet_dir):
    """`drop` (spaCy's [training] dropout) is the rate of every dropout of the model
    (head and backbone) for that update."""
    import torch

    from spacy_gliznet.pipeline.layer import ensure_loaded

    nlp = make_nlp(tiny_gliznet_dir, shuffle_labels=False)
    examples = _examples(nlp)
    nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("gliznet_textcat")
    module = ensure_loaded(pipe.model)
    rates_before = [m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)]

    def loss(drop, seed=0):
        torch.manual_seed(seed)
        return pipe.update(examples, drop=drop, sgd=None)["gliznet_textcat"]

    assert loss(0.0, seed=0) == pytest.approx(loss(0.0, seed=1), abs=1e-6)  # no randomness at 0
    assert loss(0.5, seed=0) != pytest.approx(loss(0.5, seed=1), abs=1e-6)  # dropout at work
    assert loss(0.5, seed=0) == pytest.approx(loss(0.5, seed=0), abs=1e-6)
    # the rate is the update's, not kept
    assert [m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)] == rates_before
    with pytest.raises(ValueError, match="dropout must be in"):
        pipe.update(examples, drop=1.5, sgd=None)


def test_head_settings_for_a_checkpoint_must_match_it(tiny_gliznet_dir, tiny_bert_dir):
    """Head settings shape a model started from a backbone; given for a checkpoint
    they are refused when they differ from it, never silently ignored."""
    from spacy_gliznet import GliZNetInputError
    from spacy_gliznet.pipeline.layer import ensure_loaded

    def pipe_model(name, **head):
        nlp = make_nlp(name, labels=["a", "b"], model={
            "@architectures": "spacy_gliznet.GliZNet.v1", "name": str(name), **head})
        return ensure_loaded(nlp.get_pipe("gliznet_textcat").model)

    with pytest.raises(GliZNetInputError, match=r"text_pooling='mean' \(the checkpoint has 'cls'\)"):
        pipe_model(tiny_gliznet_dir, text_pooling="mean")
    with pytest.raises(GliZNetInputError, match="dropout=0.3"):
        pipe_model(tiny_gliznet_dir, dropout=0.3)
    assert pipe_model(tiny_gliznet_dir, text_pooling="cls").config.text_pooling == "cls"
    started = pipe_model(tiny_bert_dir, text_pooling="mean", projected_dim=8, dropout=0.2)
    assert (started.config.text_pooling, started.config.projected_dim) == ("mean", 8)
    assert started.dropout.p == 0.2
