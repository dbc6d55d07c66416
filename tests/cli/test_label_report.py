"""#19 item 7: the label report of training data (positives per label, labels never
positive, docs without labels): in Python, as `python -m spacy_gliznet label-report`,
and printed before training by the `[initialize] after_init` callback."""

import json

import pytest
import spacy
from spacy.training import Example
from spacy.util import registry

from spacy_gliznet.__main__ import main
from spacy_gliznet.corpus.label_report import label_report

from helpers import write_docbin

ROWS = [("the team won", {"sports": 1.0, "food": 0.0}),
        ("pasta again", {"sports": 0.0, "food": 1.0}),
        ("the team had pasta", {"sports": 1.0, "food": 1.0}),
        ("nothing here", {"sports": 0.0, "food": 0.0}),
        ("no cats at all", {})]


def test_counts_from_examples_and_the_pipe_labels():
    nlp = spacy.blank("en")
    egs = [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in ROWS]
    report = label_report(egs, labels=["music", "sports"])
    assert report.labels == ["music", "sports", "food"]
    assert report.positives == {"sports": 2, "food": 2}
    assert report.negatives == {"sports": 2, "food": 2}
    assert report.never_positive == ["music"] and report.not_in_data == ["music"]
    assert (report.n_docs, report.n_without_cats, report.n_without_positive) == (5, 1, 1)
    table = report.table()
    assert "music" in table and "positive" in table
    assert any("never positive" in p for p in report.problems())
    with pytest.raises(TypeError, match="Examples, Docs"):
        label_report(["a string"])


def test_the_cli_reports_a_spacy_file(tmp_path, capsys):
    path = write_docbin(tmp_path / "train.spacy", ROWS)
    assert main(["label-report", str(path), "--labels", "sports,food,music",
                 "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "never positive: 'music'" in out and "1 doc(s) without a positive label" in out
    data = json.loads((tmp_path / "r.json").read_text())["train.spacy"]
    assert data["positives"] == {"sports": 2, "food": 2, "music": 0}
    assert data["docs_without_cats"] == 1


def test_the_cli_reports_a_manifest_folder(shared_data, capsys):
    main(["label-report", str(shared_data / "goemotions"), "--split", "dev"])
    out = capsys.readouterr().out
    assert "Labels in goemotions" in out and "5426 docs, 28 labels" in out


def test_the_after_init_callback_prints_the_training_corpus(tmp_path, tiny_gliznet_dir, capsys):
    from thinc.api import Config

    from spacy_gliznet.cli.init_config import make_config

    path = write_docbin(tmp_path / "train.spacy", ROWS)
    cfg = Config().from_str(make_config(["sports", "food", "music"], multi_label=True),
                            interpolate=False)
    cfg["paths"]["train"] = str(path)
    cfg["paths"]["model"] = str(tiny_gliznet_dir)
    nlp = spacy.util.load_model_from_config(cfg, auto_fill=True)
    callback = registry.resolve({"cb": cfg["initialize"]["after_init"]})["cb"]
    assert callback(nlp) is nlp
    out = capsys.readouterr().out
    assert "Labels in corpora.train" in out and "never positive: 'music'" in out
    cfg["paths"]["train"] = None  # no corpus: a note, not a crash
    nlp = spacy.util.load_model_from_config(cfg, auto_fill=True)
    assert callback(nlp) is nlp
    assert "could not read 'corpora.train'" in capsys.readouterr().out


def test_an_empty_spacy_file_is_an_error_not_all_clear(tmp_path, capsys):
    """#33 item 8: an empty .spacy file was reported as all clear."""
    from spacy_gliznet.errors import GliZNetInputError

    write_docbin(tmp_path / "empty.spacy", [])
    with pytest.raises(GliZNetInputError, match="holds no docs"):
        main(["label-report", str(tmp_path / "empty.spacy"), "--labels", "a,b"])
    assert "all" not in capsys.readouterr().out.lower()
