"""How gliznet_textcat's cost grows with the number of labels.

For each label-set size (default 16, 256, 1,024 and 10,000), in a process of its own
(so that its peak RSS is its own), on the same texts (default: the first 500 AG News
texts of ../shared/data/benchmark):

  first call   seconds of the first nlp(text) with the label set: what encoding the
               labels costs (the model loaded and warmed up on one other label before)
  docs/s       nlp.pipe over the texts afterwards, default pipe settings, docs streamed
               (not kept), every label's score written to doc.cats
  peak RSS     the process's maximum resident memory (MiB)
  ratio        docs/s / docs/s at the smallest size

Labels are word pairs ("harbor quantum") drawn with a fixed seed from the model
tokenizer's whole words, as a new user with a large taxonomy might try it. With
``--repeat N`` every size runs N times (N processes) and the table gives the medians
(each run's figures are printed too). The machine's load (``uptime``) is printed
before and after, since the figures depend on it.

    python examples/benchmarks/speed/label_scaling.py [--sizes 16 256 1024 10000] [--docs 500] [--repeat 3]
    python examples/benchmarks/speed/label_scaling.py --attention full --sizes 16 64 256 --docs 100

``--examples N`` gives every label N example texts (``{label: {"examples": [...]}}``:
six words of the same vocabulary each, seeded), so the rows measure labels combined
with their examples at prediction time: "first call" then includes encoding every
example and choosing each label set's combination, and docs/s what it costs after.

    python examples/benchmarks/speed/label_scaling.py --sizes 16 10000 --examples 8 --docs 200

``--attention full`` runs the bundled weights with ``label_attention = "full"``
(labels read in the text's sequence, the original GliZNet's way; its scores mean
nothing for this checkpoint, its cost is real): labels then go into packed passes,
and the cost grows with the passes.
"""

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "benchmark"


def load_texts(data: Path, n: int, dataset: str = "ag_news") -> List[str]:
    with (data / f"{dataset}.jsonl").open(encoding="utf8") as f:
        rows = [json.loads(line)["text"] for line in f]
    if len(rows) < n:
        raise SystemExit(f"{dataset} has {len(rows)} texts, fewer than --docs {n}")
    return rows[:n]


def word_pair_labels(vocabulary: List[str], n: int, seed: int = 0) -> List[str]:
    """``n`` distinct labels of two words each, drawn from ``vocabulary``."""
    words = sorted({w for w in vocabulary if w.isascii() and w.isalpha() and len(w) >= 3})
    if len(words) ** 2 < 2 * n:
        raise ValueError(f"a vocabulary of {len(words)} words is too small for {n} labels")
    rng = random.Random(seed)
    labels: Dict[str, None] = {}
    while len(labels) < n:
        labels[f"{rng.choice(words)} {rng.choice(words)}"] = None
    return list(labels)


def example_texts(vocabulary: List[str], labels: List[str], n: int, seed: int = 0) -> Dict[str, Any]:
    """``{label: {"examples": [n texts]}}``: each example the label's two words and four
    other words of ``vocabulary``, shuffled (seeded; distinct within a label)."""
    words = sorted({w for w in vocabulary if w.isascii() and w.isalpha() and len(w) >= 3})
    rng = random.Random(seed)
    out: Dict[str, Any] = {}
    for label in labels:
        texts: Dict[str, None] = {}
        while len(texts) < n:
            tokens = label.split() + [rng.choice(words) for _ in range(4)]
            rng.shuffle(tokens)
            texts[" ".join(tokens)] = None
        out[label] = {"examples": list(texts)}
    return out


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n_labels: int, texts: List[str], model: Optional[str] = None,
            attention: Optional[str] = None, threads: Optional[int] = None,
            batch_size: int = 128, examples: int = 0) -> Dict[str, float]:
    """One size, in this process: first-call seconds, docs/s and peak RSS."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    import spacy

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.pipeline.layer import ensure_loaded

    warnings.simplefilter("ignore")
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("gliznet_textcat", config={"model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": model}})
    module = ensure_loaded(pipe.model)
    if attention:
        module.config.label_attention = attention
        module._encoder = None
    labels = word_pair_labels(list(module.tokenizer.get_vocab()), n_labels)
    pipe.labels = ["warm up"]
    nlp(texts[0])  # torch, the tokenizer and the model warmed up on one other label
    pipe.labels = example_texts(list(module.tokenizer.get_vocab()), labels, examples) \
        if examples else labels
    start = time.perf_counter()
    nlp(texts[0])
    first = time.perf_counter() - start
    start = time.perf_counter()
    n = 0
    for doc in nlp.pipe(texts, batch_size=batch_size):
        n += len(doc.cats) == n_labels
    seconds = time.perf_counter() - start
    assert n == len(texts), "every doc gets every label's score"
    label_tokens = sum(len(ids) + 1 for ids in module.get_encoder().label_ids(labels))
    return {"labels": n_labels, "first_call_s": first, "docs_per_s": len(texts) / seconds,
            "peak_rss_mib": peak_rss_mib(), "label_tokens": label_tokens,
            "label_attention": module.config.label_attention, "threads": torch.get_num_threads(),
            "examples_per_label": examples}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover - no uptime command
        return "uptime unavailable"


def run_in_process(args: argparse.Namespace, n_labels: int) -> Dict[str, float]:
    """``measure`` in a fresh Python process (its own peak RSS)."""
    cmd = [sys.executable, __file__, "--worker", str(n_labels), "--docs", str(args.docs),
           "--data", str(args.data)]
    for flag, value in (("--model", args.model), ("--attention", args.attention),
                        ("--threads", args.threads), ("--examples", args.examples)):
        if value is not None:
            cmd += [flag, str(value)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{n_labels} labels failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def table(rows: List[Dict[str, float]]) -> str:
    base = rows[0]["docs_per_s"]
    lines = [f"| labels | docs/s | peak RSS MiB | first call s | ratio to {rows[0]['labels']} | label tokens |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['labels']:,} | {r['docs_per_s']:.1f} | {r['peak_rss_mib']:,.0f} | "
                     f"{r['first_call_s']:.2f} | {r['docs_per_s'] / base:.2f} | {r['label_tokens']:,} |")
    return "\n".join(lines)


def median_rows(runs: List[List[Dict[str, float]]]) -> List[Dict[str, float]]:
    out = []
    for per_size in zip(*runs):
        row = dict(per_size[0])
        for key in ("first_call_s", "docs_per_s", "peak_rss_mib"):
            row[key] = statistics.median(r[key] for r in per_size)
        out.append(row)
    return out


def main(argv=None, runner=run_in_process) -> List[Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256, 1024, 10000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the table gives medians")
    parser.add_argument("--attention", default=None, choices=["full", "text", "isolated"],
                        help="run the model with this label_attention (cost only)")
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--examples", type=int, default=0,
                        help="example texts per label (labels with examples; default 0: none)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        texts = load_texts(args.data, args.docs)
        print(json.dumps(measure(args.worker, texts, args.model, args.attention, args.threads,
                                 examples=args.examples)))
        return []
    print(f"load before: {uptime()}", flush=True)
    print(f"{args.docs} texts of {args.data / 'ag_news.jsonl'}; model: {args.model or 'bundled'}"
          f"{'; label_attention=' + args.attention if args.attention else ''}"
          f"{'; %d examples per label' % args.examples if args.examples else ''}; "
          f"each size in its own process, {args.repeat} run(s)", flush=True)
    runs = []
    for r in range(args.repeat):
        rows = []
        for k in args.sizes:
            rows.append(runner(args, k))
            print(f"run {r + 1}: {json.dumps(rows[-1])}", flush=True)
        runs.append(rows)
    rows = median_rows(runs)
    print(f"load after: {uptime()}")
    print(("median of %d runs\n" % args.repeat if args.repeat > 1 else "") + table(rows))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
