"""``python -m spacy_gliznet interpolate``: weight-space interpolation between a
start checkpoint and a fine-tune of it (WiSE-FT: Wortsman et al. 2022, "Robust
fine-tuning of zero-shot models"), which keeps more of the start's zero-shot
transfer than the fine-tune alone."""

import argparse
from pathlib import Path
from typing import Union

from ..atomic import atomic_folder, check_output
from ..errors import GliZNetInputError
from ..model.checkpoints import GliZNetForSequenceClassification, interpolate_states
from ..model.config import MODEL_TYPE
from ..model.files import read_config, resolve_model_dir
from ..settings import validate_number
from ._common import add_dtype_option, add_overwrite_option, pipeline_model, storage_dtype

# Config fields that change how scores are computed: both models must agree on them.
SCORING_FIELDS = ("text_pooling", "label_pooling", "template", "label_attention", "lab_token",
                  "use_projection_layernorm", "projected_dim")


def _finetuned_model(name: Union[str, Path], component: str):
    """A GliZNet checkpoint directory, a Hub id, or a trained spaCy pipeline
    directory (recognised by its config.cfg) whose ``component`` holds the model."""
    if (Path(name) / "config.cfg").is_file():
        return pipeline_model(name, component)
    return GliZNetForSequenceClassification.from_pretrained(name)


def interpolate_models(start: Union[str, Path], finetuned: Union[str, Path],
                       output: Union[str, Path], alpha: float, *,
                       component: str = "gliznet_textcat", dtype: str = "float16",
                       overwrite: bool = False) -> Path:
    """Save ``(1 - alpha) * start + alpha * finetuned`` to ``output``.

    start: the GliZNet checkpoint the fine-tune started from (directory or Hub id).
    finetuned: a GliZNet checkpoint or a trained spaCy pipeline directory.
    alpha: weight of the fine-tune (0: the start, 1: the fine-tune).
    component: the pipe that holds the model when ``finetuned`` is a pipeline.
    dtype: storage dtype of the saved weights, "float16" or "float32".
    The output has the start's configuration and tokenizer.
    overwrite: replace an existing non-empty ``output`` folder (written atomically).
    """
    validate_number(alpha, "--alpha", 0.0, 1.0)  # before two models are loaded
    check_output(output, inputs=[start, finetuned], overwrite=overwrite)
    if read_config(resolve_model_dir(start)).get("model_type") not in (MODEL_TYPE, "gliznet"):
        raise GliZNetInputError(
            f"{str(start)!r} is not a GliZNet checkpoint (a bare backbone?): the start must be "
            "the GliZNet checkpoint the fine-tune started from, e.g. the bundled default model")
    model, tokenizer = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(start)
    tuned = _finetuned_model(finetuned, component)
    for name in SCORING_FIELDS:
        a, b = getattr(model.config, name), getattr(tuned.config, name)
        if a != b:
            raise GliZNetInputError(f"The start and the fine-tune differ in {name} ({a!r} vs {b!r}); "
                             "interpolation needs a fine-tune of this start checkpoint")
    if tuned.tokenizer is not None and tokenizer.get_vocab() != tuned.tokenizer.get_vocab():
        raise GliZNetInputError("The start and the fine-tune use different tokenizers; "
                         "interpolation needs a fine-tune of this start checkpoint")
    model.load_state_dict(interpolate_states(model.state_dict(), tuned.state_dict(), alpha))
    with atomic_folder(output, overwrite) as tmp:
        model.save_pretrained(tmp, tokenizer=tokenizer, dtype=storage_dtype(dtype))
    return Path(output)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``interpolate`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("interpolate", help="(1 - alpha) * start + alpha * fine-tune, in "
                              "weight space (WiSE-FT)")
    p.add_argument("start", help="GliZNet checkpoint the fine-tune started from")
    p.add_argument("finetuned", help="GliZNet checkpoint or trained spaCy pipeline directory")
    p.add_argument("output", help="folder for the interpolated checkpoint")
    p.add_argument("--alpha", type=float, required=True, help="weight of the fine-tune, in [0, 1]")
    p.add_argument("--component", default="gliznet_textcat")
    add_dtype_option(p)
    add_overwrite_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``interpolate`` from parsed arguments."""
    out = interpolate_models(args.start, args.finetuned, args.output, args.alpha,
                             component=args.component, dtype=args.dtype, overwrite=args.overwrite)
    print(f"Saved (1 - {args.alpha:g}) * start + {args.alpha:g} * fine-tune to {out}")
