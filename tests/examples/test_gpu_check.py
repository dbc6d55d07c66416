"""examples/benchmarks/gpu/gpu_check.py: its CPU dry run (tiny model, tiny data) and its refusal
to run without a GPU unless asked to."""

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


def test_gpu_check_stops_without_a_gpu_unless_allowed(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stop:
        load_script(SCRIPT).main([])
    assert stop.value.code == 2 and "--allow-cpu" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_gpu_check_dry_run_on_cpu_prints_the_table(data_dir, tiny_gliznet_dir, tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu_check.json"
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps({"texts": [t for t, _ in rows(list(TOPICS), 20, 3)],
                                 "labels": list(TOPICS)}))
    result = load_script(SCRIPT).main([
        "--allow-cpu", "--texts", str(texts), "--model", str(tiny_gliznet_dir), "--docs", "20",
        "--cpu-docs", "8", "--big-docs", "6", "--big-labels", "40", "--batch-size", "8",
        "--repeat", "1", "--output", str(out)])
    assert json.loads(out.read_text()) == result
    assert result["device"] == "cpu" and result["docs"] == 20
    rates = result["docs_per_s"]
    for path in ("tokenizer", "tokenizer + backbone fp32", "predict_batch fp32", "nlp.pipe fp32",
                 "nlp.pipe fp32 on the CPU"):
        assert rates[path] > 0, path
    assert any(name.endswith(" labels") for name in rates)
    assert result["agreement"]["fp32_vs_cpu_max_abs_diff"] < 1e-5  # the same device here
    printed = capsys.readouterr().out
    assert "| nlp.pipe fp32 |" in printed and "x tokenizer" in printed


@pytest.mark.slow
def test_gpu_check_trains_on_cpu(data_dir, tiny_gliznet_dir, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = load_script(SCRIPT).main([
        "--allow-cpu", "--data", str(data_dir), "--model", str(tiny_gliznet_dir), "--docs", "16",
        "--cpu-docs", "8", "--big-docs", "4", "--big-labels", "20", "--labels", "4",
        "--batch-size", "8", "--repeat", "1", "--train-steps", "30", "--eval-frequency", "10",
        "--learn-rate", "3e-3", "--train-rows-per-dataset", "40"])
    train = result["train"]
    assert train["gpu"] is False and [s for s, _ in train["loss_per_step"]] == [0, 10, 20, 30]
    assert train["loss_went_down"], train["loss_per_step"]
    assert train["last_window_loss"] < 0.9 * train["first_window_loss"], train["loss_per_step"]


def test_loss_windows_parses_spacy_console_table():
    log = ("E    #       LOSS GLIZN...  CATS_SCORE  SCORE \n---  ------  -------------  ----------  ------\n"
           "  0       0           3.00       40.00    0.40\n  0      10          20.00       45.00    0.45\n"
           "  1      20          10.00       50.00    0.50\n")
    assert load_script(SCRIPT).loss_windows(log) == [(0, 3.0), (10, 2.0), (20, 1.0)]
