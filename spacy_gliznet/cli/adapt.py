"""``python -m spacy_gliznet adapt PIPELINE [UNLABELED] OUTPUT [--examples FILE]``:
self-train a pipeline's ``gliznet_textcat`` on unlabeled in-domain texts (see
``spacy_gliznet.pipeline.adapt``), with labeled seed examples or on them alone, and
save the adapted pipeline."""

import argparse
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ..atomic import atomic_folder, check_output
from ..errors import GliZNetInputError
from ..labels import LabelsArg
from ..corpus.readers import read_examples_file, read_unlabeled
from ..pipeline.adapt import AdaptReport, AdaptSettings
from ._common import (DEFAULT_PIPELINE, add_gpu_id_option, add_overwrite_option, load_pipeline,
                      read_labels_option, use_gpu)


def adapt_pipeline(pipeline: Union[str, Path], unlabeled: Optional[Union[str, Path]],
                   output: Union[str, Path], *, labels: Optional[LabelsArg] = None,
                   multi_label: Optional[bool] = None, component: str = "gliznet_textcat",
                   progress: bool = True, overwrite: bool = False,
                   examples: Optional[Union[str, Path]] = None,
                   **settings: Any) -> AdaptReport:
    """Adapt ``component`` of ``pipeline`` to the texts of ``unlabeled`` (None: none,
    then ``examples`` is needed) and the labeled seeds of ``examples`` (a JSONL file,
    ``readers.read_examples_file``) and save the pipeline to ``output``; the report
    also goes to its ``meta.json`` (``gliznet_adapt``). ``settings``:
    :class:`AdaptSettings` fields.

    ``output`` is checked before any work (not an input, writable, and not an existing
    non-empty folder unless ``overwrite``) and written atomically (``atomic.py``): a
    failed or killed run leaves it absent or as it was."""
    from tqdm import tqdm

    if unlabeled is None and examples is None:
        raise GliZNetInputError("adapt needs an unlabeled corpus, --examples, or both")
    check_output(output, inputs=[p for p in (pipeline, unlabeled, examples) if p is not None],
                 overwrite=overwrite)
    seeds = read_examples_file(examples) if examples is not None else None
    nlp = load_pipeline(pipeline, component)
    docs = read_unlabeled(unlabeled, nlp) if unlabeled is not None else []
    bars: Dict[str, Any] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars.clear()
            bars[stage] = tqdm(total=total, desc=stage, unit="step" if "train" in stage else "doc")
        bar = bars[stage]
        bar.update(done - bar.n)

    report = nlp.get_pipe(component).adapt(docs, nlp=nlp, labels=labels, multi_label=multi_label,
                                           settings=AdaptSettings(**settings),
                                           progress=show if progress else None,
                                           examples=seeds)
    for bar in bars.values():
        bar.close()
    nlp.meta["gliznet_adapt"] = {**report_dict(report, unlabeled),
                                 "examples": None if examples is None else str(examples)}
    with atomic_folder(output, overwrite) as tmp:
        nlp.to_disk(tmp)
    return report


def report_dict(report: AdaptReport, source: Optional[Union[str, Path]]) -> Dict[str, Any]:
    """The report's fields a person or a script reads later (no score matrices)."""
    return {"corpus": None if source is None else str(source), "texts": report.texts, "labels": report.labels,
            "multi_label": report.multi_label, "settings": report.settings, "seeds": report.seeds,
            "pseudo_labels": report.pseudo_labels, "too_few": report.too_few,
            "steps": report.steps, "first_loss": report.losses[0] if report.losses else None,
            "last_loss": report.losses[-1] if report.losses else None,
            "agreement_with_start": report.agreement_with_start,
            "seconds": round(report.seconds, 1)}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``adapt`` (its options and its runner) with ``python -m spacy_gliznet``."""
    defaults = AdaptSettings()
    cmd = subparsers.add_parser(
        "adapt", help="self-train a pipeline on unlabeled in-domain texts (no labels needed)",
        description="Score the unlabeled texts with the pipeline, keep per label its most "
        "confident texts as pseudo-labels, fine-tune on them through the component's own "
        "update and save the adapted pipeline (spacy.load reads it offline).")
    cmd.add_argument("pipeline", help=f"saved spaCy pipeline directory, or {DEFAULT_PIPELINE!r} "
                     "for a blank English pipeline with the bundled model")
    cmd.add_argument("unlabeled", nargs="?", default=None,
                     help="the unlabeled corpus: .jsonl (a 'text' field), .txt (one doc per line) "
                     "or .spacy; leave it out to fine-tune on --examples alone")
    cmd.add_argument("output", help="folder for the adapted pipeline")
    cmd.add_argument("--examples", default=None, help="labeled seed examples, JSONL with one "
                     "{\"text\": ..., \"labels\": [...]} per line: trained on with the "
                     "pseudo-labels (or alone, without UNLABELED)")
    cmd.add_argument("--labels", default=None, help="labels to adapt to: comma-separated, a JSON "
                     "list or {label: description} object, or a .txt (one per line) or .json "
                     "(list or {label: description}) file; default: the component's")
    mode = cmd.add_mutually_exclusive_group()
    mode.add_argument("--multi-label", dest="multi_label", action="store_true", default=None,
                      help="adapt for multi-label decisions (default: the component's mode)")
    mode.add_argument("--single-label", dest="multi_label", action="store_false",
                      help="adapt for single-label (one label per text) decisions")
    cmd.add_argument("--component", default="gliznet_textcat", help="the pipe to adapt")
    for name, value in defaults.__dict__.items():
        kind = int if name == "steps" else type(value)  # steps: None is the mode's default
        shown = "50 single-label, 0 multi-label" if value is None else value
        cmd.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value,
                         help=f"AdaptSettings.{name} (default: {shown})")
    cmd.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_overwrite_option(cmd)
    add_gpu_id_option(cmd)
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> AdaptReport:
    """Run ``adapt`` from parsed arguments and print the summary."""
    use_gpu(args.gpu_id)
    settings = {name: getattr(args, name) for name in AdaptSettings.__dataclass_fields__}
    report = adapt_pipeline(args.pipeline, args.unlabeled, args.output,
                            labels=read_labels_option(args.labels), multi_label=args.multi_label,
                            component=args.component, progress=not args.no_progress,
                            overwrite=args.overwrite, examples=args.examples, **settings)
    print(report.summary())
    print(f"Saved the adapted pipeline to {args.output}")
    return report
