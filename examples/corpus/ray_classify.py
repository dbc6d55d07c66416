"""Classify a corpus with gliznet_textcat on a Ray cluster (Ray Data).

JSONL or Parquet in (a file or a folder, any column layout with a text column),
Parquet out: the input columns plus one ``score_<label>`` column per label,
``top_label``, ``top_score`` and ``truncated``. Each actor loads the pipeline
once from PIPELINE (a path every node can read), never through the object store.

    pip install -e ".[ray]"
    # a saved pipeline with its own labels, 2 local CPU actors:
    python examples/corpus/ray_classify.py corpus.jsonl scores/ --pipeline my_pipeline --actors 2
    # the bundled model with given labels, joining a running cluster, 8 GPU actors in fp16:
    python examples/corpus/ray_classify.py s3://bucket/corpus/ s3://bucket/scores/ \\
        --labels sports politics food --address auto --actors 8 --num-gpus 1 --batch-size 512

Ray Data shows its progress bar while it runs; a summary line follows.
"""

import argparse
import json
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="JSONL or Parquet file or folder (local path or a URI Ray reads)")
    p.add_argument("output", help="output folder for the Parquet files")
    p.add_argument("--pipeline", default=None,
                   help="saved pipeline directory (nlp.to_disk) with a gliznet_textcat pipe, or a GliZNet "
                        "checkpoint; default: the bundled model (then --labels is needed)")
    p.add_argument("--labels", nargs="+", default=None, help="labels to score (default: the pipeline's)")
    p.add_argument("--labels-json", default=None,
                   help='a JSON file with a label list or a {"label": "description"} dict')
    p.add_argument("--single-label", action="store_true", help="softmax over the labels (default: "
                   "the pipeline's setting)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--format", choices=["auto", "jsonl", "parquet"], default="auto",
                   help="input format; auto: from the file suffix (.jsonl/.json or .parquet)")
    p.add_argument("--address", default=None,
                   help="Ray cluster to join (e.g. auto or ray://host:10001); default: start a local one")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster (no --address)")
    p.add_argument("--actors", type=int, default=1, help="actors, one pipeline each")
    p.add_argument("--cpus-per-actor", type=float, default=None,
                   help="CPUs (and torch threads) per actor; default 1 for CPU actors")
    p.add_argument("--num-gpus", type=float, default=0, help="GPUs per actor (fp16 on GPU)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per batch and per nlp.pipe batch")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization on CPU actors "
                   "(faster, slightly different scores)")
    p.add_argument("--drop-text", action="store_true", help="leave the text column out of the output")
    p.add_argument("--preserve-order", action="store_true", help="write rows in input order (slower)")
    p.add_argument("--no-progress", action="store_true", help="hide Ray Data's progress bar")
    return p.parse_args(argv)


def input_format(path: str, given: str) -> str:
    if given != "auto":
        return given
    name = path.rstrip("/")
    if name.endswith((".jsonl", ".json", ".jsonl.gz")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    folder = Path(name)
    if folder.is_dir():
        suffixes = {p.suffix for p in folder.iterdir() if p.is_file()}
        if suffixes & {".jsonl", ".json"}:
            return "jsonl"
        if ".parquet" in suffixes:
            return "parquet"
    sys.exit(f"cannot tell the format of {path!r}: use --format jsonl or --format parquet")


def read_labels(args):
    if args.labels and args.labels_json:
        sys.exit("give --labels or --labels-json, not both")
    if args.labels_json:
        labels = json.loads(Path(args.labels_json).read_text(encoding="utf8"))
        if not isinstance(labels, (list, dict)):
            sys.exit(f"{args.labels_json} must hold a JSON list or object")
        return labels
    return args.labels


def main(argv=None) -> int:
    args = parse_args(argv)
    import ray
    import ray.data

    from spacy_gliznet.scale.distributed import classify_dataset

    labels = read_labels(args)
    fmt = input_format(args.input, args.format)
    output = Path(args.output)
    if "://" not in args.output and output.exists() and any(output.iterdir()):
        sys.exit(f"{args.output} is not empty: give a new output folder")
    started = not ray.is_initialized()  # a caller's running Ray session is used as it is
    if started and args.address:
        ray.init(address=args.address)
    elif started:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not args.no_progress
    ctx.execution_options.preserve_order = args.preserve_order
    ds = ray.data.read_json(args.input, lines=True) if fmt == "jsonl" else ray.data.read_parquet(args.input)
    out = classify_dataset(
        ds, args.pipeline, labels=labels, multi_label=False if args.single_label else None,
        text_column=args.text_column, num_actors=args.actors, batch_size=args.batch_size,
        num_gpus=args.num_gpus, num_cpus=args.cpus_per_actor, quantize=args.quantize,
    )
    if args.drop_text:
        out = out.drop_columns([args.text_column])
    start = time.perf_counter()
    out.write_parquet(args.output)
    seconds = time.perf_counter() - start
    rows = ray.data.read_parquet(args.output).count()
    print(f"{rows} rows classified in {seconds:.1f} s ({rows / seconds:.1f} docs/s, "
          f"{args.actors} actor(s)); Parquet in {args.output}")
    if started:
        ray.shutdown()
    return rows


if __name__ == "__main__":
    main()
