"""Where the default GliZNet model bundled with the package lives."""

from pathlib import Path

from .modeling import GliZNetLoadError

DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model_files"


def default_model_path() -> Path:
    """The bundled default model's directory; a clear error if it is not installed."""
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise GliZNetLoadError(
            "No model name was given and this installation has no bundled default model "
            f"(expected at {str(DEFAULT_MODEL_DIR)!r}). Set [components.gliznet_textcat.model] "
            "name to a GliZNet checkpoint or a backbone (Hub id or local directory)."
        )
    return DEFAULT_MODEL_DIR
