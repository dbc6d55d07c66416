"""What the ``gliznet_textcat`` component sends to the model for a batch of docs:
whole docs, their windows, their sentences or ``doc.spans[key]`` spans, all in one
flat list of (text, label texts) inputs, and where each input's scores go back
(:class:`ScoringPlan`; ``aggregation.collect_scores`` reads it). A batch's texts are
tokenized in one call, and the layer reads their ids from the plan."""

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
    """Model inputs for a batch of docs and how their scores map back.

    inputs: (text, label texts) of each model input.
    token_ids: per input, its text's token ids where planning tokenized it already
        (None: not known); the layer reads them instead of tokenizing again.
    """

    settings: LongTextSettings
    inputs: List[Tuple[str, List[str]]]
    docs: List[DocPlan]
    token_ids: List[Optional[List[int]]] = field(default_factory=list)

    def layer_inputs(self) -> List[Tuple[str, List[str], Optional[List[int]]]]:
        """What the Thinc layer reads: ``(text, label texts, token ids or None)`` per input."""
        ids = self.token_ids or [None] * len(self.inputs)
        return [(text, labels, i) for (text, labels), i in zip(self.inputs, ids)]


def text_budget(encoder, label_texts: Sequence[str]) -> int:
    """Text tokens the encoder keeps, with these labels, of a text of any length."""
    # the encoder's own errors for unusable labels (an empty text: nothing to tokenize)
    encoder.encode([""], [list(label_texts)], text_ids=[[]])
    lens = [len(ids) for ids in encoder.label_ids(list(label_texts))]
    keep, _ = encoder.plan(sys.maxsize // 4, lens)
    return int(keep)


def plan_scoring(docs: Sequence[Doc], pairs: Sequence[LabelPairs], settings: LongTextSettings,
                 encoder, where: str = "gliznet_textcat") -> ScoringPlan:
    """Model inputs for ``docs`` (each with its label pairs) under ``settings``.

    ``encoder``: the model's ``GliZNetEncoder`` (its tokenizer and length plan).
    Every text to score (docs and spans) is tokenized in one call; a text that fits
    the model goes to it with those ids, and only a longer one is tokenized again
    (with character offsets, to cut it into windows).
    """
    plan = ScoringPlan(settings, [], [], [])
    doc_texts = [doc.text for doc in docs]  # once: a Doc builds its text from its tokens
    warn_unread(encoder.tokenizer, doc_texts, where, stacklevel=4)
    windows = settings.long_text == "windows"
    if windows:
        overlap = window_overlap(settings.window_overlap, encoder.max_length - 2, where)
    # every doc's targets (the doc itself and/or its spans) and their texts, in one list
    targets_of: List[List[Target]] = []
    texts: List[str] = []
    for doc, text in zip(docs, doc_texts):
        spans = doc_spans(doc, settings, where)
        score_doc = settings.doc_cats == "doc" or (settings.doc_cats == "spans" and not spans)
        targets: List[Target] = [doc] if score_doc else []
        targets.extend(spans)
        targets_of.append(targets)
        texts.extend(text if t is doc else text[t.start_char:t.end_char] for t in targets)
    # ids only: most texts fit, and offsets cost more than the tokenizing itself
    ids = tokenize(encoder.tokenizer, texts)["input_ids"] if texts else []
    budgets: Dict[Tuple[str, ...], int] = {}
    texts_of: Dict[int, List[str]] = {}  # docs that share one label list share its texts
    label_texts_of: List[List[str]] = []
    budget_of: List[int] = []  # per text: the text tokens its labels leave (windows)
    for p, targets in zip(pairs, targets_of):
        label_texts = texts_of.get(id(p))
        if label_texts is None:
            label_texts = texts_of[id(p)] = [t for _, t in p]
        label_texts_of.append(label_texts)
        if windows and targets:
            key = tuple(label_texts)
            if key not in budgets:
                budgets[key] = text_budget(encoder, label_texts)
            budget_of.extend([budgets[key]] * len(targets))
    # the texts longer than the model, tokenized again with character offsets (to cut
    # them into windows): all of them in one call
    long_rows = [i for i, b in enumerate(budget_of) if len(ids[i]) > b] if windows else []
    offsets = {}
    if long_rows:
        fast = bool(getattr(encoder.tokenizer, "is_fast", False))
        enc = tokenize(encoder.tokenizer, [texts[i] for i in long_rows], fast)
        for j, i in enumerate(long_rows):
            offsets[i] = (enc["input_ids"][j], enc["offset_mapping"][j] if fast else None)
    k = 0  # position in `texts` and `ids`
    for doc, p, label_texts, targets in zip(docs, pairs, label_texts_of, targets_of):
        dp = DocPlan(p, None)
        for target in targets:
            first = len(plan.inputs)
            text, text_ids = texts[k], ids[k]
            if k not in offsets:
                plan.inputs.append((text, label_texts))
                plan.token_ids.append(text_ids)
                n = 1
            else:  # longer than the model: windows
                pieces = window_pieces(target, encoder.tokenizer, budget_of[k], overlap,
                                       ids_offsets=offsets[k], text=text)
                base = target.start_char if isinstance(target, Span) else 0
                for pc in pieces:
                    plan.inputs.append((text_of(text, base, pc.start_char, pc.end_char), label_texts))
                    plan.token_ids.append(None)
                n = len(pieces)
            k += 1
            st = ScoredText(None if target is doc else target, first, n)
            if target is doc:
                dp.doc = st
            else:
                dp.spans.append(st)
        plan.docs.append(dp)
    return plan
