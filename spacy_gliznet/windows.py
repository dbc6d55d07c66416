"""Long texts and spans: token windows over a spaCy ``Doc`` for a model's token
budget, span-level scoring, and the aggregation of window or span scores.

Three layers, each testable alone:

* :func:`plan_windows` (pure): cut a sequence of units (spaCy tokens) with known
  model-token counts into windows of at most ``budget`` model tokens that overlap
  by at most ``overlap`` model tokens, preferring cuts at sentence starts. Every
  unit lies in some window; a sentence longer than the budget is split.
* :func:`aggregate` (pure numpy): one score per label from the scores of several
  windows or spans: ``max`` (a label present anywhere) or the ``mean`` of
  probabilities weighted by the model tokens each window or span reads.
* :func:`plan_scoring` / :func:`collect_scores`: what the ``gliznet_textcat``
  component sends to the model for a batch of docs (whole docs, their windows,
  their sentences or ``doc.spans[key]`` spans, all in one flat list) and how the
  scores come back to docs and spans.

The model's tokenizer counts the tokens: a text is tokenized once with character
offsets, each model token is charged to the spaCy token its first character lies
in, and every window text is tokenized again before scoring; a window that came
out longer than the budget (a tokenizer that merges across the cut) is split.
"""

import sys
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from spacy.tokens import Doc, Span

from .encoding import tokenize
from .errors import GliZNetInputError, UnreadTextWarning
from .labels import LabelPairs

LONG_TEXT_POLICIES = ("windows", "truncate")
AGGREGATIONS = ("auto", "max", "mean")
SPAN_SOURCES = (None, "sents", "spans")
DOC_CATS = ("doc", "spans", "none")
OVERLAP_FRACTION = 8  # window_overlap=None: an eighth of the window (31 of 254 tokens)

#: settings of this module, with their defaults (the component's config keys)
LONG_TEXT_DEFAULTS: Dict[str, Any] = {
    "long_text": "windows",
    "window_overlap": None,
    "aggregation": "auto",
    "span_source": None,
    "spans_key": "sc",
    "doc_cats": "doc",
}

Target = Union[Doc, Span]


# -- settings ------------------------------------------------------------------------
@dataclass(frozen=True)
class LongTextSettings:
    """How a component treats texts longer than the model and which spans it scores.

    long_text: ``"windows"`` (score overlapping windows over the whole text and
        aggregate) or ``"truncate"`` (score the first ``max_length - 2`` tokens,
        flag ``doc._.gliznet_truncated`` and warn).
    window_overlap: model tokens that consecutive windows may share; None: an
        eighth of the model's text window (31 tokens for the bundled model).
    aggregation: ``"auto"`` (``max`` for multi-label, ``mean`` for single-label),
        ``"max"`` or ``"mean"``; for windows into a text and for spans into a doc.
    span_source: None (docs only), ``"sents"`` (every sentence of ``doc.sents``)
        or ``"spans"`` (every span of ``doc.spans[spans_key]``).
    spans_key: the ``doc.spans`` key read when ``span_source="spans"``.
    doc_cats: ``"doc"`` (``doc.cats`` from the whole doc), ``"spans"``
        (aggregated from the span scores) or ``"none"`` (``doc.cats`` untouched).
    """

    long_text: str = "windows"
    window_overlap: Optional[int] = None
    aggregation: str = "auto"
    span_source: Optional[str] = None
    spans_key: str = "sc"
    doc_cats: str = "doc"

    def as_dict(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in LONG_TEXT_DEFAULTS}


def _choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in allowed or isinstance(value, bool):
        shown = ", ".join("null" if a is None else repr(a) for a in allowed)
        raise GliZNetInputError(f"{name} must be one of {shown}; got {value!r}")
    return value


def validate_settings(where: str = "gliznet_textcat", **settings: Any) -> LongTextSettings:
    """Check long-text and span settings; raise GliZNetInputError naming the
    setting and what it accepts. Missing settings take their defaults."""
    unknown = sorted(set(settings) - set(LONG_TEXT_DEFAULTS))
    if unknown:
        raise GliZNetInputError(
            f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(LONG_TEXT_DEFAULTS)}"
        )
    s = {**LONG_TEXT_DEFAULTS, **settings}
    try:
        _choice("long_text", s["long_text"], LONG_TEXT_POLICIES)
        _choice("aggregation", s["aggregation"], AGGREGATIONS)
        _choice("span_source", s["span_source"], SPAN_SOURCES)
        _choice("doc_cats", s["doc_cats"], DOC_CATS)
        overlap = s["window_overlap"]
        if overlap is not None and (isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer))
                                    or overlap < 0):
            raise GliZNetInputError(
                f"window_overlap must be null (auto) or a whole number of model tokens >= 0; "
                f"got {overlap!r}"
            )
        key = s["spans_key"]
        if not isinstance(key, str) or not key:
            raise GliZNetInputError(f"spans_key must be a non-empty string; got {key!r}")
        if s["doc_cats"] != "doc" and s["span_source"] is None:
            raise GliZNetInputError(
                f"doc_cats={s['doc_cats']!r} needs span_source 'sents' or 'spans' "
                f"(there are no span scores to aggregate or to keep instead)"
            )
    except GliZNetInputError as err:
        raise GliZNetInputError(f"{where}: {err}") from None
    if s["window_overlap"] is not None:
        s["window_overlap"] = int(s["window_overlap"])
    return LongTextSettings(**s)


def window_overlap(overlap: Optional[int], window: int, where: str = "gliznet_textcat") -> int:
    """The overlap in model tokens for a model whose text window is ``window``
    (``max_length - 2``) tokens: None gives ``window // 8``; a given overlap of
    more than half the window is refused (each window must read at least half of
    its tokens new)."""
    if overlap is None:
        return window // OVERLAP_FRACTION
    if 2 * overlap > window:
        raise GliZNetInputError(
            f"{where}: window_overlap={overlap} is more than half of the model's window of "
            f"{window} text tokens; use at most {window // 2}"
        )
    return overlap


# -- aggregation (pure numpy) --------------------------------------------------------
def resolve_aggregation(aggregation: str, multi_label: bool) -> str:
    """``auto`` -> ``max`` for multi-label scores, ``mean`` for single-label ones."""
    _choice("aggregation", aggregation, AGGREGATIONS)
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
        raise ValueError(f"aggregate needs a non-empty (rows, labels) matrix; got shape {scores.shape}")
    if method == "max":
        return scores.max(axis=0)
    if method != "mean":
        raise ValueError(f"aggregation method must be 'max' or 'mean'; got {method!r}")
    if weights is None:
        return scores.mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (scores.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be {scores.shape[0]} finite numbers >= 0; got {weights!r}")
    if w.sum() == 0:
        return scores.mean(axis=0)
    return (w[:, None] * scores).sum(axis=0) / w.sum()


# -- window planning (pure) ----------------------------------------------------------
def plan_windows(counts: Sequence[int], budget: int, overlap: int = 0,
                 boundaries: Optional[Iterable[int]] = None) -> List[Tuple[int, int]]:
    """Windows ``[(start, end), ...]`` over units ``0..len(counts)``.

    counts: model tokens of each unit (a unit longer than ``budget`` is an error:
        split it first).
    budget: most model tokens in one window.
    overlap: most model tokens that a window shares with the one before.
    boundaries: unit indices where a sentence starts (preferred cut points).

    Each window holds at most ``budget`` tokens; windows start and end strictly
    increasing, and each starts no later than the one before ends, so every unit
    lies in a window. A window is grown as far as the budget allows and then cut
    back to the last sentence start that keeps at least half of the new text it
    could read; a sentence that does not fit is cut between tokens. The next window starts
    ``overlap`` tokens back (at a sentence start inside that stretch when there is
    one; with sentences known, a window that ended on a sentence start whose last
    sentence is longer than the overlap is followed without overlap).
    """
    counts = [int(c) for c in counts]
    n = len(counts)
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    if overlap < 0 or overlap >= budget:
        raise ValueError(f"overlap must be in [0, budget), got {overlap} for budget {budget}")
    for i, c in enumerate(counts):
        if c < 0 or c > budget:
            raise ValueError(f"unit {i} has {c} tokens; each unit must have 0..{budget}")
    if n == 0:
        return []
    prefix = [0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    is_cut = [False] * (n + 1)
    use_sents = boundaries is not None
    if use_sents:
        for b in boundaries:
            if 0 < b < n:
                is_cut[b] = True
    is_cut[0] = is_cut[n] = True
    windows: List[Tuple[int, int]] = []
    start = prev_end = 0
    while True:
        end = bisect_right(prefix, prefix[start] + budget) - 1
        end = max(min(end, n), start + 1)
        if end < n and use_sents:
            new0 = max(prev_end, start)  # where this window's new text begins
            full = prefix[end] - prefix[new0]
            for b in range(end, new0, -1):
                if is_cut[b] and 2 * (prefix[b] - prefix[new0]) >= full:
                    end = b
                    break
        windows.append((start, end))
        if end == n:
            return windows
        lo = max(
            start + 1,
            bisect_left(prefix, prefix[end] - overlap),            # share <= overlap tokens
            bisect_left(prefix, prefix[end + 1] - budget),         # room for unit `end`
        )
        lo = min(lo, end)
        nxt = lo
        if use_sents:
            sent = next((i for i in range(lo, end) if is_cut[i]), None)
            if sent is not None:
                nxt = sent
            elif is_cut[end]:
                nxt = end
        prev_end, start = end, nxt


# -- spaCy level ---------------------------------------------------------------------
@dataclass
class Piece:
    """A stretch of a doc's text that is scored as one model input."""

    start_char: int
    end_char: int
    n_tokens: int  # model tokens of the text as tokenized on its own


def count_tokens(tokenizer, texts: List[str]) -> List[int]:
    """Model tokens of each text, tokenized as the encoder does (no special tokens)."""
    if not texts:
        return []
    return [len(ids) for ids in tokenize(tokenizer, texts, False)["input_ids"]]


def _units(target: Target, text: str, ids: List[int], offsets: Optional[List[Tuple[int, int]]],
           tokenizer, budget: int, use_sents: bool):
    """(start_char, end_char, model tokens) per unit of ``target`` (its spaCy tokens,
    a token longer than the budget split at model-token offsets) and the unit
    indices where sentences start. Char positions are doc positions."""
    base = target.start_char if isinstance(target, Span) else 0
    tokens = list(target)
    starts = np.array([t.idx for t in tokens], dtype=np.int64)
    if offsets is not None:
        char_starts = np.array([base + s for s, _ in offsets], dtype=np.int64)
        owner = np.clip(np.searchsorted(starts, char_starts, side="right") - 1, 0, None)
        counts = np.bincount(owner, minlength=len(tokens)).tolist()
        first_of = np.concatenate([[0], np.cumsum(counts)]).tolist()  # owner is sorted
    else:
        counts = count_tokens(tokenizer, [t.text for t in tokens])
        char_starts = owner = None
    units: List[Tuple[int, int, int]] = []
    cuts: List[int] = []
    piece = max(1, budget // 2)  # pieces of an over-long token: margin for re-tokenization
    for j, tok in enumerate(tokens):
        if use_sents and j > 0 and tok.is_sent_start:
            cuts.append(len(units))
        t0, t1 = tok.idx, tok.idx + len(tok.text)
        c = counts[j]
        if c <= budget:
            units.append((t0, t1, c))
            continue
        # one spaCy token longer than the window (a long URL, a blob): cut it by characters
        if char_starts is not None:
            inner = char_starts[first_of[j]:first_of[j + 1]].tolist()
            bounds = [t0] + [inner[k] for k in range(piece, len(inner), piece)] + [t1]
        else:
            step = max(1, (t1 - t0) * piece // c)
            bounds = list(range(t0, t1, step)) + [t1]
        bounds = sorted(set(bounds))
        sub = [text_of(text, base, a, b) for a, b in zip(bounds, bounds[1:])]
        for (a, b), n_sub in zip(zip(bounds, bounds[1:]), count_tokens(tokenizer, sub)):
            # min(): one character of more than `budget` tokens is left to the encoder,
            # which cuts and flags it (doc._.gliznet_truncated), never silently
            units.extend((x, y, min(m, budget))
                         for x, y, m in _split_chars(text, base, a, b, n_sub, tokenizer, budget))
    return units, cuts


def text_of(text: str, base: int, start_char: int, end_char: int) -> str:
    """The text between two doc character positions, from ``text``: the text of a
    doc or span that starts at doc position ``base`` (slicing it costs the length
    of the piece; ``doc.text`` would rebuild the whole text from every token)."""
    return text[start_char - base:end_char - base]


def _split_chars(text: str, base: int, a: int, b: int, n: int, tokenizer,
                 budget: int) -> List[Tuple[int, int, int]]:
    """Character pieces of ``[a, b)`` with at most ``budget`` model tokens each."""
    if n <= budget or b - a <= 1:
        return [(a, b, n)]
    mid = (a + b) // 2
    left, right = count_tokens(tokenizer, [text_of(text, base, a, mid), text_of(text, base, mid, b)])
    return _split_chars(text, base, a, mid, left, tokenizer, budget) + \
        _split_chars(text, base, mid, b, right, tokenizer, budget)


def window_pieces(target: Target, tokenizer, budget: int, overlap: int,
                  ids_offsets=None, text: Optional[str] = None) -> List[Piece]:
    """The texts to score for ``target`` (a Doc or a Span) under the windows policy.

    A text of at most ``budget`` model tokens is one piece, its whole text (so it
    scores exactly as without windows). A longer one is cut into windows of spaCy
    tokens (:func:`plan_windows`), at sentence starts when the doc has sentence
    boundaries; every window text is tokenized again and split further if it came
    out longer than ``budget``. ``text``: ``target.text`` if already at hand
    (building a Doc's text walks its tokens).
    """
    text = target.text if text is None else text
    if ids_offsets is None:
        enc = tokenize(tokenizer, [text], bool(getattr(tokenizer, "is_fast", False)))
        ids = enc["input_ids"][0]
        offsets = enc["offset_mapping"][0] if "offset_mapping" in enc else None
    else:
        ids, offsets = ids_offsets
    base = target.start_char if isinstance(target, Span) else 0
    if len(ids) <= budget:
        return [Piece(base, base + len(text), len(ids))]
    doc = target.doc if isinstance(target, Span) else target
    use_sents = doc.has_annotation("SENT_START")
    units, cuts = _units(target, text, ids, offsets, tokenizer, budget, use_sents)
    overlap = min(overlap, budget // 2)  # a budget cut short by many labels (packed models)
    spans = plan_windows([u[2] for u in units], budget, overlap, cuts if use_sents else None)
    pieces = [(units[a][0], units[b - 1][1]) for a, b in spans]
    out: List[Piece] = []
    counts = count_tokens(tokenizer, [text_of(text, base, a, b) for a, b in pieces])
    unit_starts = [u[0] for u in units]
    for (a, b), n in zip(pieces, counts):
        out.extend(Piece(x, y, m) for x, y, m in _fit(text, base, a, b, n, tokenizer, budget, unit_starts))
    return out


def _fit(text: str, base: int, a: int, b: int, n: int, tokenizer, budget: int,
         unit_starts: Sequence[int]) -> List[Tuple[int, int, int]]:
    """Split the window ``[a, b)`` (chars) in two at a unit start until each part fits
    (a single character that does not fit is left to the encoder, which flags it);
    ``unit_starts``: the sorted start characters of the units."""
    if n <= budget or b - a <= 1:
        return [(a, b, n)]
    lo, hi = bisect_right(unit_starts, a), bisect_left(unit_starts, b)  # units starting in (a, b)
    mid = unit_starts[(lo + hi) // 2] if hi > lo else (a + b) // 2
    if mid <= a or mid >= b:
        mid = (a + b) // 2
    left = text_of(text, base, a, mid).rstrip()
    right_start = mid
    l_n, r_n = count_tokens(tokenizer, [left, text_of(text, base, right_start, b)])
    return _fit(text, base, a, a + len(left), l_n, tokenizer, budget, unit_starts) + \
        _fit(text, base, right_start, b, r_n, tokenizer, budget, unit_starts)


# -- scoring a batch of docs ---------------------------------------------------------
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


def doc_spans(doc: Doc, settings: LongTextSettings, where: str = "gliznet_textcat") -> List[Span]:
    """The spans of ``doc`` that ``settings.span_source`` names."""
    if settings.span_source == "sents":
        if len(doc) == 0:
            return []
        if not doc.has_annotation("SENT_START"):
            raise GliZNetInputError(
                f"{where}: span_source='sents' needs sentence boundaries, and this doc has none. "
                f"Add a 'sentencizer', 'senter' or 'parser' before {where!r} "
                f"(nlp.add_pipe('sentencizer', before={where!r}))"
            )
        return list(doc.sents)
    if settings.span_source == "spans":
        key = settings.spans_key
        if key not in doc.spans:
            raise GliZNetInputError(
                f"{where}: span_source='spans' reads doc.spans[{key!r}], which this doc does not "
                f"have (its keys: {sorted(doc.spans.keys())}); set spans_key or fill the group "
                f"(an empty group is fine)"
            )
        return [span for span in doc.spans[key] if len(span)]  # an empty span has no text to score
    return []


def unread_chars(tokenizer, text: str) -> int:
    """Characters of ``text`` in words longer than a WordPiece tokenizer reads
    (``max_input_chars_per_word``, 100 for BERT): each such word becomes one unknown
    token, whatever it holds. 0 for other tokenizers."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    limit = getattr(getattr(backend, "model", None), "max_input_chars_per_word", None)
    if not limit or len(text) <= limit or not any(len(w) > limit for w in text.split()):
        return 0
    if backend.normalizer is not None:
        text = backend.normalizer.normalize_str(text)
    words = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer else [(text, None)]
    return sum(len(w) for w, _ in words if len(w) > limit)


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
    unread = [unread_chars(encoder.tokenizer, doc.text) for doc in docs]
    if any(unread):
        warnings.warn(
            f"{where}: {sum(1 for n in unread if n)} text(s) hold {sum(unread)} characters in runs "
            f"longer than the tokenizer reads as one word (no spaces or punctuation); each run "
            f"reaches the model as one unknown token, so its content does not change the scores",
            UnreadTextWarning, stacklevel=3)
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
            fast = bool(getattr(encoder.tokenizer, "is_fast", False))
            enc = tokenize(encoder.tokenizer, texts, fast)
            offsets = enc["offset_mapping"] if fast else [None] * len(targets)
        for i, target in enumerate(targets):
            first = len(plan.inputs)
            if settings.long_text == "windows":
                pieces = window_pieces(target, encoder.tokenizer, budget, overlap,
                                       ids_offsets=(enc["input_ids"][i], offsets[i]), text=texts[i])
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


@dataclass
class DocScores:
    """What :func:`collect_scores` gives back for one doc."""

    cats: Optional[Dict[str, float]]  # None: leave doc.cats alone
    spans: List[Tuple[Span, Dict[str, float]]]
    truncated: bool
    n_windows: Optional[int]  # inputs the doc's own cats were aggregated from


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
            span_out.append((st.span, dict(zip(keys, map(float, values)))))
            span_rows.append(values)
            span_sizes.append(size)
        cats = None
        n_windows = None
        if dp.doc is not None:
            values, cut, _ = score(dp.doc)
            truncated |= cut
            cats = dict(zip(keys, map(float, values)))
            n_windows = dp.doc.count
        elif plan.settings.doc_cats == "spans" and span_rows:
            cats = dict(zip(keys, map(float, aggregate(np.stack(span_rows), method, span_sizes))))
        out.append(DocScores(cats, span_out, truncated, n_windows))
    return out
