"""Loading and saving GliZNet checkpoints: this project's format, the original
implementation's (see original.py), bare backbones, the bundled default model,
and the bytes a spaCy pipeline stores.

A name's ``config.json`` decides what is built:

* ``model_type: "spacy_gliznet"``: this project's checkpoint;
* ``model_type: "gliznet"``: a checkpoint of the original implementation;
* anything else: a bare encoder backbone, to which GliZNet heads are added.

Head settings (``text_pooling``, ``projected_dim``, ...) shape a new model
started from a backbone. A checkpoint keeps its own: a head setting given for a
checkpoint must equal the checkpoint's value, or loading fails with an error
naming the setting (it would otherwise be silently ignored). ``max_length``
applies to any model.
"""

import json
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import srsly
import torch

from .config import CONFIG_NAME, LAB_TOKEN, MODEL_TYPE, WEIGHTS_NAME, GliZNetConfig
from ..errors import GliZNetInputError, GliZNetLoadError
from .files import (
    load_state,
    load_tokenizer,
    no_weights_error,
    read_config,
    read_weights,
    resolve_model_dir,
)
from .original import load_original, load_original_state
from .predictor import GliZNetPredictor

DEFAULT_MODEL_DIR = Path(__file__).parents[1] / "default_model_files"
# What building a model from a bad config.json can raise (e.g. a negative
# hidden size reaches torch as RuntimeError).
BUILD_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RuntimeError)


class GliZNetForSequenceClassification(GliZNetPredictor):
    """The GliZNet model with its prediction API and checkpoint IO (the plain PyTorch API)::

        model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer("path/or/hub-id")
        model.predict_example("The match ended 2-1", ["sports", "politics"]).labels
        model.save_pretrained("my-model")
    """

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path], **settings: Any
                        ) -> "GliZNetForSequenceClassification":
        """Load a GliZNet checkpoint (this project's or the original
        implementation's) or start a new model from a bare backbone.

        name_or_path: local directory or Hugging Face Hub id.
        settings: GliZNetConfig fields for a new model started from a bare
            backbone (a checkpoint refuses values other than its own), and
            ``max_length`` for any model.
        """
        return cls.from_pretrained_with_tokenizer(name_or_path, **settings)[0]

    @classmethod
    def from_pretrained_with_tokenizer(cls, name_or_path: Union[str, Path], **settings: Any
                                       ) -> Tuple["GliZNetForSequenceClassification", Any]:
        """Like :meth:`from_pretrained`, returning ``(model, tokenizer)``."""
        return load_model(name_or_path, **settings)

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


def default_model_path() -> Path:
    """The bundled default model's directory; a clear error if it is not installed."""
    if not (DEFAULT_MODEL_DIR / CONFIG_NAME).is_file():
        raise GliZNetLoadError(
            "No model name was given and this installation has no bundled default model "
            f"(expected at {str(DEFAULT_MODEL_DIR)!r}). Set [components.gliznet_textcat.model] "
            "name to a GliZNet checkpoint or a backbone (Hub id or local directory)."
        )
    return DEFAULT_MODEL_DIR


def check_known(settings: Dict[str, Any]) -> None:
    """Refuse names that are not GliZNetConfig settings."""
    unknown = sorted(set(settings) - (set(GliZNetConfig.__dataclass_fields__) - {"backbone_config"}))
    if unknown:
        raise GliZNetInputError(f"Unknown GliZNet settings: {unknown}")


def check_settings(config: GliZNetConfig, settings: Dict[str, Any], source: str) -> None:
    """Refuse settings given for a checkpoint that differ from its own values."""
    check_known(settings)
    conflicts = [f"{k}={v!r} (the checkpoint has {getattr(config, k)!r})"
                 for k, v in sorted(settings.items())
                 if k != "max_length" and v != getattr(config, k)]
    if conflicts:
        raise GliZNetInputError(
            f"Settings that conflict with the checkpoint {source!r}: {', '.join(conflicts)}. "
            f"These settings shape a new model started from a bare backbone; a checkpoint "
            f"keeps its own. Remove them (null in a spaCy config) or give the checkpoint's values."
        )


def _load_own(directory: Path, data: Dict[str, Any]) -> Tuple[GliZNetConfig, Any]:
    try:
        config = GliZNetConfig.from_dict(data)
    except (GliZNetLoadError,) + BUILD_ERRORS as err:
        raise GliZNetLoadError(f"Invalid GliZNet config in {str(directory)!r}: {err}") from err
    tokenizer = load_tokenizer(directory, config.lab_token, saved=True)
    if not (directory / WEIGHTS_NAME).is_file():
        raise no_weights_error(directory)
    return config, tokenizer


def _build(cls, config: GliZNetConfig, directory: Path, **kwargs: Any):
    try:
        return cls(config, **kwargs)
    except (GliZNetLoadError,) + BUILD_ERRORS as err:
        raise GliZNetLoadError(
            f"Invalid GliZNet config in {str(directory)!r}: {type(err).__name__}: {err}"
        ) from err


def _start_from_backbone(cls, directory: Path, data: Dict[str, Any], settings: Dict[str, Any]):
    from transformers import AutoModel

    if not data.get("model_type"):
        raise GliZNetLoadError(
            f"{str(directory / CONFIG_NAME)!r} has no 'model_type': not a GliZNet checkpoint "
            f"nor a Hugging Face backbone"
        )
    check_known(settings)
    tokenizer = load_tokenizer(directory, settings.get("lab_token", LAB_TOKEN), add_lab=True)
    if not (directory / WEIGHTS_NAME).is_file() and not (
        directory / (WEIGHTS_NAME + ".index.json")
    ).is_file():
        raise no_weights_error(directory)
    # use_safetensors=True: transformers must never fall back to a pickle file.
    kwargs = {"use_safetensors": True, "output_loading_info": True}
    try:
        try:
            backbone, info = AutoModel.from_pretrained(
                str(directory), add_pooling_layer=False, **kwargs)
        except TypeError:
            backbone, info = AutoModel.from_pretrained(str(directory), **kwargs)
    except Exception as err:
        raise GliZNetLoadError(
            f"Could not load a backbone from {str(directory)!r}: {type(err).__name__}: {err}"
        ) from err
    missing = sorted(info.get("missing_keys") or [])
    mismatched = info.get("mismatched_keys") or []
    if missing or mismatched:
        raise GliZNetLoadError(
            f"The backbone weights in {str(directory)!r} do not match its config.json: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"mismatched {[m[0] if isinstance(m, tuple) else m for m in mismatched][:5]}. "
            f"Refusing to start from randomly initialised weights."
        )
    # Grow the embedding matrix only if the tokenizer outgrew it (ModernBERT has spare rows).
    if len(tokenizer) > backbone.get_input_embeddings().num_embeddings:
        backbone.resize_token_embeddings(len(tokenizer))
    config = GliZNetConfig(backbone_config=backbone.config.to_dict(), **settings)
    return cls(config, backbone=backbone, tokenizer=tokenizer), tokenizer


def load_model(name_or_path: Union[str, Path], **settings: Any
               ) -> Tuple[GliZNetForSequenceClassification, Any]:
    """Load ``(model, tokenizer)`` from a directory or Hub id (see module docstring).
    Settings whose value is None are not given."""
    cls = GliZNetForSequenceClassification
    settings = {k: v for k, v in settings.items() if v is not None}
    directory = resolve_model_dir(name_or_path)
    data = read_config(directory)
    model_type = data.get("model_type")
    if model_type in (MODEL_TYPE, "gliznet"):
        if model_type == MODEL_TYPE:
            config, tokenizer = _load_own(directory, data)
        else:
            config, tokenizer = load_original(directory, data)
        check_settings(config, settings, str(name_or_path))
        if settings.get("max_length"):
            config.max_length = int(settings["max_length"])
        model = _build(cls, config, directory, tokenizer=tokenizer)
        state = read_weights(directory)
        if model_type == "gliznet":
            load_original_state(model, state, directory)
        else:
            load_state(model, state, str(directory))
    else:
        model, tokenizer = _start_from_backbone(cls, directory, data, settings)
    model.eval()
    return model, tokenizer


def model_to_bytes(model: GliZNetForSequenceClassification) -> bytes:
    """The whole checkpoint (config, safetensors weights, tokenizer files) as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        files = {
            str(p.relative_to(tmp)): p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()
        }
    return srsly.msgpack_dumps({"format": MODEL_TYPE, "files": files})


def model_from_bytes(data: bytes) -> GliZNetForSequenceClassification:
    """Inverse of :func:`model_to_bytes`; needs no network and no original files."""
    msg = srsly.msgpack_loads(data)
    if not isinstance(msg, dict) or msg.get("format") != MODEL_TYPE:
        raise GliZNetLoadError("The serialized data is not a spacy-gliznet model")
    with tempfile.TemporaryDirectory() as tmp:
        for rel, content in msg["files"].items():
            target = Path(tmp) / rel
            if Path(tmp).resolve() not in target.resolve().parents:
                raise GliZNetLoadError(f"Refusing to write serialized file outside the model: {rel!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        model, _ = load_model(tmp)
    return model


def interpolate_states(start: Dict[str, torch.Tensor], finetuned: Dict[str, torch.Tensor],
                       alpha: float) -> Dict[str, torch.Tensor]:
    """``(1 - alpha) * start + alpha * finetuned`` for every floating point tensor
    (others, e.g. position ids, are taken from ``start``). Both state dicts must
    have the same names and shapes."""
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise GliZNetInputError(f"alpha must be in [0, 1], got {alpha}")
    missing, extra = sorted(set(start) - set(finetuned)), sorted(set(finetuned) - set(start))
    if missing or extra:
        raise GliZNetInputError(
            "The two models have different parameters; interpolation needs the same "
            f"architecture (only in start: {missing[:5]}, only in fine-tune: {extra[:5]})")
    mixed = {}
    for key, a in start.items():
        b = finetuned[key]
        if a.shape != b.shape:
            raise GliZNetInputError(f"Parameter {key!r} has shape {tuple(a.shape)} in start and "
                             f"{tuple(b.shape)} in the fine-tune")
        if a.is_floating_point():
            b = b.to(device=a.device, dtype=a.dtype)
            mixed[key] = (1 - alpha) * a + alpha * b
        else:
            mixed[key] = a.clone()
    return mixed
