"""examples/benchmarks/speed/host_overhead.py runs (small N, stubbed backbone) and prints its table."""

import pytest
import torch

from helpers import ROOT, load_script

SCRIPT = ROOT / "examples" / "benchmarks" / "speed" / "host_overhead.py"


@pytest.mark.timeout(180)
def test_host_overhead_prints_every_path_and_its_ratio(tiny_gliznet_dir, tmp_path, capsys):
    script = load_script(SCRIPT)
    columns = script.main(["--model", str(tiny_gliznet_dir), "--data", str(tmp_path), "--docs", "12",
                           "--labels", "3", "--batch-size", "4", "--repeat", "1"])
    out = capsys.readouterr().out
    (name, rates), = columns.items()
    assert set(rates) == set(script.PATHS) and all(v > 0 for v in rates.values())
    for path in script.PATHS:
        assert any(line.startswith(f"| {path} |") for line in out.splitlines()), path
    assert "load average before" in out and "load average after" in out


def test_stub_backbone_returns_zeros_of_the_hidden_size(tiny_bert_dir):
    from transformers import AutoModel

    script = load_script(SCRIPT)
    backbone = AutoModel.from_pretrained(str(tiny_bert_dir))
    stub = script.make_stub_backbone(backbone)
    out = stub(input_ids=torch.ones((3, 7), dtype=torch.long)).last_hidden_state
    assert out.shape == (3, 7, backbone.config.hidden_size) and not out.any()
    assert stub.config is backbone.config


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_host_overhead_compares_two_trees_in_subprocesses(tiny_gliznet_dir, tmp_path, capsys):
    columns = load_script(SCRIPT).main([
        "--model", str(tiny_gliznet_dir), "--data", str(tmp_path), "--docs", "8", "--labels", "3",
        "--batch-size", "4", "--repeat", "2", "--compare", str(ROOT)])
    assert len(columns) == 2 and all(v > 0 for rates in columns.values() for v in rates.values())
    assert " / other" in capsys.readouterr().out
