"""The GliZNet torch model, its configuration and its Hugging Face layout IO.

Usable without spaCy::

    model, tokenizer = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(path)
    result = model.predict_example("The match ended 2-1", ["sports", "politics"], tokenizer)
    result.labels  # [("sports", 0.93), ("politics", 0.04)]
"""

import json
import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .encoding import (
    LAB_TOKEN,
    TEMPLATES,
    Batch,
    EncodedInput,
    GliZNetEncoder,
    GliZNetInputError,
    IsolatedBatch,
    collate,
    isolated_sequences,
    pad_sequences,
    validate_labels,
)

MODEL_TYPE = "spacy_gliznet"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TEXT_POOLING = ("cls", "mean")
LABEL_POOLING = ("mean", "lab")
ACTIVATIONS = ("sigmoid", "softmax")
LABEL_ATTENTION = ("full", "isolated", "text")
# Backbones that accept a (P, S, S) attention mask and restarted position ids.
BLOCK_ATTENTION_BACKBONES = ("bert",)


class GliZNetLoadError(OSError):
    """Raised when a model directory is missing, partial, corrupted or unsupported."""


class TruncationWarning(UserWarning):
    """Emitted when a text had to be cut to fit the model's maximum length."""


@dataclass
class GliZNetConfig:
    """Hyperparameters of a GliZNet model.

    backbone_config: the backbone's Hugging Face config as a dict (with ``model_type``).
    projected_dim: size of the projected text and label vectors; None for the
        backbone's hidden size.
    text_pooling: "cls" (the [CLS] vector) or "mean" (mean of [CLS] and text tokens).
    label_pooling: "mean" (mean of the projected label tokens) or "lab" (the
        label's [LAB] token).
    use_projection_layernorm: LayerNorm after each projector's Linear layer.
    projector_init: "random" or "identity" (needs projected_dim == hidden size
        and no LayerNorm; starts the model at the backbone's own similarity).
    logit_scale_init: initial log-temperature of the scores.
    learn_temperature: whether the score temperature is trained.
    bce_scale_init: initial log-temperature of the BCE loss's logits.
    score_offset_init: initial cosine offset c of the scores: logits are
        (cos - c) * temperature, so a sigmoid score passes 0.5 where cos > c.
        Softmax scores do not depend on it; the BCE loss learns it.
    learn_score_offset: whether the offset is trained (checkpoints imported
        from the original implementation keep it fixed at 0).
    template: input layout, "gliznet" or "reference" (see encoding.py).
    lab_token: the label marker token.
    max_length: maximum sequence length; None for the tokenizer's/backbone's.
    label_attention: "full" (every token attends to the whole sequence: the
        original GliZNet), "isolated" (text tokens attend only to the text, each
        label block only to itself, positions restart per label block: a label's
        score no longer depends on the other labels) or "text" (like isolated,
        but label blocks also attend to the text). Not "full" needs a BERT backbone.
    dropout: dropout on the encoder output before pooling, in training.
    supcon_loss_weight, label_repulsion_weight, repulsion_threshold,
    bce_loss_weight: the loss settings used by :meth:`compute_loss`.
    """

    backbone_config: Dict[str, Any] = field(default_factory=dict)
    projected_dim: Optional[int] = None
    text_pooling: str = "cls"
    label_pooling: str = "mean"
    use_projection_layernorm: bool = True
    projector_init: str = "random"
    logit_scale_init: float = 2.0
    learn_temperature: bool = True
    bce_scale_init: float = 2.0
    score_offset_init: float = 0.0
    learn_score_offset: bool = True
    template: str = "gliznet"
    lab_token: str = LAB_TOKEN
    max_length: Optional[int] = None
    dropout: float = 0.1
    label_attention: str = "full"
    supcon_loss_weight: float = 1.0
    label_repulsion_weight: float = 0.1
    repulsion_threshold: float = 0.3
    bce_loss_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.text_pooling not in TEXT_POOLING:
            raise ValueError(f"text_pooling must be one of {TEXT_POOLING}, got {self.text_pooling!r}")
        if self.label_pooling not in LABEL_POOLING:
            raise ValueError(
                f"label_pooling must be one of {LABEL_POOLING}, got {self.label_pooling!r}"
            )
        if self.template not in TEMPLATES:
            raise ValueError(f"template must be one of {TEMPLATES}, got {self.template!r}")
        if self.projector_init not in ("random", "identity"):
            raise ValueError(f"projector_init must be 'random' or 'identity', got {self.projector_init!r}")
        if self.label_attention not in LABEL_ATTENTION:
            raise ValueError(
                f"label_attention must be one of {LABEL_ATTENTION}, got {self.label_attention!r}"
            )

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        return {"model_type": MODEL_TYPE, "format_version": FORMAT_VERSION, **d}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "GliZNetConfig":
        data = dict(data)
        data.pop("model_type", None)
        version = data.pop("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise GliZNetLoadError(
                f"Checkpoint format_version {version} is not supported (this version reads {FORMAT_VERSION})"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise GliZNetLoadError(f"Unknown keys in GliZNet config: {unknown}")
        return cls(**data)


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


class GliZNetOutput(NamedTuple):
    """Scores of labels, merged per input.

    logits: (N, K) (cosine similarity - score_offset) times exp(logit_scale).
    bce_logits: (N, K) (cosine similarity - score_offset) times exp(bce_scale),
        for the BCE loss.
    label_embeddings: (N, K, D) unit-length projected label vectors.
    label_mask: (N, K) True where a label exists.
    """

    logits: torch.Tensor
    bce_logits: torch.Tensor
    label_embeddings: torch.Tensor
    label_mask: torch.Tensor


@dataclass
class ClassificationResult:
    """What :meth:`GliZNetForSequenceClassification.predict_example` returns.

    labels: (label, score) items, in the order the labels were given.
    text_truncated: whether the text was cut to fit the model.
    n_passes: encoder passes used (more than one when the labels needed them).
    """

    labels: List[Tuple[str, float]]
    text_truncated: bool = False
    n_passes: int = 1

    def as_dict(self) -> Dict[str, float]:
        return dict(self.labels)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (B, S, D) token vectors over the positions where the (B, S) mask is 1."""
    m = mask.unsqueeze(-1).to(values.dtype)
    return (values * m).sum(1) / m.sum(1).clamp(min=1.0)


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


def block_attention(attention_mask: torch.Tensor, label_index: torch.Tensor,
                    lab_index: torch.Tensor, text_mask: torch.Tensor, see_text: bool = False
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
    block = torch.where(text_mask.bool(), torch.zeros_like(label_index), label_index + lab_index)
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


class GliZNetForSequenceClassification(nn.Module):
    """GliZNet: a text and its labels in one encoder pass, scored by cosine similarity.

    config: the model's :class:`GliZNetConfig`.
    backbone: an already built encoder; None builds one with random weights
        from ``config.backbone_config``.
    tokenizer: optional tokenizer kept with the model (holds the [LAB] token).
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
                raise ValueError(
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
                raise ValueError(
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
        self._encoder: Optional[GliZNetEncoder] = None

    # -- the network -----------------------------------------------------------
    def forward(
        self,
        input_ids: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        label_index: Optional[torch.Tensor] = None,
        lab_index: Optional[torch.Tensor] = None,
        text_mask: Optional[torch.Tensor] = None,
        pass_example: Optional[torch.Tensor] = None,
        pass_slots: Optional[torch.Tensor] = None,
        n_inputs: Optional[int] = None,
        n_labels_max: Optional[int] = None,
        isolated: Optional[IsolatedBatch] = None,
    ) -> GliZNetOutput:
        """Score the labels of each pass; merge passes per input when
        ``pass_example``/``pass_slots`` are given (see encoding.Batch).

        isolated: instead of passes, an :class:`IsolatedBatch` (texts and distinct
            label blocks as separate sequences; ``label_attention="isolated"``
            only). It gives the same scores as the packed passes for far less
            compute, since each label is encoded once per batch, not once per text.
        """
        if isolated is not None:
            return self._forward_isolated(isolated)
        if input_ids is None or attention_mask is None or label_index is None \
                or lab_index is None or text_mask is None:
            raise ValueError("forward needs the packed pass tensors or isolated=IsolatedBatch")
        if self.config.label_attention == "full":
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        else:
            mask3d, position_ids = block_attention(
                attention_mask, label_index, lab_index, text_mask,
                see_text=self.config.label_attention == "text",
            )
            hidden = self.backbone(
                input_ids=input_ids, attention_mask=mask3d, position_ids=position_ids
            ).last_hidden_state
        hidden = self.dropout(hidden)
        if self.config.text_pooling == "cls":
            text_vec = hidden[:, 0]
        else:
            text_vec = _masked_mean(hidden, text_mask)
        text_vec = self.text_projector(text_vec)
        n_pass_labels = int(pass_slots.shape[1]) if pass_slots is not None else int(label_index.max())
        n_pass_labels = max(n_pass_labels, 1)
        if self.config.label_pooling == "mean":
            sel = label_index > 0
            projected = torch.zeros(
                hidden.shape[:2] + (text_vec.shape[-1],), dtype=text_vec.dtype, device=hidden.device
            )
            projected[sel] = self.label_projector(hidden[sel]).to(text_vec.dtype)
            label_vec = _scatter_mean(projected, label_index, n_pass_labels)
        else:
            label_vec = self.label_projector(_scatter_mean(hidden, lab_index, n_pass_labels))
        text_unit = F.normalize(text_vec.float(), dim=-1)
        label_unit = F.normalize(label_vec.float(), dim=-1)
        logits, bce_logits = self._scores(torch.einsum("pd,pkd->pk", text_unit, label_unit))
        if pass_example is None or pass_slots is None:
            mask = torch.arange(n_pass_labels, device=logits.device).unsqueeze(0) < (
                label_index.max(dim=1).values.unsqueeze(1)
            )
            return GliZNetOutput(logits, bce_logits, label_unit, mask)
        valid = pass_slots >= 0
        rows = pass_example.unsqueeze(1).expand_as(pass_slots)[valid]
        cols = pass_slots[valid]
        N = int(n_inputs if n_inputs is not None else int(pass_example.max()) + 1)
        K = int(n_labels_max if n_labels_max is not None else int(pass_slots.max()) + 1)

        def merge(values: torch.Tensor) -> torch.Tensor:
            out = values.new_zeros((N, K) + tuple(values.shape[2:]))
            return out.index_put((rows, cols), values[valid])

        mask = torch.zeros((N, K), dtype=torch.bool, device=logits.device)
        mask[rows, cols] = True
        return GliZNetOutput(merge(logits), merge(bce_logits), merge(label_unit), mask)

    def _scores(self, cos: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(logits, bce_logits) of cosine similarities: (cos - score_offset) times
        the score temperature and the BCE temperature."""
        sim = cos - self.score_offset.float()
        logits = sim * torch.exp(torch.clamp(self.logit_scale.float(), -10.0, 10.0))
        bce_logits = sim * torch.exp(torch.clamp(self.bce_scale.float(), -10.0, 10.0))
        return logits, bce_logits

    def _forward_isolated(self, b: IsolatedBatch) -> GliZNetOutput:
        if self.config.label_attention != "isolated":
            raise ValueError(
                f"An IsolatedBatch needs label_attention='isolated', not {self.config.label_attention!r}"
            )
        hidden = self.dropout(self.backbone(input_ids=b.text_ids,
                                            attention_mask=b.text_attention).last_hidden_state)
        if self.config.text_pooling == "cls":
            text_vec = hidden[:, 0]
        else:
            text_vec = _masked_mean(hidden, b.text_attention)
        text_unit = F.normalize(self.text_projector(text_vec).float(), dim=-1)
        hidden = self.dropout(self.backbone(input_ids=b.label_ids,
                                            attention_mask=b.label_attention).last_hidden_state)
        if self.config.label_pooling == "mean":
            label_vec = _masked_mean(self.label_projector(hidden), b.label_pool)
        else:
            label_vec = self.label_projector(_masked_mean(hidden, b.label_pool))
        label_unit = F.normalize(label_vec.float(), dim=-1)
        mask = b.slot_label >= 0
        per_slot = label_unit[b.slot_label.clamp(min=0)] * mask.unsqueeze(-1)  # (N, K, D)
        logits, bce_logits = self._scores((text_unit.unsqueeze(1) * per_slot).sum(-1))
        return GliZNetOutput(logits.masked_fill(~mask, 0.0), bce_logits.masked_fill(~mask, 0.0),
                             per_slot, mask)

    def compute_loss(self, output: GliZNetOutput, targets: torch.Tensor,
                     target_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The weighted training loss with this model's configured loss settings."""
        from .losses import gliznet_loss

        total, _ = gliznet_loss(
            output, targets, target_mask,
            supcon_weight=self.config.supcon_loss_weight,
            repulsion_weight=self.config.label_repulsion_weight,
            repulsion_threshold=self.config.repulsion_threshold,
            bce_weight=self.config.bce_loss_weight,
        )
        return total

    # -- encoding and prediction -------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def max_length(self) -> int:
        return resolve_max_length(self.config, self.backbone.config, self.tokenizer)

    def get_encoder(self, tokenizer=None) -> GliZNetEncoder:
        """The encoder for ``tokenizer`` (default: the model's own)."""
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is None:
            raise ValueError("No tokenizer: pass one, or load the model with from_pretrained_with_tokenizer")
        if self._encoder is None or self._encoder.tokenizer is not tokenizer:
            self._encoder = GliZNetEncoder(
                tokenizer,
                max_length=resolve_max_length(self.config, self.backbone.config, tokenizer),
                template=self.config.template,
                lab_token=self.config.lab_token,
                separate_blocks=self.config.label_attention == "isolated",
            )
        return self._encoder

    def predict_encoded(
        self,
        encoded: Sequence[EncodedInput],
        batch_size: int = 32,
        half_precision: bool = False,
    ) -> List[np.ndarray]:
        """Logits (one float32 array per input, one value per label) for encoded inputs.

        Passes are sorted by length and run in batches of ``batch_size`` passes,
        so padding stays small; results do not depend on the batching.
        """
        check_batch_size(batch_size)
        if self.config.label_attention == "isolated":
            return self._predict_isolated(encoded, batch_size, half_precision)
        passes = [p for enc in encoded for p in enc.passes]
        order = sorted(range(len(passes)), key=lambda i: len(passes[i]))
        out = [np.zeros(enc.n_labels, dtype=np.float32) for enc in encoded]
        device = self.device
        pad = self.get_encoder().pad_id if self.tokenizer is not None else 0
        use_amp = half_precision and device.type == "cuda"
        with self._inference(), torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
            for start in range(0, len(order), batch_size):
                chunk = [passes[i] for i in order[start : start + batch_size]]
                batch = collate(chunk, len(encoded), 0, pad, device)
                res = self.forward(
                    batch.input_ids, batch.attention_mask, batch.label_index,
                    batch.lab_index, batch.text_mask, pass_slots=batch.pass_slots,
                )
                logits = res.logits.float().cpu().numpy()
                for row, p in enumerate(chunk):
                    out[p.example][p.slots] = logits[row, : len(p.slots)]
        return out

    @contextmanager
    def _inference(self) -> Iterator[None]:
        """Evaluation mode under torch.inference_mode; the training mode is restored after."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)

    def _encode_sequences(self, seqs: Sequence[Sequence[int]], batch_size: int,
                          use_amp: bool) -> List[torch.Tensor]:
        """Last hidden states of each token sequence, run alone (sorted batches)."""
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out: List[Optional[torch.Tensor]] = [None] * len(seqs)
        device = self.device
        pad = self.get_encoder().pad_id if self.tokenizer is not None else 0
        with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                ids, att = pad_sequences([seqs[i] for i in idx], pad)
                hidden = self.backbone(input_ids=ids.to(device),
                                       attention_mask=att.to(device)).last_hidden_state.float()
                for row, i in enumerate(idx):
                    out[i] = hidden[row, : len(seqs[i])]
        return out

    def _predict_isolated(self, encoded: Sequence[EncodedInput], batch_size: int,
                          half_precision: bool) -> List[np.ndarray]:
        """label_attention="isolated": texts and labels do not see each other, so
        each text and each distinct label is encoded once, alone (same scores as
        the packed passes, far less compute with many labels)."""
        out = [np.zeros(enc.n_labels, dtype=np.float32) for enc in encoded]
        seqs = isolated_sequences(encoded, self.config.label_pooling)
        texts, label_pool, where = seqs.texts, seqs.label_pools, seqs.where
        use_amp = half_precision and self.device.type == "cuda"
        with self._inference():
            t_hidden = self._encode_sequences(texts, batch_size, use_amp)
            text_vec = torch.stack([h.mean(0) if self.config.text_pooling == "mean" else h[0]
                                    for h in t_hidden])
            text_unit = F.normalize(self.text_projector(text_vec).float(), dim=-1)
            l_hidden = self._encode_sequences(seqs.labels, batch_size, use_amp)
            if self.config.label_pooling == "mean":
                label_vec = torch.stack([self.label_projector(h[pool]).mean(0)
                                         for h, pool in zip(l_hidden, label_pool)])
            else:
                label_vec = self.label_projector(
                    torch.stack([h[pool].mean(0) for h, pool in zip(l_hidden, label_pool)]))
            label_unit = F.normalize(label_vec.float(), dim=-1)
            if where:
                rows = torch.tensor([w[0] for w in where])
                cols = torch.tensor([w[2] for w in where])
                sims = self._scores((text_unit[rows] * label_unit[cols]).sum(-1))[0]
                for (e, slot, _), v in zip(where, sims.cpu().numpy()):
                    out[e][slot] = v
        return out

    def _predict(self, texts: Sequence[str], labels_list: Sequence[Sequence[str]], tokenizer,
                 activation: str, batch_size: int) -> List[ClassificationResult]:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        labels_list = [validate_labels(labels) for labels in labels_list]
        encoder = self.get_encoder(tokenizer)
        encoded = encoder.encode(list(texts), labels_list)
        logits = self.predict_encoded(encoded, batch_size=batch_size)
        results = []
        for labels, enc, lg in zip(labels_list, encoded, logits):
            scores = activate(lg, activation)
            if enc.text_truncated:
                warn_truncation(enc)
            results.append(ClassificationResult(
                list(zip(labels, (float(s) for s in scores))), enc.text_truncated, len(enc.passes)
            ))
        return results

    def predict_example(self, text: str, labels: Sequence[str], tokenizer=None,
                        activation: str = "sigmoid") -> ClassificationResult:
        """Score one text against its labels.

        text: the text to classify.
        labels: candidate labels (natural-language strings).
        tokenizer: the model's tokenizer (default: the one loaded with it).
        activation: "sigmoid" (independent scores, multi-label) or "softmax"
            (scores sum to one, single-label).
        """
        return self._predict([text], [labels], tokenizer, activation, 1)[0]

    def predict_batch(self, texts: Sequence[str], labels_list: Sequence[Sequence[str]],
                      tokenizer=None, activation: str = "sigmoid",
                      batch_size: int = 32) -> List[ClassificationResult]:
        """Score many texts; ``labels_list`` holds one label list per text, or a
        single list of strings shared by all texts."""
        if isinstance(texts, (str, bytes)):
            raise GliZNetInputError(
                "predict_batch takes a list of texts, not a single string; "
                "use predict_example for one text"
            )
        if labels_list and all(isinstance(x, str) for x in labels_list):
            labels_list = [list(labels_list)] * len(texts)
        return self._predict(texts, labels_list, tokenizer, activation, batch_size)

    # -- IO ------------------------------------------------------------------
    def save_pretrained(self, path: Union[str, Path], tokenizer=None,
                        dtype: Optional[torch.dtype] = None) -> None:
        """Write config.json, model.safetensors and the tokenizer files to ``path``.

        dtype: store floating point weights in this dtype (e.g. torch.float16
            for a compact checkpoint); they are loaded back as float32.
        """
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        cfg = self.config.to_dict()
        cfg["backbone_config"] = self.backbone.config.to_dict()
        for key in ("_name_or_path", "architectures", "transformers_version", "torch_dtype"):
            cfg["backbone_config"].pop(key, None)
        (path / CONFIG_NAME).write_text(json.dumps(cfg, indent=2, sort_keys=True), encoding="utf8")
        state = {}
        for k, v in self.state_dict().items():
            v = v.detach().cpu()
            if dtype is not None and v.is_floating_point():
                v = v.to(dtype)
            state[k] = v.contiguous()
        save_file(state, str(path / WEIGHTS_NAME), metadata={"format": "pt"})
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is not None:
            tokenizer.save_pretrained(str(path))

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path], **overrides: Any
                        ) -> "GliZNetForSequenceClassification":
        """Load a GliZNet checkpoint (this project's or the original
        implementation's) or start a new model from a bare backbone.

        name_or_path: local directory or Hugging Face Hub id.
        overrides: GliZNetConfig fields used when starting from a bare backbone
            (and ``max_length`` for any model).
        """
        return cls.from_pretrained_with_tokenizer(name_or_path, **overrides)[0]

    @classmethod
    def from_pretrained_with_tokenizer(cls, name_or_path: Union[str, Path], **overrides: Any
                                       ) -> Tuple["GliZNetForSequenceClassification", Any]:
        """Like :meth:`from_pretrained`, returning ``(model, tokenizer)``."""
        from .io import load_model

        return load_model(name_or_path, **overrides)


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return batch_size


def resolve_max_length(config: GliZNetConfig, backbone_config, tokenizer=None) -> int:
    """The sequence budget: config.max_length, else the smaller of the
    tokenizer's model_max_length and the backbone's position limit."""
    limit = getattr(backbone_config, "max_position_embeddings", None)
    if limit is not None and getattr(backbone_config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # position ids start after the padding index
    if config.max_length:
        if limit is not None and config.max_length > limit:
            raise ValueError(
                f"max_length {config.max_length} exceeds the backbone's {limit} positions"
            )
        return int(config.max_length)
    tok_max = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    candidates = [x for x in (limit, tok_max) if x is not None and 0 < x < 1_000_000]
    return int(min(candidates)) if candidates else 512


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    """Sigmoid or softmax of a 1-d logits array, in float64 for stability."""
    x = np.asarray(logits, dtype=np.float64)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "softmax":
        e = np.exp(x - x.max()) if x.size else x
        return e / e.sum() if x.size else x
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def warn_truncation(enc: EncodedInput) -> None:
    warnings.warn(
        f"Text of {enc.n_text_tokens} tokens was cut to {enc.n_text_tokens_used} tokens "
        f"to fit the model's maximum length; all {enc.n_labels} labels were scored "
        f"in {len(enc.passes)} pass(es).",
        TruncationWarning,
        stacklevel=3,
    )
