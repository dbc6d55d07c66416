"""pipeline/config_mirror.py: every write of a setting goes through one function that
keeps the pipe's cfg and the pipeline's config (what config.cfg saves) the same."""

import pytest

from spacy_gliznet.errors import GliZNetInputError, UnknownLabelWarning
from spacy_gliznet.pipeline.config_mirror import (
    RUNTIME_SETTINGS,
    config_can_hold,
    config_value,
    pipeline_of,
    write_setting,
)
from spacy_gliznet.pipeline.component import GliZNetTextCategorizer

from helpers import make_nlp

NLP = {"labels": ["sports", "food"]}

#: a valid new value of every runtime setting, set through the pipe's attribute
NEW_VALUES = {
    "labels": ["a", "b", "c"], "multi_label": False, "threshold": 0.3,
    "thresholds": {"a": 0.2}, "decision_rule": "ratio", "rule_param": 0.8, "cats_top_k": 2,
    "long_text": "truncate", "window_overlap": 5, "aggregation": "mean", "span_source": "sents",
    "spans_key": "mine", "doc_cats": "spans", "decided_spans_key": "labels_here",
}


def test_every_runtime_setting_has_a_new_value_here():
    assert set(NEW_VALUES) == set(RUNTIME_SETTINGS)


def test_what_the_config_can_hold():
    assert config_can_hold({"sports": 0.3}) and config_can_hold(["a b", "c"]) and config_can_hold(None)
    for value in ({"@home": 0.2}, {"a = b": 0.1}, {"x:y [z]": 0.4}, [{"@x": 1}]):
        assert not config_can_hold(value), value
    assert config_value("labels", [("a", "a"), ("b", "b")]) == ["a", "b"]
    assert config_value("labels", [("a", "a"), ("b", "the b")]) == {"a": "a", "b": "the b"}
    assert config_value("threshold", 0.3) == 0.3


def test_each_setting_attribute_checks_and_writes_through_the_mirror(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, sentencizer=True, **NLP)
    pipe = nlp.get_pipe("gliznet_textcat")
    for key, value in NEW_VALUES.items():
        setattr(pipe, key, value)
    config = nlp.config["components"]["gliznet_textcat"]
    for key, value in NEW_VALUES.items():
        assert config[key] == value, key
        assert config_value(key, pipe.cfg[key]) == value, key
    assert pipe.labels == ("a", "b", "c") and pipe.rule_param == 0.8
    for key, bad in {"threshold": 1.5, "decision_rule": "top3", "cats_top_k": 0, "labels": "ab",
                     "long_text": "all", "window_overlap": -1, "spans_key": ""}.items():
        with pytest.raises(GliZNetInputError):
            setattr(pipe, key, bad)
        assert config[key] == NEW_VALUES[key], key  # a refused value is written nowhere
    with pytest.raises(GliZNetInputError, match="needs span_source"):
        pipe.span_source = None  # doc_cats "spans" needs one: checked with the others
    # the scores follow what was written (long-text and span settings included)
    doc = nlp("The team won. Then pasta.")
    assert len(doc.cats) == 2 and [s.text for s in doc.sents][0] == "The team won."
    assert all(s._.gliznet_cats for s in doc.sents) and "labels_here" in doc.spans


def test_learned_state_stays_out_of_the_config(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, **NLP)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.label_stats = {"sports": [0.1, 2.0]}
    assert pipe.label_stats == {"sports": [0.1, 2.0]}
    assert "label_stats" not in nlp.config["components"]["gliznet_textcat"]
    with pytest.warns(UnknownLabelWarning, match="@home"):
        pipe.thresholds = {"@home": 0.2}  # the config cannot hold it: the pipe's cfg does
    assert pipe.thresholds == {"@home": 0.2}
    assert nlp.config["components"]["gliznet_textcat"]["thresholds"] == {}


def test_a_pipe_outside_a_pipeline_keeps_its_settings_itself(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, **NLP)
    alone = GliZNetTextCategorizer(nlp.vocab, nlp.get_pipe("gliznet_textcat").model,
                                   labels=["x"])
    assert pipeline_of(alone) is None
    write_setting(alone, "threshold", 0.25)
    assert alone.threshold == 0.25
    assert nlp.config["components"]["gliznet_textcat"]["threshold"] == 0.5


def test_the_config_follows_a_renamed_pipe(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, **NLP)
    nlp.rename_pipe("gliznet_textcat", "topics")
    pipe = nlp.get_pipe("topics")
    pipe.threshold = 0.7
    assert nlp.config["components"]["topics"]["threshold"] == 0.7


def test_render_sets_its_spans_key_through_the_pipe(tiny_gliznet_dir, tmp_path, monkeypatch):
    """``render`` on a pipe whose decided_spans_key is null sets the key it uses through
    the pipe's attribute (checked, and in nlp.config), and the docs get their spans."""
    import spacy_gliznet.cli.render as render_module
    import spacy_gliznet.pipeline.runtime_settings as runtime_settings

    seen, written = {}, []

    def spy(pipe, key, value):
        written.append((key, value))
        write_setting(pipe, key, value)

    monkeypatch.setattr(runtime_settings, "write_setting", spy)

    def capture(docs, key, title):
        seen.update(docs=docs, key=key)
        return "<html></html>"

    monkeypatch.setattr(render_module, "render_html", capture)
    nlp = make_nlp(tiny_gliznet_dir, sentencizer=True, decided_spans_key=None,
                   decision_rule="threshold", threshold=0.0, **NLP)
    nlp.to_disk(tmp_path / "p")
    (tmp_path / "in.txt").write_text("The team won. Then pasta.\n", encoding="utf8")
    assert render_module.render(str(tmp_path / "p"), str(tmp_path / "in.txt"),
                                str(tmp_path / "out.html")) == 1
    (doc,) = seen["docs"]
    assert seen["key"] == "gliznet" and len(doc.spans["gliznet"]) == 2 * 2  # 2 sentences x 2 labels
    assert ("decided_spans_key", "gliznet") in written
