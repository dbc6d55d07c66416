"""Decisions: which labels a doc gets from its scores (numpy only; a leaf module).

Rules (``decision_rule``), applied to one doc's scores over the labels it was scored
against:

- ``"threshold"``: a label is predicted when its score reaches its threshold, the
  per-label ``thresholds[label]`` where given, else the global ``threshold``. Use it
  for a model whose scores are calibrated for the labels at hand, e.g. a fine-tuned
  model after ``find-thresholds`` tuned the values on dev data.
- ``"margin"``: the labels within ``rule_param`` of the doc's top score (so the top
  label always). Use it zero-shot, on label sets and domains the model was not
  calibrated on: a cut-off relative to the doc's own scores transfers where one
  absolute cut-off does not. ``rule_param = 0`` is top-1 (plus exact ties).
- ``"ratio"``: the labels whose score is at least ``rule_param`` times the doc's top
  score (the top label always).
- ``"zscore"``: the top label plus the labels whose logit is at least ``rule_param``
  standard deviations above that label's mean over an unlabeled corpus (``label_stats``,
  learned by ``adapt``): a label counts when it stands out for this doc against its own
  scores on the corpus, whatever its absolute level. Labels without statistics pass
  only as the top label or by their own ``thresholds``.

Each relative rule has its own default ``rule_param`` (:data:`RULE_PARAM_DEFAULTS`, all
chosen on train_pool alone: margin 0.015 and ratio 0.97 by ``examples/zero_shot/select_rule.py``,
zscore 2.0 by ``examples/adapt``), used when ``rule_param`` is None; a parameter given for one rule never carries over
to another. Scores must be numbers: a NaN score is an error, never a silent decision.

The relative rules do not use the global ``threshold``; a label with its own entry in
``thresholds`` is also predicted when its score reaches that value. With them every doc
gets at least one label, so they do not suit data where docs may have no label. In
single-label mode (``multi_label = False``) the decision is the top label whatever the
rule. Scores equal to a cut-off pass it.

Per-label thresholds are tuned by :func:`tune_thresholds` (best dev F1 per label, ties
broken toward 0.5; labels with fewer than ``min_positives`` dev positives keep the
global threshold, itself the best dev macro-F1 over one shared value).
"""

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import GliZNetInputError, UnknownLabelWarning

RULES = ("threshold", "ratio", "margin", "zscore")
#: each relative rule's ``rule_param`` when none is given (margin and ratio:
#: examples/zero_shot/select_rule.py; zscore: examples/adapt, both on train_pool alone)
RULE_PARAM_DEFAULTS: Dict[str, float] = {"ratio": 0.97, "margin": 0.015, "zscore": 2.0}
THRESHOLD_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


# -- validation -------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))


def validate_threshold(value: Any, what: str = "threshold") -> float:
    """``value`` as a float in [0, 1], else GliZNetInputError naming ``what``."""
    if not _is_number(value) or not math.isfinite(float(value)) or not 0.0 <= float(value) <= 1.0:
        raise GliZNetInputError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


def validate_thresholds(values: Optional[Mapping[str, Any]],
                        known_labels: Optional[Sequence[str]] = None,
                        where: str = "thresholds") -> Dict[str, float]:
    """Per-label thresholds as ``{label: float in [0, 1]}``.

    A label missing from ``known_labels`` (when that is non-empty) gets an
    :class:`UnknownLabelWarning`, not an error: labels can change per call and per
    doc, so a threshold may be meant for labels given later.
    """
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise GliZNetInputError(
            f"{where} must be a dict of label -> threshold, got {type(values).__name__}")
    out: Dict[str, float] = {}
    for label, value in values.items():
        if not isinstance(label, str) or not label.strip():
            raise GliZNetInputError(f"{where}: labels must be non-empty strings, got {label!r}")
        out[label] = validate_threshold(value, f"{where}[{label!r}]")
    if known_labels:
        unknown = sorted(set(out) - set(known_labels))
        if unknown:
            warnings.warn(
                f"{where}: no such label among the component's labels: {unknown}. "
                f"Their thresholds apply only when these labels are given per call or per doc.",
                UnknownLabelWarning, stacklevel=3)
    return out


def validate_rule(rule: Any, param: Any) -> Tuple[str, Optional[float]]:
    """Check a decision rule and its parameter; returns them normalised.

    ``"threshold"`` ignores ``param``; ``"ratio"`` takes a ratio in (0, 1];
    ``"margin"`` a margin in [0, 1]; None gives the rule's own default
    (:data:`RULE_PARAM_DEFAULTS`).
    """
    if rule not in RULES:
        raise GliZNetInputError(f"decision_rule must be one of {list(RULES)}, got {rule!r}")
    if rule == "threshold":
        if param is not None and not _is_number(param):
            raise GliZNetInputError(f"rule_param must be a number or null, got {param!r}")
        return rule, None if param is None else float(param)
    if param is None:
        return rule, RULE_PARAM_DEFAULTS[rule]
    if not _is_number(param) or not math.isfinite(float(param)):
        raise GliZNetInputError(f"rule_param must be a number, got {param!r}")
    value = float(param)
    if rule == "ratio" and not 0.0 < value <= 1.0:
        raise GliZNetInputError(f"rule_param of the 'ratio' rule must be in (0, 1], got {param!r}")
    if rule == "margin" and not 0.0 <= value <= 1.0:
        raise GliZNetInputError(f"rule_param of the 'margin' rule must be in [0, 1], got {param!r}")
    return rule, value


def validate_label_stats(values: Optional[Mapping[str, Any]],
                         where: str = "label_stats") -> Dict[str, List[float]]:
    """Per-label corpus statistics as ``{label: [mean, std]}`` of the label's logit
    (finite, std > 0)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise GliZNetInputError(f"{where} must be a dict of label -> [mean, std], "
                                f"got {type(values).__name__}")
    out: Dict[str, List[float]] = {}
    for label, pair in values.items():
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(_is_number, pair))
              and all(math.isfinite(float(v)) for v in pair) and float(pair[1]) > 0)
        if not isinstance(label, str) or not ok:
            raise GliZNetInputError(f"{where}[{label!r}] must be [mean, std] with std > 0, "
                                    f"got {pair!r}")
        out[label] = [float(pair[0]), float(pair[1])]
    return out


def logits_of(scores: np.ndarray) -> np.ndarray:
    """Logits back from sigmoid scores (clipped away from 0 and 1)."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def label_z_scores(labels: Sequence[str], scores: np.ndarray,
                   label_stats: Optional[Mapping[str, Sequence[float]]]) -> np.ndarray:
    """Each label's logit in standard deviations above its corpus mean; ``-inf`` for
    labels without statistics. ``scores``: sigmoid scores, (K,) or (N, K)."""
    stats = label_stats or {}
    mean = np.array([stats[k][0] if k in stats else 0.0 for k in labels])
    std = np.array([stats[k][1] if k in stats else 1.0 for k in labels])
    z = (logits_of(scores) - mean) / std
    known = np.array([k in stats for k in labels], dtype=bool)
    return np.where(known, z, -np.inf)


# -- decisions --------------------------------------------------------------
def cutoffs(labels: Sequence[str], threshold: float,
            thresholds: Optional[Mapping[str, float]] = None) -> np.ndarray:
    """Each label's absolute threshold: its own where given, else ``threshold``."""
    if not thresholds:
        return np.full(len(labels), threshold, dtype=np.float64)
    return np.array([thresholds.get(lab, threshold) for lab in labels], dtype=np.float64)


def rule_cutoffs(labels: Sequence[str], rule: str, threshold: float,
                 thresholds: Optional[Mapping[str, float]] = None) -> np.ndarray:
    """The absolute cut-offs a rule uses: every label's for ``"threshold"``; for the
    relative rules only the per-label ones (the others never pass by score alone)."""
    return cutoffs(labels, threshold if rule == "threshold" else np.inf, thresholds)


def decide(scores: np.ndarray, *, multi_label: bool = True, rule: str = "threshold",
           param: Optional[float] = None, cut: Any = 0.5,
           z: Optional[np.ndarray] = None) -> np.ndarray:
    """Boolean (N, K) decisions for an (N, K) score matrix (a (K,) vector gives (K,)).

    cut: absolute cut-offs, one float or one per label: a label whose score reaches
    its cut-off is predicted under every rule (see :func:`rule_cutoffs`; ``np.inf``
    switches it off); the relative rules add the labels near the top score.
    z: for ``"zscore"``, the labels' z-scores (:func:`label_z_scores`), shaped like scores.
    """
    scores = np.asarray(scores, dtype=np.float64)
    single = scores.ndim == 1
    s = scores[None, :] if single else scores
    if s.ndim != 2:
        raise GliZNetInputError(f"scores must be a (K,) or (N, K) array, got shape {scores.shape}")
    if np.isnan(s).any():
        rows = sorted({int(r) for r in np.nonzero(np.isnan(s))[0]})
        raise GliZNetInputError(
            f"scores hold NaN (row(s) {rows[:10]}{'...' if len(rows) > 10 else ''}): no label can be "
            f"decided from them; the model's weights or inputs are broken")
    out = np.zeros(s.shape, dtype=bool)
    if s.shape[1] == 0 or s.shape[0] == 0:
        return out[0] if single else out
    if not multi_label:
        out[np.arange(s.shape[0]), s.argmax(1)] = True
        return out[0] if single else out
    rule, param = validate_rule(rule, param)
    cut = np.broadcast_to(np.asarray(cut, dtype=np.float64), (s.shape[1],))
    out = s >= cut[None, :]
    if rule == "zscore":
        if z is None:
            raise GliZNetInputError("decision_rule 'zscore' needs label statistics "
                                    "(learned by adapt)")
        zs = np.asarray(z, dtype=np.float64).reshape(s.shape)
        out = out | (zs >= param)
        out[np.arange(s.shape[0]), s.argmax(1)] = True
    elif rule != "threshold":
        top = s.max(1, keepdims=True)
        relative = s >= (param * top if rule == "ratio" else top - param)
        out = out | relative
    return out[0] if single else out


def decide_labels(scores: np.ndarray, labels: Sequence[str], *, multi_label: bool = True,
                  rule: str = "threshold", param: Optional[float] = None, threshold: float = 0.5,
                  thresholds: Optional[Mapping[str, float]] = None,
                  label_stats: Optional[Mapping[str, Sequence[float]]] = None) -> np.ndarray:
    """Boolean decisions for (K,) or (N, K) ``scores`` over ``labels`` under the
    component's settings: the rule, its parameter, the global and per-label thresholds
    and (``"zscore"``) the labels' corpus statistics."""
    s = np.asarray(scores, dtype=np.float64)
    z = label_z_scores(labels, s, label_stats) if rule == "zscore" and multi_label else None
    return decide(s, multi_label=multi_label, rule=rule, param=param,
                  cut=rule_cutoffs(labels, rule, threshold, thresholds), z=z)


def decided_labels(labels: Sequence[str], scores: Sequence[float], *, multi_label: bool = True,
                   rule: str = "threshold", param: Optional[float] = None, threshold: float = 0.5,
                   thresholds: Optional[Mapping[str, float]] = None,
                   label_stats: Optional[Mapping[str, Sequence[float]]] = None) -> List[str]:
    """The labels one doc gets, highest score first (``label_stats``: for ``"zscore"``)."""
    labels = list(labels)
    if not labels:
        return []
    s = np.asarray(scores, dtype=np.float64)
    mask = decide_labels(s, labels, multi_label=multi_label, rule=rule, param=param,
                         threshold=threshold, thresholds=thresholds, label_stats=label_stats)
    order = sorted(np.nonzero(mask)[0], key=lambda i: (-s[i], i))
    return [labels[i] for i in order]


def decide_cats(cats: Mapping[str, float], labels: Optional[Sequence[str]] = None, *,
                multi_label: bool = True, rule: str = "threshold", param: Optional[float] = None,
                threshold: float = 0.5, thresholds: Optional[Mapping[str, float]] = None,
                label_stats: Optional[Mapping[str, Sequence[float]]] = None) -> Dict[str, float]:
    """``{label: 1.0 or 0.0}`` for the labels of ``cats`` (those in ``labels`` when given):
    one doc's decisions in the shape of ``doc.cats``, e.g. for spaCy's scorer."""
    keys = [k for k in cats if labels is None or k in labels]
    chosen = set(decided_labels(keys, [cats[k] for k in keys], multi_label=multi_label, rule=rule,
                                param=param, threshold=threshold, thresholds=thresholds,
                                label_stats=label_stats))
    return {k: 1.0 if k in chosen else 0.0 for k in keys}


# -- F1 and threshold tuning ------------------------------------------------
def f1_counts(pred: np.ndarray, gold: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label true positives, false positives and false negatives of (N, K) booleans."""
    pred = np.asarray(pred, dtype=bool)
    gold = np.asarray(gold, dtype=bool)
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
    """Macro-F1 (mean over all labels), micro-F1 and per-label F1 of (N, K) decisions."""
    tp, fp, fn = f1_counts(pred, gold)
    per = f1_from_counts(tp, fp, fn)
    micro = float(f1_from_counts(tp.sum(), fp.sum(), fn.sum()))
    return {"macro_f": float(per.mean()) if per.size else 0.0, "micro_f": micro, "f": per}


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


# -- the labels written to doc.cats ------------------------------------------
def validate_top_k(value: Any, what: str = "cats_top_k") -> Optional[int]:
    """``cats_top_k``: None (every label) or a whole number >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GliZNetInputError(f"{what} must be null (every label) or a whole number >= 1, "
                                f"got {value!r}")
    return int(value)


def top_k_cats(cats: Mapping[str, float], k: Optional[int]) -> Dict[str, float]:
    """The ``k`` best entries of ``cats``, best first (ties: in the order of ``cats``);
    None or ``k >= len(cats)``: ``cats`` as it is."""
    if k is None or k >= len(cats):
        return dict(cats)
    keys = list(cats)
    values = np.fromiter(cats.values(), dtype=np.float64, count=len(keys))
    kth = np.partition(values, len(values) - k)[len(values) - k]  # the k-th best score
    above = np.nonzero(values > kth)[0].tolist()
    tied = np.nonzero(values == kth)[0][: k - len(above)].tolist()
    best = sorted(above + tied, key=lambda i: (-values[i], i))
    return {keys[i]: cats[keys[i]] for i in best}
