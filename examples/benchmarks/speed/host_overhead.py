"""Host overhead of gliznet_textcat: what the pipe costs around the model, on any machine.

On the same texts, labels and model, side by side in one run:
  tokenizer      docs/s of the model's fast tokenizer alone, one call per batch of texts, as a
                 Hugging Face user makes the model's inputs (cut to the model's length, padded,
                 torch tensors): the reference every ratio is taken to
  tokenizer ids  the same call as the package makes it (token ids only: no padding, no
                 tensors, no special tokens): the least tokenizing any path can do
  predict_batch  docs/s of the plain PyTorch API (``model.predict_batch``), one call per batch
  nlp.pipe       docs/s of ``nlp.pipe`` (spaCy's tokenizer, planning, the Thinc layer, doc.cats)
and the ratios predict_batch/tokenizer and nlp.pipe/tokenizer.

By default the backbone is a stub that returns at once (zeros of the real hidden size and
dtype), so the figures are the host work alone: what keeps a GPU idle. ``--backbone real``
runs the real backbone. Each repeat times every path in turn (a slow spell of a shared
machine hits them alike); the table gives medians. The load average is printed.

``--compare PATH`` runs the same measurement on another checkout of the package (e.g. a
clean checkout of main) in subprocesses, alternating between the two trees at each repeat,
and prints both side by side with their ratio.

    python examples/benchmarks/speed/host_overhead.py                      # 2,000 texts, 16 labels, batch 256
    python examples/benchmarks/speed/host_overhead.py --compare /tmp/main  # side by side with another tree
    python examples/benchmarks/speed/host_overhead.py --backbone real --docs 256

Texts: a seeded sample of ``../shared/data/benchmark`` (every set in its manifest), labels a
seeded sample of their label names; without that folder, generated texts and labels.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve()
REPO = HERE.parents[3]
DATA = REPO.parent / "shared" / "data" / "benchmark"
PATHS = ("tokenizer", "tokenizer ids", "predict_batch", "nlp.pipe")
WORDS = ("market team river court price song model game vote storm city school film bank phone "
         "card rate energy doctor season trade law police music cloud travel food health").split()


def load_texts(data: Path, n_docs: int, n_labels: int, seed: int = 0) -> Tuple[List[str], List[str]]:
    """``n_docs`` texts and ``n_labels`` label names sampled (seeded) from the benchmark
    sets in ``data``; generated ones when ``data`` holds no manifest."""
    rng = random.Random(seed)
    manifest_path = data / "manifest.json"
    if not manifest_path.is_file():
        texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 120))) + "."
                 for _ in range(n_docs)]
        labels = [f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(n_labels)]
        return texts, list(dict.fromkeys(labels))
    manifest = json.loads(manifest_path.read_text(encoding="utf8"))
    texts, names = [], set()
    for entry in manifest.values():
        names.update(entry["labels"])
        with open(data / entry["file"], encoding="utf8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    texts = [rng.choice(texts) for _ in range(n_docs)] if n_docs > len(texts) else rng.sample(texts, n_docs)
    return texts, rng.sample(sorted(names), min(n_labels, len(names)))


class StubOutput(SimpleNamespace):
    """What a Hugging Face encoder returns, as far as the model reads it."""


def make_stub_backbone(backbone):
    """A module standing in for ``backbone``: same ``config`` (hidden size), returns
    zeros of shape (batch, sequence, hidden) in the embeddings' dtype at once."""
    import torch
    from torch import nn

    hidden = int(backbone.config.hidden_size)
    dtype = next(backbone.parameters()).dtype

    class StubBackbone(nn.Module):
        def __init__(self, config) -> None:
            super().__init__()
            self.config = config

        def forward(self, input_ids, attention_mask=None, **kwargs):
            return StubOutput(last_hidden_state=torch.zeros(
                (*input_ids.shape, hidden), dtype=dtype, device=input_ids.device))

    return StubBackbone(backbone.config)


def build(labels: Sequence[str], model: Optional[str], backbone: str, threads: Optional[int]):
    """The pipeline and its loaded torch module (backbone stubbed unless ``backbone="real"``)."""
    import spacy
    import torch

    import spacy_gliznet  # noqa: F401  (registers the factory)
    from spacy_gliznet.pipeline.layer import ensure_loaded

    if threads:
        torch.set_num_threads(threads)
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("gliznet_textcat", config={"labels": list(labels),
                                                   "model": {"name": model} if model else {}})
    nlp.initialize()
    module = ensure_loaded(pipe.model)
    if backbone == "stub":
        module.backbone = make_stub_backbone(module.backbone)
        module.clear_label_cache()
    return nlp, module


def batches(items: Sequence, size: int) -> List[Sequence]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def measure(texts: List[str], labels: List[str], batch_size: int, repeat: int,
            model: Optional[str] = None, backbone: str = "stub",
            threads: Optional[int] = None) -> Dict[str, List[float]]:
    """docs/s of each path in ``PATHS``, one value per repeat (after one warm-up round)."""
    from spacy_gliznet.errors import TruncationWarning

    warnings.simplefilter("ignore", TruncationWarning)
    nlp, module = build(labels, model, backbone, threads)
    tokenizer = module.tokenizer
    model_batch = nlp.get_pipe("gliznet_textcat").model.attrs["batch_size"]
    chunks = batches(texts, batch_size)

    max_length = module.max_length

    def run_tokenizer():
        for chunk in chunks:  # the model's inputs, as a Hugging Face user makes them
            tokenizer(list(chunk), truncation=True, max_length=max_length, padding=True,
                      return_tensors="pt")

    def run_tokenizer_ids():
        for chunk in chunks:  # as the package tokenizes: ids only, no special tokens
            tokenizer(list(chunk), add_special_tokens=False, split_special_tokens=True,
                      truncation=False, return_attention_mask=False, return_token_type_ids=False,
                      verbose=False)

    def run_predict_batch():
        for chunk in chunks:
            module.predict_batch(list(chunk), labels, batch_size=model_batch)

    def run_pipe():
        for doc in nlp.pipe(texts, batch_size=batch_size):
            pass

    fns = {"tokenizer": run_tokenizer, "tokenizer ids": run_tokenizer_ids, "predict_batch": run_predict_batch, "nlp.pipe": run_pipe}
    for name in PATHS:  # warm-up: label cache, lazy loads, allocator
        fns[name]()
    out: Dict[str, List[float]] = {name: [] for name in PATHS}
    for _ in range(repeat):
        for name in PATHS:
            start = time.perf_counter()
            fns[name]()
            out[name].append(len(texts) / (time.perf_counter() - start))
    return out


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without it
        return "n/a"


def git_head(tree: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def medians(runs: Dict[str, List[float]]) -> Dict[str, float]:
    return {name: statistics.median(values) for name, values in runs.items()}


def table(columns: Dict[str, Dict[str, float]]) -> str:
    """Markdown table: one column of docs/s per tree, the ratio of the first two, and
    each tree's ratios to its own tokenizer figure."""
    names = list(columns)
    head = ["path"] + [f"{n} docs/s" for n in names] + [f"{n} / tokenizer" for n in names]
    if len(names) == 2:
        head.insert(3, f"{names[0]} / {names[1]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for path in PATHS:
        row = [path] + [f"{columns[n][path]:,.0f}" for n in names]
        ratios = [f"{columns[n][path] / columns[n]['tokenizer']:.2f}x" for n in names]
        if len(names) == 2:
            row.append(f"{columns[names[0]][path] / columns[names[1]][path]:.2f}x")
        lines.append("| " + " | ".join(row + ratios) + " |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--labels", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=256, help="texts per nlp.pipe / predict_batch / tokenizer call")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds; the table gives medians")
    p.add_argument("--backbone", choices=["stub", "real"], default="stub")
    p.add_argument("--model", default=None, help="checkpoint (default: the bundled model)")
    p.add_argument("--data", type=Path, default=DATA, help="folder with manifest.json and the JSONL sets")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: 1 with the stub backbone, whose little tensor work "
                        "only loses to thread hand-offs on a busy machine; torch's own with the real one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compare", type=Path, default=None,
                   help="root of another checkout of the package, measured alternately in subprocesses")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def worker_args(args: argparse.Namespace) -> List[str]:
    out = ["--docs", str(args.docs), "--labels", str(args.labels), "--batch-size", str(args.batch_size),
           "--repeat", "1", "--backbone", args.backbone, "--data", str(args.data), "--seed", str(args.seed)]
    if args.model:
        out += ["--model", args.model]
    if args.threads:
        out += ["--threads", str(args.threads)]
    return out + ["--worker"]


def run_worker(tree: Path, args: argparse.Namespace) -> Dict[str, float]:
    """One repeat of the measurement in a subprocess that imports the package from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(HERE), *worker_args(args)], cwd=str(tree), env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"the measurement in {tree} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {name: values[0] for name, values in result["docs_per_s"].items()}


def main(argv=None) -> Dict[str, Dict[str, float]]:
    args = parse_args(argv)
    if args.threads is None and args.backbone == "stub":
        args.threads = 1
    texts, labels = load_texts(args.data, args.docs, args.labels, args.seed)
    if args.worker:
        import spacy_gliznet

        runs = measure(texts, labels, args.batch_size, args.repeat, args.model, args.backbone, args.threads)
        print(json.dumps({"package": spacy_gliznet.__file__, "docs_per_s": runs}))
        return {"this": medians(runs)}
    print(f"{len(texts)} texts, {len(labels)} labels, batch {args.batch_size}, backbone {args.backbone}, "
          f"torch threads {args.threads or 'default'}, {args.repeat} repeat(s); "
          f"load average before: {load_average()}", flush=True)
    if args.compare is None:
        runs = measure(texts, labels, args.batch_size, args.repeat, args.model, args.backbone, args.threads)
        columns = {f"this ({git_head(REPO)})": medians(runs)}
    else:
        trees = {f"this ({git_head(REPO)})": REPO, f"other ({git_head(args.compare)})": args.compare.resolve()}
        per_tree: Dict[str, Dict[str, List[float]]] = {name: {p: [] for p in PATHS} for name in trees}
        for r in range(args.repeat):
            for name, tree in (trees.items() if r % 2 == 0 else reversed(list(trees.items()))):
                for path, value in run_worker(tree, args).items():
                    per_tree[name][path].append(value)
            print(f"repeat {r + 1}: " + "; ".join(
                f"{name} " + ", ".join(f"{p} {per_tree[name][p][-1]:,.0f}" for p in PATHS)
                for name in trees), flush=True)
        columns = {name: medians(runs) for name, runs in per_tree.items()}
    print(table(columns))
    print(f"load average after: {load_average()}")
    return columns


if __name__ == "__main__":
    main()
