"""``python -m spacy_gliznet render PIPELINE INPUT OUT.html``: an HTML page with each
doc's ``doc.cats`` as bars and the labels decided for each sentence (or span)
highlighted (displaCy's span style). Open it in a browser."""

import argparse
from pathlib import Path

from ..atomic import check_output, write_text
from ..corpus.readers import read_unlabeled
from ..errors import GliZNetInputError
from ..pipeline.visualize import render_html
from ..settings import DECIDED_SPANS_KEY
from ._common import (DEFAULT_PIPELINE, add_gpu_id_option, add_overwrite_option, load_pipeline,
                      read_labels_option, use_gpu)


def render(pipeline: str, input_path: str, output: str, *, labels=None,
           span_source: str = "sents", component: str = "gliznet_textcat", limit: int = 50,
           overwrite: bool = False) -> int:
    """Write the HTML page of the first ``limit`` docs of ``input_path`` (0: all) to
    ``output``; returns the number of docs.

    pipeline: a saved pipeline, or "default" (the bundled model; needs ``labels``).
    labels: the labels to score (default: the pipe's).
    span_source: "sents" (a sentencizer is added when the pipeline sets no sentences) or
        "spans" (``doc.spans[spans_key]``).
    component: the ``gliznet_textcat`` pipe's name.
    overwrite: replace an existing ``output`` (it is written atomically either way).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise GliZNetInputError(f"--limit must be a whole number >= 0 (0: every doc), got {limit!r}")
    if pipeline == DEFAULT_PIPELINE and not labels:
        raise GliZNetInputError("render default: give --labels (the bundled model has none)")
    check_output(output, inputs=[pipeline, input_path], overwrite=overwrite, folder=False)
    nlp = load_pipeline(pipeline, component, labels=labels)
    sets_sents = any({"token.is_sent_start", "doc.sents"} & set(nlp.get_pipe_meta(n).assigns or [])
                     for n in nlp.pipe_names)
    if span_source == "sents" and not sets_sents:
        nlp.add_pipe("sentencizer", before=component)  # sentence starts for span_source="sents"
    pipe = nlp.get_pipe(component)
    if pipe.decided_spans_key is None:  # through the pipe's setter: checked, and in nlp.config
        pipe.decided_spans_key = DECIDED_SPANS_KEY
    key = pipe.decided_spans_key
    docs = read_unlabeled(input_path, nlp)[:limit or None]
    settings = {"span_source": span_source}
    if labels:
        settings["labels"] = labels
    docs = list(nlp.pipe(docs, component_cfg={component: settings}))
    write_text(output, render_html(docs, key, title=f"{pipeline}: {Path(input_path).name}"),
               overwrite)
    return len(docs)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``render`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("render", help="HTML page: doc.cats as bars, sentence labels highlighted")
    p.add_argument("pipeline", help="a saved pipeline, or 'default' (the bundled model; needs --labels)")
    p.add_argument("input", help="texts: .jsonl (a 'text' field), .txt (one per line) or .spacy")
    p.add_argument("output", help="the HTML file to write")
    p.add_argument("--labels", default=None, help="comma-separated labels, a JSON list or "
                   "{label: description} object, or a label file (default: the pipe's)")
    p.add_argument("--span-source", default="sents", choices=["sents", "spans"],
                   help="what to label inside each doc: sentences (a sentencizer is added when the "
                        "pipeline sets none) or doc.spans[spans_key]")
    p.add_argument("--component", default="gliznet_textcat", help="the component's name")
    p.add_argument("--limit", type=int, default=50, help="at most this many docs (0: all)")
    add_overwrite_option(p, help="replace OUTPUT if it exists")
    add_gpu_id_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``render`` from parsed arguments."""
    use_gpu(args.gpu_id)
    labels = read_labels_option(args.labels)
    n = render(args.pipeline, args.input, args.output, labels=labels,
               span_source=args.span_source, component=args.component, limit=args.limit,
               overwrite=args.overwrite)
    print(f"Wrote {n} docs to {args.output}")
