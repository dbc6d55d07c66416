"""The GoEmotions project's scripts on tiny data: conversion, few-shot sampling,
threshold choice on dev and the report."""

import importlib.util
import json
import sys

import pytest
import spacy
from spacy.tokens import DocBin
from helpers import ROOT

SCRIPTS = ROOT / "examples" / "goemotions" / "scripts"
LABELS = ["joy", "anger", "neutral"]
ROWS = [
    {"text": "i love this so much", "labels": ["joy"]},
    {"text": "this makes me so angry", "labels": ["anger"]},
    {"text": "the bus leaves at noon", "labels": ["neutral"]},
    {"text": "angry but also happy", "labels": ["joy", "anger"]},
    {"text": "great news today", "labels": ["joy"]},
    {"text": "what a terrible mess", "labels": ["anger"]},
]


def load(name):
    spec = importlib.util.spec_from_file_location(f"goemotions_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def data(tmp_path):
    folder = tmp_path / "goemotions"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    (folder / "manifest.json").write_text(json.dumps({"goemotions": {
        "file": "train.jsonl", "splits": {s: f"{s}.jsonl" for s in ("train", "dev", "test")},
        "task": "multi_label", "labels": LABELS}}))
    return folder


def test_convert_writes_all_labels_per_doc(data, tmp_path, monkeypatch):
    convert = load("convert")
    monkeypatch.setattr(sys, "argv", ["convert", str(data), str(tmp_path / "corpus"),
                                      "--dev-sample", "2", "--few-shot", "1"])
    convert.main()
    docs = list(DocBin().from_disk(tmp_path / "corpus" / "train.spacy").get_docs(spacy.blank("en").vocab))
    assert len(docs) == len(ROWS)
    assert docs[3].cats == {"joy": 1.0, "anger": 1.0, "neutral": 0.0}
    assert len(list(DocBin().from_disk(tmp_path / "corpus" / "dev_sample.spacy").get_docs(spacy.blank("en").vocab))) == 2


def test_few_shot_covers_every_label_k_times():
    convert = load("convert")
    chosen = convert.few_shot(ROWS, LABELS, 2, seed=1)
    for label in LABELS:
        n = sum(label in r["labels"] for r in chosen)
        assert n >= min(2, sum(label in r["labels"] for r in ROWS))
    assert len(chosen) < len(ROWS) or all(sum(lbl in r["labels"] for r in ROWS) <= 2 for lbl in LABELS)


def test_evaluate_chooses_the_dev_threshold(data, tmp_path, tiny_gliznet_dir, monkeypatch):
    convert, evaluate = load("convert"), load("evaluate")
    monkeypatch.setattr(sys, "argv", ["convert", str(data), str(tmp_path / "corpus"), "--dev-sample", "0"])
    convert.main()
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)},
        "labels": LABELS})
    nlp.to_disk(tmp_path / "pipeline")
    out = tmp_path / "metrics" / "x.json"
    monkeypatch.setattr(sys, "argv", ["evaluate", str(tmp_path / "pipeline"), str(tmp_path / "corpus" / "dev.spacy"),
                                      str(tmp_path / "corpus" / "test.spacy"), "--output", str(out)])
    evaluate.main()
    result = json.loads(out.read_text())
    dev = evaluate.predict(spacy.load(tmp_path / "pipeline"), tmp_path / "corpus" / "dev.spacy")
    best = max(evaluate.score(dev, LABELS, t)["macro_f"] for t in evaluate.GRID)
    assert result["dev"]["macro_f"] == pytest.approx(best)
    assert result["threshold"] in evaluate.GRID
    # dev and test hold the same rows here, so the test score equals the dev score
    assert result["test"]["macro_f"] == pytest.approx(result["dev"]["macro_f"])

    report = load("report")
    (tmp_path / "metrics" / "few_shot_k8.json").write_text(out.read_text())
    (tmp_path / "metrics" / "zero_shot.json").write_text(out.read_text())
    monkeypatch.setattr(sys, "argv", ["report", str(tmp_path / "metrics")])
    report.main()
    assert "8 examples per label" in (tmp_path / "metrics" / "report.md").read_text()
    assert (tmp_path / "metrics" / "few_shot.png").stat().st_size > 1000
