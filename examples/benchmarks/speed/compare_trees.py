"""Run one benchmark script against two checkouts of the package, alternately, and print its
markdown tables side by side: each numeric cell as this tree's median, the other's, and
their ratio.

    python examples/benchmarks/speed/compare_trees.py --other /tmp/main --repeat 2 -- \\
        examples/benchmarks/speed/label_scaling.py --sizes 16 10000 --docs 100

The script (a path in this tree) runs as a subprocess with PYTHONPATH set to each tree in
turn (this tree first in odd rounds, the other first in even ones), so a slow spell of a
shared machine hits both. Rows are matched by their first cell; the load average is printed
before and after.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parents[3]
NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?")

Table = Dict[Tuple[str, str], float]  # (row key, column name) -> value


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def parse_tables(text: str) -> Tuple[Table, List[str], List[str]]:
    """Numeric cells of every markdown table in ``text``: (row key, column) -> value, and the
    row keys and columns in order of appearance."""
    cells: Table = {}
    rows: List[str] = []
    columns: List[str] = []
    header: List[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = []
            continue
        parts = [p.strip() for p in line.strip("|").split("|")]
        if all(set(p) <= set("-: ") for p in parts):
            continue
        if not header:
            header = parts
            continue
        key = parts[0]
        for name, cell in zip(header[1:], parts[1:]):
            match = NUMBER.match(cell.replace(" ", ""))
            if match:
                cells[(key, name)] = float(match.group(0).replace(",", ""))
                if key not in rows:
                    rows.append(key)
                if name not in columns:
                    columns.append(name)
    return cells, rows, columns


def run(tree: Path, script: List[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, *script], cwd=str(REPO), env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(script)} failed with PYTHONPATH={tree}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def main(argv=None) -> Dict[str, Table]:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--other", type=Path, required=True, help="root of the other checkout")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args(argv[:split])
    script = argv[split + 1:]
    if not script:
        p.error("give the benchmark script and its options after --")
    trees = {"this": REPO, "other": args.other.resolve()}
    print(f"$ {' '.join(script)}\ntrees: this={REPO} other={trees['other']}; {args.repeat} round(s); "
          f"load average before: {load_average()}", flush=True)
    values: Dict[str, Dict[Tuple[str, str], List[float]]] = {name: {} for name in trees}
    rows: List[str] = []
    columns: List[str] = []
    for r in range(args.repeat):
        for name in (["this", "other"] if r % 2 == 0 else ["other", "this"]):
            cells, r_rows, r_cols = parse_tables(run(trees[name], script))
            for key, value in cells.items():
                values[name].setdefault(key, []).append(value)
            rows += [x for x in r_rows if x not in rows]
            columns += [x for x in r_cols if x not in columns]
        print(f"round {r + 1} done; load average {load_average()}", flush=True)
    medians = {name: {k: statistics.median(v) for k, v in cells.items()} for name, cells in values.items()}
    print(f"\ncells: this tree's median / the other's (this/other)")
    print("| " + " | ".join(["row"] + columns) + " |")
    print("|" + "---|" * (len(columns) + 1))
    for row in rows:
        out = [row]
        for col in columns:
            a, b = medians["this"].get((row, col)), medians["other"].get((row, col))
            if a is None or b is None:
                out.append("")
            else:
                out.append(f"{a:g} / {b:g} ({a / b:.2f}x)" if b else f"{a:g} / {b:g}")
        print("| " + " | ".join(out) + " |")
    print(f"load average after: {load_average()}")
    return medians


if __name__ == "__main__":
    main()
