"""The GliZNet model configuration and the constants of its checkpoint format
(a leaf: imports nothing of the package but its errors)."""

import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional

from ..errors import GliZNetConfigError, GliZNetLoadError

MODEL_TYPE = "spacy_gliznet"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
LAB_TOKEN = "[LAB]"
TEMPLATES = ("gliznet", "reference")
TEXT_POOLING = ("cls", "mean")
LABEL_POOLING = ("mean", "lab")
LABEL_ATTENTION = ("full", "isolated", "text")
#: the head settings: they shape a new model started from a bare backbone, and a
#: checkpoint keeps its own (given for one, each must equal the checkpoint's value:
#: ``checkpoints.check_settings``). The architecture ``spacy_gliznet.GliZNet.v1`` takes
#: them by these names; ``init-config`` nulls them for a checkpoint.
HEAD_SETTINGS = ("text_pooling", "label_pooling", "projected_dim", "use_projection_layernorm",
                 "projector_init", "logit_scale_init", "dropout")


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
    dropout: dropout rate on the encoder output before pooling when the model
        trains outside spaCy; ``spacy train`` uses ``[training] dropout`` instead.
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

    def __post_init__(self) -> None:
        for name, allowed in (("text_pooling", TEXT_POOLING), ("label_pooling", LABEL_POOLING),
                              ("template", TEMPLATES), ("projector_init", ("random", "identity")),
                              ("label_attention", LABEL_ATTENTION)):
            if getattr(self, name) not in allowed:
                raise GliZNetConfigError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        check_dropout(self.dropout)

    def to_dict(self) -> Dict[str, Any]:
        return {"model_type": MODEL_TYPE, "format_version": FORMAT_VERSION, **asdict(self)}

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


def check_dropout(rate: Any) -> float:
    """A dropout rate: a number in [0, 1) (the model's ``dropout`` and spaCy's ``drop``)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
        raise GliZNetConfigError(f"dropout must be in [0, 1), got {rate!r}")
    return float(rate)


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise GliZNetConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return batch_size


#: ``batch_tokens = None`` on a CUDA device: padded tokens per backbone call (256 sequences of
#: 128 tokens, 128 of 256). Big enough that a batch of short texts is one call (a GPU pays a
#: fixed cost per call: kernel launches, and fp16 autocast's casts), small enough for the
#: activations of a BERT-base training step.
DEFAULT_GPU_BATCH_TOKENS = 32_768


def check_batch_tokens(batch_tokens: Optional[int]) -> Optional[int]:
    """``batch_tokens``: None (the device's default) or an integer >= 0 (0: off)."""
    if batch_tokens is None:
        return None
    if isinstance(batch_tokens, bool) or not isinstance(batch_tokens, int) or batch_tokens < 0:
        raise GliZNetConfigError(f"batch_tokens must be None or an integer >= 0, got {batch_tokens!r}")
    return batch_tokens


def resolve_batch_tokens(batch_tokens: Optional[int], device: Any) -> Optional[int]:
    """The token budget per backbone call on ``device`` (a ``torch.device`` or its type):
    ``batch_tokens`` itself when given (0: None, i.e. off: chunks of ``batch_size``
    sequences), else :data:`DEFAULT_GPU_BATCH_TOKENS` on CUDA and off on other devices
    (on a CPU, chunks of ``batch_size`` sequences are as fast and keep memory low)."""
    if batch_tokens is None:
        kind = getattr(device, "type", device)
        return DEFAULT_GPU_BATCH_TOKENS if kind == "cuda" else None
    return check_batch_tokens(batch_tokens) or None


def resolve_max_length(config: GliZNetConfig, backbone_config, tokenizer=None) -> int:
    """The sequence budget: config.max_length, else the smaller of the
    tokenizer's model_max_length and the backbone's position limit."""
    limit = getattr(backbone_config, "max_position_embeddings", None)
    if limit is not None and getattr(backbone_config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # position ids start after the padding index
    if config.max_length:
        if limit is not None and config.max_length > limit:
            raise GliZNetConfigError(
                f"max_length {config.max_length} exceeds the backbone's {limit} positions"
            )
        return int(config.max_length)
    tok_max = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    candidates = [x for x in (limit, tok_max) if x is not None and 0 < x < 1_000_000]
    return int(min(candidates)) if candidates else 512
