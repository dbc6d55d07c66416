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

:func:`save_original_checkpoint` writes a model with ``template="reference"``
back in that layout.
"""

import json
from pathlib import Path
from typing import Any, Dict, Tuple, Union

import torch

from .config import CONFIG_NAME, LAB_TOKEN, WEIGHTS_NAME, GliZNetConfig
from ..errors import GliZNetLoadError
from .files import load_state, load_tokenizer
from .network import GliZNetModel
from ..settings import LossSettings

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
IGNORED_PREFIXES = ("backbone.pooler.",)
# The original's config.json also carries its training loss weights; this
# project keeps them in the component's loss block, so an export writes the
# defaults of both implementations.
_LOSS = LossSettings()
ORIGINAL_LOSS_SETTINGS = {"supcon_loss_weight": _LOSS.supcon_weight,
                          "label_repulsion_weight": _LOSS.repulsion_weight,
                          "repulsion_threshold": _LOSS.repulsion_threshold,
                          "bce_loss_weight": _LOSS.bce_weight}  # the original keeps an unused BERT pooler


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
    raise ValueError(f"The original GliZNet layout has no place for weight {name!r}")


def save_original_checkpoint(model: GliZNetModel,
                              directory: Union[str, Path], tokenizer=None) -> Path:
    """Write ``model`` in the original implementation's checkpoint layout.

    The layout can only express ``template="reference"`` with ``text_pooling="cls"``,
    ``label_pooling="mean"``, cosine scoring and the ``[LAB]`` token; anything
    else raises ValueError before a file is written. ``config.max_length``, if
    set, is stored as the tokenizer's ``model_max_length`` (the original's
    sequence budget). The backbone config is nested with only its non-default
    values (``to_diff_dict``); weights are written with safetensors (0-d
    temperature and BCE scale). Returns the directory.
    """
    from safetensors.torch import save_file
    import transformers

    if not isinstance(model, GliZNetModel):
        raise TypeError(f"Expected a GliZNet model, got {type(model).__name__}")
    cfg = model.config
    problems = []
    if cfg.template != "reference":
        problems.append(f"template={cfg.template!r} (the original reads "
                        "'[CLS] text [SEP] l1 [LAB] ... lK [LAB]', template='reference')")
    if cfg.text_pooling != "cls":
        problems.append(f"text_pooling={cfg.text_pooling!r} (the original uses the [CLS] vector)")
    if cfg.label_pooling != "mean":
        problems.append(f"label_pooling={cfg.label_pooling!r} (the original mean-pools label tokens)")
    if cfg.lab_token != LAB_TOKEN:
        problems.append(f"lab_token={cfg.lab_token!r} (the original uses {LAB_TOKEN!r})")
    if cfg.label_attention != "full":
        problems.append(f"label_attention={cfg.label_attention!r} (in the original every token "
                        "attends to the whole sequence)")
    offset = float(model.score_offset.detach().float().cpu().item())
    if offset != 0.0:
        problems.append(f"score_offset={offset:g} (the original scores cos * temperature, "
                        "with no offset)")
    tokenizer = tokenizer if tokenizer is not None else model.tokenizer
    if tokenizer is None:
        problems.append("no tokenizer (pass one, or load the model with its tokenizer)")
    if problems:
        raise ValueError(
            "This model cannot be written in the original GliZNet layout: "
            + "; ".join(problems)
            + f". Supported: {SUPPORTED}, text_pooling='cls', label_pooling='mean', "
            f"template='reference', lab_token={LAB_TOKEN!r}."
        )
    lab_id = tokenizer.convert_tokens_to_ids(cfg.lab_token)
    if lab_id is None or lab_id == tokenizer.unk_token_id:
        raise ValueError(f"The tokenizer has no {cfg.lab_token!r} token")
    state = {}
    for name, value in model.state_dict().items():
        if name == "score_offset":
            continue
        key = original_weight_name(name)
        value = value.detach().cpu().float()
        if key in SCALAR_MAP:
            value = value.reshape(())
        state[key] = value.contiguous()

    backbone_config = model.backbone.config.to_diff_dict()
    for key in ("_name_or_path", "transformers_version"):
        backbone_config.pop(key, None)
    backbone_config["model_type"] = model.backbone.config.model_type
    data = {
        "architectures": ["GliZNetForSequenceClassification"],
        "backbone_config": backbone_config,
        # The original records where its backbone came from; loading never reads it.
        "backbone_model": getattr(model.backbone.config, "_name_or_path", None) or None,
        "bce_loss_weight": ORIGINAL_LOSS_SETTINGS["bce_loss_weight"],
        "dropout_rate": float(cfg.dropout),
        "lab_token_id": int(lab_id),
        "label_repulsion_weight": ORIGINAL_LOSS_SETTINGS["label_repulsion_weight"],
        "learn_temperature": bool(cfg.learn_temperature),
        "logit_scale_init": float(cfg.logit_scale_init),
        "model_type": "gliznet",
        "projected_dim": int(model.text_projector[0].out_features),
        "repulsion_threshold": ORIGINAL_LOSS_SETTINGS["repulsion_threshold"],
        "similarity_metric": "cosine",
        "supcon_loss_weight": ORIGINAL_LOSS_SETTINGS["supcon_loss_weight"],
        "torch_dtype": "float32",
        "transformers_version": transformers.__version__,
        "use_lab_token_for_labels": False,
        "use_projection_layernorm": bool(cfg.use_projection_layernorm),
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    if cfg.max_length:
        tok_cfg_path = directory / "tokenizer_config.json"
        tok_cfg = json.loads(tok_cfg_path.read_text(encoding="utf8"))
        tok_cfg["model_max_length"] = int(cfg.max_length)
        tok_cfg_path.write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf8")
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    (directory / CONFIG_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                         encoding="utf8")
    return directory
