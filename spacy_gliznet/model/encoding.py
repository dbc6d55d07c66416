"""Input encoding for GliZNet: token ids, label masks and the pass plan
(collation.py pads them into the tensors a model reads).

This module owns the length policy and knows nothing of spaCy. A text and its
labels become one or more *passes*; each pass is one encoder input sequence:

* ``"gliznet"`` template (this project's):
  ``[CLS] text [LAB] l1 [LAB] l2 ... [LAB] lK [SEP]``
* ``"reference"`` template (checkpoints of the original implementation):
  ``[CLS] text [SEP] l1 [LAB] l2 [LAB] ... lK [LAB]``

Length policy: when the whole sequence does not fit in ``max_length`` tokens,
the text is cut first (but kept at no less than half of the budget, or as much
as the longest label leaves room for); the labels are then packed, whole and in
order, into as many passes as needed, each pass repeating the (possibly cut)
text. No label is ever dropped or cut. A label that cannot fit in a sequence
even with an empty text raises :class:`LabelTooLongError`.
"""

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .config import LAB_TOKEN, TEMPLATES
from ..errors import GliZNetConfigError, GliZNetInputError, LabelTooLongError, UnreadTextWarning
from ..labels import check_unicode, short_repr


@lru_cache(maxsize=8)
def _long_run(limit: int) -> "re.Pattern[str]":
    """A run of more than ``limit`` non-space characters (a "word" of ``str.split``)."""
    return re.compile(r"\S{%d,}" % (limit + 1))


def unread_chars(tokenizer, text: str) -> int:
    """Characters of ``text`` in words longer than a WordPiece tokenizer reads
    (``max_input_chars_per_word``, 100 for BERT): each such word becomes one unknown
    token, whatever it holds. 0 for other tokenizers."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    limit = getattr(getattr(backend, "model", None), "max_input_chars_per_word", None)
    if not limit or len(text) <= limit or not _long_run(limit).search(text):
        return 0
    if backend.normalizer is not None:
        text = backend.normalizer.normalize_str(text)
    words = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer else [(text, None)]
    return sum(len(w) for w, _ in words if len(w) > limit)


def warn_unread(tokenizer, texts: Sequence[str], where: str, stacklevel: int = 3) -> int:
    """Warn (:class:`UnreadTextWarning`) when ``texts`` hold runs of characters the
    tokenizer reads as one unknown token (:func:`unread_chars`); every path that reads
    texts (the pipe, ``predict_batch``, training and adapt) calls it. Returns how many
    texts hold such runs."""
    unread = [unread_chars(tokenizer, t) for t in texts]
    n = sum(1 for u in unread if u)
    if n:
        warnings.warn(
            f"{where}: {n} text(s) hold {sum(unread)} characters in runs longer than the "
            f"tokenizer reads as one word (no spaces or punctuation); each run reaches the model "
            f"as one unknown token, so its content does not change the scores",
            UnreadTextWarning, stacklevel=stacklevel)
    return n


@dataclass
class EncodedPass:
    """One encoder input sequence.

    input_ids: token ids of the whole sequence.
    label_tokens: per token, 0 for text/special tokens and k (1-based) for tokens
        of the k-th label of this pass.
    label_markers: per token, k at the ``[LAB]`` token that belongs to the k-th
        label of this pass, else 0.
    text_mask: per token, 1 for ``[CLS]`` and text tokens, else 0.
    example: index of the input (text + labels) this pass belongs to.
    slots: for the k-th label of this pass, its index in the input's label list.
    """

    input_ids: List[int]
    label_tokens: List[int]
    label_markers: List[int]
    text_mask: List[int]
    example: int
    slots: List[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class LabelSide:
    """The label side of inputs whose labels are encoded apart from their text
    (``separate_blocks``): built once per distinct label list and shared by every
    input that has it, so that a batch with 10,000 labels costs one label
    plan, not one per text.

    label_ids: token ids of each label.
    blocks: per label, the sequence the model reads for it: ``[LAB]`` + its
        tokens (``"gliznet"`` template) or its tokens + ``[LAB]`` (``"reference"``).
    marker: position of ``[LAB]`` within each block (0, or -1 for the last).
    plan: the labels grouped into passes (label indices per pass).
    """

    label_ids: Tuple[Tuple[int, ...], ...]
    blocks: Tuple[Tuple[int, ...], ...]
    marker: int
    plan: Tuple[Tuple[int, ...], ...]


class EncodedInput:
    """The encoding of one text with its labels.

    n_labels: number of labels scored.
    n_text_tokens: tokens of the full text.
    n_text_tokens_used: tokens of the text that the passes contain.
    passes: the encoder inputs; more than one when the labels needed it.
    text_ids, label_side: for an encoder with ``separate_blocks``, ``[CLS]`` +
        the text tokens used, and the (shared) :class:`LabelSide`; the model
        reads these, and ``passes`` are built only when asked for.
    """

    def __init__(self, n_labels: int, n_text_tokens: int, n_text_tokens_used: int,
                 passes: Optional[List[EncodedPass]] = None, *,
                 text_ids: Optional[List[int]] = None, label_side: Optional[LabelSide] = None,
                 make_passes: Optional[Callable[[], List[EncodedPass]]] = None) -> None:
        self.n_labels = n_labels
        self.n_text_tokens = n_text_tokens
        self.n_text_tokens_used = n_text_tokens_used
        self.text_ids = text_ids
        self.label_side = label_side
        self._passes = passes if passes is not None else (None if make_passes else [])
        self._make_passes = make_passes

    @property
    def passes(self) -> List[EncodedPass]:
        if self._passes is None:
            self._passes = self._make_passes()
        return self._passes

    @property
    def n_passes(self) -> int:
        """Encoder passes (without building them for a separate-blocks input)."""
        if self._passes is None and self.label_side is not None:
            return len(self.label_side.plan)
        return len(self.passes)

    @property
    def text_truncated(self) -> bool:
        return self.n_text_tokens_used < self.n_text_tokens

    def __repr__(self) -> str:
        return (f"EncodedInput(n_labels={self.n_labels}, n_text_tokens={self.n_text_tokens}, "
                f"n_text_tokens_used={self.n_text_tokens_used}, n_passes={self.n_passes})")


def tokenize(tokenizer, texts: List[str], offsets: bool = False):
    """The tokenizer's ids (and character offsets, if asked) of texts, without
    special tokens or truncation. ``split_special_tokens``: a literal "[LAB]" or
    "[CLS]" in user text is text, never a control token."""
    return tokenizer(
        texts,
        add_special_tokens=False,
        split_special_tokens=True,
        truncation=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        return_offsets_mapping=offsets,
        verbose=False,
    )


class GliZNetEncoder:
    """Turns (text, labels) into encoder passes for one tokenizer.

    tokenizer: a Hugging Face tokenizer that contains the ``[LAB]`` token.
    max_length: maximum sequence length in tokens, special tokens included.
    template: ``"gliznet"`` or ``"reference"`` (see module docstring).
    lab_token: the label marker token.
    separate_blocks: the model encodes the text and each label block as
        sequences of their own (``label_attention="isolated"``): the text then
        keeps up to ``max_length - 2`` tokens whatever the labels, so its cut
        never depends on the label set, and passes only group labels (their
        label blocks fill at most ``max_length - 2`` tokens each).
    """

    def __init__(
        self,
        tokenizer,
        max_length: int,
        template: str = "gliznet",
        lab_token: str = LAB_TOKEN,
        separate_blocks: bool = False,
    ) -> None:
        if template not in TEMPLATES:
            raise GliZNetConfigError(f"Unknown template {template!r}; expected one of {TEMPLATES}")
        if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
            raise GliZNetConfigError(
                "GliZNet needs a tokenizer with a CLS (or BOS) and a SEP (or EOS) token"
            )
        lab_id = tokenizer.convert_tokens_to_ids(lab_token)
        if lab_id is None or lab_id == tokenizer.unk_token_id:
            raise GliZNetConfigError(f"The tokenizer has no {lab_token!r} token")
        if max_length < 8:
            raise GliZNetConfigError(f"max_length must be at least 8, got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.template = template
        self.separate_blocks = bool(separate_blocks)
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.lab_id = int(lab_id)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else 0)
        self._label_cache: Dict[str, Tuple[int, ...]] = {}

    # -- tokenization -----------------------------------------------------
    def _tokenize(self, texts: List[str]) -> List[List[int]]:
        if not texts:
            return []
        return [list(ids) for ids in tokenize(self.tokenizer, texts)["input_ids"]]

    def _known_or_tokenized(self, texts: Sequence[str],
                            known: Optional[Sequence[Optional[Sequence[int]]]]) -> List[List[int]]:
        """Token ids of each text: ``known[i]`` where given, the others in one call."""
        if known is None:
            return self._tokenize(list(texts))
        missing = [i for i, ids in enumerate(known) if ids is None]
        out = [ids if isinstance(ids, list) or ids is None else list(ids) for ids in known]
        for i, ids in zip(missing, self._tokenize([texts[i] for i in missing])):
            out[i] = ids
        return out

    def label_ids(self, labels: Sequence[str]) -> List[Tuple[int, ...]]:
        """Token ids of each label, cached across calls. Two labels of one set that
        read the same to the model (one token sequence after the tokenizer's
        normalisation: case for an uncased tokenizer, surrounding spaces, control
        characters) are refused: the model cannot tell them apart, so they would get
        the same score."""
        missing = [lab for lab in dict.fromkeys(labels) if lab not in self._label_cache]
        for lab, ids in zip(missing, self._tokenize(missing)):
            if not ids:
                raise GliZNetInputError(
                    f"Label {short_repr(lab)} produced no tokens: the tokenizer drops all of its "
                    f"characters (control, zero-width or unknown characters)"
                )
            self._label_cache[lab] = tuple(ids)
        out = [self._label_cache[lab] for lab in labels]
        if len(set(out)) < len(set(labels)):
            seen: Dict[Tuple[int, ...], str] = {}
            for lab, ids in zip(labels, out):
                other = seen.setdefault(ids, lab)
                if other != lab:
                    raise GliZNetInputError(
                        f"Labels {short_repr(other)} and {short_repr(lab)} read the same to the "
                        f"model (the same tokens after its tokenizer's normalisation of case, "
                        f"spaces and control characters), so they would always get the same "
                        f"score: keep one, or give them descriptions that differ")
        return out

    def max_label_tokens(self) -> int:
        """Largest number of tokens one label may have."""
        # [CLS] + [SEP] + [LAB] + at least one text token
        return self.max_length - 4

    # -- planning ------------------------------------------------------------
    def plan(self, n_text: int, label_lens: Sequence[int],
             labels: Optional[Sequence[str]] = None) -> Tuple[int, List[List[int]]]:
        """Decide how many text tokens to keep and how to split labels into passes.

        n_text: number of text tokens.
        label_lens: tokens of each label (without its [LAB] marker).
        labels: the labels themselves, to name one that is too long (else its index).
        Returns (text tokens kept, list of passes as lists of label indices).
        Raises LabelTooLongError for a label that cannot fit in a sequence.
        """
        avail = self.max_length - 2  # [CLS] and [SEP]
        blocks = [n + 1 for n in label_lens]  # each label carries one [LAB]
        limit = self.max_label_tokens()
        for i, n in enumerate(label_lens):
            if n > limit:
                name = short_repr(labels[i]) if labels is not None else str(i)
                raise LabelTooLongError(
                    f"Label {name} has {n} tokens; at most {limit} fit in the model's "
                    f"maximum length of {self.max_length} tokens. Shorten the label."
                )
        total = sum(blocks)
        if self.separate_blocks:
            keep, room = min(n_text, avail), avail
        elif n_text + total <= avail:
            return n_text, [list(range(len(blocks)))]
        else:
            keep, room = self._packed_text_budget(n_text, blocks, avail)
        passes: List[List[int]] = []
        current: List[int] = []
        used = 0
        for i, b in enumerate(blocks):
            if current and used + b > room:
                passes.append(current)
                current, used = [], 0
            current.append(i)
            used += b
        if current or not passes:
            passes.append(current)
        return keep, passes

    @staticmethod
    def _packed_text_budget(n_text: int, blocks: Sequence[int], avail: int) -> Tuple[int, int]:
        """Text tokens kept and room left for labels when text and labels share a pass."""
        total = sum(blocks)
        floor = max(1, avail // 2)
        keep = min(n_text, max(avail - total, floor))
        longest = max(blocks) if blocks else 0
        keep = max(min(keep, avail - longest), min(n_text, 1))
        return keep, avail - keep

    def _build(self, text_ids: Sequence[int], labels: List[Tuple[int, ...]], example: int,
               slots: List[int]) -> EncodedPass:
        ids = [self.cls_id]
        text_mask = [1]
        ids.extend(text_ids)
        text_mask.extend([1] * len(text_ids))
        label_tokens = [0] * len(ids)
        label_markers = [0] * len(ids)
        reference = self.template == "reference"
        if reference:
            ids.append(self.sep_id)
            text_mask.append(0)
            label_tokens.append(0)
            label_markers.append(0)
        for k, lab in enumerate(labels, start=1):
            if not reference:
                ids.append(self.lab_id)
                label_tokens.append(0)
                label_markers.append(k)
            ids.extend(lab)
            label_tokens.extend([k] * len(lab))
            label_markers.extend([0] * len(lab))
            if reference:
                ids.append(self.lab_id)
                label_tokens.append(0)
                label_markers.append(k)
        if not reference:
            ids.append(self.sep_id)
            label_tokens.append(0)
            label_markers.append(0)
        text_mask.extend([0] * (len(ids) - len(text_mask)))
        return EncodedPass(ids, label_tokens, label_markers, text_mask, example, slots)

    def encode(self, texts: Sequence[str], labels: Sequence[Sequence[str]],
               text_ids: Optional[Sequence[Optional[Sequence[int]]]] = None) -> List[EncodedInput]:
        """Encode texts, each with its own label list (already validated).

        text_ids: per text, its token ids as :func:`tokenize` gives them with this
            encoder's tokenizer, where the caller has them already (None: not known);
            the texts without are tokenized here, in one call.
        """
        if len(texts) != len(labels):
            raise GliZNetInputError(
                f"Got {len(texts)} texts but {len(labels)} label lists"
            )
        if text_ids is not None and len(text_ids) != len(texts):
            raise GliZNetInputError(f"Got {len(texts)} texts but {len(text_ids)} token id lists")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise GliZNetInputError(f"Texts must be strings; text {i} is {type(t).__name__}")
            check_unicode(t, f"Text {i}")
        text_ids = self._known_or_tokenized(texts, text_ids)
        out = []
        sides: Dict[Tuple[str, ...], LabelSide] = {}
        side_of: Dict[int, LabelSide] = {}  # inputs often share one label list object
        for i, (tids, labs) in enumerate(zip(text_ids, labels)):
            if not labs:
                raise GliZNetInputError(f"Input {i} has no labels to score")
            if self.separate_blocks:
                side = side_of.get(id(labs))
                if side is None:
                    key = tuple(labs)
                    side = sides.get(key)
                    if side is None:
                        side = sides[key] = self.label_side(labs)
                    side_of[id(labs)] = side
                keep = min(len(tids), self.max_length - 2)
                kept = tids[:keep]
                out.append(EncodedInput(
                    len(labs), len(tids), keep, text_ids=[self.cls_id, *kept], label_side=side,
                    make_passes=partial(self._side_passes, kept, side, i)))
                continue
            lab_ids = self.label_ids(labs)
            keep, plan = self.plan(len(tids), [len(x) for x in lab_ids], labs)
            enc = EncodedInput(len(labs), len(tids), keep)
            for chunk in plan:
                enc.passes.append(self._build(tids[:keep], [lab_ids[j] for j in chunk], i, chunk))
            out.append(enc)
        return out

    def label_side(self, labels: Sequence[str]) -> LabelSide:
        """The :class:`LabelSide` of a label list (for ``separate_blocks``)."""
        lab_ids = self.label_ids(labels)
        _, plan = self.plan(0, [len(x) for x in lab_ids], labels)
        if self.template == "reference":
            blocks = tuple(ids + (self.lab_id,) for ids in lab_ids)
            marker = -1
        else:
            blocks = tuple((self.lab_id,) + ids for ids in lab_ids)
            marker = 0
        return LabelSide(tuple(lab_ids), blocks, marker, tuple(tuple(c) for c in plan))

    def _side_passes(self, text_ids: List[int], side: LabelSide, example: int) -> List[EncodedPass]:
        return [self._build(text_ids, [side.label_ids[j] for j in chunk], example, list(chunk))
                for chunk in side.plan]
