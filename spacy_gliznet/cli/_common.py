"""What the commands of ``python -m spacy_gliznet`` share (private: no command imports
another, they all import this): how a command registers itself, the user errors the
command line reports in one line, loading a pipeline or the default, label and name
lists, the ``--dtype`` and ``--gpu-id`` options.

A command is one module of ``spacy_gliznet/cli/`` with two functions:

- ``add_parser(subparsers)``: adds its sub-parser, its options, and
  ``parser.set_defaults(run=run)``;
- ``run(args)``: does the work from the parsed arguments and prints the result.

``spacy_gliznet/__main__.py`` lists the command modules once, in the order ``--help``
shows them.
"""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Union

from ..errors import GliZNetInputError, GliZNetLoadError
from ..labels import LabelsArg

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from spacy.language import Language

#: the pipeline name that stands for a blank English pipeline with the bundled model
DEFAULT_PIPELINE = "default"
#: ``--dtype`` names: the weights a command saves are stored as float16, or as they are (float32)
STORAGE_DTYPES = ("float16", "float32")


class UsageError(SystemExit):
    """A mistake on the command line that argparse cannot see (options that do not go
    together, an output that exists): a ``SystemExit`` like argparse's own errors, whose
    message ``python -m spacy_gliznet`` prints as one ``error:`` line with exit code 2."""


#: what a user's mistake raises: these end ``python -m spacy_gliznet`` with one line and
#: exit code 2; any other exception is a bug and keeps its traceback
USER_ERRORS = (GliZNetInputError, GliZNetLoadError, UsageError)


def error_line(err: BaseException) -> str:
    """The message of a user error on one line."""
    return " ".join(str(err).split("\n")).strip() or type(err).__name__


# -- names and labels --------------------------------------------------------------------
def comma_list(value: Optional[str], option: str = "--labels") -> Optional[List[str]]:
    """A comma-separated option value as a list (items stripped, empty ones dropped);
    None when the option is not given. An option given with no item in it is refused.

    value: the option's text, e.g. ``"sports, food"``.
    option: the option's name, for the error.
    """
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise UsageError(f"{option}: no names in {value!r} (give them comma-separated)")
    return items


def read_labels_option(value: Optional[str]) -> Optional[LabelsArg]:
    """A ``--labels`` value: a label file (``.txt``: one per line; ``.json``: a list or
    ``{label: description}``), a JSON list or object, or comma-separated labels; None
    when not given (``spacy_gliznet.corpus.readers.parse_labels_option``)."""
    from ..corpus.readers import parse_labels_option

    return parse_labels_option(value)


# -- pipelines and models ----------------------------------------------------------------
def load_pipeline(name: Union[str, Path], component: Optional[str] = "gliznet_textcat", *,
                  labels: Optional[LabelsArg] = None) -> "Language":
    """A saved spaCy pipeline, or (``"default"``) a blank English pipeline whose
    ``component`` is a ``gliznet_textcat`` with the bundled model.

    name: a pipeline directory, or ``DEFAULT_PIPELINE``.
    component: the pipe the command works on; a saved pipeline without it is refused
        (None: no check, the command picks the pipe itself).
    labels: the default pipeline's labels (a saved pipeline keeps its own).
    Raises GliZNetInputError for a path that is not a saved pipeline or lacks ``component``.
    """
    import spacy

    if str(name) == DEFAULT_PIPELINE:
        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", name=component or "gliznet_textcat",
                     config={"labels": labels} if labels else {})
        return nlp
    path = Path(name)
    if not path.is_dir():
        raise GliZNetInputError(f"No pipeline directory {str(name)!r} (or give "
                                f"{DEFAULT_PIPELINE!r} for the bundled model)")
    if not (path / "config.cfg").is_file():
        raise GliZNetInputError(f"{str(name)!r} is not a saved spaCy pipeline (no config.cfg); "
                                f"give a directory written by nlp.to_disk or spacy train, or "
                                f"{DEFAULT_PIPELINE!r} for the bundled model")
    nlp = spacy.load(path)
    if component is not None and component not in nlp.pipe_names:
        raise GliZNetInputError(f"{str(name)!r} has no component {component!r} "
                                f"(it has {nlp.pipe_names}); pass --component")
    return nlp


def pipeline_model(pipeline: Union[str, Path], component: str = "gliznet_textcat"):
    """The GliZNet torch model (``GliZNetForSequenceClassification``) held by
    ``component`` of a saved spaCy pipeline."""
    from ..pipeline.layer import ensure_loaded

    return ensure_loaded(load_pipeline(pipeline, component).get_pipe(component).model)


# -- options shared by several commands ----------------------------------------------------
def add_dtype_option(parser: argparse.ArgumentParser) -> None:
    """``--dtype``: the storage dtype of the weights a command saves (default float16)."""
    parser.add_argument("--dtype", default="float16", choices=list(STORAGE_DTYPES),
                        help="storage dtype of the saved weights")


def storage_dtype(name: str) -> Optional["torch.dtype"]:
    """The torch dtype ``save_pretrained`` stores weights in for a ``--dtype`` name
    (None: as they are, float32)."""
    import torch

    if name not in STORAGE_DTYPES:
        raise GliZNetInputError(f"dtype must be one of {sorted(STORAGE_DTYPES)}, got {name!r}")
    return torch.float16 if name == "float16" else None


#: the help of ``--overwrite`` for a command whose OUTPUT is a folder
OVERWRITE_HELP = "replace OUTPUT if it is a non-empty folder (it is written atomically either way)"


def add_overwrite_option(parser: argparse.ArgumentParser, help: str = OVERWRITE_HELP) -> None:
    """``--overwrite``: replace an existing OUTPUT (commands write it atomically either way)."""
    parser.add_argument("--overwrite", action="store_true", help=help)


def add_gpu_id_option(parser: argparse.ArgumentParser) -> None:
    """``--gpu-id``, spaCy's convention: -1 (the default) runs on the CPU, N >= 0 on GPU N."""
    parser.add_argument("--gpu-id", type=int, default=-1,
                        help="GPU to run on: -1 for the CPU (default), 0 for the first GPU "
                             "(needs a CUDA build of torch and spaCy's cupy extra)")


def _require_torch_gpu(gpu_id: int) -> None:
    import torch

    if not torch.cuda.is_available():
        raise GliZNetInputError(
            f"--gpu-id {gpu_id}: torch sees no GPU (torch {torch.__version__} is a CPU build or "
            f"no CUDA device is visible); install a CUDA build of torch and spaCy's cupy extra "
            f"(e.g. pip install 'spacy[cuda12x]'), or use --gpu-id -1 for the CPU")
    if gpu_id >= torch.cuda.device_count():
        raise GliZNetInputError(f"--gpu-id {gpu_id}: torch sees {torch.cuda.device_count()} "
                                f"GPU(s), numbered from 0")


def use_gpu(gpu_id: int) -> None:
    """Run spaCy and Thinc (and so a pipeline loaded after this) on GPU ``gpu_id`` with
    ``spacy.require_gpu``; nothing for a negative id (the CPU). Raises GliZNetInputError,
    saying what to install, when there is no such GPU or no cupy."""
    if gpu_id < 0:
        return
    _require_torch_gpu(gpu_id)
    import spacy

    try:
        spacy.require_gpu(gpu_id)
    except ValueError as err:  # thinc: "Cannot use GPU, CuPy is not installed", ...
        raise GliZNetInputError(
            f"--gpu-id {gpu_id}: {err}; install spaCy's cupy extra for your CUDA "
            f"(e.g. pip install 'spacy[cuda12x]'), or use --gpu-id -1 for the CPU") from None


def torch_device(gpu_id: int) -> "torch.device":
    """The torch device of ``--gpu-id`` for a command that runs a plain torch model:
    the CPU for a negative id, else ``cuda:gpu_id`` (checked to exist)."""
    import torch

    if gpu_id < 0:
        return torch.device("cpu")
    _require_torch_gpu(gpu_id)
    return torch.device(f"cuda:{gpu_id}")

