"""Decisions in the gliznet_textcat component: settings, doc._.gliznet_predicted_labels,
per-call overrides, serialization and the scorer (against a hand computation)."""

import numpy as np
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_gliznet.pipeline.decisions import predicted_labels
from spacy_gliznet.errors import GliZNetInputError, UnknownLabelWarning
from spacy_gliznet.pipeline.metrics import gliznet_textcat_score
from spacy_gliznet.settings import RULE_PARAM_DEFAULTS, DecisionSettings

from helpers import make_nlp

LABELS = ["sports", "politics", "food", "music"]
NLP = {"labels": LABELS}
TEXTS = ["the team won the match", "the minister spoke", "pasta and a song", "hello"]


def decisions_nlp(name, **cfg):
    return make_nlp(name, **{"labels": LABELS, **cfg})




def expected(doc, labels=LABELS, rule="threshold", param=None, **settings):
    """The labels ``decisions`` gives ``doc``'s scores under these settings."""
    settings = DecisionSettings(decision_rule=rule, rule_param=param, **settings)
    return predicted_labels(labels, [doc.cats[k] for k in labels], settings=settings)


def test_defaults_are_visible_in_the_config(nlp):
    cfg = nlp.config["components"]["gliznet_textcat"]
    assert cfg["decision_rule"] == DecisionSettings().decision_rule == "margin"
    assert cfg["rule_param"] is None
    assert cfg["thresholds"] == {}


def test_predicted_labels_follow_the_rule(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    for doc in nlp.pipe(TEXTS):
        want = expected(doc, rule=pipe.decision_rule, param=pipe.rule_param, threshold=pipe.threshold)
        assert doc._.gliznet_predicted_labels == want
        assert len(want) >= 1  # relative rules always keep the top label
        assert want[0] == max(LABELS, key=lambda k: doc.cats[k])


def test_per_call_overrides(nlp):
    doc = nlp(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "threshold",
                                                           "threshold": 0.0}})
    assert doc._.gliznet_predicted_labels == sorted(LABELS, key=lambda k: -doc.cats[k])
    low = min(LABELS, key=lambda k: doc.cats[k])
    doc = nlp(TEXTS[0], component_cfg={"gliznet_textcat": {
        "decision_rule": "threshold", "threshold": 1.0, "thresholds": {low: 0.0}}})
    assert doc._.gliznet_predicted_labels == [low]
    doc = nlp(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "margin",
                                                           "rule_param": 1.0}})
    assert len(doc._.gliznet_predicted_labels) == len(LABELS)
    # per-call labels and single-label mode: the top label only
    doc = nlp(TEXTS[0], component_cfg={"gliznet_textcat": {"labels": ["a", "b", "c"],
                                                           "multi_label": False}})
    assert doc._.gliznet_predicted_labels == [max("abc", key=lambda k: doc.cats[k])]
    # the pipe itself is unchanged by per-call settings
    assert nlp.get_pipe("gliznet_textcat").threshold == 0.5


def test_bad_settings_are_clear_errors(tiny_gliznet_dir, nlp):
    with pytest.raises(ValueError, match=r"thresholds\['sports'\] must be a number in \[0, 1\]"):
        decisions_nlp(tiny_gliznet_dir, thresholds={"sports": 1.5})
    with pytest.raises(GliZNetInputError, match="decision_rule must be one of"):
        decisions_nlp(tiny_gliznet_dir, decision_rule="top3")
    with pytest.warns(UnknownLabelWarning, match="weather"):
        decisions_nlp(tiny_gliznet_dir, thresholds={"weather": 0.3})
    pipe = nlp.get_pipe("gliznet_textcat")
    with pytest.raises(GliZNetInputError, match=r"rule_param of the 'margin' rule must be in"):
        pipe.rule_param = 2.0
    with pytest.raises(GliZNetInputError):
        nlp(TEXTS[0], component_cfg={"gliznet_textcat": {"rule_param": -1.0}})
    # the error handler of nlp() re-raises; the doc stays unannotated otherwise
    assert pipe.rule_param == RULE_PARAM_DEFAULTS["margin"]


def test_each_rule_has_its_own_default_parameter(tiny_gliznet_dir):
    """ratio without rule_param is ratio 0.95, not the margin's 0.015 (every label passed);
    a per-call or set rule switch never keeps the other rule's parameter."""
    ratio = decisions_nlp(tiny_gliznet_dir, decision_rule="ratio")
    assert ratio.get_pipe("gliznet_textcat").rule_param == RULE_PARAM_DEFAULTS["ratio"] == 0.95
    for doc in ratio.pipe(TEXTS):
        assert doc._.gliznet_predicted_labels == expected(doc, rule="ratio", param=0.95)
    # a pipe with margin 0.9 (nearly every label), a call with ratio: ratio's own default
    wide = decisions_nlp(tiny_gliznet_dir, decision_rule="margin", rule_param=0.9)
    doc = wide(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "ratio"}})
    assert doc._.gliznet_predicted_labels == expected(doc, rule="ratio", param=0.95)
    doc = ratio(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "margin"}})
    assert doc._.gliznet_predicted_labels == expected(doc, rule="margin", param=0.015)
    doc = wide(TEXTS[0], component_cfg={"gliznet_textcat": {"decision_rule": "margin"}})
    assert doc._.gliznet_predicted_labels == expected(doc, rule="margin", param=0.9)  # the pipe's
    pipe = wide.get_pipe("gliznet_textcat")
    pipe.decision_rule = "ratio"
    assert pipe.rule_param == 0.95
    assert wide.config["components"]["gliznet_textcat"]["rule_param"] is None


def test_load_time_settings_win_whatever_their_value(tiny_gliznet_dir, tmp_path):
    """An override equal to the value the pipe was first built with still wins over a
    value set on the pipe later (find-thresholds sets decision_rule = "threshold")."""
    nlp = decisions_nlp(tiny_gliznet_dir)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.decision_rule = "threshold"
    pipe.threshold = 0.3
    assert nlp.config["components"]["gliznet_textcat"]["decision_rule"] == "threshold"
    nlp.to_disk(tmp_path / "p")
    plain = spacy.load(tmp_path / "p").get_pipe("gliznet_textcat")
    assert (plain.decision_rule, plain.threshold) == ("threshold", 0.3)
    over = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {
        "decision_rule": "margin", "threshold": 0.5}}})
    op = over.get_pipe("gliznet_textcat")
    assert (op.decision_rule, op.rule_param, op.threshold) == ("margin", 0.015, 0.5)
    doc = over(TEXTS[0])
    assert doc._.gliznet_predicted_labels == expected(doc, rule="margin", param=0.015)


def test_any_label_text_survives_a_save_and_a_load(tiny_gliznet_dir, tmp_path):
    """Labels and thresholds the config cannot hold ('@' starts a registry name in
    config.cfg; '=', ':' and '[' break its keys) stay in the pipe's own saved data."""
    odd = {"@home": "home page", "a = b": "a b", "x:y [z]": "x y z", 'q"#': "quote"}
    nlp = decisions_nlp(tiny_gliznet_dir)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.labels = odd
    pipe.thresholds = {"@home": 0.2, "a = b": 0.3, "x:y [z]": 0.4}
    nlp.to_disk(tmp_path / "p")
    for loaded in (spacy.load(tmp_path / "p"),
                   decisions_nlp(tiny_gliznet_dir).from_bytes(nlp.to_bytes())):
        lp = loaded.get_pipe("gliznet_textcat")
        assert lp.label_descriptions == odd
        assert lp.thresholds == pytest.approx({"@home": 0.2, "a = b": 0.3, "x:y [z]": 0.4})
        assert set(loaded("the team won").cats) == set(odd)


def test_round_trip_and_load_time_override(tiny_gliznet_dir, tmp_path):
    nlp = decisions_nlp(tiny_gliznet_dir)
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.thresholds = {"sports": 0.2, "food": 0.9}
    pipe.threshold = 0.4
    pipe.decision_rule = "threshold"
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    lp = loaded.get_pipe("gliznet_textcat")
    assert lp.thresholds == {"sports": 0.2, "food": 0.9}
    assert (lp.threshold, lp.decision_rule) == (0.4, "threshold")
    doc = loaded(TEXTS[0])
    assert doc._.gliznet_predicted_labels == expected(doc, threshold=0.4, thresholds=lp.thresholds)
    # a value given at load time wins over the saved one
    over = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {
        "decision_rule": "ratio", "rule_param": 0.8, "thresholds": {"music": 0.1}}}})
    op = over.get_pipe("gliznet_textcat")
    # (spaCy applies config overrides as dotted paths: a thresholds entry joins the saved ones)
    assert (op.decision_rule, op.rule_param) == ("ratio", 0.8)
    assert op.thresholds == pytest.approx({"sports": 0.2, "food": 0.9, "music": 0.1})
    # bytes round trip
    again = decisions_nlp(tiny_gliznet_dir, decision_rule="threshold").from_bytes(nlp.to_bytes())
    assert again.get_pipe("gliznet_textcat").thresholds == {"sports": 0.2, "food": 0.9}


def _examples(nlp, gold):
    return [Example(nlp(t), Example.from_dict(nlp.make_doc(t), {"cats": g}).reference)
            for t, g in zip(TEXTS, gold)]


def test_scorer_equals_hand_computation(tiny_gliznet_dir):
    nlp = decisions_nlp(tiny_gliznet_dir, decision_rule="threshold", threshold=0.5,
                   thresholds={"sports": 0.0, "politics": 1.0})
    gold = [{"sports": 1.0, "politics": 0.0, "food": 0.0, "music": 0.0},
            {"sports": 0.0, "politics": 1.0, "food": 0.0, "music": 0.0},
            {"sports": 0.0, "politics": 0.0, "food": 1.0, "music": 1.0},
            {"sports": 0.0, "politics": 0.0, "food": 0.0, "music": 0.0}]
    egs = _examples(nlp, gold)
    pipe = nlp.get_pipe("gliznet_textcat")
    got = pipe.score(egs)
    # by hand: sports is always predicted (threshold 0), politics never (1.0 > any score
    # below 1), food/music where their score >= 0.5
    tp = {k: 0 for k in LABELS}
    fp = dict(tp)
    fn = dict(tp)
    for eg, g in zip(egs, gold):
        assert eg.predicted._.gliznet_predicted_labels == expected(
            eg.predicted, threshold=0.5, thresholds=pipe.thresholds)
        pred = set(eg.predicted._.gliznet_predicted_labels)
        for k in LABELS:
            tp[k] += (k in pred) and g[k] > 0
            fp[k] += (k in pred) and g[k] == 0
            fn[k] += (k not in pred) and g[k] > 0
    f = {k: 2 * tp[k] / (2 * tp[k] + fp[k] + fn[k]) if tp[k] else 0.0 for k in LABELS}
    assert got["cats_f_per_type"]["sports"]["f"] == pytest.approx(2 * 1 / (2 + 3))
    assert got["cats_f_per_type"]["politics"]["f"] == 0.0
    for k in LABELS:
        assert got["cats_f_per_type"][k]["f"] == pytest.approx(f[k])
    assert got["cats_macro_f"] == pytest.approx(np.mean(list(f.values())))
    T, P, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    assert got["cats_micro_f"] == pytest.approx(2 * T / (2 * T + P + N))
    # AUC still comes from the scores: equal to spaCy's scorer on the raw doc.cats
    from spacy.scorer import Scorer
    raw = Scorer.score_cats(egs, "cats", labels=LABELS, multi_label=True)
    assert got["cats_macro_auc"] == pytest.approx(raw["cats_macro_auc"])
    assert got["cats_score"] == pytest.approx(raw["cats_score"])
    # the scorer's own keyword arguments override the pipe's (here: a relative rule)
    rel = pipe.score(egs, decision_rule="ratio", rule_param=1.0, threshold=1.0, thresholds={})
    assert rel["cats_micro_p"] == pytest.approx(
        sum(max(LABELS, key=lambda k: eg.predicted.cats[k]) in {k for k in LABELS if g[k] > 0}
            for eg, g in zip(egs, gold)) / len(egs))


def test_scorer_works_on_plain_cats_of_any_component():
    nlp = spacy.blank("en")
    docs = [nlp.make_doc("a"), nlp.make_doc("b")]
    docs[0].cats = {"x": 0.3, "y": 0.8}
    docs[1].cats = {"x": 0.6, "y": 0.1}
    gold = [Example.from_dict(nlp.make_doc("a"), {"cats": {"x": 1.0, "y": 1.0}}).reference,
            Example.from_dict(nlp.make_doc("b"), {"cats": {"x": 0.0, "y": 0.0}}).reference]
    egs = [Example(p, g) for p, g in zip(docs, gold)]
    res = gliznet_textcat_score(egs, labels=["x", "y"], threshold=0.5, thresholds={"x": 0.25},
                                decision_rule="threshold")
    # x: predicted in both (0.3 >= 0.25, 0.6): tp 1, fp 1 -> F 2/3; y: tp 1 -> F 1
    assert res["cats_f_per_type"]["x"]["f"] == pytest.approx(2 / 3)
    assert res["cats_f_per_type"]["y"]["f"] == pytest.approx(1.0)
    assert res["cats_macro_f"] == pytest.approx((2 / 3 + 1) / 2)
    assert isinstance(docs[0], Doc) and docs[0].cats == {"x": 0.3, "y": 0.8}  # untouched


def test_benchmark_counts_what_the_component_decides(tmp_path, tiny_gliznet_dir):
    from spacy_gliznet.cli.benchmark import run_benchmark
    from spacy_gliznet.pipeline.metrics import macro_f1
    from spacy_gliznet.corpus.readers import load_datasets
    from helpers import make_folder

    data = make_folder(tmp_path / "bench", n=6)
    decision = {"decision_rule": "ratio", "rule_param": 0.9}
    res = run_benchmark(str(tiny_gliznet_dir), data, baseline=None, progress=False,
                        decision=decision)
    assert res["decision"]["decision_rule"] == "ratio" and res["decision"]["rule_param"] == 0.9
    nlp = decisions_nlp(tiny_gliznet_dir, **decision)
    for d in load_datasets(data):
        index = {lab: i for i, lab in enumerate(d.labels)}
        cfg = {"gliznet_textcat": {"labels": d.labels, "multi_label": d.multi_label}}
        pred = [[index[k] for k in doc._.gliznet_predicted_labels]
                for doc in nlp.pipe([r["text"] for r in d.rows], component_cfg=cfg)]
        gold = [[index[g] for g in r["labels"]] for r in d.rows]
        assert res["datasets"][d.name]["model"] == pytest.approx(macro_f1(gold, pred, len(d.labels)))


def test_predicted_labels_come_back_from_a_docbin_as_a_list(nlp):
    from spacy.tokens import DocBin

    doc = nlp(TEXTS[0])
    assert isinstance(doc._.gliznet_predicted_labels, list)
    (back,) = DocBin(docs=[doc], store_user_data=True).get_docs(nlp.vocab)
    assert back._.gliznet_predicted_labels == doc._.gliznet_predicted_labels
    assert isinstance(back._.gliznet_predicted_labels, list)
    assert nlp.make_doc("x")._.gliznet_predicted_labels is None
