"""Choose the bundled model's default multi-label decision rule on train_pool alone.

Scores a fixed random sample of each multi-label train_pool set once with the
``gliznet_textcat`` component (bundled default model, sigmoid scores), then evaluates
each candidate rule family leave-datasets-out: for every left-out set, the family's
parameter is chosen on the other sets (best mean macro-F1) and scored on the left-out
one. The family with the best left-out average wins; its parameter is then chosen on
all the sets. The decisions come from ``spacy_gliznet.pipeline.decisions.rule_mask`` (what the
component and the benchmark use) and macro-F1 from ``spacy_gliznet.cli.benchmark``.
The benchmark plays no part.

    python select_rule.py ../../../shared/data/train_pool --limit 300 --seed 0 \
        --scores corpus/select_rule_scores.json --output results/select_rule.json
"""

import argparse
import json
import random
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from spacy_gliznet.cli.benchmark import score_model
from spacy_gliznet.pipeline.metrics import macro_f1
from spacy_gliznet.pipeline.decisions import rule_mask, rule_cutoffs
from spacy_gliznet.corpus.readers import load_datasets

# family -> (rule, parameter grid); "threshold" tunes the global threshold itself
FAMILIES: Dict[str, Tuple[str, List[float]]] = {
    "threshold": ("threshold", [round(x, 3) for x in np.arange(0.10, 0.901, 0.025)]),
    "ratio": ("ratio", [round(x, 3) for x in list(np.arange(0.50, 0.90, 0.05))
                        + list(np.arange(0.90, 1.001, 0.01))]),
    "margin": ("margin", [0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08,
                          0.1, 0.125, 0.15, 0.2, 0.25, 0.3]),
}


def score_sets(data: str, limit: int, seed: int, batch_size: int) -> Dict[str, Dict]:
    """Each multi-label set's (N, K) scores under the bundled model, with gold indices."""
    import spacy
    import torch

    import spacy_gliznet  # noqa: F401

    torch.set_num_threads(1)
    sets = [d for d in load_datasets(data) if d.multi_label]
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat")
    out = {}
    rng = random.Random(seed)
    for d in sets:
        rows = list(d.rows)
        rng.shuffle(rows)
        rows = rows[:limit] if limit else rows
        index = {lab: i for i, lab in enumerate(d.labels)}
        scores = score_model(nlp, [r["text"] for r in rows], d.labels, True, batch_size)
        out[d.name] = {"scores": scores, "gold": [[index[g] for g in r["labels"]] for r in rows],
                       "labels": d.labels}
        print(f"scored {d.name}: {len(rows)} rows x {len(d.labels)} labels", flush=True)
    return out


def evaluate(entry: Dict, rule: str, param: float) -> float:
    """Macro-F1 (the benchmark's) of one set under a rule, decided as the component does."""
    labels = entry["labels"]
    if rule == "threshold":
        cut = rule_cutoffs(labels, rule, param)
        mask = rule_mask(entry["scores"], decision_rule=rule, cut=cut)
    else:
        mask = rule_mask(entry["scores"], decision_rule=rule, rule_param=param, cut=rule_cutoffs(labels, rule, 0.5))
    pred = [list(np.nonzero(row)[0]) for row in mask]
    return macro_f1(entry["gold"], pred, len(labels))


def choose(table: Dict[str, Dict[float, float]], names: Sequence[str], grid: Sequence[float]) -> float:
    """The parameter with the best mean macro-F1 over ``names`` (ties: the first in the grid)."""
    means = [np.mean([table[n][p] for n in names]) for p in grid]
    return grid[int(np.argmax(means))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--scores", type=Path, default=Path("corpus/select_rule_scores.json"))
    parser.add_argument("--output", type=Path, default=Path("results/select_rule.json"))
    args = parser.parse_args()

    if args.scores.exists():  # the scores of an earlier run (same model, rows and seed)
        sets = json.loads(args.scores.read_text())
        for entry in sets.values():
            entry["scores"] = np.asarray(entry["scores"], dtype=np.float32)
        print(f"read cached scores from {args.scores}")
    else:
        sets = score_sets(args.data, args.limit, args.seed, args.batch_size)
        args.scores.parent.mkdir(parents=True, exist_ok=True)
        args.scores.write_text(json.dumps(
            {n: {**e, "scores": e["scores"].tolist()} for n, e in sets.items()}))
    names = sorted(sets)

    result = {"data": args.data, "limit": args.limit, "seed": args.seed, "datasets": names,
              "reference": {n: evaluate(sets[n], "threshold", 0.5) for n in names},
              "families": {}}
    for family, (rule, grid) in FAMILIES.items():
        table = {n: {p: evaluate(sets[n], rule, p) for p in grid} for n in names}
        lodo = {}
        for left_out in names:
            others = [n for n in names if n != left_out]
            p = choose(table, others, grid)
            lodo[left_out] = {"param": p, "macro_f1": table[left_out][p]}
        final = choose(table, names, grid)
        result["families"][family] = {
            "rule": rule, "grid": grid, "lodo": lodo,
            "lodo_mean": float(np.mean([lodo[n]["macro_f1"] for n in names])),
            "param_all_sets": final,
            "mean_all_sets": float(np.mean([table[n][final] for n in names])),
            "table": {n: {str(p): v for p, v in table[n].items()} for n in names},
        }
    best = max(result["families"], key=lambda f: result["families"][f]["lodo_mean"])
    result["chosen"] = {"rule": result["families"][best]["rule"],
                        "param": float(result["families"][best]["param_all_sets"]),
                        "lodo_mean": result["families"][best]["lodo_mean"]}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))

    short = {n: n.replace("_", " ") for n in names}
    print("| rule (parameter chosen on the other 5 sets) | " + " | ".join(short[n] for n in names) + " | left-out mean | parameter on all 6 |")
    print("|---|" + "---:|" * (len(names) + 2))
    ref = result["reference"]
    print("| threshold 0.5 (before; fixed) | " + " | ".join(f"{ref[n]:.3f}" for n in names)
          + f" | {np.mean(list(ref.values())):.3f} | – |")
    for family, r in result["families"].items():
        cells = " | ".join(f"{r['lodo'][n]['macro_f1']:.3f} ({r['lodo'][n]['param']:g})" for n in names)
        print(f"| {family} | {cells} | {r['lodo_mean']:.3f} | {r['param_all_sets']:g} |")
    print(f"chosen: {result['chosen']}")


if __name__ == "__main__":
    main()
