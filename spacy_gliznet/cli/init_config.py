"""``python -m spacy_gliznet init-config OUTPUT``: a complete, commented ``spacy train``
config for ``gliznet_textcat``, written from the shipped one
(``spacy_gliznet/configs/gliznet_textcat.cfg``) with your labels and mode.

``spacy init config --pipeline gliznet_textcat`` cannot do this: spaCy's quickstart
template knows nothing of the component and writes Adam at 1e-3 with no warmup, which
wrecks the pretrained encoder (the component then warns, ``LearnRateWarning``). This
config keeps the shipped optimizer (Adam 3e-5, warmup over a tenth of ``max_steps``),
shows a progress bar, reports macro-F from the component's decisions beside macro AUC,
and prints the training data's label counts before training starts.
"""

import argparse
import json
import re
from pathlib import Path
from typing import Mapping, Optional

from thinc.api import Config

from ..atomic import check_output, write_text
from ..errors import GliZNetInputError
from ..labels import LabelsArg, label_pairs
from ..model.config import HEAD_SETTINGS
from ._common import read_labels_option

SHIPPED = Path(__file__).resolve().parents[1] / "configs" / "gliznet_textcat.cfg"
CPU = {"max_steps": 2000, "eval_frequency": 100, "batch_size": 32, "mixed_precision": "false"}
GPU = {"max_steps": 20000, "eval_frequency": 200, "batch_size": 64, "mixed_precision": "true"}


def set_option(text: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[section]`` (the line replaced; comments kept)."""
    head = re.search(rf"^\[{re.escape(section)}\]\n", text, flags=re.M)
    if head is None:
        raise KeyError(f"no [{section}] in the config template")
    end = re.search(r"^\[", text[head.end():], flags=re.M)
    body_end = head.end() + (end.start() if end else len(text) - head.end())
    body = text[head.end():body_end]
    line = re.compile(rf"^{re.escape(key)} = .*$", flags=re.M)
    if not line.search(body):
        raise KeyError(f"no {key} in [{section}] of the config template")
    body = line.sub(lambda _: f"{key} = {value}", body, count=1)
    return text[:head.end()] + body + text[body_end:]


def _config_value(value) -> str:
    if isinstance(value, dict):  # inline JSON: the config reads it back as a dict
        return json.dumps(value, ensure_ascii=False)
    return Config({"s": {"v": value}}).to_str().split("v = ", 1)[1].strip()


def make_config(labels: LabelsArg = (), *, multi_label: bool = False, gpu: bool = False,
                model: Optional[str] = None, max_steps: Optional[int] = None) -> str:
    """The config text (see the module docstring). ``labels``: a list, or a
    ``{label: description}`` dict (the model reads the descriptions). ``model``: None
    fine-tunes the bundled model; a GliZNet checkpoint or a bare backbone (name or
    path) otherwise."""
    pairs = label_pairs(dict(labels) if isinstance(labels, Mapping) else list(labels), "--labels")
    labels = [k for k, _ in pairs] if all(k == t for k, t in pairs) else dict(pairs)
    device = GPU if gpu else CPU
    steps = int(max_steps if max_steps is not None else device["max_steps"])
    if steps <= 0:
        raise GliZNetInputError(f"--max-steps must be > 0, got {steps}")
    text = SHIPPED.read_text(encoding="utf8")
    text = text[text.index("[paths]"):]  # the shipped file's own header does not apply
    text = set_option(text, "paths", "model", "null" if model is None else _config_value(model))
    text = set_option(text, "training", "max_steps", str(steps))
    text = set_option(text, "training", "eval_frequency", str(min(device["eval_frequency"], steps)))
    text = set_option(text, "training", "patience", str(max(steps // 2, 1)))
    text = set_option(text, "components.gliznet_textcat", "labels", _config_value(labels))
    text = set_option(text, "components.gliznet_textcat", "multi_label",
                      "true" if multi_label else "false")
    text = set_option(text, "components.gliznet_textcat.model", "batch_size",
                      str(device["batch_size"]))
    text = set_option(text, "components.gliznet_textcat.model", "mixed_precision",
                      device["mixed_precision"])
    if model is not None:  # a checkpoint keeps its own heads (null: its own, or the defaults)
        for key in ("max_length", *HEAD_SETTINGS):
            text = set_option(text, "components.gliznet_textcat.model", key, "null")
    mode = "multi-label (a sigmoid per label)" if multi_label else "single-label (softmax)"
    where = ("GPU: train with --gpu-id 0 (mixed precision on)" if gpu
             else "CPU: train without --gpu-id")
    header = [
        "# Written by `python -m spacy_gliznet init-config`, for " + where + ".",
        f"# gliznet_textcat, {mode}; model: {'the bundled zero-shot model' if model is None else model}.",
        "# Train:  python -m spacy train THIS.cfg --output out --paths.train train.spacy "
        "--paths.dev dev.spacy",
        "# Data: .spacy files whose doc.cats hold 1.0 for positive, 0.0 for negative labels",
        "# (`python -m spacy_gliznet convert DATA_DIR train.spacy --split train` makes them).",
        "# Labels: " + ("the pipe's, in [components.gliznet_textcat]." if labels else
                        "none given, so [initialize] takes every label of the training data."),
        "# Optimizer: Adam 3e-5, warmup over a tenth of max_steps then linear decay (a rate like",
        "# Adam's default 1e-3 wrecks the pretrained encoder: the component warns). The progress",
        "# bar runs between evaluations; the table shows macro-F (the component's decisions)",
        "# beside macro AUC; the training data's label counts print before training starts.",
        "",
    ]
    text = "\n".join(header) + text
    Config().from_str(text, interpolate=False)  # the template still parses
    return text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``init-config`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser(
        "init-config", help="write a complete, commented spacy train config for gliznet_textcat",
        description="Write a spacy train config for gliznet_textcat: Adam 3e-5 with warmup over a "
                    "tenth of max_steps, progress bar, macro-F in the scores table, the label "
                    "counts printed before training. (`spacy init config --pipeline "
                    "gliznet_textcat` writes Adam at 1e-3, which wrecks the pretrained encoder.)")
    p.add_argument("output", help="the config file to write ('-' for stdout)")
    p.add_argument("--labels", default=None,
                   help="the labels: comma-separated, a JSON list or {label: description} "
                        "object, or a .txt (one per line) or .json file (default: every label "
                        "of the training data)")
    p.add_argument("--multi-label", action="store_true",
                   help="independent sigmoid scores per label (default: single-label, softmax)")
    p.add_argument("--gpu", action="store_true",
                   help="settings for a GPU: mixed precision, larger batches, 20000 steps")
    p.add_argument("--model", default=None,
                   help="GliZNet checkpoint or backbone (name or path) to start from; its "
                        "head settings are left null, so a checkpoint keeps its own (default: "
                        "the bundled zero-shot model)")
    p.add_argument("--max-steps", type=int, default=None,
                   help="training steps (default: 2000 on CPU, 20000 with --gpu); the warmup "
                        "and the learning-rate decay follow it")
    p.add_argument("--overwrite", "--force", dest="overwrite", action="store_true",
                   help="replace OUTPUT if it exists")
    p.set_defaults(run=run)


def parse_labels(value: Optional[str]) -> LabelsArg:
    """``--labels`` (see ``readers.parse_labels_option``); none: ``[]``."""
    return read_labels_option(value) or []


def run(args: argparse.Namespace) -> None:
    """Run ``init-config`` from parsed arguments: write (or print) the config."""
    if args.output != "-":
        check_output(args.output, overwrite=args.overwrite, folder=False)
    text = make_config(parse_labels(args.labels), multi_label=args.multi_label, gpu=args.gpu,
                       model=args.model, max_steps=args.max_steps)
    if args.output == "-":
        print(text)
        return
    out = Path(args.output)
    write_text(out, text, args.overwrite)
    print(f"Wrote {out}. Train: python -m spacy train {out} --output out "
          f"--paths.train train.spacy --paths.dev dev.spacy")
