"""The corpus readers' error types: a data file that cannot be read is a
GliZNetDataError, a bad argument a GliZNetInputError (both ValueErrors), so the
command line reports either in one line."""

import json

import pytest
import spacy

from spacy_gliznet.corpus.readers import (jsonl_to_docbin, load_datasets, read_labels_file,
                                          read_manifest, read_unlabeled, sample_rows)
from spacy_gliznet.errors import GliZNetDataError, GliZNetInputError


def folder(tmp_path, rows, entry=None):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"a": entry or {"file": "a.jsonl", "labels": ["x", "y"]}}))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


@pytest.mark.parametrize("rows,entry,message", [
    ([], None, None),  # the manifest itself is missing (below)
    ([{"text": "t"}], None, r"(a row 0|line 1): expected"),
    ([{"text": "t", "labels": ["z"]}], None, "not in the manifest's label set"),
    ([], {"labels": ["x"]}, "has no 'file'"),
])
def test_unreadable_data_is_a_data_error(tmp_path, rows, entry, message):
    if message is None:
        with pytest.raises(GliZNetDataError, match="has no manifest.json"):
            read_manifest(tmp_path)
        return
    with pytest.raises(GliZNetDataError, match=message):
        load_datasets(folder(tmp_path / "d", rows, entry))


def test_unlabeled_corpora_and_label_files_are_data_errors(tmp_path):
    nlp = spacy.blank("en")
    with pytest.raises(GliZNetDataError, match="No such corpus file"):
        read_unlabeled(tmp_path / "missing.txt", nlp)
    (tmp_path / "c.csv").write_text("x\n")
    with pytest.raises(GliZNetDataError, match="an unlabeled corpus is"):
        read_unlabeled(tmp_path / "c.csv", nlp)
    (tmp_path / "l.txt").write_text("a\na\n")
    with pytest.raises(GliZNetDataError, match="line 2 repeats"):
        read_labels_file(tmp_path / "l.txt")


def test_bad_arguments_are_input_errors_not_data_errors(tmp_path):
    data = folder(tmp_path / "d", [{"text": "t", "labels": ["x"]}])
    calls = [lambda: load_datasets(data, split="valid"),
             lambda: load_datasets(data, ["b"]),
             lambda: load_datasets(data, split="test"),
             lambda: load_datasets(data, split="dev"),  # no holdout_fraction
             lambda: sample_rows([], -1, None),
             lambda: jsonl_to_docbin(data, tmp_path / "o.spacy", negative_samples=-1)]
    for call in calls:
        with pytest.raises(GliZNetInputError) as info:
            call()
        assert not isinstance(info.value, GliZNetDataError), info.value
    assert not (tmp_path / "o.spacy").exists()
