"""#19 item 3: `convert` honours every option it shows or refuses it, reads the
manifest's own splits, and documents each option in --help."""

import json

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_gliznet.__main__ import build_parser, main
from helpers import ROOT

LABELS = ["joy", "anger", "neutral"]


def rows(split, n):
    return [{"text": f"{split} text number {i}", "labels": [LABELS[i % 3]]} for i in range(n)]


@pytest.fixture()
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for split, n in (("train", 20), ("dev", 6), ("test", 4)):
        (folder / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows(split, n)))
    (folder / "plain.jsonl").write_text("\n".join(json.dumps(r) for r in rows("plain", 10)))
    (folder / "manifest.json").write_text(json.dumps({
        "emo": {"file": "train.jsonl", "splits": {s: f"{s}.jsonl" for s in ("train", "dev", "test")},
                "task": "multi_label", "labels": LABELS},
        "plain": {"file": "plain.jsonl", "task": "single_label", "labels": LABELS}}))
    return folder


def docs(path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def test_max_rows_per_dataset_is_honoured_with_spacy_output(data, tmp_path):
    """It was silently ignored: all 43,410 GoEmotions rows were written."""
    out = tmp_path / "o.spacy"
    main(["convert", str(data), str(out), "--max-rows-per-dataset", "3"])
    assert len(docs(out)) == 6  # 3 of each dataset
    main(["convert", str(data), str(out), "--max-rows-per-dataset", "3", "--seed", "1",
          "--overwrite"])
    assert len(docs(out)) == 6


def test_the_manifest_splits_are_read(data, tmp_path):
    for split, n in (("train", 20), ("dev", 6), ("test", 4)):
        out = tmp_path / f"{split}.spacy"
        main(["convert", str(data), str(out), "--datasets", "emo", "--split", split,
              "--negative-samples", "all"])
        got = docs(out)
        assert len(got) == n and all(d.text.startswith(split) for d in got)
        assert all(set(d.cats) == set(LABELS) for d in got)  # 'all' negatives
    with pytest.raises(ValueError, match="own splits.*drop holdout_fraction"):
        main(["convert", str(data), str(tmp_path / "x.spacy"), "--datasets", "emo",
              "--split", "train", "--holdout-fraction", "0.2"])
    with pytest.raises(ValueError, match="'test' needs the manifest's own splits"):
        main(["convert", str(data), str(tmp_path / "x.spacy"), "--datasets", "plain", "--split", "test"])
    # a dataset without splits is still split by hash
    main(["convert", str(data), str(tmp_path / "p.spacy"), "--datasets", "plain", "--split", "dev",
          "--holdout-fraction", "0.5"])
    assert 0 < len(docs(tmp_path / "p.spacy")) < 10


def test_options_that_do_not_apply_are_refused(data, tmp_path):
    for flag in (["--lang", "de"], ["--negative-samples", "2"]):
        with pytest.raises(SystemExit, match="only for --to spacy"):
            main(["convert", str(data), str(tmp_path / "j"), "--to", "jsonl", *flag])
    with pytest.raises(SystemExit):
        main(["convert", str(data), str(tmp_path / "x.spacy"), "--negative-samples", "-1"])
    main(["convert", str(data), str(tmp_path / "j"), "--to", "jsonl", "--datasets", "emo",
          "--split", "dev", "--max-rows-per-dataset", "4"])
    manifest = json.loads((tmp_path / "j" / "manifest.json").read_text())
    assert manifest["emo"]["rows"] == 4 and "splits" not in manifest["emo"]


def test_every_option_is_documented_in_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    conv = sub.choices["convert"]
    for action in conv._actions:
        if action.dest != "help":
            assert action.help, f"convert {action.option_strings or action.dest} has no help"


def test_the_goemotions_project_converts_with_the_package_command(data, tmp_path, monkeypatch):
    """examples/goemotions/project.yml runs `python -m spacy_gliznet convert` (its own
    converter only writes the few-shot subsets); each such line parses and runs."""
    import shlex

    import srsly

    project = ROOT / "examples" / "goemotions" / "project.yml"
    convert = next(c for c in srsly.read_yaml(project)["commands"] if c["name"] == "convert")
    lines = [shlex.split(line) for line in convert["script"] if "-m spacy_gliznet" in line]
    assert any(words[3] == "convert" for words in lines)
    manifest = json.loads((data / "manifest.json").read_text())
    (data / "manifest.json").write_text(json.dumps({"goemotions": manifest["emo"]}))
    monkeypatch.chdir(tmp_path)
    for words in lines:
        assert main([w.replace("${vars.data}", str(data)) for w in words[3:]]) == 0
    assert len(docs(tmp_path / "corpus" / "test.spacy")) == 4
    assert all(set(d.cats) == set(LABELS) for d in docs(tmp_path / "corpus" / "dev_sample.spacy"))
