"""Calibrate a GliZNet checkpoint's scores on labelled data: its temperature and
its cosine offset (the point where a multi-label score crosses 0.5).

A GliZNet score is ``(cos - score_offset) * exp(logit_scale)``. Neither value
changes which label ranks first, so single-label predictions stay as they are;
they decide how confident the scores look and, in multi-label mode, which
labels pass the component's threshold of 0.5.

- ``score_offset``: the cosine cut-off that gives the best average macro-F1 over
  the multi-label datasets of ``data`` (unchanged when there are none);
- ``logit_scale`` (and ``bce_scale``, the BCE loss's temperature, so later
  fine-tuning starts calibrated): the temperature with the lowest mean loss,
  softmax cross-entropy on single-label datasets and binary cross-entropy on
  multi-label ones, averaged per dataset.

Both are chosen on a grid, from a sample of at most ``limit`` rows per dataset
scored once by the model's own prediction path.
"""

import argparse
import json
import random
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from ..atomic import atomic_folder, check_output
from ..corpus.readers import Dataset, load_datasets
from ..errors import GliZNetInputError
from ..model.checkpoints import GliZNetForSequenceClassification
from ..model.network import GliZNetModel, score_logits
from ..pipeline.metrics import indices_at_cut, macro_f1
from ._common import (add_dtype_option, add_gpu_id_option, add_overwrite_option, comma_list,
                      storage_dtype, torch_device)

OFFSET_GRID = np.round(np.arange(-0.30, 0.901, 0.01), 2)
LOG_SCALE_GRID = np.round(np.arange(0.0, 6.001, 0.05), 2)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def _bce(logits: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, logits) - targets * logits))


def dataset_loss(cos: np.ndarray, targets: np.ndarray, multi_label: bool, offset: float,
                 log_scale: float) -> float:
    """Mean loss of one dataset's (N, K) cosines at this offset and temperature."""
    logits = score_logits(torch.as_tensor(cos), offset, log_scale).numpy()
    if multi_label:
        return _bce(logits, targets)
    return float(-(_log_softmax(logits) * targets).sum(1).mean())


def multi_label_f1(sims: Sequence[Dict], offset: float) -> Dict[str, float]:
    """Macro-F1 of each multi-label entry when labels with cos >= ``offset`` are predicted."""
    return {s["name"]: macro_f1(s["gold"], indices_at_cut(s["cos"], True, offset), s["cos"].shape[1])
            for s in sims if s["multi_label"]}


def choose_offset(sims: Sequence[Dict], grid: np.ndarray = OFFSET_GRID) -> Optional[float]:
    """Offset with the best mean macro-F1 over the multi-label entries (None if none)."""
    if not any(s["multi_label"] for s in sims):
        return None
    scores = [np.mean(list(multi_label_f1(sims, float(c)).values())) for c in grid]
    return float(grid[int(np.argmax(scores))])


def choose_log_scale(sims: Sequence[Dict], offset: float,
                     grid: np.ndarray = LOG_SCALE_GRID) -> float:
    """log-temperature with the lowest per-dataset mean loss at ``offset``."""
    losses = [np.mean([dataset_loss(s["cos"], s["targets"], s["multi_label"], offset, float(t))
                       for s in sims]) for t in grid]
    return float(grid[int(np.argmin(losses))])


def similarities(model: GliZNetModel, sets: Sequence[Dataset], batch_size: int = 64,
                 progress: bool = True) -> List[Dict]:
    """Each dataset's (N, K) cosine similarities under ``model``, with its gold
    labels: the model's own prediction path with offset 0 and temperature 1,
    whose logits are the cosines (the model's values are restored after)."""
    from tqdm import tqdm

    encoder = model.get_encoder()
    saved = (model.score_offset.detach().clone(), model.logit_scale.detach().clone())
    with torch.no_grad():
        model.score_offset.zero_()
        model.logit_scale.zero_()
    try:
        return _similarities(model, encoder, sets, batch_size, progress, tqdm)
    finally:
        with torch.no_grad():
            model.score_offset.copy_(saved[0])
            model.logit_scale.copy_(saved[1])


def _similarities(model, encoder, sets, batch_size, progress, tqdm) -> List[Dict]:
    out = []
    for d in tqdm(sets, desc="calibrate", unit="dataset", disable=not progress):
        texts = [r["text"] for r in d.rows]
        encoded = encoder.encode(texts, [d.labels] * len(texts))
        cos = np.stack(model.predict_encoded(encoded, batch_size=batch_size))
        index = {lab: i for i, lab in enumerate(d.labels)}
        gold = [[index[g] for g in r["labels"]] for r in d.rows]
        targets = np.zeros_like(cos)
        for row, g in enumerate(gold):
            targets[row, g] = 1.0
        if not d.multi_label:  # rows without a gold label carry no softmax target
            keep = targets.sum(1) > 0
            cos, targets = cos[keep], targets[keep]
            gold = [g for g, k in zip(gold, keep) if k]
        out.append({"name": d.name, "multi_label": d.multi_label, "cos": cos,
                    "gold": gold, "targets": targets})
    return out


def calibrate(
    model_name: Union[str, Path],
    data: Union[str, Path],
    output: Union[str, Path],
    *,
    datasets: Optional[Sequence[str]] = None,
    exclude: Sequence[str] = (),
    limit: int = 300,
    seed: int = 0,
    batch_size: int = 64,
    dtype: str = "float16",
    progress: bool = True,
    overwrite: bool = False,
    gpu_id: int = -1,
) -> Dict:
    """Calibrate ``model_name`` on the datasets of ``data`` and save the result to ``output``.

    model_name: GliZNet checkpoint (directory or Hub id).
    data: a folder with manifest.json and JSONL files (``{"text", "labels"}`` rows).
    datasets, exclude: which of its datasets to use (default: all).
    limit: rows sampled per dataset (0: all).
    dtype: storage dtype of the saved weights, "float16" or "float32".
    gpu_id: the GPU the model scores on (-1: the CPU).
    Returns a report: the chosen values and the macro-F1 per multi-label dataset
    before and after. ``output`` is checked before any work and written atomically
    (``atomic.py``; an existing non-empty folder only with ``overwrite``).
    """
    check_output(output, inputs=[model_name, data], overwrite=overwrite)
    if limit < 0:
        raise GliZNetInputError(f"limit must be >= 0, got {limit}")
    device = torch_device(gpu_id)
    sets = load_datasets(data, datasets, exclude=exclude)
    if not sets:
        raise GliZNetInputError(f"No datasets to calibrate on in {str(data)!r}")
    rng = random.Random(seed)
    for d in sets:
        rng.shuffle(d.rows)
        if limit:
            d.rows = d.rows[:limit]
    model, tokenizer = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(model_name)
    model.to(device)
    sims = similarities(model, sets, batch_size=batch_size, progress=progress)
    model.to("cpu")
    old_offset = float(model.score_offset.detach().float())
    new_offset = choose_offset(sims)
    offset = old_offset if new_offset is None else new_offset
    log_scale = choose_log_scale(sims, offset)

    report = {
        "data": str(data), "rows": int(sum(len(s["gold"]) for s in sims)),
        "datasets": [s["name"] for s in sims],
        "score_offset": {"before": old_offset, "after": offset},
        "logit_scale": {"before": float(model.logit_scale.detach().float()), "after": log_scale},
        "multi_label_macro_f1": {"before": multi_label_f1(sims, old_offset),
                                 "after": multi_label_f1(sims, offset)},
    }
    with torch.no_grad():
        model.score_offset.fill_(offset)
        model.logit_scale.fill_(log_scale)
        model.bce_scale.fill_(log_scale)
    with atomic_folder(output, overwrite) as tmp:
        model.save_pretrained(tmp, tokenizer=tokenizer, dtype=storage_dtype(dtype))
    return report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``calibrate`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("calibrate", help="fit a checkpoint's temperature and multi-label "
                              "offset on labelled data (e.g. train_pool)")
    p.add_argument("model", help="GliZNet checkpoint (directory or Hub id)")
    p.add_argument("output", help="folder for the calibrated checkpoint")
    p.add_argument("--data", required=True, help="folder with manifest.json and *.jsonl")
    p.add_argument("--datasets", default=None, help="comma-separated subset")
    p.add_argument("--exclude", default=None, help="comma-separated datasets to leave out")
    p.add_argument("--limit", type=int, default=300, help="rows sampled per dataset (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    add_dtype_option(p)
    p.add_argument("--no-progress", action="store_true")
    add_overwrite_option(p)
    add_gpu_id_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``calibrate`` from parsed arguments and print its report."""
    report = calibrate(args.model, args.data, args.output,
                       datasets=comma_list(args.datasets, "--datasets"),
                       exclude=comma_list(args.exclude, "--exclude") or (), limit=args.limit,
                       seed=args.seed, batch_size=args.batch_size, dtype=args.dtype,
                       progress=not args.no_progress, overwrite=args.overwrite,
                       gpu_id=args.gpu_id)
    print(json.dumps(report, indent=2))
    print(f"Saved the calibrated checkpoint to {args.output}")
