"""examples/adapt/evaluate.py runs end to end on a tiny model and data: honest split,
every column, the table."""

import json
from pathlib import Path

import numpy as np
import pytest

from spacy_gliznet.errors import GliZNetInputError

from helpers import ROOT, load_script, write_datasets

SCRIPT = ROOT / "examples" / "adapt" / "evaluate.py"
WORDS = "the team won match goal pasta food hot cold cooking song film music new good".split()


def write_data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [{"text": " ".join(rng.choice(WORDS, size=5)), "labels": [str(rng.choice(["a", "b"]))]}
            for _ in range(40)]
    multi = [{"text": r["text"], "labels": ["a", "b"] if i % 3 else []} for i, r in enumerate(rows)]
    write_datasets(folder, {"one": {"labels": ["a", "b"], "rows": rows},
                            "many": {"labels": ["a", "b", "c"], "task": "multi_label", "rows": multi}})


def test_evaluate_prints_raw_vs_adapted(tiny_gliznet_dir, tmp_path, capsys):
    write_data(tmp_path / "data")
    module = load_script(SCRIPT, "adapt_evaluate")
    out = tmp_path / "results.json"
    module.main([str(tmp_path / "data"), "--model", str(tiny_gliznet_dir), "--test", "0:10",
                 "--unlabeled", "10:40", "--set", "steps=2", "--set", "per_label=4",
                 "--set", "min_z=1.0", "--mixes", "0.5", "--output", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert set(result["datasets"]) == {"one", "many"}
    one = result["datasets"]["one"]
    assert one["test_rows"] == 10 and one["unlabeled_rows"] == 30 and one["steps"] == 2
    for key in ("raw", "raw_stats", "adapted", "adapted_stats"):
        assert 0.0 <= one[key] <= 1.0
    assert set(one["mixed"]) == {"0.5"} and one["seconds_per_1000"] > 0
    assert result["settings"]["steps"] == 2 and result["settings"]["min_z"] == 1.0
    assert "| one | single_label | 2 |" in printed and "**average single-label**" in printed
    module.main([str(out), "--render"])
    assert "| many | multi_label | 3 |" in capsys.readouterr().out


def test_evaluate_names_a_bad_set_before_any_work(tmp_path):
    module = load_script(SCRIPT, "adapt_evaluate")
    missing = tmp_path / "no-such-data"   # never read: the check comes first
    with pytest.raises(GliZNetInputError, match=r"--set: unknown settings \['stepz'\]"):
        module.main([str(missing), "--set", "stepz=2"])
    with pytest.raises(GliZNetInputError, match="mix must be in"):
        module.main([str(missing), "--set", "mix=2.0"])
