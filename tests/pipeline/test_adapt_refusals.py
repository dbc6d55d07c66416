"""#33 items 3, 5 and 9: adapt refuses what the model cannot tell apart (labels that read
the same, a corpus of one text), leaves the pipe as it was when it refuses or fails,
and works with cats_top_k, with .spacy files written by convert and with a pipe that
scores sentences."""

import numpy as np
import pytest
import spacy

from spacy_gliznet.__main__ import main
from spacy_gliznet.corpus.readers import read_unlabeled
from spacy_gliznet.errors import GliZNetInputError
from helpers import make_folder, make_nlp

LABELS = ["sports", "food", "music"]
WORDS = "the team won match goal pasta food hot cold cooking song film music new good".split()
FAST = {"steps": 2, "batch_size": 4, "per_label": 4, "min_texts": 5}
NLP = {"labels": LABELS, "multi_label": False}


def corpus(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 9)))) + f" {i}" for i in range(n)]


def snapshot(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    return (dict(pipe.cfg), dict(nlp.get_pipe_config("gliznet_textcat")))


@pytest.mark.parametrize("twins", [["Sports", "sports"], ["sports", " sports "],
                                   ["sports", "spo\u0000rts"]])
def test_labels_the_model_reads_alike_are_refused_naming_both(make_pipeline, twins):
    """Sports, sports and ' sports' got identical scores and statistics."""
    nlp = make_pipeline()
    with pytest.raises(GliZNetInputError, match=r"Labels .* and .* read the same to the model"):
        nlp("the team won", component_cfg={"gliznet_textcat": {"labels": twins + ["food"]}})
    before = snapshot(nlp)
    with pytest.raises(GliZNetInputError, match="read the same to the model"):
        nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, labels=twins + ["food"], **FAST)
    assert snapshot(nlp) == before
    # descriptions that differ tell them apart
    doc = nlp("the team won", component_cfg={"gliznet_textcat": {
        "labels": {"Sports": "team sports", "sports": "sports news"}}})
    assert set(doc.cats) == {"Sports", "sports"}


def test_a_corpus_of_one_text_repeated_is_refused(make_pipeline):
    """It was accepted and every label's spread set to 1.0."""
    nlp = make_pipeline()
    with pytest.raises(GliZNetInputError, match="only 1 distinct"):
        nlp.get_pipe("gliznet_textcat").adapt(["the team won"] * 30, nlp=nlp, **FAST)
    with pytest.raises(GliZNetInputError, match="only 2 distinct"):
        nlp.get_pipe("gliznet_textcat").adapt(["the team won", "The  team won ", "good food"] * 10,
                                              nlp=nlp, **FAST)


def test_a_failed_adapt_leaves_the_labels_and_the_config_unchanged(make_pipeline, monkeypatch):
    """A refused adapt had already replaced the pipe's labels (in nlp.config too)."""
    nlp = make_pipeline()
    pipe = nlp.get_pipe("gliznet_textcat")
    before = snapshot(nlp)
    with pytest.raises(GliZNetInputError, match="whole number"):
        pipe.adapt(corpus(), nlp=nlp, labels=["a", "b"], multi_label=True, seed="7")
    with pytest.raises(GliZNetInputError, match="min_texts"):
        pipe.adapt(corpus(3), nlp=nlp, labels=["a", "b"], multi_label=True, **FAST)

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(pipe, "update", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        pipe.adapt(corpus(), nlp=nlp, labels=["new", "other"], **FAST)
    assert snapshot(nlp) == before


def test_adapt_works_with_cats_top_k(make_pipeline):
    """It crashed (a KeyError on the labels cats_top_k leaves out of doc.cats)."""
    nlp = make_pipeline(cats_top_k=1)
    report = nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, **FAST)
    assert report.steps == 2 and report.start_scores.shape == (12, 3)
    assert len(nlp("the team won").cats) == 1


def test_adapt_reads_a_spacy_file_from_convert_with_the_adapt_labels(tiny_gliznet_dir, tmp_path):
    """The docs' own doc._.gliznet_labels (stored by convert) won over the adapt labels."""
    data = make_folder(tmp_path / "data", n=20)
    main(["convert", str(data), str(tmp_path / "c.spacy"), "--datasets", "topics"])
    nlp = make_nlp(tiny_gliznet_dir, **NLP)
    docs = read_unlabeled(tmp_path / "c.spacy", nlp)
    assert docs[0]._.gliznet_labels  # convert stored the dataset's labels
    report = nlp.get_pipe("gliznet_textcat").adapt(docs, nlp=nlp, labels=["alpha", "beta"], **FAST)
    assert report.labels == ["alpha", "beta"] and report.start_scores.shape == (20, 2)
    assert docs[0]._.gliznet_labels and docs[0].cats  # the corpus docs are not changed


def test_adapt_runs_the_sentencizer_of_a_pipe_that_scores_sentences(tiny_gliznet_dir, tmp_path):
    """It failed with "add a sentencizer" though the pipeline had one."""
    nlp = make_nlp(tiny_gliznet_dir, sentencizer=True, span_source="sents", **NLP)
    texts = [t + ". the end" for t in corpus()]
    report = nlp.get_pipe("gliznet_textcat").adapt(texts, nlp=nlp, **FAST)
    assert report.steps == 2
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts), encoding="utf8")
    nlp.to_disk(tmp_path / "p")
    main(["adapt", str(tmp_path / "p"), str(path), str(tmp_path / "out"), "--no-progress",
          "--steps", "1", "--batch-size", "4", "--per-label", "4", "--min-texts", "5"])
    assert (tmp_path / "out" / "config.cfg").is_file()


def test_label_statistics_apply_only_to_the_text_they_were_computed_for(make_pipeline, tmp_path):
    """#33 item 4: changing a label's description kept its old z-score statistics."""
    from spacy_gliznet.pipeline.decisions import predicted_labels as decided_labels
    from spacy_gliznet.settings import DecisionSettings

    nlp = make_pipeline(multi_label=True)
    pipe = nlp.get_pipe("gliznet_textcat")
    text = "pasta cooking is good"

    def top(doc):
        return max(doc.cats, key=doc.cats.get)

    # a label that is the top one (which always passes) under neither of its readings
    tops = {top(nlp(text, component_cfg={"gliznet_textcat": {"labels": {
        k: (f"the {k} kind" if k == label else k) for k in LABELS}}})) for label in LABELS}
    label = next(k for k in LABELS if k not in tops | {top(nlp(text))})
    described = {k: (f"the {k} kind" if k == label else k) for k in LABELS}
    cfg = {"gliznet_textcat": {"labels": described}}
    # the label so far below its corpus mean that its z-score always passes
    pipe.label_stats = {k: ([-100.0, 1.0] if k == label else [0.0, 1.0]) for k in LABELS}
    pipe.set_decision_rule("zscore", 2.0)
    without = {k: [0.0, 1.0] for k in LABELS if k != label}

    def expected(doc):
        rule = DecisionSettings(decision_rule="zscore", rule_param=2.0, label_stats=without)
        return decided_labels(list(doc.cats), list(doc.cats.values()), settings=rule)

    assert label in nlp(text)._.gliznet_predicted_labels
    doc = nlp(text, component_cfg=cfg)  # per call
    assert label not in doc._.gliznet_predicted_labels
    assert doc._.gliznet_predicted_labels == expected(doc)
    pipe.labels = described  # on the pipe, and after a save and a load
    doc = nlp(text)
    assert label not in doc._.gliznet_predicted_labels
    assert doc._.gliznet_predicted_labels == expected(doc)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded(text)._.gliznet_predicted_labels == doc._.gliznet_predicted_labels
    pipe.labels = LABELS  # back to the text the statistics were computed for
    assert label in nlp(text)._.gliznet_predicted_labels


@pytest.mark.parametrize("rule,param", [("margin", 0.015), ("ratio", 0.95), ("threshold", None)])
def test_an_adapted_pipeline_can_be_switched_back_at_load_time(make_pipeline, tmp_path, rule, param):
    """#33 item 10: spacy.load(..., config={decision_rule: "margin"}) failed with
    "rule_param ... got 2.0" (the zscore rule's, kept in the config)."""
    nlp = make_pipeline(multi_label=True)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.label_stats = {k: [0.0, 1.0] for k in LABELS}
    pipe.set_decision_rule("zscore", 3.0)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {
        "decision_rule": rule}}})
    got = loaded.get_pipe("gliznet_textcat")
    assert (got.decision_rule, got.rule_param) == (rule, param)
    assert loaded.get_pipe_config("gliznet_textcat")["rule_param"] is None
    assert loaded("the team won")._.gliznet_predicted_labels
    # the rule's own parameter, given with it, is kept; one that does not fit is refused
    loaded = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {
        "decision_rule": "margin", "rule_param": 0.1}}})
    assert loaded.get_pipe("gliznet_textcat").rule_param == 0.1
    with pytest.raises(GliZNetInputError, match="margin.*must be in"):
        spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {
            "decision_rule": "margin", "rule_param": 5.0}}})
    assert spacy.load(tmp_path / "p").get_pipe("gliznet_textcat").rule_param == 3.0
    # a fresh pipe with a parameter that does not fit its rule is refused at its first use
    bad = make_pipeline(decision_rule="margin", rule_param=5.0)
    with pytest.raises(GliZNetInputError, match="margin.*must be in"):
        bad("the team won")


def test_adapt_labels_as_json():
    """adapt --labels '{"a": "about a"}' became one junk label (the JSON text)."""
    from spacy_gliznet.cli.adapt import read_labels_option

    assert read_labels_option('{"pos": "a positive text", "neg": "a negative text"}') == {
        "pos": "a positive text", "neg": "a negative text"}
    assert read_labels_option('["a", "b"]') == ["a", "b"]
    with pytest.raises(GliZNetInputError, match="not valid JSON"):
        read_labels_option('["a", "b"')
    with pytest.raises(GliZNetInputError, match="Duplicate label"):
        read_labels_option("a,b,a")
