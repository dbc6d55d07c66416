"""examples/benchmarks/speed/speed_benchmark.py runs end to end on a tiny model and prints its table."""

import json

import pytest
from helpers import ROOT, load_script

SCRIPT = ROOT / "examples" / "benchmarks" / "speed" / "speed_benchmark.py"


def test_speed_benchmark_prints_side_by_side_ratios(tiny_gliznet_dir, tmp_path, capsys):
    data = tmp_path / "bench"
    data.mkdir()
    (data / "banking77.jsonl").write_text("\n".join(
        json.dumps({"text": t, "labels": ["card"]}) for t in ["the team won", "pasta is good", "a song"]))
    (data / "manifest.json").write_text(json.dumps({"banking77": {
        "file": "banking77.jsonl", "labels": ["card", "cash", "top up", "fee"]}}))
    module = load_script(SCRIPT)
    module.main(["--model", str(tiny_gliznet_dir), "--data", str(data), "--docs", "3",
                 "--labels", "1", "4", "--repeat", "1", "--latency-runs", "3", "--threads", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 1 |") or line.startswith("| 4 |")]
    assert len(rows) == 2
    cells = rows[1].strip("|").split("|")
    assert len(cells) == 11 and all(float(c) > 0 for c in cells)
    assert "p50" in out and "peak RSS" in out


@pytest.mark.parametrize("attention", ["isolated", "full"])
def test_bare_packed_and_pairwise_columns_compute_the_models_scores(tiny_bert_dir, attention):
    """The "bare", "packed" and "pairwise" columns time the model's own forward on
    pre-tokenized inputs: the same scores as its prediction path."""
    import numpy as np
    import torch

    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(0)
    model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, projected_dim=16, label_attention=attention, text_pooling="mean",
        score_offset_init=0.1)
    model.eval()
    texts = ["the team won the final", "pasta", "a long song about rain and the sea"]
    labels = ["sports", "food and drink", "music"]
    script = load_script(SCRIPT)
    expected = np.stack(model.predict_encoded(model.get_encoder().encode(texts, [labels] * 3)))
    bare = script.run_forward(model, script.bare_batch(model, texts, labels), 2).logits.numpy()
    packed = script.run_forward(model, script.packed_batch(model, texts, labels), 2).logits.numpy()
    pairs = script.run_forward(model, script.pairwise_batch(model, texts, labels), 2).logits.numpy()
    np.testing.assert_allclose(bare, expected, atol=1e-5)
    np.testing.assert_allclose(packed, expected, atol=1e-5)
    if attention == "isolated":  # a label's score does not depend on the other labels
        np.testing.assert_allclose(pairs.reshape(3, 3), expected, atol=1e-5)


def test_timed_together_interleaves_and_keeps_each_best(monkeypatch):
    script = load_script(SCRIPT)
    calls = []
    clock = iter(range(1000))
    monkeypatch.setattr(script.time, "perf_counter", lambda: float(next(clock)))
    costs = {"a": [5, 2, 7], "b": [1, 9, 3]}  # ticks spent inside each timed run

    def make(name):
        runs = iter([0] + costs[name])  # the warm-up run, then the timed runs

        def fn():
            calls.append(name)
            for _ in range(next(runs)):
                next(clock)
        return fn

    best = script.timed_together([make("a"), make("b")], repeat=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    assert best == [3.0, 2.0]  # each cost + 1 tick between the two perf_counter reads


SCALING = ROOT / "examples" / "benchmarks" / "speed" / "label_scaling.py"



def test_label_scaling_measures_one_size_in_process(tiny_gliznet_dir, tmp_path):
    script = load_script(SCALING)
    vocab = ["the", "team", "match", "pasta", "song", "rain", "x", "##s", "[LAB]", "cold"]
    labels = script.word_pair_labels(vocab, 12)
    assert len(set(labels)) == 12 and labels == script.word_pair_labels(vocab, 12)
    assert all(len(lab.split()) == 2 and "x" not in lab.split() for lab in labels)
    with pytest.raises(ValueError, match="too small"):
        script.word_pair_labels(["one", "two"], 3)
    row = script.measure(20, ["the team won", "pasta is good", "a song"], model=str(tiny_gliznet_dir))
    assert row["labels"] == 20 and row["docs_per_s"] > 0 and row["first_call_s"] > 0
    assert row["peak_rss_mib"] > 0 and row["label_tokens"] >= 20 * 3


def test_label_scaling_table_gives_medians_and_ratios(capsys):
    script = load_script(SCALING)
    figures = iter([10.0, 5.0, 12.0, 4.0, 8.0, 6.0])  # docs/s: run 1 (16, 1000), run 2, run 3

    def runner(args, k):
        return {"labels": k, "first_call_s": k / 100, "docs_per_s": next(figures),
                "peak_rss_mib": 700.0 + k / 10, "label_tokens": 3 * k}

    rows = script.main(["--sizes", "16", "1000", "--repeat", "3"], runner=runner)
    assert [r["docs_per_s"] for r in rows] == [10.0, 5.0]
    out = capsys.readouterr().out
    assert "load before:" in out and "load after:" in out and "median of 3 runs" in out
    assert "| 1,000 | 5.0 | 800 | 10.00 | 0.50 | 3,000 |" in out


def test_label_scaling_with_examples_per_label(tiny_isolated_gliznet_dir):
    script = load_script(SCALING)
    vocab = ["the", "team", "match", "pasta", "song", "rain", "cold", "food", "music", "sports"]
    labels = script.word_pair_labels(vocab, 6)
    given = script.example_texts(vocab, labels, 3)
    assert given == script.example_texts(vocab, labels, 3) and list(given) == labels
    assert all(len(set(v["examples"])) == 3 and all(len(t.split()) == 6 for t in v["examples"])
               for v in given.values())
    row = script.measure(6, ["the team won", "pasta is good"], model=str(tiny_isolated_gliznet_dir),
                         examples=3)
    assert row["examples_per_label"] == 3 and row["docs_per_s"] > 0
