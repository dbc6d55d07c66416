"""Labels with examples: each label's vector combined with its examples' text vectors,
and how much the examples count, chosen from the examples alone (torch and numpy).

A model whose labels are encoded apart from the text (``label_attention =
"isolated"``) scores a text by the cosine of its unit text vector ``x`` with a unit
label vector ``a_k``. A label with a few example texts also gets ``p_k``, the unit
mean of their unit text vectors (the text tower's, read as the texts to classify
are). Its vector becomes::

    v_k = unit((1 - w) a_k + w p_k)
    logit(x, k) = (x . v_k - offset) * logit_scale      (the model's own)

so scores keep the model's scale and offset (sigmoid scores and decisions keep their
meaning). ``w = 0`` is the plain model; a label without examples keeps ``a_k``.

The weight ``w`` is chosen for each label set from its own examples
(:func:`choose`), by leave-one-out: each example is scored against every label
with itself left out of its labels' means (closed form from per-label sums; a label
left with no example falls back to ``a_k``), for each ``w`` of :data:`GRID`.

- Single-label: each example's softmax cross-entropy at the model's logit scale; the
  ``w`` of lowest mean is kept only when its per-example gain over ``w = 0`` has a
  paired t-statistic of at least :data:`Z`; else ``w = 0``. Few or misleading
  examples (sentiment and emotion texts sit together by topic in this space) keep
  the plain labels; 600 banking77 examples pass easily, 16 sst2 examples rarely do.
- Multi-label: per ``w``, each label's logit cut-off with the best F1 on the LOO logits
  (a label with fewer than :data:`MIN_POS` examples: one cut-off fitted on all labels
  pooled); ``w`` of the best LOO macro-F1 of those decisions (the smallest on ties).
  The cut-offs at that ``w`` become the label set's decisions: a doc gets the labels
  at or above their cut-off, and its top label.

Deterministic (no randomness; ties go to the smaller ``w``). The LOO reads at most
:data:`MAX_LOO_EXAMPLES` examples (multi-label: at most :data:`MAX_LOO_CELLS` example x
label logits, at least 256 examples), evenly spaced, every label's mean still built
from all, in chunks of rows: a 10,000-label set decides in bounded memory (its labels
with fewer than :data:`MIN_POS` examples among those read take the pooled cut-off).
Defaults chosen on ``train_pool`` (examples/fewshot/README.md).
"""

from dataclasses import dataclass
from typing import Hashable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GliZNetInputError

GRID: Tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
Z = 2.5               # single-label: paired t the best w's LOO gain must reach
MIN_POS = 2           # multi-label: examples a label needs for a cut-off of its own
MIN_EXAMPLES = 3      # fewer examples in a label set: nothing to learn, w = 0
MAX_LOO_EXAMPLES = 4096  # the most examples the LOO scores (evenly spaced)
MAX_LOO_CELLS = 4_000_000  # multi-label: the most (example, label) LOO logits kept per w
CHUNK = 512


@dataclass(frozen=True)
class Choice:
    """What :func:`choose` decided for one label set and its examples.

    weight: w, the examples' share of each label's vector (0: the plain labels).
    loo_score, raw_loo_score: single-label: mean LOO cross-entropy (lower is better)
        at ``weight`` and at w = 0; multi-label: LOO macro-F1 of the thresholded
        decisions. NaN with fewer than :data:`MIN_EXAMPLES` examples.
    curve: (w, LOO score) over the grid.
    t_stat: single-label: paired t of the best w's gain over w = 0.
    thresholds: multi-label: one logit cut-off per label (None otherwise).
    """

    weight: float
    loo_score: float
    raw_loo_score: float
    curve: Tuple[Tuple[float, float], ...]
    t_stat: float = 0.0
    thresholds: Optional[Tuple[float, ...]] = None


@dataclass(frozen=True)
class Prototypes:
    """A label set's vectors with its examples: ``vectors`` (K, D), the combined ones
    (:func:`combine` at ``choice.weight``), and the :class:`Choice` behind them."""

    vectors: torch.Tensor
    choice: Choice


def stack_examples(example_vecs: Sequence[Optional[torch.Tensor]],
                   keys: Sequence[Sequence[Hashable]], K: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Example matrix X (n, D) (float64) and membership Y (n, K) from per-label vectors;
    an example listed under several labels (the same ``keys`` entry, e.g. its token
    ids) is one row, in order of first appearance."""
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


def example_sums(X: torch.Tensor, Y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sums (K, D) of each label's example vectors and their counts (K,), from the
    (example, label) pairs of Y (never a dense float copy of Y: 80,000 examples of
    10,000 labels would be 6.4 GB)."""
    rows, cols = Y.nonzero(as_tuple=True)
    K = Y.shape[1]
    sums = X.new_zeros((K, X.shape[1])).index_add_(0, cols, X[rows])
    return sums, torch.bincount(cols, minlength=K).to(X.dtype)


def combine(label_vecs: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor,
            weight: float) -> torch.Tensor:
    """Combined unit label vectors (K, D): ``unit((1 - w) a_k + w unit(sum_k))``;
    ``a_k`` itself, bit for bit, where a label has no example or ``w = 0``."""
    if not 0.0 <= weight <= 1.0:
        raise GliZNetInputError(f"weight must be in [0, 1], got {weight}")
    out = label_vecs.clone()
    if weight == 0.0:
        return out
    has = counts > 0
    proto = F.normalize(sums[has].to(out.dtype), dim=-1)
    out[has] = F.normalize((1.0 - weight) * out[has] + weight * proto, dim=-1)
    return out


def loo_parts(label_vecs: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, sums: torch.Tensor,
              counts: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """For examples X (c, D) with gold Y (c, K): their cosines with the plain label
    vectors, with each label's leave-one-out example mean (the example left out of
    its own labels'), the label vectors' cosines with those means, and where such a
    mean exists; all (c, K)."""
    A = label_vecs.to(X.dtype)
    raw = X @ A.T
    G = X @ sums.T                                        # x_i . S_k
    sq = (sums * sums).sum(1)[None, :]                    # |S_k|^2
    own = torch.sqrt(torch.clamp(sq - 2 * G + 1.0, min=1e-12))   # |S_k - x_i|, x_i unit
    full = torch.sqrt(torch.clamp(sq, min=1e-12))
    proto = torch.where(Y, (G - 1.0) / own, G / full)
    aS = (A * sums).sum(1)[None, :]                       # a_k . S_k
    a_proto = torch.where(Y, (aS - raw) / own, aS / full)
    has = torch.where(Y, counts[None, :] > 1, counts[None, :] > 0)
    return raw, proto, a_proto, has


def loo_cosines(parts: Tuple[torch.Tensor, ...], weight: float) -> torch.Tensor:
    """LOO cosines (c, K) of examples with the combined vectors at ``weight``."""
    raw, proto, a_proto, has = parts
    if weight == 0.0:
        return raw
    norm = torch.sqrt(torch.clamp((1 - weight) ** 2 + weight ** 2
                                  + 2 * weight * (1 - weight) * a_proto, min=1e-12))
    return torch.where(has, ((1.0 - weight) * raw + weight * proto) / norm, raw)


def cross_entropy(cos: torch.Tensor, Y: torch.Tensor, logit_scale: float) -> np.ndarray:
    """Per-example softmax cross-entropy (c,) at the model's logit scale (the gold: the
    mean over an example's labels)."""
    logp = torch.log_softmax(cos * logit_scale, dim=1)
    Yf = Y.to(logp.dtype)
    return (-(logp * Yf).sum(1) / Yf.sum(1).clamp(min=1)).numpy()


def macro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    """Mean per-label F1 over the labels with a gold or predicted example."""
    tp = (pred & gold).sum(0).astype(float)
    den = 2 * tp + (pred & ~gold).sum(0) + (~pred & gold).sum(0)
    used = den > 0
    return float((2 * tp[used] / den[used]).mean()) if used.any() else 0.0


def best_cut(scores: np.ndarray, pos: np.ndarray) -> Tuple[float, float]:
    """(cut-off, F1): the cut-off maximising the F1 of ``scores >= cut`` against
    ``pos``, midway between consecutive distinct scores (ties: the lowest cut);
    without a positive, one above every score."""
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(pos, dtype=bool)
    order = np.argsort(-s, kind="stable")
    s_sorted, p_sorted = s[order], pos[order]
    n_pos = int(pos.sum())
    tp, fp = np.cumsum(p_sorted), np.cumsum(~p_sorted)
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]          # end of each run of ties
    tp, fp, vals = tp[last], fp[last], s_sorted[last]
    f1 = 2 * tp / np.maximum(tp + fp + n_pos, 1)
    if n_pos == 0 or f1.max() <= 0:
        return float(s.max() + 1.0), 0.0
    cuts = (vals + np.r_[vals[1:], vals[-1] - 2.0]) / 2
    j = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[-1])
    return float(cuts[j]), float(f1[j])


def fit_thresholds(L: np.ndarray, Y: np.ndarray, min_pos: int = MIN_POS) -> np.ndarray:
    """Per-label logit cut-offs (K,) from LOO logits L (n, K) and gold Y (n, K): each
    label's F1-best cut, or the pooled F1-best cut for labels with fewer than
    ``min_pos`` positives."""
    own = Y.sum(0) >= min_pos
    pooled = best_cut(L.ravel(), Y.ravel())[0] if not own.all() else np.nan
    return np.array([best_cut(L[:, k], Y[:, k])[0] if own[k] else pooled
                     for k in range(L.shape[1])])


def loo_rows(n: int, limit: int = MAX_LOO_EXAMPLES) -> np.ndarray:
    """The examples the choice scores: all, or ``limit`` evenly spaced."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def choose(label_vecs: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, logit_scale: float,
           offset: float, multi_label: bool = False, grid: Sequence[float] = GRID,
           z: float = Z, min_pos: int = MIN_POS) -> Choice:
    """The examples' weight for one label set, from its examples alone (deterministic;
    the rule is the module docstring's).

    label_vecs: (K, D) unit label vectors. X: (n, D) unit text vectors of the examples,
    Y: (n, K) their labels (:func:`stack_examples`). logit_scale (the exp'd scale),
    offset: the model's. multi_label: choose by thresholded LOO decisions and return
    the cut-offs. grid, z, min_pos: the rule's settings.
    """
    X = X.double()
    if X.shape[0] < MIN_EXAMPLES:
        return Choice(0.0, float("nan"), float("nan"), ())
    sums, counts = example_sums(X, Y)
    K = label_vecs.shape[0]
    rows = loo_rows(X.shape[0], min(MAX_LOO_EXAMPLES, max(256, MAX_LOO_CELLS // K))
                    if multi_label else MAX_LOO_EXAMPLES)
    grid = [float(w) for w in grid]

    def chunks():
        for start in range(0, len(rows), CHUNK):
            part = torch.as_tensor(rows[start:start + CHUNK])
            yield Y[part], loo_parts(label_vecs, X[part], Y[part], sums, counts)

    if multi_label:
        gold = Y[torch.as_tensor(rows)].numpy()
        curve, cuts = [], {}
        for w in grid:
            L = np.concatenate([((loo_cosines(p, w) - offset) * logit_scale).numpy()
                                for _, p in chunks()])
            cuts[w] = fit_thresholds(L, gold, min_pos)
            curve.append((w, macro_f1(L >= cuts[w][None, :], gold)))
        best = max(f for _, f in curve)
        w_star = min(w for w, f in curve if f >= best)
        scores = dict(curve)
        return Choice(w_star, scores[w_star], scores[0.0], tuple(curve),
                      thresholds=tuple(float(t) for t in cuts[w_star]))
    ce = {w: [] for w in grid}
    for gold_part, p in chunks():
        for w in grid:
            ce[w].append(cross_entropy(loo_cosines(p, w), gold_part, logit_scale))
    losses = {w: np.concatenate(parts) for w, parts in ce.items()}
    curve = tuple((w, float(losses[w].mean())) for w in grid)
    w_best = min(grid, key=lambda w: (float(losses[w].mean()), w))
    t = 0.0
    if w_best != 0.0:
        gain = losses[0.0] - losses[w_best]
        se = float(gain.std(ddof=1)) / np.sqrt(len(gain))
        t = float(gain.mean()) / se if se > 0 else (np.inf if gain.mean() > 0 else 0.0)
        if t < z:
            w_best = 0.0
    scores = dict(curve)
    return Choice(w_best, scores[w_best], scores[0.0], curve, t_stat=t)


def label_prototypes(label_vecs: torch.Tensor, example_vecs: Sequence[Optional[torch.Tensor]],
                     example_keys: Sequence[Sequence[Hashable]], logit_scale: float,
                     offset: float, multi_label: bool) -> Prototypes:
    """The :class:`Prototypes` of a label set: its unit label vectors (K, D), per label
    the unit text vectors of its examples (None for none) and their keys (token ids:
    one example under two labels is one example), the model's logit scale and offset."""
    K = label_vecs.shape[0]
    X, Y = stack_examples(example_vecs, example_keys, K)
    choice = choose(label_vecs, X, Y, logit_scale, offset, multi_label)
    sums, counts = example_sums(X, Y)
    return Prototypes(combine(label_vecs, sums, counts, choice.weight), choice)
