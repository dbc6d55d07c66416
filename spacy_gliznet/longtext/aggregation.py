"""Scores back together: windows into a text, spans into a doc (pure numpy), and
the per-doc and per-span probabilities of a :class:`planning.ScoringPlan`."""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from spacy.tokens import Span

from ..errors import GliZNetInputError
from .planning import ScoredText, ScoringPlan
from ..settings import AGGREGATIONS, choice


def resolve_aggregation(aggregation: str, multi_label: bool) -> str:
    """``auto`` -> ``max`` for multi-label scores, ``mean`` for single-label ones."""
    choice("aggregation", aggregation, AGGREGATIONS)
    if aggregation == "auto":
        return "max" if multi_label else "mean"
    return aggregation


def aggregate(scores: np.ndarray, method: str, weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """One score per label from a (windows or spans, labels) matrix of probabilities.

    ``max``: the highest score of each label (multi-label: a label present anywhere).
    ``mean``: the average, weighted by ``weights`` (the model tokens each row read;
    None or all zero: equal weights). A mean of softmax rows still sums to 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] == 0:
        raise GliZNetInputError(f"aggregate needs a non-empty (rows, labels) matrix; got shape {scores.shape}")
    if method == "max":
        return scores.max(axis=0)
    if method != "mean":
        raise GliZNetInputError(f"aggregation method must be 'max' or 'mean'; got {method!r}")
    if weights is None:
        return scores.mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (scores.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise GliZNetInputError(f"weights must be {scores.shape[0]} finite numbers >= 0; got {weights!r}")
    if w.sum() == 0:
        return scores.mean(axis=0)
    return (w[:, None] * scores).sum(axis=0) / w.sum()


@dataclass
class DocScores:
    """What :func:`collect_scores` gives back for one doc.

    cats: label key -> probability (None: leave doc.cats alone).
    spans: each scored span and its cats.
    truncated: whether a text the doc was scored from was cut.
    n_windows: inputs the doc's own cats were aggregated from.
    keys, values: ``cats`` as its keys (one list object shared by the docs of one
        label list) and a float64 array of its values, for decisions over many docs.
    """

    cats: Optional[Dict[str, float]]
    spans: List[Tuple[Span, Dict[str, float]]]
    truncated: bool
    n_windows: Optional[int]
    keys: Optional[List[str]] = None
    values: Optional[np.ndarray] = None


def collect_scores(plan: ScoringPlan, encoded: Sequence[Any], logits: Sequence[np.ndarray],
                   activate: Callable[[np.ndarray], np.ndarray], multi_label: bool) -> List[DocScores]:
    """Probabilities per doc and per span from the logits of ``plan.inputs``.

    ``encoded``: the encoder's ``EncodedInput`` of each input (token counts and
    whether its text was cut); ``activate``: logits -> probabilities.
    """
    method = resolve_aggregation(plan.settings.aggregation, multi_label)
    probs = [np.asarray(activate(np.asarray(lg)), dtype=np.float64) for lg in logits]

    def score(st: ScoredText) -> Tuple[np.ndarray, bool, int]:
        rows = list(range(st.first, st.first + st.count))
        cut = any(encoded[r].text_truncated for r in rows)
        used = [int(encoded[r].n_text_tokens_used) for r in rows]
        if st.count == 1:
            return probs[rows[0]], cut, int(encoded[rows[0]].n_text_tokens)
        return aggregate(np.stack([probs[r] for r in rows]), method, used), cut, sum(used)

    out: List[DocScores] = []
    keys_of: Dict[int, List[str]] = {}  # docs that share one label list share its keys
    for dp in plan.docs:
        keys = keys_of.get(id(dp.pairs))
        if keys is None:
            keys = keys_of[id(dp.pairs)] = [k for k, _ in dp.pairs]
        truncated = False
        span_out: List[Tuple[Span, Dict[str, float]]] = []
        span_rows, span_sizes = [], []
        for st in dp.spans:
            values, cut, size = score(st)
            truncated |= cut
            span_out.append((st.span, dict(zip(keys, values.tolist()))))
            span_rows.append(values)
            span_sizes.append(size)
        values = None
        n_windows = None
        if dp.doc is not None:
            values, cut, _ = score(dp.doc)
            truncated |= cut
            n_windows = dp.doc.count
        elif plan.settings.doc_cats == "spans" and span_rows:
            values = aggregate(np.stack(span_rows), method, span_sizes)
        # one C-level conversion per doc (not a float() per label: 10,000 labels are common)
        cats = None if values is None else dict(zip(keys, values.tolist()))
        out.append(DocScores(cats, span_out, truncated, n_windows,
                             None if values is None else keys, values))
    return out
