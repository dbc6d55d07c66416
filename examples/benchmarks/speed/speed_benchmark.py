"""Inference speed of gliznet_textcat, measured side by side in one run.

For 1, 4, 16 and 64 labels, on the same texts and the same model:
  pipe      docs/s of nlp.pipe (tokenization, batching, doc.cats included)
  bare      docs/s of the model's own forward on a pre-tokenized, pre-padded batch (the
            ceiling): for label_attention "isolated" (the bundled model) each text and each
            label encoded once, pooled, projected and compared; otherwise the packed passes
  packed    docs/s of the packed one-pass forward ("[CLS] text [LAB] l1 [LAB] l2 ... [SEP]",
            split into passes when the labels do not fit), pre-tokenized
  pairwise  docs/s of one encoder pass per (text, label) pair with the same backbone
            ("[CLS] text [LAB] label [SEP]"), also pre-tokenized: the NLI-style way
  int8      docs/s of nlp.pipe with the layer's `quantize = true` (dynamic int8 Linear layers)
and the ratios pipe/bare, pipe/pairwise and int8/pipe; then p50/p95 latency of a single
nlp(text) and the peak RSS of the process.

    python examples/benchmarks/speed/speed_benchmark.py [--model NAME] [--docs 256] [--labels 1 4 16 64]

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

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "benchmark"


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
    return timed_together([fn], repeat)[0]


def timed_together(fns, repeat: int) -> List[float]:
    """Best wall time of each function over ``repeat`` rounds (after one warm-up
    run each). Every round runs all functions in turn, so a slow spell of a
    shared machine hits them alike and their ratio stays fair."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def bare_batch(module, texts, labels):
    """The pre-tokenized, padded batch the model's forward reads for ``texts``
    with ``labels`` (for label_attention "isolated", the bundled model's, each
    text and each label as a sequence of its own)."""
    encoded = module.get_encoder().encode(texts, [labels] * len(texts))
    return module.collate(encoded)


def packed_batch(module, texts, labels):
    """The one-pass layout "[CLS] text [LAB] l1 [LAB] l2 ... [SEP]" (split into passes
    when the labels do not fit), pre-tokenized and padded."""
    from spacy_gliznet.model.collation import collate

    encoded = module.get_encoder().encode(texts, [labels] * len(texts))
    passes = [p for e in encoded for p in e.passes]
    return collate(passes, len(encoded), len(labels), module.get_encoder().pad_id, module.device)


def pairwise_batch(module, texts, labels):
    """One "[CLS] text [LAB] label [SEP]" pass per (text, label) pair: the NLI-style way."""
    from spacy_gliznet.model.collation import collate

    encoded = module.get_encoder().encode([t for t in texts for _ in labels],
                                          [[lab] for _ in texts for lab in labels])
    passes = [p for e in encoded for p in e.passes]
    return collate(passes, len(encoded), 1, module.get_encoder().pad_id, module.device)


def run_forward(module, batch, batch_size):
    """The model's own forward (length-sorted chunks of ``batch_size`` sequences), in
    evaluation mode as prediction runs it (Thinc's wrapper leaves the module in
    training mode after each prediction)."""
    with module.inference():
        return module(batch, batch_size=batch_size)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="checkpoint, backbone or Hub id (default: bundled)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--labels", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per backbone call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)

    import spacy

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.pipeline.layer import ensure_loaded

    texts = load_texts(args.data, args.docs)
    all_labels = load_labels(args.data)
    nlp = spacy.blank("en")
    # long_text "truncate": the pipe reads what the bare forward reads (windows, the default,
    # read long texts whole at a cost measured in examples/benchmarks/long_docs)
    pipe = nlp.add_pipe("gliznet_textcat", config={"long_text": "truncate", "model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": args.model, "batch_size": args.batch_size}})
    module = ensure_loaded(pipe.model)
    module.eval()
    text_tokens = statistics.mean(len(ids) for ids in module.get_encoder()._tokenize(texts))
    print(f"model: {args.model or 'bundled default'}; torch threads: {torch.get_num_threads()}; "
          f"device: {module.device}; {len(texts)} texts, {text_tokens:.0f} text tokens on average")
    qnlp = spacy.blank("en")
    qpipe = qnlp.add_pipe("gliznet_textcat", config={"long_text": "truncate", "model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": args.model, "batch_size": args.batch_size,
        "quantize": True}})
    isolated = module.config.label_attention == "isolated"
    print(f"bare = {'isolated path (texts and labels encoded apart)' if isolated else 'packed forward'}")
    print("| labels | pipe docs/s | bare docs/s | packed docs/s | pairwise docs/s | int8 pipe docs/s "
          "| pipe/bare | pipe/pairwise | int8/pipe | label tokens | text tokens x labels |")
    print("|" + "---|" * 11)
    for k in args.labels:
        labels = all_labels[:k]
        pipe.labels = labels
        qpipe.labels = labels
        batch = bare_batch(module, texts, labels)
        bare = lambda: run_forward(module, batch, args.batch_size)  # noqa: E731
        # pipe, bare and int8 pipe alternate within each round (their ratios are the claims)
        t_pipe, t_bare, t_int8 = timed_together([
            lambda: list(nlp.pipe(texts, batch_size=256)), bare,
            lambda: list(qnlp.pipe(texts, batch_size=256))], args.repeat)
        packed = packed_batch(module, texts, labels)
        t_packed = timed(lambda: run_forward(module, packed, args.batch_size),
                         args.repeat) if isolated else t_bare
        pairs = pairwise_batch(module, texts, labels)
        t_pair = timed(lambda: run_forward(module, pairs, args.batch_size), 1 if k > 4 else args.repeat)
        n = len(texts)
        label_tokens = sum(len(ids) + 1 for ids in module.get_encoder().label_ids(labels))
        print(f"| {k} | {n / t_pipe:.1f} | {n / t_bare:.1f} | {n / t_packed:.1f} | {n / t_pair:.1f} | "
              f"{n / t_int8:.1f} | {t_bare / t_pipe:.2f} | {t_pair / t_pipe:.1f} | "
              f"{t_pipe / t_int8:.2f} | {label_tokens} | {text_tokens * k:.0f} |", flush=True)

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
