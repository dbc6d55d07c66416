"""Inference speed of gliznet_textcat, measured side by side in one run.

For 1, 4, 16 and 64 labels, on the same texts and the same model:
  pipe      docs/s of nlp.pipe (tokenization, batching, doc.cats included)
  bare      docs/s of the bare torch forward on pre-tokenized, pre-padded batches (the ceiling)
  pairwise  docs/s of one encoder pass per (text, label) pair with the same backbone
            ("[CLS] text [LAB] label [SEP]"), also pre-tokenized: the NLI-style way
  int8      docs/s of nlp.pipe with the layer's `quantize = true` (dynamic int8 Linear layers)
and the ratios pipe/bare, pipe/pairwise and int8/pipe; then p50/p95 latency of a single
nlp(text) and the peak RSS of the process.

    python examples/speed_benchmark.py [--model NAME] [--docs 256] [--labels 1 4 16 64]

NAME defaults to the bundled default model. Texts come from ../shared/data/benchmark (a mix of
datasets), labels from banking77's label set (77 labels).
"""

import argparse
import json
import random
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import List

import torch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmark"


def load_texts(data: Path, n: int, seed: int = 0) -> List[str]:
    rows = []
    for path in sorted(data.glob("*.jsonl")):
        with path.open(encoding="utf8") as f:
            rows.extend(json.loads(line)["text"] for line in f)
    random.Random(seed).shuffle(rows)
    return rows[:n]


def load_labels(data: Path) -> List[str]:
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf8"))
    return list(manifest["banking77"]["labels"])


def timed(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` runs (after one warm-up run)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bare_batches(module, texts, labels, batch_size):
    """Pre-tokenized, length-sorted, padded batches: what the forward alone sees."""
    from spacy_gliznet.encoding import collate

    enc = module.get_encoder()
    encoded = enc.encode(texts, [labels] * len(texts))
    passes = sorted((p for e in encoded for p in e.passes), key=len)
    return [collate(passes[i : i + batch_size], len(texts), 0, enc.pad_id, module.device)
            for i in range(0, len(passes), batch_size)]


def pairwise_batches(module, texts, labels, batch_size):
    from spacy_gliznet.encoding import collate

    enc = module.get_encoder()
    encoded = enc.encode([t for t in texts for _ in labels], [[lab] for _ in texts for lab in labels])
    passes = sorted((p for e in encoded for p in e.passes), key=len)
    return [collate(passes[i : i + batch_size], len(encoded), 0, enc.pad_id, module.device)
            for i in range(0, len(passes), batch_size)]


def run_forward(module, batches):
    with torch.inference_mode():
        for b in batches:
            module(b.input_ids, b.attention_mask, b.label_index, b.lab_index, b.text_mask,
                   pass_slots=b.pass_slots)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="checkpoint, backbone or Hub id (default: bundled)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--labels", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--batch-size", type=int, default=32, help="encoder passes per torch batch")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)

    import spacy

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.layers import ensure_loaded

    texts = load_texts(args.data, args.docs)
    all_labels = load_labels(args.data)
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("gliznet_textcat", config={"model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": args.model, "batch_size": args.batch_size}})
    module = ensure_loaded(pipe.model)
    module.eval()
    print(f"model: {args.model or 'bundled default'}; torch threads: {torch.get_num_threads()}; "
          f"device: {module.device}; {len(texts)} texts, "
          f"{statistics.mean(len(module.get_encoder()._tokenize([t])[0]) for t in texts[:200]):.0f} "
          f"text tokens on average")
    qnlp = spacy.blank("en")
    qpipe = qnlp.add_pipe("gliznet_textcat", config={"model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": args.model, "batch_size": args.batch_size,
        "quantize": True}})
    print("| labels | pipe docs/s | bare docs/s | pairwise docs/s | int8 pipe docs/s "
          "| pipe/bare | pipe/pairwise | int8/pipe |")
    print("|" + "---|" * 8)
    for k in args.labels:
        labels = all_labels[:k]
        pipe.labels = labels
        t_pipe = timed(lambda: list(nlp.pipe(texts, batch_size=256)), args.repeat)
        batches = bare_batches(module, texts, labels, args.batch_size)
        t_bare = timed(lambda: run_forward(module, batches), args.repeat)
        pairs = pairwise_batches(module, texts, labels, args.batch_size)
        t_pair = timed(lambda: run_forward(module, pairs), 1 if k > 4 else args.repeat)
        qpipe.labels = labels
        t_int8 = timed(lambda: list(qnlp.pipe(texts, batch_size=256)), args.repeat)
        n = len(texts)
        print(f"| {k} | {n / t_pipe:.1f} | {n / t_bare:.1f} | {n / t_pair:.1f} | {n / t_int8:.1f} | "
              f"{t_bare / t_pipe:.2f} | {t_pair / t_pipe:.1f} | {t_pipe / t_int8:.2f} |", flush=True)

    pipe.labels = all_labels[:16]
    lat = []
    for text in (texts * 2)[: args.latency_runs + 5]:
        start = time.perf_counter()
        nlp(text)
        lat.append(time.perf_counter() - start)
    lat = sorted(lat[5:])
    p50 = lat[len(lat) // 2] * 1000
    p95 = lat[int(len(lat) * 0.95) - 1] * 1000
    print(f"single nlp(text), 16 labels: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(lat)} calls")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
