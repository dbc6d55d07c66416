"""Import of checkpoints saved by the original GliZNet implementation.

Those are Hugging Face directories whose ``config.json`` says ``model_type:
"gliznet"``, with the backbone config nested (partially) as ``backbone_config``,
weights under ``backbone.*``, ``aggregator.{text,label}_projector.{0,1}.*``,
a 0-d ``aggregator.similarity_head.logit_scale`` and a 0-d ``loss_fn.bce_scale``.
They read ``[CLS] text [SEP] l1 [LAB] l2 [LAB] ... lK [LAB]``, mean-pool label
tokens after projection and score ``cos * exp(clamp(logit_scale, -10, 10))``,
which is this project's model with ``template="reference"``.

Only that variant is supported; anything else is refused with an error that
says what was found, never loaded partially with random heads.
"""

from pathlib import Path
from typing import Any, Dict, Tuple

import torch

from .modeling import GliZNetConfig, GliZNetForSequenceClassification, GliZNetLoadError

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
KEY_MAP = (
    ("aggregator.text_projector.", "text_projector."),
    ("aggregator.label_projector.", "label_projector."),
    ("aggregator.similarity_head.logit_scale", "logit_scale"),
    ("loss_fn.bce_scale", "bce_scale"),
    ("backbone.", "backbone."),
)
IGNORED_PREFIXES = ("backbone.pooler.",)  # the reference keeps an unused BERT pooler


def _refuse(directory: Path, what: str) -> GliZNetLoadError:
    return GliZNetLoadError(
        f"Unsupported GliZNet checkpoint in {str(directory)!r}: {what}. "
        f"Supported: {SUPPORTED}."
    )


def reference_config(directory: Path, data: Dict[str, Any]) -> GliZNetConfig:
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
        dropout=float(data.get("dropout_rate", 0.1)),
        supcon_loss_weight=float(data.get("supcon_loss_weight", 1.0)),
        label_repulsion_weight=float(data.get("label_repulsion_weight", 0.1)),
        repulsion_threshold=float(data.get("repulsion_threshold", 0.3)),
        bce_loss_weight=float(data.get("bce_loss_weight", 1.0)),
    )


def map_reference_state(directory: Path, state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename reference weights to this project's names (0-d scalars become shape (1,))."""
    out = {}
    for key, value in state.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        for old, new in KEY_MAP:
            if key.startswith(old):
                name = new + key[len(old):]
                out[name] = value.reshape(1) if value.dim() == 0 else value
                break
        else:
            raise _refuse(directory, f"unexpected weight {key!r}")
    return out


def load_reference(directory: Path, data: Dict[str, Any], overrides: Dict[str, Any]
                   ) -> Tuple[GliZNetForSequenceClassification, Any]:
    from .io import load_state, load_tokenizer, read_weights

    config = reference_config(directory, data)
    if overrides.get("max_length"):
        config.max_length = int(overrides["max_length"])
    tokenizer = load_tokenizer(directory, config.lab_token)
    lab_id = data.get("lab_token_id")
    if lab_id is not None and tokenizer.convert_tokens_to_ids(config.lab_token) != lab_id:
        raise GliZNetLoadError(
            f"config.json says lab_token_id={lab_id} but the tokenizer maps "
            f"{config.lab_token!r} to {tokenizer.convert_tokens_to_ids(config.lab_token)}"
        )
    model = GliZNetForSequenceClassification(config, tokenizer=tokenizer)
    load_state(model, map_reference_state(directory, read_weights(directory)), str(directory))
    return model, tokenizer
