"""Decision rules, their validation and per-label threshold tuning, on hand-made scores."""

import numpy as np
import pytest

from spacy_gliznet.pipeline.decisions import cutoffs, rule_mask, predicted_labels
from spacy_gliznet.pipeline import decisions
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.settings import DecisionSettings as S

SCORES = np.array([
    [0.90, 0.60, 0.40, 0.05],
    [0.30, 0.25, 0.10, 0.20],
    [0.55, 0.52, 0.51, 0.50],
])


def test_threshold_rule_global_and_per_label():
    got = rule_mask(SCORES, decision_rule="threshold", cut=0.5)
    assert got.tolist() == [[True, True, False, False], [False] * 4, [True, True, True, True]]
    cut = cutoffs(["a", "b", "c", "d"], 0.5, {"b": 0.7, "d": 0.15})
    assert cut.tolist() == [0.5, 0.7, 0.5, 0.15]
    got = rule_mask(SCORES, decision_rule="threshold", cut=cut)
    assert got.tolist() == [[True, False, False, False], [False, False, False, True],
                            [True, False, True, True]]


def test_ratio_rule_keeps_top_and_near_top_plus_absolute():
    # row 1: top 0.30; 0.8 * 0.30 = 0.24 -> 0.30 and 0.25 pass; nothing passes 0.5
    got = rule_mask(SCORES, decision_rule="ratio", rule_param=0.8, cut=0.5)
    assert got[1].tolist() == [True, True, False, False]
    # row 0: 0.8 * 0.9 = 0.72 -> only the top by ratio, but 0.60 passes the absolute 0.5
    assert got[0].tolist() == [True, True, False, False]
    # purely relative (threshold 1.0): row 0 keeps the top label only
    assert rule_mask(SCORES, decision_rule="ratio", rule_param=0.8, cut=1.0)[0].tolist() == [True, False, False, False]
    # ratio 1.0 and threshold 1.0 is top-1
    assert rule_mask(SCORES, decision_rule="ratio", rule_param=1.0, cut=1.0).sum(1).tolist() == [1, 1, 1]


def test_margin_rule():
    got = rule_mask(SCORES, decision_rule="margin", rule_param=0.05, cut=1.0)
    assert got.tolist() == [[True, False, False, False], [True, True, False, False],
                            [True, True, True, True]]


def test_single_label_is_top_label_whatever_the_rule():
    for rule, param in (("threshold", None), ("ratio", 0.5), ("margin", 0.3)):
        got = rule_mask(SCORES, multi_label=False, decision_rule=rule, rule_param=param, cut=0.99)
        assert got.sum(1).tolist() == [1, 1, 1]
        assert got.argmax(1).tolist() == [0, 0, 0]


def test_predicted_labels_ordered_by_score():
    labels = ["a", "b", "c", "d"]
    assert predicted_labels(labels, [0.2, 0.9, 0.6, 0.1], settings=S(decision_rule="threshold")) == ["b", "c"]
    assert predicted_labels(labels, [0.2, 0.3, 0.1, 0.1], settings=S(decision_rule="ratio", rule_param=0.6)) == ["b", "a"]
    assert predicted_labels(labels, [0.2, 0.3, 0.1, 0.1], multi_label=False) == ["b"]
    assert predicted_labels([], [], settings=S(decision_rule="ratio", rule_param=0.5)) == []


# -- the zscore rule (label statistics from adapt) ------------------------------
def test_zscore_rule_top_label_plus_labels_that_stand_out():
    from spacy_gliznet.pipeline.decisions import decision_mask, predicted_labels, label_z_scores, logits_of

    stats = {"a": [0.0, 1.0], "b": [-3.0, 0.5], "c": [2.0, 1.0]}
    scores = 1 / (1 + np.exp(-np.array([1.0, -1.9, 2.5])))  # z: 1.0, 2.2, 0.5
    assert np.allclose(label_z_scores(["a", "b", "c"], scores, stats), [1.0, 2.2, 0.5])
    assert np.allclose(logits_of(scores), [1.0, -1.9, 2.5])
    # c is the top label; b stands out 2.2 sd above its corpus mean; a does not
    assert predicted_labels(["a", "b", "c"], scores,
                          settings=S(decision_rule="zscore", rule_param=2.0, label_stats=stats)) == ["c", "b"]
    # a label without statistics passes only as the top label
    assert predicted_labels(["x", "b", "c"], scores,
                          settings=S(decision_rule="zscore", rule_param=0.5, label_stats=stats)) == ["c", "b"]
    assert decision_mask(scores, ["a", "b", "c"], multi_label=False,
                         settings=S(decision_rule="zscore", rule_param=2.0, label_stats=stats)).tolist() == [False, False, True]
    with pytest.raises(GliZNetInputError, match="label statistics"):
        decisions.rule_mask(scores, decision_rule="zscore", rule_param=2.0)


@pytest.mark.parametrize("rule,multi", [("margin", True), ("ratio", True), ("threshold", True),
                                        ("margin", False)])
def test_nan_scores_are_an_error_not_a_decision(rule, multi):
    with pytest.raises(GliZNetInputError, match=r"scores hold NaN \(row\(s\) \[1\]\)"):
        rule_mask(np.array([[0.2, 0.4], [np.nan, 0.3]]), decision_rule=rule, multi_label=multi)
    with pytest.raises(GliZNetInputError, match="NaN"):
        predicted_labels(["a", "b"], [float("nan"), 0.1], settings=S(decision_rule=rule),
                       multi_label=multi)
