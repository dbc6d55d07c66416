"""examples/speed_benchmark.py runs end to end on a tiny model and prints its table."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "speed_benchmark.py"


def test_speed_benchmark_prints_side_by_side_ratios(tiny_gliznet_dir, tmp_path, capsys):
    data = tmp_path / "bench"
    data.mkdir()
    (data / "banking77.jsonl").write_text("\n".join(
        json.dumps({"text": t, "labels": ["card"]}) for t in ["the team won", "pasta is good", "a song"]))
    (data / "manifest.json").write_text(json.dumps({"banking77": {
        "file": "banking77.jsonl", "labels": ["card", "cash", "top up", "fee"]}}))
    spec = importlib.util.spec_from_file_location("speed_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--model", str(tiny_gliznet_dir), "--data", str(data), "--docs", "3",
                 "--labels", "1", "4", "--repeat", "1", "--latency-runs", "3", "--threads", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 4 |")]
    assert len(rows) == 2
    cells = rows[1].strip("|").split("|")
    assert len(cells) == 8 and all(float(c) > 0 for c in cells)
    assert "p50" in out and "peak RSS" in out
