"""What the ``gliznet_textcat`` component sends to the model for a batch of docs:
whole docs, their windows, their sentences or ``doc.spans[key]`` spans, all in one
flat list of (text, label texts) inputs, and where each input's scores go back
(:class:`ScoringPlan`; ``aggregation.collect_scores`` reads it)."""

import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from ..model.encoding import tokenize, unread_chars, warn_unread  # noqa: F401 (unread_chars: re-exported)
from ..labels import LabelPairs
from ..settings import LongTextSettings
from .spans import doc_spans
from .windows import Target, text_of, window_overlap, window_pieces


@dataclass
class ScoredText:
    """A doc or a span and the model inputs (``first`` .. ``first + count``) it is scored from."""

    span: Optional[Span]  # None: the doc itself
    first: int
    count: int


@dataclass
class DocPlan:
    pairs: LabelPairs
    doc: Optional[ScoredText]
    spans: List[ScoredText] = field(default_factory=list)


@dataclass
class ScoringPlan:
    """Model inputs for a batch of docs and how their scores map back."""

    settings: LongTextSettings
    inputs: List[Tuple[str, List[str]]]
    docs: List[DocPlan]


def text_budget(encoder, label_texts: Sequence[str]) -> int:
    """Text tokens the encoder keeps, with these labels, of a text of any length."""
    encoder.encode([""], [list(label_texts)])  # the encoder's own errors for unusable labels
    lens = [len(ids) for ids in encoder.label_ids(list(label_texts))]
    keep, _ = encoder.plan(sys.maxsize // 4, lens)
    return int(keep)


def plan_scoring(docs: Sequence[Doc], pairs: Sequence[LabelPairs], settings: LongTextSettings,
                 encoder, where: str = "gliznet_textcat") -> ScoringPlan:
    """Model inputs for ``docs`` (each with its label pairs) under ``settings``.

    ``encoder``: the model's ``GliZNetEncoder`` (its tokenizer and length plan).
    """
    plan = ScoringPlan(settings, [], [])
    warn_unread(encoder.tokenizer, [doc.text for doc in docs], where, stacklevel=4)
    if settings.long_text == "windows":
        overlap = window_overlap(settings.window_overlap, encoder.max_length - 2, where)
    budgets: Dict[Tuple[str, ...], int] = {}
    spans_of = [doc_spans(doc, settings, where) for doc in docs]
    texts_of: Dict[int, List[str]] = {}  # docs that share one label list share its texts
    for doc, p, spans in zip(docs, pairs, spans_of):
        label_texts = texts_of.get(id(p))
        if label_texts is None:
            label_texts = texts_of[id(p)] = [t for _, t in p]
        targets: List[Target] = []
        score_doc = settings.doc_cats == "doc" or (settings.doc_cats == "spans" and not spans)
        if score_doc:
            targets.append(doc)
        targets.extend(spans)
        texts = [t.text for t in targets]  # once: a Doc builds its text from its tokens
        dp = DocPlan(p, None)
        if settings.long_text == "windows" and targets:
            key = tuple(label_texts)
            if key not in budgets:
                budgets[key] = text_budget(encoder, label_texts)
            budget = budgets[key]
            # ids only: most texts fit, and offsets cost more than the tokenizing itself;
            # window_pieces tokenizes a text that does not fit again, with offsets
            ids = tokenize(encoder.tokenizer, texts)["input_ids"]
        for i, target in enumerate(targets):
            first = len(plan.inputs)
            if settings.long_text == "windows":
                pieces = window_pieces(target, encoder.tokenizer, budget, overlap,
                                       ids_offsets=(ids[i], None) if len(ids[i]) <= budget else None,
                                       text=texts[i])
                if len(pieces) == 1:
                    plan.inputs.append((texts[i], label_texts))
                else:
                    base = target.start_char if isinstance(target, Span) else 0
                    plan.inputs.extend((text_of(texts[i], base, pc.start_char, pc.end_char), label_texts)
                                       for pc in pieces)
                n = len(pieces)
            else:
                plan.inputs.append((texts[i], label_texts))
                n = 1
            st = ScoredText(None if target is doc else target, first, n)
            if target is doc:
                dp.doc = st
            else:
                dp.spans.append(st)
        plan.docs.append(dp)
    return plan
