"""Decision rules, their validation and per-label threshold tuning, on hand-made scores."""

import numpy as np
import pytest

from spacy_gliznet.decisions import (
    RULE_PARAM_DEFAULTS, THRESHOLD_GRID, UnknownLabelWarning, cutoffs, decide, decided_labels, f1_report,
    tune_thresholds, validate_rule, validate_threshold, validate_thresholds,
)
from spacy_gliznet import decisions
from spacy_gliznet.errors import GliZNetInputError

SCORES = np.array([
    [0.90, 0.60, 0.40, 0.05],
    [0.30, 0.25, 0.10, 0.20],
    [0.55, 0.52, 0.51, 0.50],
])


def test_threshold_rule_global_and_per_label():
    got = decide(SCORES, rule="threshold", cut=0.5)
    assert got.tolist() == [[True, True, False, False], [False] * 4, [True, True, True, True]]
    cut = cutoffs(["a", "b", "c", "d"], 0.5, {"b": 0.7, "d": 0.15})
    assert cut.tolist() == [0.5, 0.7, 0.5, 0.15]
    got = decide(SCORES, rule="threshold", cut=cut)
    assert got.tolist() == [[True, False, False, False], [False, False, False, True],
                            [True, False, True, True]]


def test_ratio_rule_keeps_top_and_near_top_plus_absolute():
    # row 1: top 0.30; 0.8 * 0.30 = 0.24 -> 0.30 and 0.25 pass; nothing passes 0.5
    got = decide(SCORES, rule="ratio", param=0.8, cut=0.5)
    assert got[1].tolist() == [True, True, False, False]
    # row 0: 0.8 * 0.9 = 0.72 -> only the top by ratio, but 0.60 passes the absolute 0.5
    assert got[0].tolist() == [True, True, False, False]
    # purely relative (threshold 1.0): row 0 keeps the top label only
    assert decide(SCORES, rule="ratio", param=0.8, cut=1.0)[0].tolist() == [True, False, False, False]
    # ratio 1.0 and threshold 1.0 is top-1
    assert decide(SCORES, rule="ratio", param=1.0, cut=1.0).sum(1).tolist() == [1, 1, 1]


def test_margin_rule():
    got = decide(SCORES, rule="margin", param=0.05, cut=1.0)
    assert got.tolist() == [[True, False, False, False], [True, True, False, False],
                            [True, True, True, True]]


def test_single_label_is_top_label_whatever_the_rule():
    for rule, param in (("threshold", None), ("ratio", 0.5), ("margin", 0.3)):
        got = decide(SCORES, multi_label=False, rule=rule, param=param, cut=0.99)
        assert got.sum(1).tolist() == [1, 1, 1]
        assert got.argmax(1).tolist() == [0, 0, 0]


def test_decided_labels_ordered_by_score():
    labels = ["a", "b", "c", "d"]
    assert decided_labels(labels, [0.2, 0.9, 0.6, 0.1], threshold=0.5) == ["b", "c"]
    assert decided_labels(labels, [0.2, 0.3, 0.1, 0.1], rule="ratio", param=0.6) == ["b", "a"]
    assert decided_labels(labels, [0.2, 0.3, 0.1, 0.1], multi_label=False) == ["b"]
    assert decided_labels([], [], rule="ratio", param=0.5) == []


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "0.5", True, None])
def test_threshold_validation(bad):
    with pytest.raises(GliZNetInputError, match="threshold"):
        validate_threshold(bad)
    with pytest.raises(GliZNetInputError, match=r"thresholds\['x'\]"):
        validate_thresholds({"x": bad})


def test_thresholds_validation_and_unknown_label_warning():
    assert validate_thresholds({"a": 0.3, "b": 1}) == {"a": 0.3, "b": 1.0}
    with pytest.raises(GliZNetInputError, match="dict"):
        validate_thresholds([("a", 0.3)])
    with pytest.raises(GliZNetInputError, match="non-empty"):
        validate_thresholds({"": 0.3})
    with pytest.warns(UnknownLabelWarning, match="nope"):
        validate_thresholds({"a": 0.3, "nope": 0.2}, known_labels=["a", "b"])


def test_rule_validation():
    assert validate_rule("threshold", None) == ("threshold", None)
    assert validate_rule("ratio", 0.7) == ("ratio", 0.7)
    with pytest.raises(GliZNetInputError, match="decision_rule must be one of"):
        validate_rule("top_k", 2)
    # each relative rule has its own default parameter, never the other rule's
    assert validate_rule("ratio", None) == ("ratio", RULE_PARAM_DEFAULTS["ratio"]) == ("ratio", 0.97)
    assert validate_rule("margin", None) == ("margin", 0.015)
    with pytest.raises(GliZNetInputError, match=r"\(0, 1\]"):
        validate_rule("ratio", 0.0)
    with pytest.raises(GliZNetInputError, match=r"\[0, 1\]"):
        validate_rule("margin", 1.5)


def test_tune_thresholds_best_cut_and_fallback():
    # label 0: positives at 0.20 and 0.25, negatives at 0.10 and 0.15: any cut in
    # (0.15, 0.20] is perfect; the tie goes toward 0.5 -> 0.20.
    # label 1: no positives at all -> keeps the global threshold.
    # label 2: positives 0.75, 0.80, negatives up to 0.65: perfect in (0.65, 0.75] -> 0.66.
    scores = np.array([
        [0.20, 0.30, 0.80],
        [0.25, 0.60, 0.75],
        [0.10, 0.10, 0.40],
        [0.15, 0.90, 0.65],
    ])
    gold = np.array([
        [1, 0, 1],
        [1, 0, 1],
        [0, 0, 0],
        [0, 0, 0],
    ], dtype=bool)
    res = tune_thresholds(scores, gold, ["low", "none", "high"], min_positives=1)
    assert res.thresholds == {"low": 0.2, "high": 0.66}
    assert res.tuned == {"low": True, "none": False, "high": True}
    assert res.positives == {"low": 2, "none": 0, "high": 2}
    # global: the best macro-F1 over the 3 labels at one shared cut, by brute force
    best = max(THRESHOLD_GRID, key=lambda t: (f1_report(scores >= t, gold)["macro_f"], -abs(t - 0.5)))
    assert res.threshold == pytest.approx(best)
    cut = res.cut()
    assert cut.tolist() == [0.2, res.threshold, 0.66]
    # with min_positives above 2 every label falls back to the global threshold
    res3 = tune_thresholds(scores, gold, ["low", "none", "high"], min_positives=3)
    assert res3.thresholds == {} and res3.cut().tolist() == [res3.threshold] * 3


def test_tune_thresholds_matches_brute_force_on_random_scores():
    rng = np.random.default_rng(0)
    scores = rng.random((200, 5))
    gold = rng.random((200, 5)) < scores * 0.6
    res = tune_thresholds(scores, gold, list("abcde"), min_positives=5)
    for k, lab in enumerate("abcde"):
        f = [f1_report((scores[:, [k]] >= t), gold[:, [k]])["macro_f"] for t in THRESHOLD_GRID]
        best = max(f)
        ties = [t for t, v in zip(THRESHOLD_GRID, f) if v == best]
        assert res.thresholds[lab] == pytest.approx(min(ties, key=lambda t: (abs(t - 0.5), -t)))


def test_tune_thresholds_rejects_bad_input():
    with pytest.raises(GliZNetInputError, match="do not match"):
        tune_thresholds(np.zeros((3, 2)), np.zeros((3, 3), bool), ["a", "b"])
    with pytest.raises(GliZNetInputError, match="min_positives"):
        tune_thresholds(np.zeros((3, 2)), np.zeros((3, 2), bool), ["a", "b"], min_positives=0)


def test_f1_report_hand_computed():
    pred = np.array([[1, 0], [1, 1], [0, 1]], bool)
    gold = np.array([[1, 0], [0, 1], [0, 0]], bool)
    rep = f1_report(pred, gold)
    # label 0: tp 1, fp 1, fn 0 -> 2/3; label 1: tp 1, fp 1, fn 0 -> 2/3
    assert rep["f"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert rep["micro_f"] == pytest.approx(2 * 2 / (2 * 2 + 2))


# -- the zscore rule (label statistics from adapt) ------------------------------
def test_zscore_rule_top_label_plus_labels_that_stand_out():
    from spacy_gliznet.decisions import decide_labels, decided_labels, label_z_scores, logits_of

    stats = {"a": [0.0, 1.0], "b": [-3.0, 0.5], "c": [2.0, 1.0]}
    scores = 1 / (1 + np.exp(-np.array([1.0, -1.9, 2.5])))  # z: 1.0, 2.2, 0.5
    assert np.allclose(label_z_scores(["a", "b", "c"], scores, stats), [1.0, 2.2, 0.5])
    assert np.allclose(logits_of(scores), [1.0, -1.9, 2.5])
    # c is the top label; b stands out 2.2 sd above its corpus mean; a does not
    assert decided_labels(["a", "b", "c"], scores, rule="zscore", param=2.0,
                          label_stats=stats) == ["c", "b"]
    # a label without statistics passes only as the top label
    assert decided_labels(["x", "b", "c"], scores, rule="zscore", param=0.5,
                          label_stats=stats) == ["c", "b"]
    assert decide_labels(scores, ["a", "b", "c"], multi_label=False, rule="zscore",
                         param=2.0, label_stats=stats).tolist() == [False, False, True]
    assert decisions.validate_rule("zscore", None) == ("zscore", 2.0)  # its own default
    with pytest.raises(GliZNetInputError, match="label statistics"):
        decisions.decide(scores, rule="zscore", param=2.0)


def test_label_stats_validation():
    assert decisions.validate_label_stats({"a": (0, 2)}) == {"a": [0.0, 2.0]}
    for bad in ({"a": [0.0, 0.0]}, {"a": [1.0]}, {"a": ["x", 1.0]}, {"a": [float("nan"), 1.0]}, [1]):
        with pytest.raises(GliZNetInputError, match="label_stats"):
            decisions.validate_label_stats(bad)


@pytest.mark.parametrize("rule,multi", [("margin", True), ("ratio", True), ("threshold", True),
                                        ("margin", False)])
def test_nan_scores_are_an_error_not_a_decision(rule, multi):
    with pytest.raises(GliZNetInputError, match=r"scores hold NaN \(row\(s\) \[1\]\)"):
        decide(np.array([[0.2, 0.4], [np.nan, 0.3]]), rule=rule, multi_label=multi)
    with pytest.raises(GliZNetInputError, match="NaN"):
        decided_labels(["a", "b"], [float("nan"), 0.1], rule=rule, multi_label=multi)
