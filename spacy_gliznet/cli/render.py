"""``python -m spacy_gliznet render PIPELINE INPUT OUT.html``: an HTML page with each
doc's ``doc.cats`` as bars and the labels decided for each sentence (or span)
highlighted (displaCy's span style). Open it in a browser."""

import argparse
from pathlib import Path

from ..atomic import check_output, write_text
from ..corpus.readers import parse_labels_option, read_unlabeled
from ..errors import GliZNetInputError
from ..settings import DECIDED_SPANS_KEY
from ..pipeline.visualize import render_html


def load_pipeline(name: str, labels):
    import spacy

    if name == "default":
        if not labels:
            raise SystemExit("render default: give --labels (the bundled model has none)")
        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", config={"labels": labels})
        return nlp
    return spacy.load(name)


def render(pipeline: str, input_path: str, output: str, *, labels=None,
           span_source: str = "sents", component: str = "gliznet_textcat", limit: int = 50,
           overwrite: bool = False) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise GliZNetInputError(f"--limit must be a whole number >= 0 (0: every doc), got {limit!r}")
    check_output(output, inputs=[pipeline, input_path], overwrite=overwrite, folder=False)
    nlp = load_pipeline(pipeline, labels)
    if component not in nlp.pipe_names:
        raise SystemExit(f"{pipeline} has no {component!r} component (it has {nlp.pipe_names})")
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="HTML page: doc.cats as bars, sentence labels highlighted")
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
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    labels = parse_labels_option(args.labels)
    n = render(args.pipeline, args.input, args.output, labels=labels,
               span_source=args.span_source, component=args.component, limit=args.limit,
               overwrite=args.overwrite)
    print(f"Wrote {n} docs to {args.output}")
