"""What the ``gliznet_textcat`` pipe writes on a doc from its scores:

- ``doc.cats``: the ``cats_top_k`` best labels' scores (every label when None);
- ``doc._.gliznet_predicted_labels``: the labels the doc gets, best first (decided
  from every label's score, ``decisions.predicted_labels``);
- ``span._.gliznet_cats``: each scored span's scores, and ``doc.spans[decided_spans_key]``:
  one span per label decided for each scored span (for displaCy's span style);
- ``doc._.gliznet_windows`` (the model inputs the doc's scores came from) and
  ``doc._.gliznet_truncated`` (whether its text was cut to fit the model).
"""

from dataclasses import replace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from spacy.tokens import Doc, Span

from ..longtext.aggregation import DocScores
from .decisions import predicted_labels, predicted_labels_of_rows, top_k_cats
from .runtime_settings import CallSettings
from ..labels import LabelPairs
from ..settings import DecisionSettings, stats_for_labels


def write_annotations(docs: Iterable[Doc], per_doc: Sequence[DocScores],
                      settings: CallSettings,
                      pairs: Optional[Sequence[LabelPairs]] = None) -> int:
    """Write each doc's scores on it (see the module docstring).

    docs: the docs scored, in the order of ``per_doc``.
    per_doc: their scores (``aggregation.collect_scores``).
    settings: the call's settings (mode, decisions, ``cats_top_k``, the spans' key).
    pairs: each doc's labels as (key, text the model read); under the ``"zscore"`` rule
        a label's ``label_stats`` apply only when it was read as the text they were
        computed for (``settings.stats_texts``): a changed description drops them.
    Returns how many of the docs had text cut to fit the model.
    """
    multi = settings.multi_label
    top_k, key = settings.cats_top_k, settings.long_text.decided_spans_key
    truncated = 0
    decisions_of: List[DecisionSettings] = []  # per doc
    per_labels: Dict[int, DecisionSettings] = {}  # per label set: the statistics that apply
    for i in range(len(per_doc)):
        decision = settings.decision
        if decision.decision_rule == "zscore" and pairs is not None:
            if id(pairs[i]) not in per_labels:
                per_labels[id(pairs[i])] = replace(decision, label_stats=stats_for_labels(
                    decision.label_stats, settings.stats_texts, pairs[i]))
            decision = per_labels[id(pairs[i])]
        decisions_of.append(decision)
    # every doc's decision at once: the docs of one label list and one decision setting as
    # one (docs, labels) matrix; first: NaN scores raise before anything is written
    rows = [_score_row(out) for out in per_doc]
    decided: List[Optional[List[str]]] = [None] * len(per_doc)
    for decision in {id(d): d for d in decisions_of}.values():
        part = predicted_labels_of_rows(
            [row if decisions_of[i] is decision else None for i, row in enumerate(rows)],
            multi_label=multi, settings=decision)
        for i, labels in enumerate(part):
            if labels is not None:
                decided[i] = labels
    for doc, out, predicted, decision in zip(docs, per_doc, decided, decisions_of):
        if out.cats is not None:
            doc.cats.update(out.cats if top_k is None else top_k_cats(out.cats, top_k))
            doc._.gliznet_predicted_labels = predicted
        for span, cats in out.spans:
            span._.gliznet_cats = cats
        write_span_labels(doc, out.spans, key, multi, decision)
        doc._.gliznet_windows = out.n_windows
        doc._.gliznet_truncated = out.truncated
        truncated += out.truncated
    return truncated


def _score_row(out: DocScores) -> Optional[Tuple[List[str], np.ndarray]]:
    """A doc's (label keys, scores) for the batch decisions; None: no cats to decide."""
    if out.cats is None:
        return None
    if out.keys is not None and out.values is not None:
        return out.keys, out.values  # the keys list is shared by the docs of one label list
    return list(out.cats), np.fromiter(out.cats.values(), dtype=np.float64, count=len(out.cats))


def write_span_labels(doc: Doc, spans: Sequence[Tuple[Span, Dict[str, float]]],
                      key: Optional[str], multi_label: bool, settings: DecisionSettings) -> None:
    """``doc.spans[key]``: for each scored span (with its scores), one span per label
    decided for it under ``settings``, labelled with that label; nothing when ``key``
    is None or no span was scored."""
    if key is None or not spans:
        return
    group: List[Span] = []
    for span, cats in spans:
        for label in predicted_labels(list(cats), list(cats.values()),
                                      multi_label=multi_label, settings=settings):
            group.append(Span(doc, span.start, span.end, label=label))
    doc.spans[key] = group
