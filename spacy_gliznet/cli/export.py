"""``python -m spacy_gliznet export``: the GliZNet checkpoint inside a trained
spaCy pipeline, saved as a Hugging Face style directory (float16 by default)."""

from pathlib import Path
from typing import Optional, Union

import spacy
import torch

from ..atomic import atomic_folder, check_output
from ..errors import GliZNetInputError
from ..model.checkpoints import GliZNetForSequenceClassification
from ..pipeline.layer import ensure_loaded

STORAGE_DTYPES = {"float16": torch.float16, "float32": None}


def storage_dtype(name: str) -> Optional[torch.dtype]:
    """The torch dtype that ``save_pretrained`` stores weights in, for a name
    of ``STORAGE_DTYPES`` (None: as they are, float32)."""
    if name not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(STORAGE_DTYPES)}, got {name!r}")
    return STORAGE_DTYPES[name]


def pipeline_model(pipeline: Union[str, Path],
                   component: str = "gliznet_textcat") -> GliZNetForSequenceClassification:
    """The GliZNet torch model held by ``component`` of a saved spaCy pipeline."""
    nlp = spacy.load(pipeline)
    return ensure_loaded(nlp.get_pipe(component).model)


def export_model(pipeline: Union[str, Path], output: Union[str, Path], *,
                 component: str = "gliznet_textcat", dtype: str = "float16",
                 max_length: Optional[int] = None, overwrite: bool = False) -> Path:
    """Save the model of ``component`` in ``pipeline`` to ``output``.

    dtype: storage dtype of the weights, "float16" or "float32".
    max_length: max_length stored in the checkpoint (0: the backbone's own;
        None: unchanged).
    overwrite: replace an existing non-empty ``output`` folder (written atomically).
    """
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or (max_length != 0 and max_length < 8)):
        raise GliZNetInputError(f"--max-length must be 0 (the backbone's own) or a whole number "
                                f">= 8, got {max_length!r}")
    check_output(output, inputs=[pipeline], overwrite=overwrite)
    module = pipeline_model(pipeline, component)
    if max_length is not None:
        module.config.max_length = int(max_length) if max_length else None
        module._encoder = None
    with atomic_folder(output, overwrite) as tmp:
        module.save_pretrained(tmp, dtype=storage_dtype(dtype))
    return Path(output)
