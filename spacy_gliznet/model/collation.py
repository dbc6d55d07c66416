"""Collation: encoded inputs -> the padded tensors a model reads.

Two shapes, one per attention layout (see :func:`collate_inputs`):

* :class:`Batch`: every pass of every input (``label_attention`` "full" or
  "text"), padded to the longest, with where each pass label goes in the merged
  (inputs x labels) output;
* :class:`IsolatedBatch`: for ``label_attention="isolated"``, each text and each
  distinct label block as a sequence of its own, label blocks padded on demand.
"""

from dataclasses import dataclass, field
from itertools import chain
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .encoding import EncodedInput, EncodedPass
from ..errors import GliZNetInputError


@dataclass
class Batch:
    """Padded tensors for a list of passes, plus how to merge them per input.

    input_ids, attention_mask, label_tokens, label_markers, text_mask: (P, S) tensors.
    pass_example: (P,) input index of each pass.
    pass_slots: (P, Kp) label index within the input for each pass label, -1 pad.
    n_inputs, n_labels_max: shape of the merged output.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    label_tokens: torch.Tensor
    label_markers: torch.Tensor
    text_mask: torch.Tensor
    pass_example: torch.Tensor
    pass_slots: torch.Tensor
    n_inputs: int
    n_labels_max: int


def collate(
    passes: Sequence[EncodedPass],
    n_inputs: int,
    n_labels_max: int,
    pad_id: int,
    device: Optional[torch.device] = None,
) -> Batch:
    """Pad passes into a batch of tensors."""
    if not passes:
        raise GliZNetInputError("Nothing to encode: no passes")
    ids, att = pad_sequences([p.input_ids for p in passes], pad_id)
    lidx, _ = pad_sequences([p.label_tokens for p in passes], 0)
    labidx, _ = pad_sequences([p.label_markers for p in passes], 0)
    tmask, _ = pad_sequences([p.text_mask for p in passes], 0)
    slots, _ = pad_sequences([p.slots for p in passes], -1)
    example = torch.tensor([p.example for p in passes], dtype=torch.long)
    tensors = [ids, att, lidx, labidx, tmask, example, slots]
    if device is not None:
        tensors = [t.to(device) for t in tensors]
    return Batch(*tensors, n_inputs=n_inputs, n_labels_max=n_labels_max)


@dataclass
class IsolatedSequences:
    """Inputs of a model whose texts and labels do not attend to each other
    (``label_attention="isolated"``): every text and every distinct label block as a
    sequence of its own.

    texts: per input, ``[CLS]`` + the text tokens its passes use.
    labels: distinct label blocks, ``[LAB]`` + the label's tokens.
    label_pools: per label block, the positions pooled: the label tokens
        (``label_pooling="mean"``) or the ``[LAB]`` token (``"lab"``).
    where: (input, slot, label block) for every label of inputs read from passes.
    rows: for inputs read from a shared label side, input -> the label block of
        each of its labels (one list object per label side).
    """

    texts: List[List[int]]
    labels: List[List[int]]
    label_pools: List[List[int]]
    where: List[Tuple[int, int, int]]
    rows: Dict[int, List[int]] = field(default_factory=dict)


def isolated_sequences(encoded: Sequence[EncodedInput], label_pooling: str) -> IsolatedSequences:
    """Split the passes of ``encoded`` into separate text and label-block sequences,
    each distinct label block once. Inputs of a ``separate_blocks`` encoder are read
    from their text and shared label side, without building passes."""
    texts: List[List[int]] = []
    blocks: Dict[Tuple[int, ...], int] = {}
    pools: List[List[int]] = []
    where: List[Tuple[int, int, int]] = []
    want_label_token = label_pooling == "mean"
    side_rows: Dict[int, List[int]] = {}  # id(label side) -> its labels' block indices
    rows: Dict[int, List[int]] = {}
    for e, enc in enumerate(encoded):
        side = getattr(enc, "label_side", None)
        if side is not None and enc.text_ids is not None:
            texts.append(list(enc.text_ids))
            row = side_rows.get(id(side))
            if row is None:
                row = side_rows[id(side)] = []
                for block in side.blocks:
                    if block not in blocks:
                        blocks[block] = len(blocks)
                        marker = side.marker % len(block)
                        pools.append([j for j in range(len(block)) if (j != marker) == want_label_token])
                    row.append(blocks[block])
            rows[e] = row
            continue
        first = enc.passes[0]
        texts.append([t for t, m in zip(first.input_ids, first.text_mask) if m])
        for p in enc.passes:
            # one scan of the pass: label k's block is its [LAB] token and its label tokens,
            # in sequence order, each flagged True for a label token
            groups: Dict[int, List[Tuple[int, bool]]] = {}
            for t, li, lb in zip(p.input_ids, p.label_tokens, p.label_markers):
                if li:
                    groups.setdefault(li, []).append((t, True))
                if lb and lb != li:
                    groups.setdefault(lb, []).append((t, False))
            for k, slot in enumerate(p.slots, start=1):
                toks = groups.get(k, [])
                key = tuple(t for t, _ in toks)
                if key not in blocks:
                    blocks[key] = len(blocks)
                    pools.append([j for j, (_, is_lab) in enumerate(toks) if is_lab == want_label_token])
                where.append((e, slot, blocks[key]))
    return IsolatedSequences(texts, [list(k) for k in blocks], pools, where, rows)


class IsolatedBatch:
    """Inputs of the isolated forward: padded texts, the distinct label blocks
    (padded on demand: a model with cached label vectors pads only the new ones)
    and which block each input's k-th label is.

    text_ids, text_attention: (N, St) texts.
    label_blocks: the U distinct label blocks, as the token ids the model reads.
    label_pools: per label block, the positions it pools.
    slot_label: (N, K) label block of each input's k-th label, -1 where none.
    label_ids, label_attention, label_pool: (U, Sl) every label block, padded
        (1 in ``label_pool`` at the positions each block pools).
    """

    def __init__(self, text_ids: torch.Tensor, text_attention: torch.Tensor,
                 label_blocks: Sequence[Tuple[int, ...]], label_pools: Sequence[Sequence[int]],
                 slot_label: torch.Tensor, pad_id: int = 0,
                 device: Optional[torch.device] = None) -> None:
        self.text_ids = text_ids
        self.text_attention = text_attention
        self.label_blocks = list(label_blocks)
        self.label_pools = list(label_pools)
        self.slot_label = slot_label
        self.pad_id = pad_id
        self.device = device
        self._all: Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = None

    def label_tensors(self, which: Optional[Sequence[int]] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids, attention, pool) of the label blocks ``which`` (None: all), padded."""
        if which is None:
            if self._all is None:
                self._all = self.label_tensors(range(len(self.label_blocks)))
            return self._all
        which = list(which)
        ids, att = pad_sequences([self.label_blocks[u] for u in which], self.pad_id)
        pool = torch.zeros(ids.shape, dtype=torch.long)
        for row, u in enumerate(which):
            pool[row, self.label_pools[u]] = 1
        if self.device is not None:
            ids, att, pool = ids.to(self.device), att.to(self.device), pool.to(self.device)
        return ids, att, pool

    @property
    def label_ids(self) -> torch.Tensor:
        return self.label_tensors()[0]

    @property
    def label_attention(self) -> torch.Tensor:
        return self.label_tensors()[1]

    @property
    def label_pool(self) -> torch.Tensor:
        return self.label_tensors()[2]


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask) tensors of token sequences, right-padded to the longest
    (filled in one step from the concatenated sequences, not row by row)."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = int(lengths.max()) if len(seqs) else 0
    mask = np.arange(width)[None, :] < lengths[:, None]
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    if width:
        ids[mask] = np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64))


def collate_isolated(
    encoded: Sequence[EncodedInput],
    n_labels_max: int,
    pad_id: int,
    label_pooling: str,
    device: Optional[torch.device] = None,
) -> IsolatedBatch:
    """Pad the texts of ``encoded`` and list their distinct label blocks."""
    if not encoded:
        raise GliZNetInputError("Nothing to encode: no inputs")
    seqs = isolated_sequences(encoded, label_pooling)
    if not seqs.labels:
        raise GliZNetInputError("Nothing to score: no labels")
    text_ids, text_att = pad_sequences(seqs.texts, pad_id)
    slot_label = torch.full((len(encoded), max(n_labels_max, 1)), -1, dtype=torch.long)
    if seqs.where:
        e, slot, u = torch.tensor(seqs.where, dtype=torch.long).unbind(1)
        slot_label[e, slot] = u
    shared: Dict[int, Tuple[List[int], List[int]]] = {}  # one tensor per shared label side
    for e, row in seqs.rows.items():
        shared.setdefault(id(row), (row, []))[1].append(e)
    for row, inputs in shared.values():
        slot_label[torch.tensor(inputs), : len(row)] = torch.tensor(row, dtype=torch.long)
    if device is not None:
        text_ids, text_att, slot_label = text_ids.to(device), text_att.to(device), slot_label.to(device)
    return IsolatedBatch(text_ids, text_att, [tuple(b) for b in seqs.labels], seqs.label_pools,
                         slot_label, pad_id, device)


def collate_inputs(
    encoded: Sequence[EncodedInput],
    pad_id: int,
    label_attention: str,
    label_pooling: str,
    device: Optional[torch.device] = None,
) -> Union[Batch, IsolatedBatch]:
    """The batch a model reads for ``encoded``, training and prediction alike:
    an :class:`IsolatedBatch` (each text and each distinct label block once) for
    ``label_attention="isolated"``, else a :class:`Batch` of all passes."""
    if not encoded:
        raise GliZNetInputError("Nothing to encode: no inputs")
    n_labels_max = max(enc.n_labels for enc in encoded)
    if label_attention == "isolated":
        return collate_isolated(encoded, n_labels_max, pad_id, label_pooling, device)
    passes = [p for enc in encoded for p in enc.passes]
    return collate(passes, len(encoded), n_labels_max, pad_id, device)
