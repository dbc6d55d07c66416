"""``python -m spacy_gliznet export``: the GliZNet checkpoint inside a trained
spaCy pipeline, saved as a Hugging Face style directory (optionally fp16)."""

from pathlib import Path
from typing import Optional, Union

import torch


def pipeline_model(pipeline: Union[str, Path], component: str = "gliznet_textcat"):
    """The GliZNet torch model held by ``component`` of a saved spaCy pipeline."""
    import spacy

    import spacy_gliznet  # noqa: F401  (registers the factory)
    from ..layers import ensure_loaded

    nlp = spacy.load(pipeline)
    return ensure_loaded(nlp.get_pipe(component).model)


def export_model(pipeline: Union[str, Path], output: Union[str, Path], *,
                 component: str = "gliznet_textcat", fp16: bool = True,
                 max_length: Optional[int] = None) -> Path:
    module = pipeline_model(pipeline, component)
    if max_length is not None:
        module.config.max_length = int(max_length) if max_length else None
        module._encoder = None
    output = Path(output)
    module.save_pretrained(output, dtype=torch.float16 if fp16 else None)
    return output
