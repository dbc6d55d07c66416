"""One macro-F1 (spaCy's), threshold tuning on it, and the registered scorer."""

import numpy as np
import pytest
import spacy
from spacy.scorer import Scorer
from spacy.training import Example

from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.pipeline.metrics import (
    THRESHOLD_GRID,
    f1_report,
    gliznet_textcat_score,
    indicator,
    macro_f1,
    tune_thresholds,
)


def test_macro_f1_is_spacys_score_cats_macro_f():
    """On random decisions, with labels that never occur in gold or predictions,
    the one macro-F1 equals spaCy's Scorer.score_cats."""
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c", "d", "e"]
    nlp = spacy.blank("en")
    for trial in range(5):
        gold = rng.random((12, 5)) < 0.3
        pred = rng.random((12, 5)) < 0.3
        gold[:, 4] = pred[:, 4] = False  # a label no row has
        egs = []
        for g, p in zip(gold, pred):
            doc_p, doc_g = nlp.make_doc("x"), nlp.make_doc("x")
            doc_p.cats = {k: float(v) for k, v in zip(labels, p)}
            doc_g.cats = {k: float(v) for k, v in zip(labels, g)}
            egs.append(Example(doc_p, doc_g))
        spacy_f = Scorer.score_cats(egs, "cats", labels=labels, multi_label=True,
                                    threshold=0.5)["cats_macro_f"]
        rows = lambda m: [list(np.nonzero(r)[0]) for r in m]  # noqa: E731
        assert macro_f1(rows(gold), rows(pred), 5) == pytest.approx(spacy_f)
        assert f1_report(pred, gold)["macro_f"] == pytest.approx(spacy_f)


def test_macro_f1_hand_computed():
    # label 0: tp 1 fp 1 fn 0 -> 2/3; label 1: tp 2 fp 1 fn 1 -> 2/3; label 2: never seen -> 0
    gold = [[0], [1], [1], [1]]
    pred = [[0, 1], [1], [1], [0]]
    assert macro_f1(gold, pred, 3) == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert macro_f1(gold, pred, 2) == pytest.approx(2 / 3)
    assert macro_f1([[]], [[]], 2) == 0.0
    assert indicator([[1], []], 2).tolist() == [[False, True], [False, False]]
    with pytest.raises(GliZNetInputError, match="differ in shape"):
        f1_report(np.zeros((2, 2), bool), np.zeros((2, 3), bool))


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




def test_scorer_defaults_are_the_components_and_cfg_keys_pass_through():
    """Alone, the scorer decides as a default pipe does (margin); given the settings a
    pipe's cfg holds (and keys of the cfg that are not the scorer's), it uses them."""
    nlp = spacy.blank("en")
    pred, gold = nlp.make_doc("x"), nlp.make_doc("x")
    pred.cats = {"x": 0.40, "y": 0.39}
    gold.cats = {"x": 1.0, "y": 1.0}
    egs = [Example(pred, gold)]
    margin = gliznet_textcat_score(egs, labels=["x", "y"])            # both within 0.015
    assert margin["cats_micro_f"] == pytest.approx(1.0)
    threshold = gliznet_textcat_score(egs, labels=["x", "y"], decision_rule="threshold",
                                      threshold=0.5, rule_param=None, long_text="windows",
                                      negative_samples=3)
    assert threshold["cats_micro_f"] == 0.0
