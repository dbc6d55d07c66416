"""`spacy train`, `spacy evaluate` and `spacy package` on a tiny pipeline."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

import spacy_gliznet

from helpers import write_docbin

CONFIG = Path(spacy_gliznet.__file__).parent / "configs" / "gliznet_textcat.cfg"
ROWS = [
    ("the team won the match", ["sports"]),
    ("pasta cooking is good", ["food"]),
    ("a new song from the film", ["music"]),
    ("the team had pasta", ["sports", "food"]),
]
LABELS = ["sports", "food", "music"]


def write_corpus(path: Path) -> None:
    write_docbin(path, [(text, {label: float(label in labels) for label in LABELS})
                        for text, labels in ROWS])


def run(*args, cwd=None):
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}
    res = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def trained(tiny_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    write_corpus(tmp / "train.spacy")
    write_corpus(tmp / "dev.spacy")
    run("spacy", "train", str(CONFIG), "--output", str(tmp / "out"),
        "--paths.train", str(tmp / "train.spacy"), "--paths.dev", str(tmp / "dev.spacy"),
        "--paths.model", str(tiny_bert_dir), "--training.max_steps", "6",
        "--training.eval_frequency", "3", "--components.gliznet_textcat.model.max_length", "64")
    return tmp


@pytest.mark.slow
def test_spacy_train_and_evaluate(trained):
    best = trained / "out" / "model-best"
    nlp = spacy.load(best)
    assert nlp.get_pipe("gliznet_textcat").labels == tuple(LABELS)
    assert set(nlp("the team won").cats) == set(LABELS)
    run("spacy", "evaluate", str(best), str(trained / "dev.spacy"), "--output", str(trained / "m.json"))
    metrics = json.loads((trained / "m.json").read_text())
    assert 0.0 <= metrics["cats_macro_auc"] <= 1.0 and "cats_macro_f" in metrics


@pytest.mark.slow
def test_spacy_package_builds_an_installable_package(trained, tmp_path):
    best = trained / "out" / "model-best"
    run("spacy", "package", str(best), str(tmp_path), "--name", "gliznet_tiny", "--version", "0.0.1", "--force")
    (sdist,) = list(tmp_path.glob("en_gliznet_tiny-0.0.1/dist/*.tar.gz"))
    target = tmp_path / "site"
    run("pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", "--target", str(target), str(sdist))
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import spacy; "
              "nlp = spacy.load('en_gliznet_tiny'); print(sorted(nlp('the team won').cats))")
    res = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True,
                         env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith(str(sorted(LABELS)))
