"""``python -m spacy_gliznet export``: the GliZNet checkpoint inside a trained
spaCy pipeline, saved as a Hugging Face style directory (float16 by default)."""

import argparse
from pathlib import Path
from typing import Optional, Union

from ..atomic import atomic_folder, check_output
from ..errors import GliZNetInputError
from ._common import add_dtype_option, add_overwrite_option, pipeline_model, storage_dtype


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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``export`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("export", help="save the GliZNet checkpoint of a trained pipeline")
    p.add_argument("pipeline")
    p.add_argument("output")
    p.add_argument("--component", default="gliznet_textcat")
    add_dtype_option(p)
    p.add_argument("--max-length", type=int, default=None,
                   help="max_length stored in the checkpoint (0: the backbone's own)")
    add_overwrite_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``export`` from parsed arguments and print where and how large."""
    out = export_model(args.pipeline, args.output, component=args.component, dtype=args.dtype,
                       max_length=args.max_length, overwrite=args.overwrite)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"Saved {out} ({size / 1e6:.1f} MB)")
