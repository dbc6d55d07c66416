"""examples/benchmarks/gpu/gpu_check.py runs on CPU (small settings, tiny model, tiny data)."""

import json
import random
from pathlib import Path

import pytest
from helpers import ROOT, load_script, write_datasets

SCRIPT = ROOT / "examples" / "benchmarks" / "gpu" / "gpu_check.py"
TOPICS = {"sports": "team match goal won game", "food": "pasta food cooking hot",
          "music": "song music film", "money": "bank money price market card"}


def write_folder(folder: Path, datasets: dict) -> None:
    write_datasets(folder, {name: {"labels": labels, "rows": [{"text": t, "labels": g} for t, g in rows]}
                            for name, (labels, rows) in datasets.items()})


def rows(labels, n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = TOPICS[label].split()
        out.append((" ".join(rng.choice(words) for _ in range(6)) + f" {i}", [label]))
    return out


@pytest.fixture
def data_dir(tmp_path):
    labels = list(TOPICS)
    write_folder(tmp_path / "data" / "benchmark", {"bench": (labels, rows(labels, 40, 0))})
    write_folder(tmp_path / "data" / "train_pool", {"a": (labels[:2], rows(labels[:2], 80, 1)),
                                                    "b": (labels[2:], rows(labels[2:], 80, 2))})
    return tmp_path / "data"


@pytest.mark.slow
def test_gpu_check_on_cpu(data_dir, tiny_gliznet_dir, tmp_path):
    out = tmp_path / "gpu_check.json"
    result = load_script(SCRIPT).main([
        "--device", "cpu", "--data", str(data_dir), "--model", str(tiny_gliznet_dir),
        "--cpu-docs", "24", "--labels", "4", "--batch-size", "8", "--train-steps", "30",
        "--eval-frequency", "10", "--learn-rate", "3e-3", "--train-rows-per-dataset", "40",
        "--output", str(out),
    ])
    assert json.loads(out.read_text()) == result
    assert result["device"] == "cpu" and "gpu_fp16" not in result
    assert result["cpu_fp32"]["docs"] == 24 and result["cpu_fp32"]["docs_per_s"] > 0
    train = result["train"]
    assert train["gpu"] is False and [s for s, _ in train["loss_per_step"]] == [0, 10, 20, 30]
    assert train["loss_went_down"], train["loss_per_step"]
    assert train["last_window_loss"] < 0.9 * train["first_window_loss"], train["loss_per_step"]


def test_loss_windows_parses_spacy_console_table():
    log = ("E    #       LOSS GLIZN...  CATS_SCORE  SCORE \n---  ------  -------------  ----------  ------\n"
           "  0       0           3.00       40.00    0.40\n  0      10          20.00       45.00    0.45\n"
           "  1      20          10.00       50.00    0.50\n")
    assert load_script(SCRIPT).loss_windows(log) == [(0, 3.0), (10, 2.0), (20, 1.0)]
