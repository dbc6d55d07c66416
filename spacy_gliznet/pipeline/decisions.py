"""Decisions: which labels a doc gets from its scores (numpy; the settings and their
validation live in ``settings.py``).

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

Each relative rule has its own default ``rule_param`` (``settings.RULE_PARAM_DEFAULTS``, all
chosen on train_pool alone: margin 0.015 and ratio 0.95 by ``examples/bundled_model/select_rule.py``,
zscore 2.0 by ``examples/adapt``), used when ``rule_param`` is None; a parameter given for one rule never carries over
to another. Scores must be numbers: a NaN score is an error, never a silent decision.

The relative rules do not use the global ``threshold``; a label with its own entry in
``thresholds`` is also predicted when its score reaches that value. With them every doc
gets at least one label, so they do not suit data where docs may have no label. In
single-label mode (``multi_label = False``) the decision is the top label whatever the
rule. Scores equal to a cut-off pass it.

Per-label thresholds are tuned by ``metrics.tune_thresholds`` on dev data.

Named for what they return: :func:`rule_mask` (a boolean mask from a rule given by its
parts), :func:`decision_mask` (a boolean mask under a component's ``DecisionSettings``),
:func:`predicted_labels` (one doc's labels, best first) and :func:`predicted_cats`
(one doc's decisions as ``{label: 1.0 or 0.0}``).
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import GliZNetInputError
from ..settings import DecisionSettings, validate_rule


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


def rule_cutoffs(labels: Sequence[str], decision_rule: str, threshold: float,
                 thresholds: Optional[Mapping[str, float]] = None) -> np.ndarray:
    """The absolute cut-offs a rule uses: every label's for ``"threshold"``; for the
    relative rules only the per-label ones (the others never pass by score alone)."""
    return cutoffs(labels, threshold if decision_rule == "threshold" else np.inf, thresholds)


def rule_mask(scores: np.ndarray, *, multi_label: bool = True, decision_rule: str = "threshold",
              rule_param: Optional[float] = None, cut: Any = 0.5,
              z: Optional[np.ndarray] = None) -> np.ndarray:
    """The decisions of one rule given by its parts, as a boolean mask: (N, K) for an
    (N, K) score matrix, (K,) for a (K,) vector. :func:`decision_mask` does the same
    from a component's :class:`DecisionSettings`.

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
    rule, param = validate_rule(decision_rule, rule_param)
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


def decision_mask(scores: np.ndarray, labels: Sequence[str], *, multi_label: bool = True,
                  settings: Optional[DecisionSettings] = None) -> np.ndarray:
    """The decisions as a boolean mask shaped like ``scores`` ((K,) or (N, K), columns
    in the order of ``labels``) under the component's ``settings`` (default:
    ``DecisionSettings()``): the rule, its parameter, the global and per-label
    thresholds and (``"zscore"``) the labels' corpus statistics."""
    settings = DecisionSettings() if settings is None else settings
    rule = settings.decision_rule
    s = np.asarray(scores, dtype=np.float64)
    z = label_z_scores(labels, s, settings.label_stats) if rule == "zscore" and multi_label else None
    return rule_mask(s, multi_label=multi_label, decision_rule=rule, rule_param=settings.param,
                     cut=rule_cutoffs(labels, rule, settings.threshold, settings.thresholds), z=z)


def predicted_labels(labels: Sequence[str], scores: Sequence[float], *, multi_label: bool = True,
                     settings: Optional[DecisionSettings] = None) -> List[str]:
    """The labels one doc gets (what ``doc._.gliznet_predicted_labels`` holds), highest
    score first; ``scores``: the doc's score of each of ``labels``."""
    labels = list(labels)
    if not labels:
        return []
    s = np.asarray(scores, dtype=np.float64)
    mask = decision_mask(s, labels, multi_label=multi_label, settings=settings)
    order = sorted(np.nonzero(mask)[0], key=lambda i: (-s[i], i))
    return [labels[i] for i in order]


def predicted_labels_of_rows(rows: Sequence[Optional[Tuple[Sequence[str], np.ndarray]]], *,
                          multi_label: bool = True, settings: Optional[DecisionSettings] = None
                          ) -> List[Optional[List[str]]]:
    """The labels each of many docs gets, highest score first (as :func:`predicted_labels`).

    rows: per doc, ``(labels, scores)`` (None: no decision, None back). Docs whose
        ``labels`` are one list object are decided together, as one (docs, labels)
        matrix: the cut-offs and the rule are worked out once per label list, not per
        doc. A NaN score anywhere raises before any decision is returned.
    """
    groups: Dict[int, List[int]] = {}
    for i, row in enumerate(rows):
        if row is not None:
            groups.setdefault(id(row[0]), []).append(i)
    out: List[Optional[List[str]]] = [None] * len(rows)
    decided = []
    for members in groups.values():
        labels = list(rows[members[0]][0])
        if not labels:
            decided.append((members, labels, None, None))
            continue
        s = np.stack([np.asarray(rows[i][1], dtype=np.float64) for i in members])
        decided.append((members, labels, s, decision_mask(s, labels, multi_label=multi_label,
                                                           settings=settings)))
    for members, labels, s, mask in decided:
        for r, i in enumerate(members):
            if mask is None:
                out[i] = []
                continue
            idx = np.nonzero(mask[r])[0]
            order = idx[np.lexsort((idx, -s[r, idx]))]  # best first; ties: label order
            out[i] = [labels[j] for j in order.tolist()]
    return out


def predicted_cats(cats: Mapping[str, float], labels: Optional[Sequence[str]] = None, *,
                   multi_label: bool = True, settings: Optional[DecisionSettings] = None
                   ) -> Dict[str, float]:
    """``{label: 1.0 or 0.0}`` for the labels of ``cats`` (those in ``labels`` when given):
    one doc's decisions in the shape of ``doc.cats``, e.g. for spaCy's scorer."""
    keys = [k for k in cats if labels is None or k in labels]
    chosen = set(predicted_labels(keys, [cats[k] for k in keys], multi_label=multi_label,
                                  settings=settings))
    return {k: 1.0 if k in chosen else 0.0 for k in keys}


# -- the labels written to doc.cats ------------------------------------------
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
