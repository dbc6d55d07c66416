"""The benchmark harness on tiny data with tiny models (no real backbone)."""

import json

import numpy as np
import pytest

import spacy_gliznet  # noqa: F401
from spacy_gliznet.cli.benchmark import markdown_table, run_benchmark
from spacy_gliznet.pipeline.metrics import indices_at_cut

from helpers import make_folder
from helpers import ROOT


def test_indices_at_cut():
    s = np.array([[0.1, 0.9, 0.6], [0.7, 0.2, 0.1]])
    assert indices_at_cut(s, False, 0.5) == [[1], [0]]
    assert indices_at_cut(s, True, 0.5) == [[1, 2], [0]]


def test_run_benchmark_tiny(tmp_path, tiny_gliznet_dir, tiny_bert_dir):
    data = make_folder(tmp_path / "bench", n=10)
    out = tmp_path / "out"
    res = run_benchmark(str(tiny_gliznet_dir), data, baseline=str(tiny_bert_dir),
                        output=out, progress=False)
    assert set(res["datasets"]) == {"topics", "moods"}
    for entry in res["datasets"].values():
        assert 0.0 <= entry["model"] <= 1.0 and 0.0 <= entry["baseline"] <= 1.0
    assert res["average"]["model"] == pytest.approx(
        np.mean([e["model"] for e in res["datasets"].values()]))
    assert res["docs_per_second"]["model"] > 0
    assert 0 <= res["wins"] <= 2
    assert (out / "results.md").read_text().startswith("| dataset |")
    assert json.loads((out / "results.json").read_text())["datasets"]
    pytest.importorskip("matplotlib")
    assert (out / "results.png").stat().st_size > 1000


def test_benchmark_cli_without_baseline(tmp_path, tiny_gliznet_dir, capsys):
    from spacy_gliznet.__main__ import main

    data = make_folder(tmp_path / "bench", n=5)
    assert main(["benchmark", str(tiny_gliznet_dir), "--data", str(data), "--baseline", "none",
                 "--limit", "3", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "| topics |" in text and "average" in text and "baseline" not in text


def test_markdown_table_shape():
    res = {"model": "m", "baseline": "b",
           "datasets": {"a": {"task": "single_label", "labels": 2, "rows": 3,
                              "model": 0.5, "baseline": 0.25}},
           "average": {"model": 0.5, "baseline": 0.25},
           "docs_per_second": {"model": 10.0, "baseline": 20.0}, "wins": 1}
    md = markdown_table(res)
    assert "+0.250" in md and "1 of 1" in md


def test_init_model_starts_at_backbone_similarity(tmp_path, tiny_bert_dir):
    from spacy_gliznet import GliZNetForSequenceClassification
    from spacy_gliznet.cli.init_model import init_model

    out = init_model(str(tiny_bert_dir), tmp_path / "init", max_length=64)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(out)
    assert model.config.label_attention == "isolated"
    emb = model.backbone.get_input_embeddings().weight
    lab = tok.convert_tokens_to_ids("[LAB]")
    assert np.allclose(emb[lab].detach().numpy(), emb[tok.cls_token_id].detach().numpy())


def test_bundled_default_model_out_of_the_box():
    """The default model: no name, offline, fp16 on disk, < 50 MB."""
    import spacy

    from spacy_gliznet.model.checkpoints import DEFAULT_MODEL_DIR

    assert (DEFAULT_MODEL_DIR / "config.json").is_file(), "the bundled default model is missing"
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir() if p.is_file())
    assert size < 50_000_000
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": ["sports", "politics", "food"],
                                            "multi_label": False})
    doc = nlp("The striker scored twice and the home team won the match.")
    assert max(doc.cats, key=doc.cats.get) == "sports"
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)


def test_bundled_default_model_is_calibrated():
    """The bundled model went through `calibrate`, the last step of its recipe
    (examples/bundled_model/project.yml): it stores a non-zero offset, where a
    multi-label score passes 0.5."""
    import spacy

    from spacy_gliznet.pipeline.layer import ensure_loaded

    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("gliznet_textcat", config={"labels": ["sports", "cooking"]})
    module = ensure_loaded(pipe.model)
    assert module.config.label_attention == "isolated"
    offset = module.score_offset.item()
    assert 0.05 < offset < 0.6
    doc = nlp("The striker scored twice and the home team won the match.")
    assert doc.cats["sports"] > doc.cats["cooking"]
    assert doc.cats["cooking"] < 0.5


def test_benchmark_cli_quantized(tmp_path, tiny_gliznet_dir, capsys):
    from spacy_gliznet.__main__ import main

    data = make_folder(tmp_path / "bench", n=5)
    out = tmp_path / "q"
    assert main(["benchmark", str(tiny_gliznet_dir), "--data", str(data), "--baseline", "none",
                 "--limit", "3", "--no-progress", "--quantize", "--output", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["quantize"] is True
    assert "| topics |" in capsys.readouterr().out


@pytest.mark.slow
def test_readme_demo_runs_on_the_bundled_model():
    """The README's main command ends in examples/zero_shot_demo.py."""
    import subprocess
    import sys

    demo = ROOT / "examples" / "zero_shot_demo.py"
    res = subprocess.run([sys.executable, str(demo)], capture_output=True, text=True,
                         env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert lines[0].split("|")[0].strip() == "sports"
    assert lines[-1].startswith("{") and "movie review" in lines[-1]
