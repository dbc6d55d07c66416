"""Zero-shot benchmark: per-dataset macro-F1 of a GliZNet model (through the
``gliznet_textcat`` component) next to the cosine-embedding baseline of a
sentence-embedding backbone (mean-pooled text vs mean-pooled label embedding).

Decision rules: single-label sets take the argmax label (model and baseline);
on multi-label sets the model's labels are what the component decides
(``doc._.gliznet_predicted_labels``: its ``decision_rule``, ``rule_param``,
``threshold`` and ``thresholds``, through ``spacy_gliznet.pipeline.decisions``), the
baseline's those whose cosine passes ``baseline_threshold`` (fixed, not tuned on
the benchmark). Macro-F1 is ``metrics.macro_f1``: spaCy's, the mean of per-label
F1 over all the dataset's labels.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from ..atomic import atomic_folder, check_output
from ..errors import GliZNetInputError
from ..corpus.readers import load_datasets
from ..model.files import resolve_model_dir
from ..pipeline import decisions
from ..pipeline.metrics import indices_at_cut, macro_f1
from ..settings import DecisionSettings
from ._common import add_gpu_id_option, add_overwrite_option, comma_list, torch_device, use_gpu

DEFAULT_BASELINE = "sentence-transformers/all-MiniLM-L6-v2"


def decide_as_component(scores: np.ndarray, labels: Sequence[str], multi_label: bool,
                        settings: DecisionSettings) -> List[List[int]]:
    """Predicted label indices per row as the component decides them; ``settings``:
    ``GliZNetTextCategorizer.decision_settings()``."""
    mask = decisions.decision_mask(scores, labels, multi_label=multi_label, settings=settings)
    return [[int(i) for i in np.nonzero(row)[0]] for row in mask]


class EmbeddingBaseline:
    """Mean-pooled, normalised sentence embeddings of a plain encoder.

    name: the encoder (directory or Hub id); device: the torch device it runs on."""

    def __init__(self, name: str, max_length: int = 256, batch_size: int = 64,
                 device: Optional[object] = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        directory = resolve_model_dir(name)
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory))
        self.model = AutoModel.from_pretrained(str(directory)).eval()
        if device is not None:
            self.model.to(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.torch = torch

    def embed(self, texts: Sequence[str], progress=None) -> np.ndarray:
        torch = self.torch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
                enc = enc.to(self.model.device)
                hidden = self.model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                vec = torch.nn.functional.normalize(vec, dim=-1)
                out[idx] = vec.cpu().numpy()
                if progress is not None:
                    progress.update(len(idx))
        return out


def score_model(nlp, texts: List[str], labels: List[str], multi_label: bool,
                batch_size: int, progress=None) -> np.ndarray:
    pipe_name = "gliznet_textcat"
    cfg = {pipe_name: {"labels": labels, "multi_label": multi_label}}
    scores = np.zeros((len(texts), len(labels)), dtype=np.float32)
    for i, doc in enumerate(nlp.pipe(texts, batch_size=batch_size, component_cfg=cfg)):
        scores[i] = [doc.cats[lab] for lab in labels]
        if progress is not None:
            progress.update(1)
    return scores


def run_benchmark(
    model: Optional[str],
    data: Union[str, Path],
    *,
    baseline: Optional[str] = DEFAULT_BASELINE,
    baseline_threshold: float = 0.3,
    datasets: Optional[Sequence[str]] = None,
    limit: int = 0,
    batch_size: int = 64,
    output: Optional[Union[str, Path]] = None,
    progress: bool = True,
    quantize: bool = False,
    decision: Optional[Dict] = None,
    overwrite: bool = False,
    gpu_id: int = -1,
) -> Dict:
    """Score ``model`` (None: the bundled default) and the baseline on every
    dataset of ``data``; write results.json, results.md and results.png to
    ``output`` when given. ``quantize``: predict with int8 dynamic quantization
    of the model's Linear layers (CPU). ``decision``: component settings for the
    multi-label decisions (``decision_rule``, ``rule_param``, ``threshold``,
    ``thresholds``), default the component's. ``gpu_id``: the GPU both models run on
    (-1: the CPU). Returns the results dict. ``output`` is checked before any work and
    written atomically (a non-empty folder is replaced only with ``overwrite``)."""
    import spacy
    from tqdm import tqdm

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise GliZNetInputError(f"--limit must be a whole number >= 0 (0: all rows), got {limit!r}")
    if output:
        check_output(output, inputs=[model, data], overwrite=overwrite)
    use_gpu(gpu_id)

    sets = load_datasets(data, datasets)
    if limit:
        for d in sets:
            d.rows = d.rows[:limit]
    total = sum(len(d.rows) for d in sets)
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("gliznet_textcat", config={"model": {"name": model, "quantize": quantize},
                                                   **(decision or {})})
    settings = pipe.decision_settings()
    threshold = settings.threshold
    base = EmbeddingBaseline(baseline, device=torch_device(gpu_id)) if baseline else None
    results = {"model": model or "default (bundled)", "quantize": quantize, "baseline": baseline,
               "data": str(data), "threshold": threshold,
               "decision": {**settings.config(), "rule_param": settings.param},
               "baseline_threshold": baseline_threshold, "datasets": {}}
    model_time = base_time = 0.0
    bar = tqdm(total=total * (2 if base else 1), desc="benchmark", unit="doc", disable=not progress)
    for d in sets:
        texts = [r["text"] for r in d.rows]
        index = {lab: i for i, lab in enumerate(d.labels)}
        gold = [[index[g] for g in r["labels"]] for r in d.rows]
        bar.set_postfix_str(d.name)
        t0 = time.perf_counter()
        scores = score_model(nlp, texts, d.labels, d.multi_label, batch_size, bar)
        model_time += time.perf_counter() - t0
        entry = {"task": d.task, "labels": len(d.labels), "rows": len(texts),
                 "model": macro_f1(gold, decide_as_component(scores, d.labels, d.multi_label, settings),
                                   len(d.labels))}
        if base:
            t0 = time.perf_counter()
            tv = base.embed(texts, bar)
            lv = base.embed(d.labels)
            base_time += time.perf_counter() - t0
            cos = tv @ lv.T
            entry["baseline"] = macro_f1(gold, indices_at_cut(cos, d.multi_label, baseline_threshold),
                                         len(d.labels))
        results["datasets"][d.name] = entry
    bar.close()
    names = list(results["datasets"])
    results["average"] = {"model": float(np.mean([results["datasets"][n]["model"] for n in names]))}
    results["docs_per_second"] = {"model": total / model_time if model_time else 0.0}
    if base:
        results["average"]["baseline"] = float(np.mean([results["datasets"][n]["baseline"] for n in names]))
        results["docs_per_second"]["baseline"] = total / base_time if base_time else 0.0
        results["wins"] = sum(results["datasets"][n]["model"] > results["datasets"][n]["baseline"]
                              for n in names)
    results["markdown"] = markdown_table(results)
    if output:
        with atomic_folder(output, overwrite) as out:
            (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf8")
            (out / "results.md").write_text(results["markdown"] + "\n", encoding="utf8")
            try:
                bar_chart(results, out / "results.png")
            except ImportError:  # matplotlib is an optional extra ("bench")
                pass
    return results


def markdown_table(results: Dict) -> str:
    has_base = results.get("baseline") is not None
    head = "| dataset | task | labels | rows | GliZNet macro-F1 |"
    sep = "|---|---|---:|---:|---:|"
    if has_base:
        head += " embedding baseline | Δ |"
        sep += "---:|---:|"
    lines = [head, sep]
    for name, e in results["datasets"].items():
        line = f"| {name} | {e['task']} | {e['labels']} | {e['rows']} | {e['model']:.3f} |"
        if has_base:
            line += f" {e['baseline']:.3f} | {e['model'] - e['baseline']:+.3f} |"
        lines.append(line)
    avg = results["average"]
    line = f"| **average** | | | | **{avg['model']:.3f}** |"
    if has_base:
        line += f" **{avg['baseline']:.3f}** | {avg['model'] - avg['baseline']:+.3f} |"
    lines.append(line)
    dps = results["docs_per_second"]
    line = f"| docs/s | | | | {dps['model']:.1f} |"
    if has_base:
        line += f" {dps['baseline']:.1f} | |"
    lines.append(line)
    if has_base:
        lines.append("")
        lines.append(f"GliZNet above the baseline on {results['wins']} of "
                     f"{len(results['datasets'])} datasets.")
    return "\n".join(lines)


def bar_chart(results: Dict, path: Union[str, Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["datasets"]) + ["average"]
    model = [results["datasets"][n]["model"] for n in names[:-1]] + [results["average"]["model"]]
    has_base = results.get("baseline") is not None
    x = np.arange(len(names))
    width = 0.4 if has_base else 0.8
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.8), 4.5))
    ax.bar(x - (width / 2 if has_base else 0), model, width, label="GliZNet")
    if has_base:
        base = [results["datasets"][n]["baseline"] for n in names[:-1]] + [results["average"]["baseline"]]
        ax.bar(x + width / 2, base, width, label="embedding baseline")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_ylabel("macro-F1")
    ax.set_ylim(0, 1)
    ax.set_title(f"Zero-shot macro-F1: {results['model']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(str(path), dpi=120)
    plt.close(fig)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``benchmark`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("benchmark", help="zero-shot macro-F1 per dataset, with the "
                              "embedding baseline")
    p.add_argument("model", nargs="?", default=None,
                   help="GliZNet checkpoint (directory or Hub id); default: the bundled model")
    p.add_argument("--data", required=True, help="folder with manifest.json and *.jsonl")
    p.add_argument("--output", default=None, help="folder for results.json/.md/.png")
    p.add_argument("--baseline", default=DEFAULT_BASELINE,
                   help="backbone of the cosine-embedding baseline ('none' to skip)")
    p.add_argument("--baseline-threshold", type=float, default=0.3,
                   help="cosine cut-off of the baseline on multi-label sets")
    p.add_argument("--datasets", default=None, help="comma-separated subset")
    p.add_argument("--limit", type=int, default=0, help="rows per dataset (0: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quantize", action="store_true",
                   help="int8 dynamic quantization of the model's Linear layers (CPU)")
    add_overwrite_option(p)
    add_gpu_id_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``benchmark`` from parsed arguments and print the table."""
    res = run_benchmark(
        args.model, args.data,
        baseline=None if args.baseline.lower() == "none" else args.baseline,
        baseline_threshold=args.baseline_threshold,
        datasets=comma_list(args.datasets, "--datasets"), limit=args.limit,
        batch_size=args.batch_size, output=args.output, progress=not args.no_progress,
        quantize=args.quantize, overwrite=args.overwrite, gpu_id=args.gpu_id)
    print(res["markdown"])
