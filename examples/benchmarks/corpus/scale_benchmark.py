"""docs/s of gliznet_textcat on one corpus, four ways, in one run.

The same texts (a seeded sample of all ../shared/data/benchmark/ sets) and the
same labels (a seeded sample of the benchmark sets' label names) through:

1. ``nlp.pipe`` in this process (torch's default threads);
2. ``nlp.pipe(n_process=2)`` (forked children, one torch thread each);
3. Ray Data, 1 actor with 2 CPUs (``spacy_gliznet.scale.distributed.classify_dataset``);
4. Ray Data, 2 actors with 1 CPU each.

Every run classifies every text, and its scores are compared with run 1.
Wall time is measured from the call to the last doc: for n_process it includes
forking the workers, for Ray starting the actors and loading the pipeline in
each (Ray itself is started before the clock). Run 1 uses a pipeline already
loaded and warmed up on one batch. Each run also splits its wall time in two:
start-up and steady state (docs/s of the rest). For ``nlp.pipe`` and ``n_process``
start-up is the time from the call to the first batch of results (forking, the
first batch); for Ray it is the wall time of the same actor pool on one row per
actor (starting the actors, loading the pipeline in each), run just before, and
steady docs/s is all docs over the full run's time less that start-up. ``--repeats N`` runs the four N times, alternating, and reports each
figure's median; the 1-minute load average is printed before and after.

    python examples/benchmarks/corpus/scale_benchmark.py --docs 400 --labels 16 --repeats 3 --output examples/benchmarks/corpus/scale_results.json
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

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "benchmark"


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
    p.add_argument("--repeats", type=int, default=1, help="rounds of the four runs (medians reported)")
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

    def timed(batches):
        """Rows of an iterable of result batches, the seconds to the first batch and in all."""
        start = time.perf_counter()
        rows, first = [], None
        for batch in batches:
            rows.extend(batch)
            if first is None:
                first = (time.perf_counter() - start, len(rows))
        return rows, first, time.perf_counter() - start

    def record(round_no, name, workers, timing, scores, reference=None, load=None):
        _, (first_s, first_rows), seconds = timing
        rest = len(texts) - first_rows
        run = {"round": round_no, "run": name, "workers": workers, "seconds": round(seconds, 2),
               "docs_per_s": round(len(texts) / seconds, 1), "startup_s": round(first_s, 2),
               "steady_docs_per_s": round(rest / (seconds - first_s), 1) if rest else None,
               "rows": len(scores), "load_1min_at_start": load, "load_1min_at_end": load_now()}
        if reference is not None:
            run["max_abs_diff_vs_pipe"] = max_diff(reference, scores)
        results["runs"].append(run)
        print(json.dumps(run), flush=True)

    def doc_batches(docs, size):
        batch = []
        for doc in docs:
            batch.append([doc.cats[k] for k in labels])
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    ray = None
    if not args.no_ray:
        import ray
        import ray.data

        from spacy_gliznet.scale.distributed import classify_dataset

        try:
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        except Exception as err:  # e.g. a node that times out starting on a saturated machine
            print(f"Ray did not start ({err}); the Ray runs are skipped", flush=True)
            ray = None
        else:
            ray.data.DataContext.get_current().enable_progress_bars = False
        rows = [{"id": i, "text": t} for i, t in enumerate(texts)]
    ref = None
    for round_no in range(1, args.repeats + 1):
        load = load_now()
        timing = timed(doc_batches(nlp.pipe(texts, batch_size=args.batch_size, component_cfg=cfg),
                                   args.batch_size))
        ref = timing[0] if ref is None else ref
        record(round_no, "nlp.pipe", f"1 process x {torch.get_num_threads()} torch threads", timing,
               timing[0], None if round_no == 1 else ref, load=load)

        load = load_now()
        timing = timed(doc_batches(nlp.pipe(texts, batch_size=args.batch_size, n_process=2,
                                            component_cfg=cfg), args.batch_size))
        record(round_no, "nlp.pipe(n_process=2)", "2 processes x 1 torch thread", timing, timing[0], ref,
               load=load)

        for actors, cpus in (() if ray is None else ((1, cores), (2, max(1, cores // 2)))):
            load = load_now()
            tiny = ray.data.from_items(rows[:actors], override_num_blocks=actors)
            start = time.perf_counter()  # start-up: the same pool on one row per actor
            classify_dataset(tiny, pipeline, labels=labels, num_actors=actors, num_cpus=cpus,
                             batch_size=args.batch_size).take_all()
            startup = time.perf_counter() - start
            ds = ray.data.from_items(rows, override_num_blocks=max(8, len(rows) // 250))
            start = time.perf_counter()
            got = classify_dataset(ds, pipeline, labels=labels, num_actors=actors, num_cpus=cpus,
                                   batch_size=args.batch_size).take_all()
            seconds = time.perf_counter() - start
            timing = (got, (min(startup, seconds), 0), seconds)
            got = sorted(got, key=lambda r: r["id"])
            if [r["id"] for r in got] != list(range(len(texts))):
                sys.exit(f"Ray with {actors} actor(s) lost or duplicated rows")
            scores = [[r[f"score_{k}"] for k in labels] for r in got]
            record(round_no, f"Ray Data, {actors} actor(s)", f"{actors} actor(s) x {cpus} CPU/torch thread(s)",
                   timing, scores, ref, load=load)
    if ray is not None:
        ray.shutdown()
    if hasattr(os, "getloadavg"):
        results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average (1, 5, 15 min) before: {results.get('load_before')}, after: "
          f"{results.get('load_after')}; medians of {args.repeats} round(s)\n\n"
          "| run | workers | docs/s (all) | start-up s | steady docs/s | max abs diff vs nlp.pipe | "
          "load (1 min) during |\n|---|---|---:|---:|---:|---:|---|")
    import statistics

    for name in dict.fromkeys(r["run"] for r in results["runs"]):
        runs = [r for r in results["runs"] if r["run"] == name]
        med = {k: statistics.median(r[k] for r in runs if r[k] is not None)
               for k in ("docs_per_s", "startup_s", "steady_docs_per_s")}
        diffs = [r["max_abs_diff_vs_pipe"] for r in runs if "max_abs_diff_vs_pipe" in r]
        loads = [x for r in runs for x in (r["load_1min_at_start"], r["load_1min_at_end"]) if x is not None]
        results.setdefault("medians", {})[name] = med
        print(f"| {name} | {runs[0]['workers']} | {med['docs_per_s']:.1f} | {med['startup_s']:.1f} | "
              f"{med['steady_docs_per_s']:.1f} | {f'{max(diffs):.1e}' if diffs else '-'} | "
              f"{min(loads, default=0):.1f}-{max(loads, default=0):.1f} |")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    tmp.cleanup()
    return results


if __name__ == "__main__":
    main()
