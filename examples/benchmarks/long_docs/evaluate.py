"""Long documents: macro-F1 and docs/s of gliznet_textcat with ``long_text="truncate"``
(the first window only) vs ``long_text="windows"`` (the whole text), same inputs,
same pipeline (bundled default model, a sentencizer before the component).

Sets (built from ../shared/data, nothing trained or tuned on them):

* ``ag_news_after_filler``: AG News benchmark texts, each placed after unrelated
  filler of at least ``--filler-tokens`` model tokens: whole medical abstracts
  from train_pool/medical_abstracts drawn at random (fixed seed), so the evidence
  lies beyond the first window of 254 text tokens;
* ``imdb_longest``, ``newsgroups_longest``: the longest benchmark texts (by model
  tokens) of imdb and newsgroups, as they are;
* ``ag_news_as_is``: the same AG News texts without filler (short docs: both
  policies score the same text; what windows cost when nothing is long).

All three are single-label: prediction = argmax of ``doc.cats``; with
``aggregation="auto"`` windows are merged by the token-weighted mean of their
softmax probabilities. ``--also-max`` adds a windows run with
``aggregation="max"`` for reference (not the default; the default was fixed
before any run). Settings (window overlap = default, an eighth of the window;
aggregation auto) were fixed on reasoning before this evaluation ran.

    python examples/benchmarks/long_docs/evaluate.py --rows 200 --output examples/benchmarks/long_docs/results.json
"""

import argparse
import json
import os
import random
import subprocess
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[3] / "shared" / "data"


def build_sets(rows: int, filler_tokens: int, seed: int, tokenizer):
    from spacy_gliznet.corpus.readers import load_datasets

    (ag, imdb, news) = load_datasets(DATA / "benchmark", ["ag_news", "imdb", "newsgroups"])
    (med,) = load_datasets(DATA / "train_pool", ["medical_abstracts"])
    rng = random.Random(seed)
    fillers = [r["text"] for r in med.rows]

    def n_tokens(texts):
        return [len(x) for x in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    ag_rows = rng.sample(ag.rows, rows)
    filled = []
    for r in ag_rows:
        parts, total = [], 0
        while total < filler_tokens:
            parts.append(rng.choice(fillers))
            total = n_tokens([" ".join(parts)])[0]
        filled.append({"text": " ".join(parts) + "\n\n" + r["text"], "labels": r["labels"],
                       "filler_tokens": total})
    sets = {"ag_news_after_filler": (ag.labels, filled)}
    # the same AG News texts without filler: short docs, where both policies read the same text
    sets["ag_news_as_is"] = (ag.labels, ag_rows)
    for d in (imdb, news):
        lengths = n_tokens([r["text"] for r in d.rows])
        order = sorted(range(len(d.rows)), key=lambda i: -lengths[i])[:rows]
        sets[f"{d.name}_longest"] = (d.labels, [d.rows[i] for i in order])
    return sets


def run(nlp, texts, labels, **settings):
    """Scores (docs, labels), windows per doc and seconds of ``nlp.pipe`` on ``texts``."""
    import warnings

    from spacy_gliznet.errors import TruncationWarning

    cfg = {"gliznet_textcat": {"labels": labels, "multi_label": False, **settings}}
    scores = np.zeros((len(texts), len(labels)))
    windows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        for i, doc in enumerate(nlp.pipe(texts, batch_size=32, component_cfg=cfg)):
            scores[i] = [doc.cats[k] for k in labels]
            windows.append(doc._.gliznet_windows)
    return scores, windows, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200, help="docs per set")
    ap.add_argument("--filler-tokens", type=int, default=320)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--also-max", action="store_true", help="also windows with aggregation='max'")
    ap.add_argument("--output", default=str(HERE / "results.json"))
    args = ap.parse_args()

    import spacy
    import torch

    import spacy_gliznet  # noqa: F401
    from spacy_gliznet.pipeline.metrics import indices_at_cut, macro_f1
    from spacy_gliznet.pipeline.layer import ensure_loaded

    torch.set_num_threads(args.threads)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    pipe = nlp.add_pipe("gliznet_textcat")
    enc = ensure_loaded(pipe.model).get_encoder()
    window = enc.max_length - 2
    sets = build_sets(args.rows, args.filler_tokens, args.seed, enc.tokenizer)
    nlp("warm up the model", component_cfg={"gliznet_textcat": {"labels": ["a"]}})

    policies = {"truncate": {"long_text": "truncate"}, "windows": {"long_text": "windows"}}
    if args.also_max:
        policies["windows_max"] = {"long_text": "windows", "aggregation": "max"}
    results = {"model": "bundled default", "window_text_tokens": window, "rows_per_set": args.rows,
               "filler_tokens_min": args.filler_tokens, "seed": args.seed, "torch_threads": args.threads,
               "pipeline": nlp.pipe_names, "settings": {k: pipe.cfg[k] for k in
                                                        ("window_overlap", "aggregation")},
               "sets": {}, "speed": {}}
    totals = {p: [0, 0.0] for p in policies}
    for name, (labels, rows) in sets.items():
        long_set = name != "ag_news_as_is"
        texts = [r["text"] for r in rows]
        index = {lab: i for i, lab in enumerate(labels)}
        gold = [[index[g] for g in r["labels"]] for r in rows]
        lengths = [len(x) for x in enc.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]
        entry = {"docs": len(texts), "labels": len(labels),
                 "mean_tokens": float(np.mean(lengths)), "max_tokens": int(max(lengths)),
                 "docs_longer_than_window": int(sum(n > window for n in lengths))}
        if name == "ag_news_after_filler":
            entry["min_filler_tokens"] = int(min(r["filler_tokens"] for r in rows))
        for policy, settings in policies.items():
            scores, windows, seconds = run(nlp, texts, labels, **settings)
            entry[policy] = {"macro_f1": round(macro_f1(gold, indices_at_cut(scores, False, 0.5), len(labels)), 4),
                             "docs_per_s": round(len(texts) / seconds, 2),
                             "mean_windows": round(float(np.mean(windows)), 2)}
            if long_set:  # the docs/s summary is over the three long sets
                totals[policy][0] += len(texts)
                totals[policy][1] += seconds
            print(name, policy, entry[policy], flush=True)
        results["sets"][name] = entry
    for policy, (n, seconds) in totals.items():
        results["speed"][policy] = {"docs": n, "seconds": round(seconds, 1),
                                    "docs_per_s": round(n / seconds, 2)}
    results["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    print(json.dumps(results["speed"], indent=2), results["uptime_after"])


if __name__ == "__main__":
    main()
