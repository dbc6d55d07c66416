"""Evaluation: the one F1 of the package, threshold tuning on it, and the scorer
registered for ``spacy train`` / ``spacy evaluate``.

Macro-F1 is spaCy's (``Scorer.score_cats``): the mean of per-label F1 over every
label of the label set given, where a label with no gold and no predicted
positive counts as F1 = 0 (tp = fp = fn = 0). Every CLI, example and test computes
it here, so ``python -m spacy_gliznet benchmark``, ``find-thresholds``,
``calibrate``, the examples and ``spacy evaluate`` report the same number for
the same decisions (``tests`` check it against ``Scorer.score_cats``).
"""

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example

from .decisions import cutoffs, predicted_cats, rule_mask
from ..errors import GliZNetInputError
from ..settings import DECISION_CONFIG_KEYS, DecisionSettings, validate_threshold

THRESHOLD_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


# -- F1 --------------------------------------------------------------------------------
def indicator(rows: Sequence[Sequence[int]], n_labels: int) -> np.ndarray:
    """(N, K) booleans from each row's label indices."""
    out = np.zeros((len(rows), n_labels), dtype=bool)
    for i, row in enumerate(rows):
        out[i, list(row)] = True
    return out


def indices_at_cut(scores: np.ndarray, multi_label: bool, cut: float) -> List[List[int]]:
    """Each row's predicted label indices (what :func:`macro_f1` reads) from an (N, K)
    score matrix: the top label, or (``multi_label``) every label whose score reaches
    ``cut``. For raw scores such as cosines, with no pipe's decision settings."""
    mask = rule_mask(np.asarray(scores), multi_label=multi_label, decision_rule="threshold", cut=cut)
    return [[int(i) for i in np.nonzero(row)[0]] for row in mask]


def f1_counts(pred: np.ndarray, gold: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label true positives, false positives and false negatives of (N, K) booleans."""
    pred = np.asarray(pred, dtype=bool)
    gold = np.asarray(gold, dtype=bool)
    if pred.shape != gold.shape:
        raise GliZNetInputError(f"predictions {pred.shape} and gold {gold.shape} differ in shape")
    tp = (pred & gold).sum(0)
    fp = (pred & ~gold).sum(0)
    fn = (~pred & gold).sum(0)
    return tp, fp, fn


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2tp / (2tp + fp + fn), 0 where that is 0/0 (as spaCy's scorer counts it)."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)


def f1_report(pred: np.ndarray, gold: np.ndarray) -> Dict[str, Any]:
    """Macro-F1 (mean over all K labels), micro-F1 and per-label F1 of (N, K) decisions."""
    tp, fp, fn = f1_counts(pred, gold)
    per = f1_from_counts(tp, fp, fn)
    micro = float(f1_from_counts(tp.sum(), fp.sum(), fn.sum()))
    return {"macro_f": float(per.mean()) if per.size else 0.0, "micro_f": micro, "f": per}


def macro_f1(gold: Sequence[Sequence[int]], pred: Sequence[Sequence[int]], n_labels: int) -> float:
    """Macro-F1 over labels ``0 .. n_labels - 1``; ``gold``/``pred``: each row's label indices."""
    return f1_report(indicator(pred, n_labels), indicator(gold, n_labels))["macro_f"]


# -- threshold tuning ----------------------------------------------------------------------
def _f1_curves(scores: np.ndarray, gold: np.ndarray, grid: np.ndarray
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tp, fp, fn of every label at every grid threshold: arrays of shape (G, K)."""
    G, K = len(grid), scores.shape[1]
    tp = np.zeros((G, K))
    fp = np.zeros((G, K))
    n_pos = gold.sum(0)
    for k in range(K):
        pos = np.sort(scores[gold[:, k], k])
        neg = np.sort(scores[~gold[:, k], k])
        # count of scores >= t: len - number strictly below t
        tp[:, k] = len(pos) - np.searchsorted(pos, grid, side="left")
        fp[:, k] = len(neg) - np.searchsorted(neg, grid, side="left")
    fn = n_pos[None, :] - tp
    return tp, fp, fn


def _best(values: np.ndarray, grid: np.ndarray) -> int:
    """Index of the best value; ties go to the grid value closest to 0.5, then the higher one."""
    best = values.max()
    candidates = np.nonzero(values == best)[0]
    return int(min(candidates, key=lambda i: (abs(grid[i] - 0.5), -grid[i])))


@dataclass
class ThresholdTuning:
    """What :func:`tune_thresholds` found on dev data."""

    labels: List[str]
    threshold: float                      # the one global threshold (best dev macro-F1)
    thresholds: Dict[str, float]          # per label, for labels with enough positives
    positives: Dict[str, int]
    tuned: Dict[str, bool] = field(default_factory=dict)   # False: fell back to the global value

    def cut(self) -> np.ndarray:
        return cutoffs(self.labels, self.threshold, self.thresholds)


def tune_thresholds(scores: np.ndarray, gold: np.ndarray, labels: Sequence[str], *,
                    min_positives: int = 10, grid: Sequence[float] = THRESHOLD_GRID
                    ) -> ThresholdTuning:
    """Tune one global threshold and per-label thresholds on dev scores.

    scores: (N, K) scores; gold: (N, K) booleans (True: the label is gold).
    The global threshold maximizes dev macro-F1 (mean F1 over all K labels). Each
    label with at least ``min_positives`` gold positives gets the threshold that
    maximizes its own F1; the others keep the global threshold. Ties go to the grid
    value closest to 0.5.
    """
    scores = np.asarray(scores, dtype=np.float64)
    gold = np.asarray(gold, dtype=bool)
    labels = list(labels)
    if scores.ndim != 2 or scores.shape != gold.shape or scores.shape[1] != len(labels):
        raise GliZNetInputError(
            f"scores {scores.shape}, gold {gold.shape} and {len(labels)} labels do not match")
    if min_positives < 1:
        raise GliZNetInputError(f"min_positives must be >= 1, got {min_positives}")
    grid = np.asarray(sorted({validate_threshold(float(t), 'grid value') for t in grid}))
    if not grid.size:
        raise GliZNetInputError("the threshold grid is empty")
    tp, fp, fn = _f1_curves(scores, gold, grid)
    f1 = f1_from_counts(tp, fp, fn)                       # (G, K)
    global_t = float(grid[_best(f1.mean(1), grid)])
    positives = {lab: int(n) for lab, n in zip(labels, gold.sum(0))}
    thresholds: Dict[str, float] = {}
    tuned: Dict[str, bool] = {}
    for k, lab in enumerate(labels):
        if positives[lab] >= min_positives:
            thresholds[lab] = float(grid[_best(f1[:, k], grid)])
            tuned[lab] = True
        else:
            tuned[lab] = False
    return ThresholdTuning(labels, global_t, thresholds, positives, tuned)


# -- decisions from a label set's examples --------------------------------------------------
def example_decisions(settings: DecisionSettings, cutoffs: Optional[Sequence[float]],
                      labels: Sequence[str]) -> DecisionSettings:
    """The decision settings of a multi-label doc whose labels have examples: each
    label's logit cut-off chosen on the examples (``prototypes.Choice.thresholds``,
    leave-one-out) as its threshold, and the doc's top label (the ``"margin"`` rule at
    0: the top label and its ties, plus every label at its threshold). A per-label
    ``thresholds`` entry of ``settings`` wins for its label; ``settings`` unchanged
    without cut-offs (fewer than three examples)."""
    if cutoffs is None:
        return settings
    probs = 1.0 / (1.0 + np.exp(-np.asarray(cutoffs, dtype=np.float64)))
    own = {k: float(p) for k, p in zip(labels, probs)}
    return replace(settings, decision_rule="margin", rule_param=0.0,
                   thresholds={**own, **settings.thresholds})


# -- the spaCy scorer ----------------------------------------------------------------------
def gliznet_textcat_score(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """spaCy's ``Scorer.score_cats`` on ``doc.cats`` (registered as
    ``spacy_gliznet.textcat_scorer.v1``): AUC from the scores, P/R/F from the
    decisions of :func:`decisions.predicted_cats`, so the scorer counts what
    ``doc._.gliznet_predicted_labels`` holds.

    Called through ``Pipe.score`` it receives the pipe's ``cfg`` (its ``multi_label``,
    decision settings and ``label_stats``) and ``labels``; called alone, missing
    settings take :class:`~spacy_gliznet.settings.DecisionSettings`' defaults (the
    component's). Keys of the cfg that are not the scorer's are ignored, as
    ``Scorer.score_cats`` ignores them. Works on the ``doc.cats`` of any component.
    """
    examples = list(examples)
    multi = kwargs.pop("multi_label", True)
    settings = DecisionSettings(**{k: kwargs.pop(k) for k in (*DECISION_CONFIG_KEYS, "label_stats")
                                   if kwargs.get(k) is not None})
    getter = kwargs.pop("getter", getattr)
    labels = kwargs.get("labels")
    scores = Scorer.score_cats(examples, "cats", multi_label=multi, getter=getter, **kwargs)
    decided = {id(eg.predicted): predicted_cats(getter(eg.predicted, "cats"), labels,
                                                multi_label=multi, settings=settings)
               for eg in examples}

    def decided_getter(doc: Doc, attr: str) -> Any:
        return decided[id(doc)] if id(doc) in decided else getter(doc, attr)

    kwargs.pop("threshold", None)
    prf = Scorer.score_cats(examples, "cats", multi_label=multi, threshold=0.5,
                            getter=decided_getter, **kwargs)
    for key in ("cats_macro_auc", "cats_auc_per_type"):
        prf[key] = scores[key]
    if multi:
        prf["cats_score"] = scores["cats_score"]
    return prf


def make_gliznet_textcat_scorer():
    """Registered as ``spacy_gliznet.textcat_scorer.v1``."""
    return gliznet_textcat_score
