"""Labels with examples: each label's vector combined with its examples' text vectors,
and how much the examples count, chosen from the examples alone (torch and numpy).

A model whose labels are encoded apart from the text (``label_attention =
"isolated"``) scores a text by the cosine of its unit text vector ``x`` with a unit
label vector ``a_k``. A label with a few example texts gets a second vector from
them: the unit mean ``p_k`` of their unit text vectors (the text tower's, as the
texts to classify are read). The label's vector becomes the *score mix*::

    v_k = (1 - w) a_k + w p_k          (not renormalised)
    x . v_k = (1 - w) cos(x, a_k) + w cos(x, p_k)

a convex combination of two cosines, in the cosine's range, scored with the model's
own ``logit_scale`` and ``score_offset`` (sigmoid scores and decisions keep their
meaning). ``w = 0`` is the plain model; a label without examples keeps ``a_k``.

The weight ``w`` is chosen per label set from its own examples (:func:`choose`):
leave-one-out, each example scored against every label with itself left out of its
labels' means (a label left with no example falls back to ``a_k``), for each ``w``
of :data:`GRID`; the LOO macro-F1 (argmax for single-label; for multi-label, each
label's best F1 cut-off on its LOO logits) picks the smallest ``w`` within
:data:`TOL` of the best, and ``w = 0`` stays unless that ``w`` beats it by
:data:`MIN_GAIN`: where the examples mislead (sentiment and emotion texts sit
together by topic in this space) the plain labels are kept. Deterministic: no
randomness, and ties go to the smaller ``w``. At most :data:`MAX_LOO_EXAMPLES`
examples (evenly spaced, with every label's means still built from all of them)
are scored, in row chunks, so a 10,000-label set decides in seconds and bounded
memory. The defaults were chosen on ``train_pool`` (examples/fewshot/README.md).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

GRID: Tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
TOL = 0.01
MIN_GAIN = 0.02
MIN_POS = 2
MAX_LOO_EXAMPLES = 4096
CHUNK = 512


@dataclass(frozen=True)
class Choice:
    """What :func:`choose` decided for one label set and its examples.

    weight: w, the examples' share of each label's score (0: the plain labels).
    loo_score: LOO macro-F1 of the examples at ``weight``; raw_loo_score: at w = 0.
    curve: (w, LOO macro-F1) over the grid.
    loo_logits: multi-label only: (n, K) LOO logits of the examples at ``weight``
        (what per-label thresholds are fitted on); loo_gold: their (n, K) gold.
    """

    weight: float
    loo_score: float
    raw_loo_score: float
    curve: Tuple[Tuple[float, float], ...]
    loo_logits: Optional[np.ndarray] = None
    loo_gold: Optional[np.ndarray] = None


def stack_examples(example_vecs: Sequence[Optional[torch.Tensor]], keys: Sequence[Sequence[Tuple]],
                   K: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Example matrix X (n, D) and membership Y (n, K) from per-label vectors; an
    example listed under several labels (same ``keys`` entry: its token ids) is one row."""
    rows: List[torch.Tensor] = []
    index = {}
    member: List[List[int]] = []
    for k, (vecs, ks) in enumerate(zip(example_vecs, keys)):
        if vecs is None:
            continue
        for v, key in zip(vecs, ks):
            if key not in index:
                index[key] = len(rows)
                rows.append(v)
                member.append([])
            member[index[key]].append(k)
    D = next((v.shape[-1] for v in example_vecs if v is not None), 0)
    X = torch.stack(rows).double() if rows else torch.zeros((0, D), dtype=torch.float64)
    Y = torch.zeros((len(rows), K), dtype=torch.bool)
    for i, ks in enumerate(member):
        Y[i, ks] = True
    return X, Y


def example_means(X: torch.Tensor, Y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sums (K, D) of each label's example vectors and their counts (K,)."""
    Yf = Y.to(X.dtype)
    return Yf.T @ X, Yf.sum(0)


def combine(label_vecs: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor,
            weight: float) -> torch.Tensor:
    """Combined label vectors (K, D): ``(1 - w) a_k + w * unit(sum_k)``; ``a_k`` itself
    (bit for bit) where a label has no example or ``w = 0``."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight}")
    out = label_vecs.clone()
    if weight == 0.0:
        return out
    has = counts > 0
    proto = F.normalize(sums[has], dim=-1).to(out.dtype)
    out[has] = (1.0 - weight) * out[has] + weight * proto
    return out


def loo_cosines(label_vecs: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, sums: torch.Tensor,
                counts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For examples X (c, D) with gold Y (c, K): cosines (c, K) with the plain label
    vectors, with the leave-one-out example means (the example itself left out of its
    labels' means), and where such a mean exists (c, K)."""
    A = label_vecs.to(X.dtype)
    raw = X @ A.T
    G = X @ sums.T                                   # x_i . S_k
    sq = (sums * sums).sum(1)[None, :]               # |S_k|^2
    nx = (X * X).sum(1, keepdim=True)                # |x_i|^2 (1 for unit vectors)
    own = torch.sqrt(torch.clamp(sq - 2 * G + nx, min=1e-12))
    full = torch.sqrt(torch.clamp(sq, min=1e-12))
    proto = torch.where(Y, (G - nx) / own, G / full)
    has = torch.where(Y, counts[None, :] > 1, counts[None, :] > 0)
    return raw, proto, has


def macro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    """Mean per-label F1 over the labels with a gold or predicted example."""
    tp = (pred & gold).sum(0).astype(float)
    den = 2 * tp + (pred & ~gold).sum(0) + (~pred & gold).sum(0)
    used = den > 0
    return float((2 * tp[used] / den[used]).mean()) if used.any() else 0.0


def best_cut(scores: np.ndarray, pos: np.ndarray) -> Tuple[float, float]:
    """(cut-off, F1) maximising the F1 of ``scores >= cut`` against ``pos``: midpoints
    between consecutive distinct scores; ties go to the lowest cut."""
    s = np.unique(scores)
    cands = np.concatenate([[s[0] - 1.0], (s[:-1] + s[1:]) / 2, [s[-1] + 1.0]])
    order = np.argsort(scores)
    sorted_pos = pos[order]
    sorted_s = scores[order]
    n_pos = int(pos.sum())
    # predicted positives at cut c: scores >= c
    below = np.searchsorted(sorted_s, cands, side="left")
    pos_below = np.concatenate([[0], np.cumsum(sorted_pos)])[below]
    tp = n_pos - pos_below
    fp = (len(scores) - below) - tp
    fn = n_pos - tp
    den = 2 * tp + fp + fn
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)
    i = int(np.argmax(f1 > f1.max() - 1e-12))
    return float(cands[i]), float(f1[i])


def thresholded_f1(L: np.ndarray, Y: np.ndarray, min_pos: int = MIN_POS) -> float:
    """LOO macro-F1 of multi-label logits L (n, K) with each label's best cut (the
    pooled best cut for labels with fewer than ``min_pos`` positives)."""
    g, _ = best_cut(L.ravel(), Y.ravel())
    cuts = np.array([best_cut(L[:, k], Y[:, k])[0] if Y[:, k].sum() >= min_pos else g
                     for k in range(L.shape[1])])
    return macro_f1(L >= cuts[None, :], Y)


def loo_rows(n: int, limit: int = MAX_LOO_EXAMPLES) -> np.ndarray:
    """The examples the choice scores: all, or ``limit`` evenly spaced."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def choose(label_vecs: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, logit_scale: float,
           offset: float, multi_label: bool = False, grid: Sequence[float] = GRID,
           tol: float = TOL, min_gain: float = MIN_GAIN) -> Choice:
    """The examples' weight for one label set, from its examples alone (deterministic).

    label_vecs: (K, D) unit label vectors. X: (n, D) unit text vectors of the examples;
    Y: (n, K) their labels (:func:`stack_examples`). logit_scale (the exp'd scale),
    offset: the model's, to express multi-label LOO scores as logits. multi_label:
    score the LOO predictions by per-label cut-offs instead of the argmax.
    grid, tol, min_gain: the rule (module docstring).
    """
    X = X.double()
    sums, counts = example_means(X, Y)
    if X.shape[0] < 2:
        return Choice(0.0, float("nan"), float("nan"), ())
    rows = loo_rows(X.shape[0])
    gold = Y[rows].numpy()
    K = label_vecs.shape[0]
    grid = [float(w) for w in grid]
    if multi_label:
        logits = {w: np.empty((len(rows), K)) for w in grid}
    else:
        picks = {w: np.empty(len(rows), dtype=np.int64) for w in grid}
    for start in range(0, len(rows), CHUNK):
        part = torch.as_tensor(rows[start:start + CHUNK])
        raw, proto, has = loo_cosines(label_vecs, X[part], Y[part], sums, counts)
        for w in grid:
            cos = torch.where(has, (1.0 - w) * raw + w * proto, raw) if w else raw
            if multi_label:
                logits[w][start:start + len(part)] = ((cos - offset) * logit_scale).numpy()
            else:
                picks[w][start:start + len(part)] = cos.argmax(1).numpy()
    curve = []
    for w in grid:
        if multi_label:
            f = thresholded_f1(logits[w], gold)
        else:
            pred = np.zeros(gold.shape, dtype=bool)
            pred[np.arange(len(rows)), picks[w]] = True
            f = macro_f1(pred, gold)
        curve.append((w, f))
    scores = dict(curve)
    raw_f = scores.get(0.0, curve[0][1])
    best = max(f for _, f in curve)
    w_star = min(w for w, f in curve if f >= best - tol)
    if w_star > 0 and scores[w_star] - raw_f < min_gain:
        w_star = 0.0
    return Choice(w_star, scores.get(w_star, raw_f), raw_f, tuple(curve),
                  logits[w_star] if multi_label else None, gold if multi_label else None)


@dataclass(frozen=True)
class Prototypes:
    """A label set's vectors with its examples: ``vectors`` (K, D) (the combined ones,
    :func:`combine` at ``choice.weight``) and the :class:`Choice` behind them."""

    vectors: torch.Tensor
    choice: Choice


def label_prototypes(label_vecs: torch.Tensor, example_vecs: Sequence[Optional[torch.Tensor]],
                     example_keys: Sequence[Sequence[Tuple]], logit_scale: float, offset: float,
                     multi_label: bool) -> Prototypes:
    """The :class:`Prototypes` of a label set: its unit label vectors (K, D), per label
    the unit text vectors of its examples (None for none) and their keys (token ids:
    one example under two labels is one example)."""
    K = label_vecs.shape[0]
    X, Y = stack_examples(example_vecs, example_keys, K)
    choice = choose(label_vecs, X, Y, logit_scale, offset, multi_label)
    sums, counts = example_means(X, Y)
    return Prototypes(combine(label_vecs, sums, counts, choice.weight), choice)
