"""GPU check of gliznet_textcat: where the time goes on a GPU, side by side in one run.

On the same texts and labels (default: 2,000 benchmark texts, 16 labels, batches of 256), docs/s of:

  tokenizer                     the model's fast tokenizer alone, one call per batch (cut to the
                                model's length, padded, tensors): the floor of any path
  tokenizer + backbone fp32     that, then the bare backbone forward on the GPU (no heads, no
  tokenizer + backbone fp16     pooling): what a plain Hugging Face loop reaches
  predict_batch fp32            the package's plain PyTorch API
  nlp.pipe fp32                 the spaCy pipeline (mixed_precision = false)
  nlp.pipe fp16                 the spaCy pipeline (mixed_precision = true: float16 autocast)
  nlp.pipe fp16, batch_tokens 0 the same with fixed backbone calls of 32 sequences (the code
                                before token-budget calls)
  nlp.pipe fp16, 10,000 labels  on --big-docs texts, every label's score in doc.cats
  nlp.pipe fp32 on the CPU      the same pipeline on this machine's CPU cores (--cpu-docs texts)

then the score agreement: GPU fp32 against CPU fp32 (largest difference) and GPU fp16 against
GPU fp32 (largest difference, share of texts with the same top label). Each timed path runs
once to warm up, then --repeat times; the table gives medians, and the load average is
printed. With --train-steps N it also runs N steps of ``spacy train --gpu-id 0``.

Without a CUDA device it stops with exit status 2, unless --allow-cpu (a dry run of the same
code on the CPU, fp16 rows left out: what the tests and run_on_gpu.sh --allow-cpu use).

    python examples/benchmarks/gpu/gpu_check.py --texts gpu_bundle/texts.json --output gpu_check.json
    python examples/benchmarks/gpu/gpu_check.py --allow-cpu --docs 64 --big-docs 16 --big-labels 500

Texts: --texts (a JSON file {"texts": [...], "labels": [...]}, as prepare_wheels.sh writes
it), else a seeded sample of --data/benchmark, else generated texts.
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[3]
DATA_CANDIDATES = (REPO.parent / "shared" / "data", REPO / "shared" / "data")
WORDS = ("market team river court price song model game vote storm city school film bank phone "
         "card rate energy doctor season trade law police music cloud travel food health").split()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--allow-cpu", action="store_true",
                   help="without a CUDA device, run the same code on the CPU (fp16 rows left out)")
    p.add_argument("--texts", type=Path, default=None, help='JSON file {"texts": [...], "labels": [...]}')
    p.add_argument("--data", type=Path, default=None,
                   help="folder with benchmark/ (manifest + JSONL); default ../shared/data")
    p.add_argument("--model", default=None, help="GliZNet checkpoint directory (default: the bundled model)")
    p.add_argument("--docs", type=int, default=2000, help="texts of the timed paths")
    p.add_argument("--cpu-docs", type=int, default=300, help="texts scored on the CPU (speed and reference)")
    p.add_argument("--labels", type=int, default=16)
    p.add_argument("--big-labels", type=int, default=10_000, help="labels of the large-label-set row")
    p.add_argument("--big-docs", type=int, default=500, help="texts of the large-label-set row")
    p.add_argument("--batch-size", type=int, default=256, help="texts per call of every path")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-steps", type=int, default=0, help="also run spacy train --gpu-id 0 this long")
    p.add_argument("--eval-frequency", type=int, default=40)
    p.add_argument("--train-rows-per-dataset", type=int, default=200)
    p.add_argument("--learn-rate", type=float, default=5e-5)
    p.add_argument("--timeout", type=int, default=420, help="seconds allowed for spacy train")
    p.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


# -- texts and labels ---------------------------------------------------------------
def find_data(given: Optional[Path]) -> Optional[Path]:
    for folder in ([given] if given else DATA_CANDIDATES):
        if folder and (folder / "benchmark" / "manifest.json").is_file():
            return folder
    return None


def sample(folder: Path, n_docs: int, n_labels: int, seed: int) -> Tuple[List[str], List[str]]:
    """A seeded sample of the texts and label names of the sets in ``folder``'s manifest."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf8"))
    texts, labels = [], set()
    for entry in manifest.values():
        labels.update(entry["labels"])
        with open(folder / entry["file"], encoding="utf8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    rng = random.Random(seed)
    texts = [rng.choice(texts) for _ in range(n_docs)] if n_docs > len(texts) else rng.sample(texts, n_docs)
    return texts, rng.sample(sorted(labels), min(n_labels, len(labels)))


def load_texts(args: argparse.Namespace) -> Tuple[List[str], List[str], str]:
    n = max(args.docs, args.cpu_docs, args.big_docs)
    if args.texts is not None:
        data = json.loads(args.texts.read_text(encoding="utf8"))
        texts, labels = list(data["texts"]), list(data["labels"])[: args.labels]
        texts = (texts * (n // max(1, len(texts)) + 1))[:n]
        return texts, labels, str(args.texts)
    folder = find_data(args.data)
    if folder is not None:
        texts, labels = sample(folder / "benchmark", n, args.labels, args.seed)
        return texts, labels, str(folder / "benchmark")
    rng = random.Random(args.seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 120))) + "." for _ in range(n)]
    return texts, [f"{w} news" for w in WORDS[: args.labels]], "generated"


def word_pair_labels(vocabulary: Sequence[str], n: int, seed: int = 0) -> List[str]:
    """``n`` distinct labels of two whole words each, drawn from ``vocabulary``."""
    words = sorted({w for w in vocabulary if w.isascii() and w.isalpha() and len(w) >= 3})
    rng = random.Random(seed)
    labels: Dict[str, None] = {}
    while len(labels) < min(n, len(words) ** 2 // 2):
        labels[f"{rng.choice(words)} {rng.choice(words)}"] = None
    return list(labels)


# -- timing -------------------------------------------------------------------------
def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def timed(fn: Callable[[], None], n_docs: int, repeat: int, sync: Callable[[], None]) -> List[float]:
    """docs/s of ``fn`` (which handles ``n_docs`` texts) over ``repeat`` runs, after a warm-up."""
    fn()
    sync()
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        rates.append(n_docs / (time.perf_counter() - start))
    return rates


def batches(items: Sequence, size: int) -> List[List]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def build_pipeline(model: Optional[str], labels: Sequence[str], mixed_precision: bool,
                   batch_tokens: Optional[int] = None):
    import spacy

    nlp = spacy.blank("en")
    cfg = {"mixed_precision": mixed_precision, "batch_tokens": batch_tokens}
    if model:
        cfg["name"] = str(model)
    nlp.add_pipe("gliznet_textcat", config={"labels": list(labels), "model": cfg})
    nlp.initialize()
    return nlp


def pipe_scores(nlp, texts: Sequence[str], labels: Sequence[str], batch_size: int):
    import numpy as np

    return np.array([[doc.cats[k] for k in labels] for doc in nlp.pipe(texts, batch_size=batch_size)])


LOG_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([-\d.]+)\s")


def loss_windows(log: str) -> List[Tuple[int, float]]:
    """(step, mean loss per step since the previous row) from spaCy's console table."""
    windows, previous = [], None
    for line in log.splitlines():
        match = LOG_ROW.match(line)
        if not match:
            continue
        step, loss = int(match.group(2)), float(match.group(3))
        steps = step + 1 if previous is None else step - previous
        windows.append((step, loss / max(1, steps)))
        previous = step
    return windows


def train(data: Path, model: Optional[str], use_gpu: bool, args: argparse.Namespace, workdir: Path) -> dict:
    import spacy_gliznet
    from spacy_gliznet.model.config import HEAD_SETTINGS

    package = Path(spacy_gliznet.__file__).parent
    code = workdir / "register.py"  # the factory without entry points (a PYTHONPATH install)
    code.write_text("import spacy_gliznet  # noqa: F401\n", encoding="utf8")
    init_model = str(model) if model else str(package / "default_model_files")
    steps, every = args.train_steps, args.eval_frequency
    cmd = [sys.executable, "-m", "spacy", "train", str(package / "configs" / "zero_shot.cfg"),
           "--code", str(code), "--output", str(workdir / "train"),
           "--paths.train_pool", str(data / "train_pool"), "--paths.init_model", init_model,
           "--training.max_steps", str(steps), "--training.eval_frequency", str(every),
           "--training.optimizer.learn_rate.initial_rate", str(args.learn_rate),
           "--training.optimizer.learn_rate.warmup_steps", str(max(1, steps // 10)),
           "--training.optimizer.learn_rate.total_steps", str(steps * 2),
           "--corpora.train.max_rows_per_dataset", str(args.train_rows_per_dataset),
           "--corpora.dev.max_rows_per_dataset", "5"]
    for setting in HEAD_SETTINGS:  # a checkpoint keeps its own head (zero_shot.cfg shapes a new one)
        cmd += [f"--components.gliznet_textcat.model.{setting}", "null"]
    if use_gpu:
        cmd += ["--gpu-id", "0", "--components.gliznet_textcat.model.mixed_precision", "true"]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"spacy train failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    windows = loss_windows(proc.stdout)
    if len(windows) < 3:
        sys.exit(f"spacy train logged {len(windows)} evaluation rows; need 3 (raise --train-steps)")
    first, last = windows[1], windows[-1]  # windows[0] is the single step 0
    return {"steps": steps, "seconds": round(seconds, 1), "gpu": use_gpu,
            "loss_per_step": [[s, round(v, 4)] for s, v in windows],
            "first_window_loss": round(first[1], 4), "last_window_loss": round(last[1], 4),
            "loss_went_down": last[1] < first[1]}


# -- the check ----------------------------------------------------------------------
def table(rows: Dict[str, float], reference: str = "tokenizer") -> str:
    lines = ["| path | docs/s | x tokenizer |", "|---|---:|---:|"]
    for name, rate in rows.items():
        lines.append(f"| {name} | {rate:,.0f} | {rate / rows[reference]:.2f}x |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import numpy as np
    import torch

    import spacy_gliznet  # noqa: F401  (registers the factory)
    from spacy_gliznet.errors import TruncationWarning
    from spacy_gliznet.pipeline.layer import ensure_loaded

    warnings.simplefilter("ignore", TruncationWarning)
    use_gpu = torch.cuda.is_available()
    if not use_gpu and not args.allow_cpu:
        print("gpu_check: torch sees no CUDA device (give --allow-cpu for a dry run on the CPU)",
              file=sys.stderr)
        sys.exit(2)
    texts, labels, source = load_texts(args)
    docs, bs, R = texts[: args.docs], args.batch_size, args.repeat
    result: dict = {"device": "gpu" if use_gpu else "cpu", "torch": torch.__version__,
                    "cpu_threads": torch.get_num_threads(), "texts": source, "docs": len(docs),
                    "labels": labels, "batch_size": bs, "repeat": R,
                    "load_average_before": load_average()}
    print(f"{len(docs)} texts ({source}), {len(labels)} labels, batches of {bs}, {R} repeats; "
          f"torch {torch.__version__}, load average {result['load_average_before']}", flush=True)
    rates: Dict[str, List[float]] = {}

    # CPU pipeline first (thinc's device is global: require_gpu comes after)
    cpu_nlp = build_pipeline(args.model, labels, mixed_precision=False)
    cpu_texts = texts[: args.cpu_docs]
    rates["nlp.pipe fp32 on the CPU"] = timed(lambda: pipe_scores(cpu_nlp, cpu_texts, labels, bs),
                                              len(cpu_texts), 1, lambda: None)
    cpu_scores = pipe_scores(cpu_nlp, cpu_texts, labels, bs)
    del cpu_nlp

    sync = torch.cuda.synchronize if use_gpu else (lambda: None)
    if use_gpu:
        import spacy

        spacy.require_gpu(0)
        result["gpu_name"] = torch.cuda.get_device_name(0)
    fp32 = build_pipeline(args.model, labels, mixed_precision=False)
    module = ensure_loaded(fp32.get_pipe("gliznet_textcat").model)
    tokenizer, device, max_length = module.tokenizer, module.device, module.max_length
    chunks = batches(docs, bs)

    def run_tokenizer():
        for chunk in chunks:
            tokenizer(chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt")

    def run_bare(amp: bool):
        def run():
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                for chunk in chunks:
                    enc = tokenizer(chunk, truncation=True, max_length=max_length, padding=True,
                                    return_tensors="pt")
                    module.backbone(input_ids=enc["input_ids"].to(device),
                                    attention_mask=enc["attention_mask"].to(device))
        return run

    def run_predict_batch():
        for chunk in chunks:
            module.predict_batch(chunk, labels)

    module.eval()
    rates["tokenizer"] = timed(run_tokenizer, len(docs), R, sync)
    rates["tokenizer + backbone fp32"] = timed(run_bare(False), len(docs), R, sync)
    if use_gpu:
        rates["tokenizer + backbone fp16"] = timed(run_bare(True), len(docs), R, sync)
    rates["predict_batch fp32"] = timed(run_predict_batch, len(docs), R, sync)
    rates["nlp.pipe fp32"] = timed(lambda: pipe_scores(fp32, docs, labels, bs), len(docs), R, sync)
    gpu32 = pipe_scores(fp32, cpu_texts, labels, bs)
    agreement = {"fp32_vs_cpu_max_abs_diff": float(np.abs(gpu32 - cpu_scores).max()),
                 "texts_compared": len(cpu_texts)}
    del fp32, module
    if use_gpu:
        fp16 = build_pipeline(args.model, labels, mixed_precision=True)
        rates["nlp.pipe fp16"] = timed(lambda: pipe_scores(fp16, docs, labels, bs), len(docs), R, sync)
        gpu16 = pipe_scores(fp16, cpu_texts, labels, bs)
        agreement["fp16_vs_fp32_max_abs_diff"] = float(np.abs(gpu16 - gpu32).max())
        agreement["fp16_vs_fp32_same_top_label"] = float((gpu16.argmax(1) == gpu32.argmax(1)).mean())
        del fp16
        fixed = build_pipeline(args.model, labels, mixed_precision=True, batch_tokens=0)
        rates["nlp.pipe fp16, batch_tokens 0 (32 sequences per call)"] = timed(
            lambda: pipe_scores(fixed, docs, labels, bs), len(docs), R, sync)
        del fixed
    big_labels = word_pair_labels(list(tokenizer.get_vocab()), args.big_labels, args.seed)
    big = build_pipeline(args.model, big_labels, mixed_precision=use_gpu)
    big_texts = texts[: args.big_docs]

    def run_big():
        for _ in big.pipe(big_texts, batch_size=bs):
            pass

    start = time.perf_counter()
    list(big.pipe(big_texts[:1]))  # the first call encodes the label set
    result["big_label_set_first_call_s"] = round(time.perf_counter() - start, 2)
    rates[f"nlp.pipe {'fp16' if use_gpu else 'fp32'}, {len(big_labels):,} labels"] = timed(
        run_big, len(big_texts), R, sync)
    del big

    medians = {name: statistics.median(values) for name, values in rates.items()}
    order = ["tokenizer"] + [n for n in medians if n != "tokenizer"]
    medians = {n: medians[n] for n in order}
    result["docs_per_s"] = {n: round(v, 1) for n, v in medians.items()}
    result["docs_per_s_runs"] = {n: [round(v, 1) for v in values] for n, values in rates.items()}
    result["agreement"] = agreement
    if use_gpu:
        result["peak_gpu_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    result["load_average_after"] = load_average()
    print(table(medians))
    print(json.dumps({"agreement": agreement}))
    print(f"load average after: {result['load_average_after']}")
    if args.train_steps > 0:
        data = find_data(args.data)
        if data is None or not (data / "train_pool" / "manifest.json").is_file():
            sys.exit("--train-steps needs a data folder with train_pool/ (give --data)")
        with tempfile.TemporaryDirectory() as tmp:
            result["train"] = train(data, args.model, use_gpu, args, Path(tmp))
        print(json.dumps({"train": {k: v for k, v in result["train"].items() if k != "loss_per_step"}}))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    return result


if __name__ == "__main__":
    main()
