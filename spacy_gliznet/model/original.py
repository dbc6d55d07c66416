"""Import of checkpoints saved by the original GliZNet implementation.

Those are Hugging Face directories whose ``config.json`` says ``model_type:
"gliznet"``, with the backbone config nested (partially) as ``backbone_config``,
weights under ``backbone.*``, ``aggregator.{text,label}_projector.{0,1}.*``,
a 0-d ``aggregator.similarity_head.logit_scale`` and a 0-d ``loss_fn.bce_scale``.
They read ``[CLS] text [SEP] l1 [LAB] l2 [LAB] ... lK [LAB]``, mean-pool label
tokens after projection and score ``cos * exp(clamp(logit_scale, -10, 10))``,
which is this project's model with ``template="reference"`` (the value saved in
checkpoints keeps that spelling, so files written before this module's rename load).

Only that variant is supported; anything else is refused with an error that
says what was found, never loaded partially with random heads.

(The tests write a model back in that layout, to check the import both ways.)
"""

from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from .config import GliZNetConfig
from ..errors import GliZNetInputError, GliZNetLoadError
from .files import load_state, load_tokenizer
from .network import GliZNetModel

# config.json keys of the supported variant; values that change the
# architecture are checked one by one below.
SUPPORTED_KEYS = {
    "architectures", "backbone_config", "backbone_model", "bce_loss_weight", "dropout_rate",
    "lab_token_id", "label_repulsion_weight", "learn_temperature", "logit_scale_init",
    "model_type", "projected_dim", "repulsion_threshold", "similarity_metric",
    "supcon_loss_weight", "torch_dtype", "transformers_version", "use_lab_token_for_labels",
    "use_projection_layernorm", "_name_or_path",
}
SUPPORTED = (
    "similarity_metric='cosine', use_lab_token_for_labels=false, Linear(+LayerNorm) "
    "projectors, a nested backbone_config"
)
# Prefix renames (original name -> this project's name).
KEY_MAP = (
    ("aggregator.text_projector.", "text_projector."),
    ("aggregator.label_projector.", "label_projector."),
    ("backbone.", "backbone."),
)
# 0-d scalars in the original, shape (1,) here; matched exactly.
SCALAR_MAP = {
    "aggregator.similarity_head.logit_scale": "logit_scale",
    "loss_fn.bce_scale": "bce_scale",
}
IGNORED_PREFIXES = ("backbone.pooler.",)  # the original keeps an unused BERT pooler


def _refuse(directory: Path, what: str) -> GliZNetLoadError:
    return GliZNetLoadError(
        f"Unsupported GliZNet checkpoint in {str(directory)!r}: {what}. "
        f"Supported: {SUPPORTED}."
    )


def original_config(directory: Path, data: Dict[str, Any]) -> GliZNetConfig:
    """This project's config for a supported original-implementation config."""
    unknown = sorted(set(data) - SUPPORTED_KEYS)
    if unknown:
        raise _refuse(directory, f"unknown config keys {unknown}")
    metric = data.get("similarity_metric", "cosine")
    if metric != "cosine":
        raise _refuse(directory, f"similarity_metric={metric!r}")
    if data.get("use_lab_token_for_labels", False):
        raise _refuse(directory, "use_lab_token_for_labels=true")
    backbone = data.get("backbone_config")
    if not isinstance(backbone, dict) or "model_type" not in backbone:
        raise _refuse(directory, "no nested backbone_config with a model_type")
    return GliZNetConfig(
        backbone_config=dict(backbone),
        projected_dim=int(data.get("projected_dim", 256)),
        text_pooling="cls",
        label_pooling="mean",
        use_projection_layernorm=bool(data.get("use_projection_layernorm", True)),
        logit_scale_init=float(data.get("logit_scale_init", 2.0)),
        learn_temperature=bool(data.get("learn_temperature", True)),
        template="reference",
        # The original has no offset: keep it at 0 in training too, so that a
        # fine-tuned model can still be exported to the original layout.
        learn_score_offset=False,
        dropout=float(data.get("dropout_rate", 0.1)),
    )


def map_original_state(directory: Path, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename the original's weights to this project's names (0-d scalars become shape (1,))."""
    out = {}
    for key, value in state.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        if key in SCALAR_MAP:
            if value.numel() != 1:
                raise _refuse(directory, f"weight {key!r} has shape {tuple(value.shape)}, not a scalar")
            out[SCALAR_MAP[key]] = value.reshape(1)
            continue
        for old, new in KEY_MAP:
            if key.startswith(old):
                name = new + key[len(old):]
                out[name] = value.reshape(1) if value.dim() == 0 else value
                break
        else:
            raise _refuse(directory, f"unexpected weight {key!r}")
    return out


def load_original(directory: Path, data: Dict[str, Any]) -> Tuple[GliZNetConfig, Any]:
    """This project's config and the tokenizer of an original-implementation checkpoint."""
    config = original_config(directory, data)
    tokenizer = load_tokenizer(directory, config.lab_token)
    lab_id = data.get("lab_token_id")
    if lab_id is not None and tokenizer.convert_tokens_to_ids(config.lab_token) != lab_id:
        raise GliZNetLoadError(
            f"config.json says lab_token_id={lab_id} but the tokenizer maps "
            f"{config.lab_token!r} to {tokenizer.convert_tokens_to_ids(config.lab_token)}"
        )
    return config, tokenizer


def load_original_state(model: GliZNetModel, state: Dict[str, torch.Tensor],
                         directory: Path) -> None:
    """Load the original implementation's weights into ``model`` (built from
    :func:`load_original`'s config); a clear refusal for any other layout."""
    config = model.config
    state = map_original_state(directory, state)
    state.setdefault("score_offset", torch.zeros(1))  # the original has no offset
    own = set(model.state_dict())
    for what, keys in (("missing weights", own - set(state)), ("unexpected weights", set(state) - own)):
        if keys:
            names = sorted(original_weight_name(k) for k in keys)
            raise _refuse(
                directory,
                f"{what} {names[:5]}{'...' if len(names) > 5 else ''} for "
                f"use_projection_layernorm={config.use_projection_layernorm}, "
                f"projected_dim={config.projected_dim} and a "
                f"{config.backbone_config.get('model_type')!r} backbone",
            )
    try:
        load_state(model, state, str(directory))
    except GliZNetLoadError as err:
        raise _refuse(directory, str(err)) from err


def original_weight_name(name: str) -> str:
    """The original's name for one of this project's weight names."""
    for old, new in SCALAR_MAP.items():
        if name == new:
            return old
    for old, new in KEY_MAP:
        if name.startswith(new):
            return old + name[len(new):]
    raise GliZNetInputError(f"The original GliZNet layout has no place for weight {name!r}")
