"""Collect metrics/*.json into one Markdown table and the few-shot PNG plot.

    python scripts/report.py metrics
"""

import argparse
import json
from pathlib import Path

ROWS = [
    ("zero_shot", "gliznet_textcat, default model, no training"),
    ("gliznet", "gliznet_textcat fine-tuned from the default model"),
    ("textcat", "spaCy textcat_multilabel (quickstart config)"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("metrics", type=Path)
    args = parser.parse_args()
    found = {p.stem: json.loads(p.read_text()) for p in args.metrics.glob("*.json")}
    lines = ["| system | threshold (dev) | test macro-F1 | test macro AUC | docs/s |", "|---|---|---|---|---|"]
    for key, title in ROWS + [(f"few_shot_k{k}", f"gliznet_textcat, {k} examples per label")
                              for k in (8, 32, 128)]:
        if key in found:
            r = found[key]
            lines.append(f"| {title} | {r['threshold']} | {r['test']['macro_f']:.3f} | "
                         f"{r['test']['macro_auc']:.3f} | {r['docs_per_second']:.0f} |")
    table = "\n".join(lines)
    (args.metrics / "report.md").write_text(table + "\n")
    print(table)
    shots = sorted((int(k.split("_k")[1]), v["test"]["macro_f"]) for k, v in found.items()
                   if k.startswith("few_shot_k"))
    if shots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        xs = [0] + [k for k, _ in shots]
        ys = [found["zero_shot"]["test"]["macro_f"] if "zero_shot" in found else float("nan")]
        ys += [f for _, f in shots]
        ax.plot(xs, ys, marker="o", label="gliznet_textcat")
        if "textcat" in found:
            ax.axhline(found["textcat"]["test"]["macro_f"], color="gray", ls="--",
                       label="textcat_multilabel (full train)")
        ax.set_xscale("symlog", linthresh=8)
        ax.set_xlabel("training examples per label (0 = zero-shot)")
        ax.set_ylabel("test macro-F1")
        ax.set_title("GoEmotions few-shot curve")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.metrics / "few_shot.png", dpi=120)


if __name__ == "__main__":
    main()
