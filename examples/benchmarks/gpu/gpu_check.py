"""GPU check of gliznet_textcat: fp16 inference speed and a short `spacy train --gpu-id 0`.

One script, under 8 minutes on one GPU with the defaults:

1. CPU figure: ``nlp.pipe`` docs/s of the model in float32 on ``--cpu-docs``
   texts (a seeded sample of the benchmark sets, ``--labels`` sampled label names);
2. GPU figure: the same pipeline with ``mixed_precision = true`` (fp16
   autocast) on ``--docs`` texts, after one warm-up batch; its scores on the
   CPU texts are compared with the CPU scores;
3. a short ``python -m spacy train`` of ``gliznet_textcat`` (the package's
   ``zero_shot.cfg`` on ``train_pool``, from the same model) with ``--gpu-id 0``,
   read back from spaCy's log: the mean training loss per step of each
   evaluation window, which should go down.

Without a GPU (or with ``--device cpu``) it runs steps 1 and 3 on the CPU with
smaller defaults, so it can be tested anywhere. Results go to stdout and, with
``--output``, to a JSON file. GPU runs need cupy, as all of spaCy's GPU support
does (``pip install "spacy[cuda12x]"``).

    python examples/benchmarks/gpu/gpu_check.py --output gpu_check.json            # GPU if there is one
    python examples/benchmarks/gpu/gpu_check.py --device cpu --docs 100 --train-steps 20
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DATA_CANDIDATES = (REPO.parent / "shared" / "data", REPO / "shared" / "data")
GPU_DEFAULTS = {"docs": 2000, "cpu_docs": 300, "train_steps": 200, "eval_frequency": 40}
CPU_DEFAULTS = {"docs": 200, "cpu_docs": 200, "train_steps": 20, "eval_frequency": 5}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["auto", "gpu", "cpu"], default="auto")
    p.add_argument("--data", type=Path, default=None,
                   help="folder with benchmark/ and train_pool/ (manifest + JSONL); default ../shared/data")
    p.add_argument("--model", default=None, help="GliZNet checkpoint directory (default: the bundled model)")
    p.add_argument("--docs", type=int, default=None, help="texts for the GPU figure (CPU-only: the CPU figure)")
    p.add_argument("--cpu-docs", type=int, default=None, help="texts for the CPU figure")
    p.add_argument("--labels", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-steps", type=int, default=None)
    p.add_argument("--eval-frequency", type=int, default=None)
    p.add_argument("--train-rows-per-dataset", type=int, default=200)
    p.add_argument("--learn-rate", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=420, help="seconds allowed for spacy train")
    p.add_argument("--output", type=Path, default=None, help="write the results as JSON here")
    return p.parse_args(argv)


def find_data(given):
    for folder in ([given] if given else DATA_CANDIDATES):
        if folder and (folder / "benchmark" / "manifest.json").is_file() and \
                (folder / "train_pool" / "manifest.json").is_file():
            return folder
    sys.exit(f"no data folder with benchmark/ and train_pool/ manifests (tried {given or DATA_CANDIDATES}); "
             "give --data")


def sample(folder: Path, n_docs: int, n_labels: int, seed: int):
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf8"))
    texts, labels = [], set()
    for entry in manifest.values():
        labels.update(entry["labels"])
        with open(folder / entry["file"], encoding="utf8") as f:
            texts.extend(json.loads(line)["text"] for line in f if line.strip())
    rng = random.Random(seed)
    texts = [rng.choice(texts) for _ in range(n_docs)] if n_docs > len(texts) else rng.sample(texts, n_docs)
    return texts, rng.sample(sorted(labels), min(n_labels, len(labels)))


def build_pipeline(model, labels, mixed_precision):
    import spacy

    nlp = spacy.blank("en")
    model_cfg = {"mixed_precision": mixed_precision, **({"name": str(model)} if model else {})}
    nlp.add_pipe("gliznet_textcat", config={"labels": labels, "model": model_cfg})
    nlp.initialize()
    return nlp


def docs_per_s(nlp, texts, labels, batch_size, sync=lambda: None):
    list(nlp.pipe(texts[:batch_size], batch_size=batch_size))  # warm-up (kernels, caches)
    sync()
    start = time.perf_counter()
    scores = [[d.cats[k] for k in labels] for d in nlp.pipe(texts, batch_size=batch_size)]
    sync()
    seconds = time.perf_counter() - start
    return len(texts) / seconds, seconds, scores


LOG_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([-\d.]+)\s")


def loss_windows(log: str):
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


def train(data: Path, model, use_gpu: bool, args, workdir: Path):
    import spacy_gliznet
    from spacy_gliznet.model.config import HEAD_SETTINGS

    package = Path(spacy_gliznet.__file__).parent
    init_model = str(model) if model else str(package / "default_model_files")
    steps, every = args.train_steps, args.eval_frequency
    cmd = [sys.executable, "-m", "spacy", "train", str(package / "configs" / "zero_shot.cfg"),
           "--output", str(workdir / "train"),
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
    print("\n".join(line for line in proc.stdout.splitlines() if LOG_ROW.match(line) or "LOSS" in line))
    if len(windows) < 3:
        sys.exit(f"spacy train logged {len(windows)} evaluation rows; need 3 (raise --train-steps)")
    first, last = windows[1], windows[-1]  # windows[0] is the single step 0
    return {"steps": steps, "seconds": round(seconds, 1), "gpu": use_gpu,
            "loss_per_step": [[s, round(v, 4)] for s, v in windows],
            "first_window_loss": round(first[1], 4), "last_window_loss": round(last[1], 4),
            "loss_went_down": last[1] < first[1]}


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.errors import TruncationWarning

    warnings.simplefilter("ignore", TruncationWarning)
    has_gpu = torch.cuda.is_available()
    if args.device == "gpu" and not has_gpu:
        sys.exit("--device gpu: torch sees no CUDA device")
    use_gpu = has_gpu and args.device != "cpu"
    defaults = GPU_DEFAULTS if use_gpu else CPU_DEFAULTS
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    data = find_data(args.data)
    texts, labels = sample(data / "benchmark", max(args.docs, args.cpu_docs), args.labels, args.seed)
    result = {"device": "gpu" if use_gpu else "cpu", "torch": torch.__version__,
              "cpu_threads": torch.get_num_threads(), "labels": labels, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory() as tmp:
        cpu = build_pipeline(args.model, labels, mixed_precision=False)
        rate, seconds, cpu_scores = docs_per_s(cpu, texts[: args.cpu_docs], labels, args.batch_size)
        result["cpu_fp32"] = {"docs": args.cpu_docs, "docs_per_s": round(rate, 1), "seconds": round(seconds, 1)}
        print(json.dumps({"cpu_fp32": result["cpu_fp32"]}), flush=True)
        del cpu
        if use_gpu:
            import spacy

            spacy.require_gpu(0)
            torch.cuda.reset_peak_memory_stats()
            gpu = build_pipeline(args.model, labels, mixed_precision=True)
            rate, seconds, _ = docs_per_s(gpu, texts[: args.docs], labels, args.batch_size, torch.cuda.synchronize)
            _, _, gpu_scores = docs_per_s(gpu, texts[: args.cpu_docs], labels, args.batch_size)
            diff = max(abs(a - b) for x, y in zip(cpu_scores, gpu_scores) for a, b in zip(x, y))
            result["gpu_name"] = torch.cuda.get_device_name(0)
            result["gpu_fp16"] = {"docs": args.docs, "docs_per_s": round(rate, 1), "seconds": round(seconds, 1),
                                  "speedup_vs_cpu": round(rate / result["cpu_fp32"]["docs_per_s"], 1),
                                  "max_abs_diff_vs_cpu_fp32": diff,
                                  "peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20)}
            print(json.dumps({"gpu_fp16": result["gpu_fp16"]}), flush=True)
            del gpu
        result["train"] = train(data, args.model, use_gpu, args, Path(tmp))
    print(json.dumps({"train": {k: v for k, v in result["train"].items() if k != "loss_per_step"}}))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    return result


if __name__ == "__main__":
    main()
