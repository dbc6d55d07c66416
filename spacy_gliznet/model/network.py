"""The GliZNet network: one forward for training and prediction.

A batch (:func:`collation.collate_inputs`) goes through :meth:`GliZNetModel.forward`,
which runs the backbone over length-sorted chunks of sequences, pools the text
and each label, projects them and scores each label by its cosine with the text.
The Thinc layer calls the same forward through Thinc's PyTorch wrapper; the
prediction API (predictor.py) calls it directly.
"""

from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from .collation import Batch, IsolatedBatch
from .config import GliZNetConfig, resolve_batch_tokens, resolve_max_length
from ..errors import GliZNetConfigError, GliZNetLoadError
from .label_cache import LabelVectorCache
from .outputs import ModelOutput

# Backbones that accept a (P, S, S) attention mask and restarted position ids.
BLOCK_ATTENTION_BACKBONES = ("bert",)


def build_backbone_config(backbone_config: Dict[str, Any]):
    """A transformers config from a (possibly partial) dict with ``model_type``."""
    from transformers import AutoConfig

    data = dict(backbone_config)
    model_type = data.pop("model_type", None)
    if not model_type:
        raise GliZNetLoadError("The backbone config has no 'model_type'")
    for key in ("_name_or_path", "architectures", "transformers_version"):
        data.pop(key, None)
    try:
        return AutoConfig.for_model(model_type, **data)
    except ValueError as err:
        raise GliZNetLoadError(f"Unsupported backbone model_type {model_type!r}: {err}") from err


def build_backbone(config) -> nn.Module:
    """An encoder with random weights for a transformers config, without pooler."""
    from transformers import AutoModel

    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(config)


class Projector(nn.Sequential):
    """Linear layer, optionally followed by LayerNorm."""

    def __init__(self, d_in: int, d_out: int, layernorm: bool) -> None:
        layers: List[nn.Module] = [nn.Linear(d_in, d_out)]
        if layernorm:
            layers.append(nn.LayerNorm(d_out))
        super().__init__(*layers)


def score_logits(cos: torch.Tensor, offset: Union[torch.Tensor, float],
                 log_scale: Union[torch.Tensor, float]) -> torch.Tensor:
    """The score of a cosine: ``(cos - offset) * exp(clamp(log_scale, -10, 10))``."""
    log_scale = torch.as_tensor(log_scale, dtype=torch.float32, device=cos.device)
    return (cos - offset) * torch.exp(torch.clamp(log_scale, -10.0, 10.0))


def length_chunks(lengths: Sequence[int], batch_size: Optional[int],
                  batch_tokens: Optional[int] = None) -> List[Tuple[int, int]]:
    """``(start, end)`` chunks of sequences sorted by ascending ``lengths``: at most
    ``batch_tokens`` padded tokens (rows x the longest length) per chunk when given,
    else at most ``batch_size`` rows (None or 0: one chunk). Every chunk holds at least
    one row, so a sequence longer than ``batch_tokens`` is a chunk of its own."""
    n = len(lengths)
    if batch_tokens:
        chunks, start = [], 0
        for i in range(n):  # lengths ascend: the last row of a chunk is its longest
            if i > start and (i + 1 - start) * max(1, int(lengths[i])) > batch_tokens:
                chunks.append((start, i))
                start = i
        return chunks + [(start, n)] if n else []
    if not batch_size or n <= batch_size:
        return [(0, n)] if n else []
    return [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def by_length(fn: Callable, batch_size: Optional[int], ids: torch.Tensor, attention: torch.Tensor,
              *rows: torch.Tensor, batch_tokens: Optional[int] = None) -> Any:
    """``fn(ids, attention, *rows)`` on chunks of sequences of similar length (see
    :func:`length_chunks`: at most ``batch_tokens`` padded tokens each when given, else
    at most ``batch_size`` sequences), padding trimmed per chunk; its outputs (a tensor or
    a tuple of tensors, one row per sequence) are put back in the sequences' order."""
    n = ids.shape[0]
    if not batch_tokens and (not batch_size or n <= batch_size):
        return fn(ids, attention, *rows)
    lengths = attention.sum(1)
    order = torch.argsort(lengths, stable=True)
    sorted_lengths = lengths[order].tolist()  # one device-to-host copy
    chunks = length_chunks(sorted_lengths, batch_size, batch_tokens)
    if len(chunks) == 1 and sorted_lengths[-1] == ids.shape[1]:
        return fn(ids, attention, *rows)  # one chunk, no padding to trim: as it is
    parts = []
    for a, b in chunks:
        idx = order[a:b]
        width = int(sorted_lengths[b - 1])
        parts.append(fn(ids[idx, :width], attention[idx, :width], *(r[idx, :width] for r in rows)))
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(n, device=order.device)
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p)[inverse] for p in zip(*parts))
    return torch.cat(parts)[inverse]


_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}
#: odd multipliers spreading the sampled column (row) over a tensor's columns (rows)
_SPREAD = (2654435761, 40503)
_SAMPLES: Dict[Tuple[int, int, torch.device], torch.Tensor] = {}


def _sample_index(rows: int, cols: int, device: torch.device) -> torch.Tensor:
    """Flat positions in a (rows, cols) tensor: one element of every row and one of every
    column, spread by a multiplicative hash (built once per shape and device)."""
    key = (rows, cols, device)
    if key not in _SAMPLES:
        r = torch.arange(rows, device=device)
        c = torch.arange(cols, device=device)
        per_row = r * cols + (r * _SPREAD[0]) % cols
        per_col = ((c * _SPREAD[1]) % rows) * cols + c
        _SAMPLES[key] = torch.cat((per_row, per_col))
    return _SAMPLES[key]


def weights_fingerprint(params: List[torch.Tensor]) -> Tuple[int, ...]:
    """Per tensor, the sum of the bit patterns (as integers, so exact) of one value in
    every row and one in every column (vectors and small tensors: every value). A write
    through ``param.data`` moves no version counter; this sees any write that changes a
    whole row or column (a token's embedding, a projector's output), a whole tensor, or a
    vector, while reading about 1/150 of the weights (reading them all cost more than a
    single doc's forward pass on CPU). A write of single values elsewhere can escape it:
    call :meth:`GliZNetModel.clear_label_cache` after such surgery."""
    sums = []
    with torch.no_grad():
        for p in params:
            if not p.numel():
                continue
            flat = p.detach().reshape(-1)
            if p.element_size() in _BITS:
                flat = flat.view(_BITS[p.element_size()])
            if p.dim() >= 2 and p.numel() > 4096:
                flat = flat[_sample_index(p.shape[0], p.numel() // p.shape[0], p.device)]
            sums.append(flat.sum(dtype=torch.int64))
        return tuple(torch.stack(sums).tolist()) if sums else ()


class GliZNetModel(nn.Module):
    """GliZNet: texts and their labels encoded by one backbone, scored by cosine similarity.

    config: the model's :class:`GliZNetConfig`.
    backbone: an already built encoder; None builds one with random weights
        from ``config.backbone_config``.
    tokenizer: optional tokenizer kept with the model (holds the [LAB] token).

    Prediction from texts comes with :class:`prediction.GliZNetPredictor`, loading
    and saving (``from_pretrained``, ``save_pretrained``) with its subclass
    :class:`spacy_gliznet.GliZNetForSequenceClassification` (checkpoints.py).
    """

    def __init__(self, config: GliZNetConfig, backbone: Optional[nn.Module] = None,
                 tokenizer=None) -> None:
        super().__init__()
        self.config = config
        if backbone is None:
            backbone = build_backbone(build_backbone_config(config.backbone_config))
        self.backbone = backbone
        if config.label_attention != "full":
            backbone_type = getattr(backbone.config, "model_type", None)
            if backbone_type not in BLOCK_ATTENTION_BACKBONES:
                raise GliZNetConfigError(
                    f"label_attention={config.label_attention!r} needs a backbone that accepts a "
                    f"3-d attention mask and restarted position ids ({BLOCK_ATTENTION_BACKBONES}); "
                    f"{backbone_type!r} does not. Use label_attention='full'."
                )
        hidden = int(backbone.config.hidden_size)
        dim = int(config.projected_dim or hidden)
        self.text_projector = Projector(hidden, dim, config.use_projection_layernorm)
        self.label_projector = Projector(hidden, dim, config.use_projection_layernorm)
        if config.projector_init == "identity":
            if dim != hidden or config.use_projection_layernorm:
                raise GliZNetConfigError(
                    "projector_init='identity' needs projected_dim equal to the hidden size "
                    "and use_projection_layernorm=False"
                )
            for proj in (self.text_projector, self.label_projector):
                nn.init.eye_(proj[0].weight)
                nn.init.zeros_(proj[0].bias)
        self.dropout = nn.Dropout(config.dropout)
        # Shape (1,), not 0-d: Thinc's optimizer cannot update 0-d parameters.
        self.logit_scale = nn.Parameter(
            torch.tensor([float(config.logit_scale_init)]),
            requires_grad=bool(config.learn_temperature),
        )
        self.bce_scale = nn.Parameter(torch.tensor([float(config.bce_scale_init)]))
        self.score_offset = nn.Parameter(torch.tensor([float(config.score_offset_init)]),
                                         requires_grad=bool(config.learn_score_offset))
        self.tokenizer = tokenizer
        # label_attention "isolated": label vectors kept across batches (see label_cache.py)
        self.label_cache = LabelVectorCache()

    # -- the network -----------------------------------------------------------
    def forward(self, batch: Union[Batch, IsolatedBatch],
                batch_size: Optional[int] = None, batch_tokens: Optional[int] = None) -> ModelOutput:
        """Label scores merged per input, for training and prediction alike.

        batch: a :class:`Batch` of passes (``[CLS] text [LAB] l1 ... [SEP]``) or,
            for ``label_attention="isolated"``, an :class:`IsolatedBatch` (each
            text and each distinct label block as a sequence of its own; same
            scores for far less compute).
        batch_size: at most this many sequences per backbone call, sorted by
            length (None: all at once), where no token budget applies.
        batch_tokens: at most this many padded tokens per backbone call instead
            (None: the device's default, see ``config.resolve_batch_tokens``: a budget
            on CUDA, none on a CPU; 0: none). Results do not depend on either.
        """
        tokens = resolve_batch_tokens(batch_tokens, self.device)
        if isinstance(batch, IsolatedBatch):
            if self.config.label_attention != "isolated":
                raise GliZNetConfigError("An IsolatedBatch needs label_attention='isolated', "
                                 f"not {self.config.label_attention!r}")
            return self._forward_isolated(batch, batch_size, tokens)
        if not isinstance(batch, Batch):
            raise TypeError(f"forward takes a Batch or an IsolatedBatch, got {type(batch).__name__}")
        return self._forward_packed(batch, batch_size, tokens)

    def _forward_packed(self, b: Batch, batch_size: Optional[int],
                        batch_tokens: Optional[int]) -> ModelOutput:
        n_pass_labels = max(int(b.pass_slots.shape[1]), 1)
        cos, label_unit = by_length(
            partial(self._pass_scores, n_labels=n_pass_labels, keep_labels=torch.is_grad_enabled()),
            batch_size, b.input_ids, b.attention_mask, b.label_tokens, b.label_markers, b.text_mask,
            batch_tokens=batch_tokens)
        logits, bce_logits = self._scores(cos)
        valid = b.pass_slots >= 0
        rows = b.pass_example.unsqueeze(1).expand_as(b.pass_slots)[valid]
        cols = b.pass_slots[valid]
        N, K = int(b.n_inputs), max(int(b.n_labels_max), 1)

        def merge(values: torch.Tensor) -> torch.Tensor:
            out = values.new_zeros((N, K) + tuple(values.shape[2:]))
            return out.index_put((rows, cols), values[valid])

        mask = torch.zeros((N, K), dtype=torch.bool, device=logits.device)
        mask[rows, cols] = True
        return ModelOutput(merge(logits), merge(bce_logits), merge(label_unit), mask)

    def _pass_scores(self, *rows: torch.Tensor, n_labels: int, keep_labels: bool
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cosines (P, n_labels) of packed passes and their label vectors (P, n_labels, D),
        or (P, n_labels, 0) when not ``keep_labels`` (prediction: memory grows with
        labels, not labels x D)."""
        text_unit, label_unit = self._pass_vectors(*rows, n_labels=n_labels)
        cos = torch.einsum("pd,pkd->pk", text_unit, label_unit)
        if not keep_labels:
            label_unit = label_unit.new_zeros(tuple(label_unit.shape[:2]) + (0,))
        return cos, label_unit

    def _pass_vectors(self, ids: torch.Tensor, attention: torch.Tensor, label_tokens: torch.Tensor,
                      label_markers: torch.Tensor, text_mask: torch.Tensor, n_labels: int
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Unit text vectors (P, D) and label vectors (P, n_labels, D) of packed passes."""
        if self.config.label_attention == "full":
            hidden = self.backbone(input_ids=ids, attention_mask=attention).last_hidden_state
        else:
            mask3d, position_ids = block_attention(
                attention, label_tokens, label_markers, text_mask,
                see_text=self.config.label_attention == "text",
            )
            hidden = self.backbone(input_ids=ids, attention_mask=mask3d,
                                   position_ids=position_ids).last_hidden_state
        hidden = self.dropout(hidden)
        pooled = label_tokens if self.config.label_pooling == "mean" else label_markers
        return self._pool_text(hidden, text_mask), self._pool_labels(hidden, pooled, n_labels)

    def _forward_isolated(self, b: IsolatedBatch, batch_size: Optional[int],
                          batch_tokens: Optional[int]) -> ModelOutput:
        text_unit = by_length(self._text_vectors, batch_size, b.text_ids, b.text_attention,
                              batch_tokens=batch_tokens)
        label_unit = self._isolated_label_vectors(b, batch_size, batch_tokens)
        mask = b.slot_label >= 0
        logits, bce_logits = self._scores(label_scores(text_unit, label_unit, b.slot_label))
        if torch.is_grad_enabled():  # what the loss reads (its label repulsion)
            per_slot = label_unit[b.slot_label.clamp(min=0)] * mask.unsqueeze(-1)  # (N, K, D)
        else:  # prediction reads the scores only
            per_slot = label_unit.new_zeros(tuple(b.slot_label.shape) + (0,))
        return ModelOutput(logits.masked_fill(~mask, 0.0), bce_logits.masked_fill(~mask, 0.0),
                             per_slot, mask)

    def _isolated_label_vectors(self, b: IsolatedBatch, batch_size: Optional[int],
                                batch_tokens: Optional[int] = None) -> torch.Tensor:
        """Unit vectors (U, D) of the batch's distinct label blocks. Without
        gradients and in evaluation mode (prediction) they come from
        ``label_cache`` where it has them; otherwise (training: gradients must
        reach the label encoder, and dropout draws anew) they are computed."""
        def compute(which: Optional[List[int]] = None) -> torch.Tensor:
            ids, attention, pool = b.label_tensors(which)
            # label blocks are short: as many per backbone call as fit the token budget, or
            # the tokens of `batch_size` full-length sequences (small calls cost 4x more per label)
            if batch_tokens:
                return by_length(self._label_block_vectors, None, ids, attention, pool,
                                 batch_tokens=batch_tokens)
            chunk = batch_size and batch_size * max(1, self.max_length // max(1, ids.shape[1]))
            return by_length(self._label_block_vectors, chunk, ids, attention, pool)

        if torch.is_grad_enabled() or self.training or not self.label_cache.max_size:
            return compute()
        return self.label_cache.vectors(b.label_blocks, self.label_state(), compute)

    def label_state(self) -> Tuple[Any, ...]:
        """What the label vectors depend on besides the label: ``max_length``, device,
        autocast, and the weights of the backbone and label projector: each
        tensor's storage and version counter (and its gradient's, which Thinc's
        optimizer zeroes in place at every step), and a fingerprint of its values
        (:func:`weights_fingerprint`), since a write through ``param.data`` moves no
        version counter."""
        params = [*self.backbone.parameters(), *self.label_projector.parameters()]
        parts: List[Any] = [self.max_length, torch.is_autocast_enabled(),
                            weights_fingerprint(params)]
        for p in params:
            g = p.grad
            parts.append((p.device, p.data_ptr(), p._version,
                          None if g is None else (id(g), g._version)))
        return tuple(parts)

    def clear_label_cache(self) -> None:
        """Forget cached label vectors (the weights are about to change)."""
        self.label_cache.clear()

    def _text_vectors(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """Unit text vectors (N, D) of texts encoded alone."""
        hidden = self.dropout(self.backbone(input_ids=ids, attention_mask=attention).last_hidden_state)
        return self._pool_text(hidden, attention)

    def _label_block_vectors(self, ids: torch.Tensor, attention: torch.Tensor,
                             pool: torch.Tensor) -> torch.Tensor:
        """Unit label vectors (U, D) of label blocks encoded alone."""
        hidden = self.dropout(self.backbone(input_ids=ids, attention_mask=attention).last_hidden_state)
        return self._pool_labels(hidden, pool, 1)[:, 0]

    def _pool_text(self, hidden: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        vec = hidden[:, 0] if self.config.text_pooling == "cls" else _masked_mean(hidden, text_mask)
        return F.normalize(self.text_projector(vec).float(), dim=-1)

    def _pool_labels(self, hidden: torch.Tensor, index: torch.Tensor, n_labels: int) -> torch.Tensor:
        """Unit vectors (B, n_labels, D) of the positions where ``index`` is k, per label k:
        the mean of projected tokens ("mean" pooling) or the projected mean ("lab")."""
        if self.config.label_pooling == "mean":
            sel = index > 0
            projected = hidden.new_zeros(hidden.shape[:2] + (self.label_projector[0].out_features,))
            projected[sel] = self.label_projector(hidden[sel]).to(projected.dtype)
            vec = _scatter_mean(projected, index, n_labels)
        else:
            vec = self.label_projector(_scatter_mean(hidden, index, n_labels))
        return F.normalize(vec.float(), dim=-1)

    def _scores(self, cos: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(logits, bce_logits) of cosine similarities."""
        offset = self.score_offset.float()
        return (score_logits(cos, offset, self.logit_scale.float()),
                score_logits(cos, offset, self.bce_scale.float()))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def max_length(self) -> int:
        return resolve_max_length(self.config, self.backbone.config, self.tokenizer)


def label_scores(text_unit: torch.Tensor, label_unit: torch.Tensor,
                 slot_label: torch.Tensor) -> torch.Tensor:
    """Cosines (N, K) of each input's text vector (N, D) with the vectors (U, D)
    of its labels (``slot_label`` (N, K): row of ``label_unit``, -1 where none):
    one text-by-label matrix product per group of inputs with the same labels
    (one product when all share them), never an (N, K, D) tensor."""
    cols = slot_label.clamp(min=0)
    if bool((slot_label == slot_label[:1]).all()):
        return text_unit @ label_unit[cols[0]].T
    groups, inverse = torch.unique(slot_label, dim=0, return_inverse=True)
    members, parts = [], []
    for g in range(groups.shape[0]):
        rows = (inverse == g).nonzero(as_tuple=True)[0]
        members.append(rows)
        parts.append(text_unit[rows] @ label_unit[groups[g].clamp(min=0)].T)
    order = torch.cat(members)
    back = torch.empty_like(order)
    back[order] = torch.arange(order.numel(), device=order.device)
    return torch.cat(parts)[back]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, S, D) token vectors over the positions where the (B, S) mask is 1."""
    m = mask.to(values.dtype)
    # one (B, 1, S) x (B, S, D) product: no (B, S, D) temporary
    return torch.bmm(m.unsqueeze(1), values).squeeze(1) / m.sum(1, keepdim=True).clamp(min=1.0)


def _scatter_mean(values: torch.Tensor, index: torch.Tensor, n_labels: int) -> torch.Tensor:
    """Mean of token vectors per (pass, label).

    values: (P, S, D) token vectors; index: (P, S) label index, 0 = none, k = k-th label.
    Returns (P, n_labels, D).
    """
    P, S, D = values.shape
    sel = index > 0
    rows = torch.arange(P, device=index.device).unsqueeze(1).expand(P, S)[sel]
    flat = rows * n_labels + (index[sel] - 1)
    sums = values.new_zeros((P * n_labels, D)).index_add(0, flat, values[sel])
    counts = values.new_zeros((P * n_labels,)).index_add(
        0, flat, torch.ones_like(flat, dtype=values.dtype)
    )
    return (sums / counts.clamp(min=1).unsqueeze(-1)).view(P, n_labels, D)


def block_attention(attention_mask: torch.Tensor, label_tokens: torch.Tensor,
                    label_markers: torch.Tensor, text_mask: torch.Tensor, see_text: bool = False
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """A (P, S, S) attention mask and (P, S) position ids that keep the text and
    each label block apart (``label_attention`` "isolated"/"text").

    Blocks: 0 for [CLS] and text tokens; k for the k-th label's tokens and its
    [LAB] marker; other real tokens ([SEP]) attend to the text block and
    themselves, and nobody attends to them. Positions count from 0 within each
    block ([CLS] and the label block's first token get position 0); [SEP] takes
    the position after the text.
    """
    att = attention_mask.bool()
    block = torch.where(text_mask.bool(), torch.zeros_like(label_tokens), label_tokens + label_markers)
    other = att & ~text_mask.bool() & (block == 0)
    block = block.masked_fill(other | ~att, -1)
    same = (block.unsqueeze(2) == block.unsqueeze(1)) & (block.unsqueeze(2) >= 0)
    text_cols = (block == 0).unsqueeze(1)
    mask = same.clone()
    if see_text:
        mask |= (block > 0).unsqueeze(2) & text_cols
    # [SEP]-like tokens: attend to the text and themselves.
    eye = torch.eye(att.shape[1], dtype=torch.bool, device=att.device).unsqueeze(0)
    mask |= other.unsqueeze(2) & (text_cols | eye)
    # Padding rows attend to themselves only (their outputs are never used).
    mask |= (~att).unsqueeze(2) & eye
    mask &= att.unsqueeze(1) | eye
    # Positions: rank of each token within its block.
    S = att.shape[1]
    onehot_blocks = int(block.max().clamp(min=0)) + 1
    b = block.clamp(min=0)
    one = F.one_hot(b, onehot_blocks) * (block >= 0).unsqueeze(-1)
    position_ids = ((one.cumsum(1) - 1) * one).sum(-1)
    n_text = (block == 0).sum(1, keepdim=True)
    position_ids = torch.where(other, n_text.expand(-1, S), position_ids)
    position_ids = position_ids.masked_fill(~att, 0)
    return mask.long(), position_ids.long()

