"""Long texts: token windows over a spaCy ``Doc`` or ``Span`` for a model's token budget.

* :func:`plan_windows` (pure): cut a sequence of units (spaCy tokens) with known
  model-token counts into windows of at most ``budget`` model tokens that overlap
  by at most ``overlap`` model tokens, preferring cuts at sentence starts. Every
  unit lies in some window; a sentence longer than the budget is split.
* :func:`window_pieces`: the windows of one doc or span, counted by the model's
  tokenizer: a text is tokenized once with character offsets, each model token is
  charged to the spaCy token its first character lies in, and every window text is
  tokenized again before scoring; a window that came out longer than the budget (a
  tokenizer that merges across the cut) is split.

What a batch of docs sends to the model is planned in ``planning.py``; how window
scores come back together, in ``aggregation.py``.
"""

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from spacy.attrs import IDX, LENGTH, SENT_START
from spacy.tokens import Doc, Span

from ..model.encoding import tokenize
from ..errors import GliZNetInputError

OVERLAP_FRACTION = 8  # window_overlap=None: an eighth of the window (31 of 254 tokens)

Target = Union[Doc, Span]


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
        raise GliZNetInputError(f"budget must be >= 1, got {budget}")
    if overlap < 0 or overlap >= budget:
        raise GliZNetInputError(f"overlap must be in [0, budget), got {overlap} for budget {budget}")
    for i, c in enumerate(counts):
        if c < 0 or c > budget:
            raise GliZNetInputError(f"unit {i} has {c} tokens; each unit must have 0..{budget}")
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
    indices where sentences start. Char positions are doc positions. The tokens'
    positions and sentence starts are read as arrays (``Doc.to_array``), not token by
    token."""
    base = target.start_char if isinstance(target, Span) else 0
    doc = target.doc if isinstance(target, Span) else target
    lo, hi = (target.start, target.end) if isinstance(target, Span) else (0, len(doc))
    if hi <= lo:
        return [], []
    table = doc.to_array([IDX, LENGTH, SENT_START])[lo:hi].astype(np.int64)
    starts, ends = table[:, 0], table[:, 0] + table[:, 1]
    n = len(starts)
    if offsets is not None:
        char_starts = base + np.asarray(offsets, dtype=np.int64).reshape(-1, 2)[:, 0]
        owner = np.clip(np.searchsorted(starts, char_starts, side="right") - 1, 0, None)
        counts = np.bincount(owner, minlength=n)
        first_of = np.concatenate([[0], np.cumsum(counts)]).tolist()  # owner is sorted
    else:
        counts = np.asarray(count_tokens(tokenizer, [text_of(text, base, a, b)
                                                     for a, b in zip(starts.tolist(), ends.tolist())]),
                            dtype=np.int64)
        char_starts = None
    sent_start = table[:, 2] == 1
    sent_start[0] = False  # the target's first token starts its first unit anyway
    if not (counts > budget).any():  # the common case: one unit per token
        units = list(zip(starts.tolist(), ends.tolist(), counts.tolist()))
        return units, (np.nonzero(sent_start)[0].tolist() if use_sents else [])
    units: List[Tuple[int, int, int]] = []
    cuts: List[int] = []
    piece = max(1, budget // 2)  # pieces of an over-long token: margin for re-tokenization
    for j, (t0, t1, c, is_start) in enumerate(zip(starts.tolist(), ends.tolist(), counts.tolist(),
                                                   sent_start.tolist())):
        if use_sents and is_start:
            cuts.append(len(units))
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


