"""Pipelines saved by earlier code load and score the same (to 1e-6): the pipeline
saved before #30 (tests/data/pipeline_before_30.README.md), and again after a save by
today's code."""

import json
import warnings

import pytest
import spacy

import spacy_gliznet  # noqa: F401  (registers the factory without entry points)

from helpers import DATA

SAVED = DATA / "pipeline_before_30"
EXPECTED = json.loads((DATA / "pipeline_before_30.expected.json").read_text(encoding="utf8"))


def annotations(nlp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs = list(nlp.pipe([d["text"] for d in EXPECTED["docs"]]))
    return [{"cats": d.cats, "predicted": d._.gliznet_predicted_labels,
             "sents": [[s.start, s.end, s._.gliznet_cats] for s in d.sents] if len(d) else [],
             "decided": [[s.start, s.end, s.label_] for s in d.spans.get("gliznet", [])],
             "truncated": d._.gliznet_truncated, "windows": d._.gliznet_windows} for d in docs]


def same(got, want):
    for g, w in zip(got, EXPECTED["docs"]):
        assert list(g["cats"]) == list(w["cats"])  # the cats_top_k best, in order
        assert g["cats"] == pytest.approx(w["cats"], abs=1e-6)
        assert g["predicted"] == w["predicted"] and g["decided"] == w["decided"]
        assert (g["truncated"], g["windows"]) == (w["truncated"], w["windows"])
        assert len(g["sents"]) == len(w["sents"])
        for (a, b, cats), (c, d, want_cats) in zip(g["sents"], w["sents"]):
            assert (a, b) == (c, d) and cats == pytest.approx(want_cats, abs=1e-6)
    assert len(got) == len(EXPECTED["docs"])


def test_a_pipeline_saved_before_30_loads_and_scores_the_same(tmp_path):
    nlp = spacy.load(SAVED)
    pipe = nlp.get_pipe("gliznet_textcat")
    settings = {k: v for k, v in pipe.cfg.items()
                if k not in ("labels", "label_stats", "label_stats_texts")}
    # statistics saved before their texts were kept are read as the saved labels' texts
    assert pipe.cfg["label_stats_texts"] == {k: t for k, t in pipe.cfg["labels"]
                                             if k in pipe.cfg["label_stats"]}
    want = dict(EXPECTED["settings"])
    stats = want.pop("label_stats")
    assert json.loads(json.dumps(settings)) == want
    assert pipe.label_stats.keys() == stats.keys()  # (spaCy's JSON reads 0.3 as 0.30000000000000004)
    for label, pair in stats.items():
        assert pipe.label_stats[label] == pytest.approx(pair, abs=1e-12)
    assert pipe.label_descriptions["food"] == "food and cooking"
    assert pipe.thresholds == {"music": 0.45, "@odd key": 0.2}
    assert pipe.decision_rule == "zscore" and pipe.rule_param == 0.5
    same(annotations(nlp), EXPECTED)
    nlp.to_disk(tmp_path / "again")  # saved by today's code: the same again
    same(annotations(spacy.load(tmp_path / "again")), EXPECTED)
