"""`python -m spacy apply PIPELINE INPUT OUTPUT --n-process 2` with a saved
gliznet_textcat pipeline, on a JSONL file and on a folder of plain-text files."""

import json
import os
import subprocess
import sys

import pytest
import spacy
from spacy.tokens import DocBin

import spacy_gliznet  # noqa: F401

import helpers

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
LABELS = ["sports", "politics", "food", "music"]
TEXTS = [
    "the team won the match with a late goal",
    "the bank raised the price of money",
    "a good pasta and hot food",
    "the song and the film were very long",
    "it is not a question of sports or politics",
    "rain and cold weather in the world news",
] * 4 + [" ".join(["long text about the game and the music"] * 40)]  # longer than the tiny model


@pytest.fixture(scope="module")
def saved_pipeline(tiny_gliznet_dir, tmp_path_factory):
    return helpers.saved_pipeline(tiny_gliznet_dir, LABELS, tmp_path_factory.mktemp("apply_pipeline"))


def spacy_apply(pipeline, data, output, timeout=240):
    cmd = [sys.executable, "-m", "spacy", "apply", str(pipeline), str(data), str(output),
           "--n-process", "2", "--batch-size", "4"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        pytest.fail(f"spacy apply --n-process 2 did not finish in {timeout} s")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert output.is_file()


def check_against_pipe(saved_pipeline, output, texts):
    nlp = spacy.load(saved_pipeline)
    docs = list(DocBin().from_disk(output).get_docs(nlp.vocab))
    assert sorted(d.text for d in docs) == sorted(texts)  # nothing lost or duplicated
    expected = {d.text: d for d in nlp.pipe(texts)}
    for doc in docs:
        ref = expected[doc.text]
        assert set(doc.cats) == set(LABELS)
        assert max(abs(doc.cats[k] - ref.cats[k]) for k in LABELS) <= 1e-5
        assert doc._.gliznet_truncated is ref._.gliznet_truncated
    return docs


@pytest.mark.slow
def test_spacy_apply_jsonl_and_plain_text_n_process_2(saved_pipeline, tmp_path):
    """One run over a folder with a JSONL file and plain-text files (one doc each):
    spaCy reads both kinds, and every doc comes back once with nlp.pipe's scores."""
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(TEXTS)), encoding="utf8")
    plain = ["a plain text file about the film", "another file: the bank and the market"]
    for i, text in enumerate(plain):
        (folder / f"doc{i}.txt").write_text(text, encoding="utf8")
    output = tmp_path / "out.spacy"
    spacy_apply(saved_pipeline, folder, output)
    docs = check_against_pipe(saved_pipeline, output, TEXTS + plain)
    jsonl_docs = [d.text for d in docs if d.text in TEXTS]
    assert jsonl_docs == TEXTS  # spaCy keeps the input order across processes
    assert all(isinstance(d._.gliznet_truncated, bool) for d in docs)  # carried to the output
