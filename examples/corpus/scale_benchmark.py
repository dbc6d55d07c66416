"""docs/s of gliznet_textcat on one corpus, four ways, in one run.

The same texts (a seeded sample of all ../shared/data/benchmark/ sets) and the
same labels (a seeded sample of the benchmark sets' label names) through:

1. ``nlp.pipe`` in this process (torch's default threads);
2. ``nlp.pipe(n_process=2)`` (forked children, one torch thread each);
3. Ray Data, 1 actor with 2 CPUs (``spacy_gliznet.distributed.classify_dataset``);
4. Ray Data, 2 actors with 1 CPU each.

Every run classifies every text, and its scores are compared with run 1.
Wall time is measured from the call to the last doc: for n_process it includes
forking the workers, for Ray starting the actors and loading the pipeline in
each (Ray itself is started before the clock). Run 1 uses a pipeline already
loaded and warmed up on one batch.

    python examples/corpus/scale_benchmark.py --docs 2000 --labels 16 --output examples/corpus/scale_results.json
"""

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "benchmark"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a manifest + JSONL folder")
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--labels", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--pipeline", default=None,
                   help="a saved pipeline with a gliznet_textcat pipe (default: the bundled model)")
    p.add_argument("--no-ray", action="store_true", help="skip the two Ray runs")
    p.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def load_sample(folder: Path, n_docs: int, n_labels: int, seed: int):
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf8"))
    texts, labels = [], set()
    for name, entry in manifest.items():
        labels.update(entry["labels"])
        with open(folder / entry["file"], encoding="utf8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    if n_docs > len(texts) or n_labels > len(labels):
        sys.exit(f"{folder} has {len(texts)} texts and {len(labels)} labels; asked for {n_docs} and {n_labels}")
    rng = random.Random(seed)
    return rng.sample(texts, n_docs), rng.sample(sorted(labels), n_labels)


def max_diff(reference, scores):
    return max(abs(a - b) for ref, got in zip(reference, scores) for a, b in zip(ref, got))


def main(argv=None) -> dict:
    args = parse_args(argv)
    import spacy
    import torch

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.errors import TruncationWarning

    warnings.simplefilter("ignore", TruncationWarning)
    texts, labels = load_sample(args.data, args.docs, args.labels, args.seed)
    print(f"{len(texts)} texts, {len(labels)} labels: {labels}", flush=True)
    tmp = tempfile.TemporaryDirectory()
    pipeline = args.pipeline
    if pipeline is None:  # the bundled model with the sampled labels, saved so every run loads the same
        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", config={"labels": labels})
        nlp.initialize()
        nlp.to_disk(tmp.name)
        pipeline = tmp.name
    cfg = {"gliznet_textcat": {"labels": labels}}
    nlp = spacy.load(pipeline)
    list(nlp.pipe(texts[: args.batch_size], batch_size=args.batch_size, component_cfg=cfg))  # warm-up
    cores = os.cpu_count() or 1
    results = {"docs": len(texts), "labels": labels, "batch_size": args.batch_size, "cpu_count": cores,
               "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
               "platform": platform.platform(), "runs": []}
    if hasattr(os, "getloadavg"):
        results["load_before"] = [round(x, 2) for x in os.getloadavg()]

    def load_now():
        return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None

    def record(name, workers, seconds, scores, reference=None, load=None):
        run = {"run": name, "workers": workers, "seconds": round(seconds, 2),
               "docs_per_s": round(len(texts) / seconds, 1), "rows": len(scores),
               "load_1min_at_start": load, "load_1min_at_end": load_now()}
        if reference is not None:
            run["max_abs_diff_vs_pipe"] = max_diff(reference, scores)
        results["runs"].append(run)
        print(json.dumps(run), flush=True)

    load, start = load_now(), time.perf_counter()
    ref = [[d.cats[k] for k in labels] for d in nlp.pipe(texts, batch_size=args.batch_size, component_cfg=cfg)]
    record("nlp.pipe", f"1 process x {torch.get_num_threads()} torch threads", time.perf_counter() - start, ref,
           load=load)

    load, start = load_now(), time.perf_counter()
    two = [[d.cats[k] for k in labels]
           for d in nlp.pipe(texts, batch_size=args.batch_size, n_process=2, component_cfg=cfg)]
    record("nlp.pipe(n_process=2)", "2 processes x 1 torch thread", time.perf_counter() - start, two, ref,
           load=load)

    if not args.no_ray:
        import ray
        import ray.data

        from spacy_gliznet.distributed import classify_dataset

        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        rows = [{"id": i, "text": t} for i, t in enumerate(texts)]
        for actors, cpus in ((1, cores), (2, max(1, cores // 2))):
            ds = ray.data.from_items(rows, override_num_blocks=max(8, len(rows) // 250))
            load, start = load_now(), time.perf_counter()
            out = classify_dataset(ds, pipeline, labels=labels, num_actors=actors, num_cpus=cpus,
                                   batch_size=args.batch_size).take_all()
            seconds = time.perf_counter() - start
            out.sort(key=lambda r: r["id"])
            if [r["id"] for r in out] != list(range(len(texts))):
                sys.exit(f"Ray with {actors} actor(s) lost or duplicated rows")
            scores = [[r[f"score_{k}"] for k in labels] for r in out]
            record(f"Ray Data, {actors} actor(s)", f"{actors} actor(s) x {cpus} CPU/torch thread(s)",
                   seconds, scores, ref, load=load)
        ray.shutdown()
    if hasattr(os, "getloadavg"):
        results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print("\n| run | workers | docs/s | wall s | max abs diff vs nlp.pipe | load (1 min) start / end |\n"
          "|---|---|---:|---:|---:|---|")
    for run in results["runs"]:
        diff = run.get("max_abs_diff_vs_pipe")
        print(f"| {run['run']} | {run['workers']} | {run['docs_per_s']} | {run['seconds']} | "
              f"{'-' if diff is None else f'{diff:.1e}'} | {run['load_1min_at_start']} / {run['load_1min_at_end']} |")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    tmp.cleanup()
    return results


if __name__ == "__main__":
    main()
