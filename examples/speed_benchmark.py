"""Inference speed of gliznet_textcat, measured side by side in one run.

For 1, 4, 16 and 64 labels, on the same texts and the same model:
  pipe      docs/s of nlp.pipe (tokenization, batching, doc.cats included)
  bare      docs/s of the model's own torch computation on pre-tokenized, pre-padded,
            length-sorted batches (the ceiling): for label_attention "isolated" (the
            bundled model) each text and each label encoded once, pooled, projected and
            compared; otherwise the packed one-pass forward
  packed    docs/s of the packed one-pass forward ("[CLS] text [LAB] l1 [LAB] l2 ... [SEP]",
            split into passes when the labels do not fit), pre-tokenized
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


def bare_batches(module, texts, labels, batch_size):
    """Pre-tokenized, length-sorted, padded batches: what the forward alone sees."""
    from spacy_gliznet.encoding import collate

    enc = module.get_encoder()
    encoded = enc.encode(texts, [labels] * len(texts))
    passes = sorted((p for e in encoded for p in e.passes), key=len)
    return [collate(passes[i : i + batch_size], len(texts), 0, enc.pad_id, module.device)
            for i in range(0, len(passes), batch_size)]


def _padded(seqs, pools, batch_size, pad_id):
    from spacy_gliznet.encoding import pad_sequences

    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, att = pad_sequences([seqs[i] for i in idx], pad_id)
        pool = torch.zeros(ids.shape + (1,))
        for row, i in enumerate(idx):
            pool[row, pools[i]] = 1.0
        batches.append((ids, att, pool))
    return batches, torch.tensor(order)


def isolated_batches(module, texts, labels, batch_size):
    """Pre-tokenized, length-sorted, padded text and label sequences as the isolated
    prediction path encodes them: "[CLS] text" (mean over all) and "[LAB] label"
    (mean over the label tokens, or the [LAB] token for label_pooling "lab")."""
    enc = module.get_encoder()
    budget = enc.max_length - 2
    text_seqs = [[enc.cls_id] + ids[:budget] for ids in enc._tokenize(list(texts))]
    text_pools = [list(range(len(s))) for s in text_seqs]
    label_seqs = [[enc.lab_id] + list(ids) for ids in enc.label_ids(labels)]
    if module.config.label_pooling == "mean":
        label_pools = [list(range(1, len(s))) for s in label_seqs]
    else:
        label_pools = [[0] for _ in label_seqs]
    return (_padded(text_seqs, text_pools, batch_size, enc.pad_id),
            _padded(label_seqs, label_pools, batch_size, enc.pad_id))


def run_isolated(module, batches):
    import torch.nn.functional as F

    text_batches, label_batches = batches

    def pooled(items, token_projector=None):
        batches, order = items
        vecs = []
        for ids, att, pool in batches:
            h = module.backbone(input_ids=ids, attention_mask=att).last_hidden_state
            if token_projector is not None:  # label_pooling "mean" projects each token
                h = token_projector(h)
            vecs.append((h * pool).sum(1) / pool.sum(1))
        sorted_vecs = torch.cat(vecs)
        out = torch.empty_like(sorted_vecs)
        out[order] = sorted_vecs  # back to the input order
        return out

    with torch.inference_mode():
        t = F.normalize(module.text_projector(pooled(text_batches)), dim=-1)
        if module.config.label_pooling == "mean":
            lab = F.normalize(pooled(label_batches, module.label_projector), dim=-1)
        else:
            lab = F.normalize(module.label_projector(pooled(label_batches)), dim=-1)
        return t @ lab.T - module.score_offset.float()


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
    text_tokens = statistics.mean(len(ids) for ids in module.get_encoder()._tokenize(texts))
    print(f"model: {args.model or 'bundled default'}; torch threads: {torch.get_num_threads()}; "
          f"device: {module.device}; {len(texts)} texts, {text_tokens:.0f} text tokens on average")
    qnlp = spacy.blank("en")
    qpipe = qnlp.add_pipe("gliznet_textcat", config={"model": {
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
        batches = bare_batches(module, texts, labels, args.batch_size)
        if isolated:
            iso = isolated_batches(module, texts, labels, args.batch_size)
            bare = lambda: run_isolated(module, iso)  # noqa: E731
        else:
            bare = lambda: run_forward(module, batches)  # noqa: E731
        # pipe, bare and int8 pipe alternate within each round (their ratios are the claims)
        t_pipe, t_bare, t_int8 = timed_together([
            lambda: list(nlp.pipe(texts, batch_size=256)), bare,
            lambda: list(qnlp.pipe(texts, batch_size=256))], args.repeat)
        t_packed = timed(lambda: run_forward(module, batches), args.repeat) if isolated else t_bare
        pairs = pairwise_batches(module, texts, labels, args.batch_size)
        t_pair = timed(lambda: run_forward(module, pairs), 1 if k > 4 else args.repeat)
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
