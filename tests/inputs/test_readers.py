"""The JSONL + manifest corpus reader, the converters and the zero-shot config."""

import json

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

import spacy_gliznet  # noqa: F401
from spacy_gliznet.corpus.readers import (
    JsonlCorpus,
    in_holdout,
    jsonl_to_docbin,
    load_datasets,
    write_split,
)

from helpers import ROOT, make_folder



@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "data")


def test_reader_positives_and_negatives_from_own_dataset(folder):
    nlp = spacy.blank("en")
    corpus = JsonlCorpus(folder, negative_samples=2, seed=0)
    examples = list(corpus(nlp))
    assert len(examples) == len(corpus) == 40 + 22
    topics = {"sports", "politics", "music", "food", "weather"}
    moods = {"happy", "sad", "angry"}
    for eg in examples:
        cats = eg.reference.cats
        pos = [k for k, v in cats.items() if v == 1.0]
        neg = [k for k, v in cats.items() if v == 0.0]
        assert set(cats) <= topics or set(cats) <= moods
        if set(cats) <= topics:
            assert len(pos) == 1 and len(neg) == 2
        assert set(eg.predicted._.gliznet_labels) == set(cats)
        assert eg.predicted.text == eg.reference.text
    by_text = {eg.reference.text: eg.reference.cats for eg in examples}
    assert by_text["nothing at all"] == {k: 0.0 for k in by_text["nothing at all"]}
    assert len(by_text["nothing at all"]) == 2
    assert by_text["explicit negatives"]["sad"] == 0.0
    assert by_text["explicit negatives"]["happy"] == 1.0


def test_reader_fresh_negatives_every_epoch(folder):
    nlp = spacy.blank("en")
    corpus = JsonlCorpus(folder, datasets=["topics"], negative_samples=1, shuffle=False)
    a = [dict(eg.reference.cats) for eg in corpus(nlp)]
    b = [dict(eg.reference.cats) for eg in corpus(nlp)]
    assert [next(k for k, v in x.items() if v) for x in a] == [next(k for k, v in x.items() if v) for x in b]
    assert a != b


def test_reader_mixing_limit_and_exclude(folder):
    nlp = spacy.blank("en")
    corpus = JsonlCorpus(folder, max_rows_per_dataset=5, negative_samples=1)
    assert len(list(corpus(nlp))) == 10
    assert len(list(JsonlCorpus(folder, exclude=["moods"], limit=7)(nlp))) == 7
    with pytest.raises(ValueError):
        JsonlCorpus(folder, datasets=["nope"])


def test_holdout_split_is_disjoint_and_complete(folder):
    train = load_datasets(folder, split="train", holdout_fraction=0.3)
    dev = load_datasets(folder, split="dev", holdout_fraction=0.3)
    allrows = load_datasets(folder)
    for t, d, a in zip(train, dev, allrows):
        tt = {r["text"] for r in t.rows}
        dd = {r["text"] for r in d.rows}
        assert not tt & dd and tt | dd == {r["text"] for r in a.rows}
        assert all(in_holdout(x, 0.3) for x in dd)
    with pytest.raises(ValueError):
        load_datasets(folder, split="dev")


def test_bad_rows_are_refused(tmp_path):
    folder = make_folder(tmp_path / "bad")
    srsly.write_jsonl(folder / "topics.jsonl", [{"text": "x", "labels": ["unknown"]}])
    with pytest.raises(ValueError, match="not in the manifest"):
        load_datasets(folder)


def test_registered_reader(folder):
    from spacy.util import registry

    make = registry.readers.get("spacy_gliznet.JsonlCorpus.v1")
    corpus = make(path=str(folder), negative_samples=1, max_rows_per_dataset=3)
    assert len(list(corpus(spacy.blank("en")))) == 6


def test_docbin_converter(folder, tmp_path):
    out = tmp_path / "train.spacy"
    n = jsonl_to_docbin(folder, out, negative_samples=2)
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    assert n == len(docs) == 62
    assert all(doc.cats for doc in docs)
    assert set(docs[0]._.gliznet_labels) == set(docs[0].cats)


def test_write_split_and_cli(folder, tmp_path):
    from spacy_gliznet.__main__ import main

    out = tmp_path / "heldout"
    n = write_split(folder, out, split="dev", holdout_fraction=0.5, max_rows_per_dataset=4)
    assert 0 < n <= 8
    again = load_datasets(out)
    assert {d.name for d in again} == {"topics", "moods"}
    assert main(["convert", str(folder), str(tmp_path / "x.spacy"), "--negative-samples", "1"]) == 0
    assert (tmp_path / "x.spacy").is_file()


def test_zero_shot_config_is_complete():
    """The shipped training config needs no fill-config step."""
    from spacy.util import load_config, load_model_from_config

    path = ROOT / "spacy_gliznet" / "configs" / "zero_shot.cfg"
    config = load_config(path)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    filled = nlp.config
    for section in config:
        assert section in filled
    for key, value in filled["training"].items():
        assert key in config["training"], key
    assert config["corpora"]["train"]["@readers"] == "spacy_gliznet.JsonlCorpus.v1"
    assert "benchmark" not in json.dumps(config.interpolate()["corpora"])


# -- label files (spacy_gliznet.read_labels.v1) -------------------------------------------
def test_read_labels_file_text_and_json(tmp_path):
    from spacy_gliznet.corpus.readers import read_labels_file

    (tmp_path / "a.txt").write_text("\ufeffsports\r\n\n  food and drink  \nmusic", encoding="utf8")
    assert read_labels_file(tmp_path / "a.txt") == ["sports", "food and drink", "music"]
    (tmp_path / "b.json").write_text('["x", "y"]', encoding="utf8")
    assert read_labels_file(str(tmp_path / "b.json")) == ["x", "y"]
    (tmp_path / "c.json").write_text('{"x": "the x things", "y": "y"}', encoding="utf8")
    assert read_labels_file(tmp_path / "c.json") == {"x": "the x things", "y": "y"}


@pytest.mark.parametrize("name,content,message", [
    ("missing.txt", None, "does not exist"),
    ("empty.txt", "\n  \n", "holds no labels"),
    ("dup.txt", "a\nb\na\n", "line 3 repeats the label 'a' of line 1"),
    ("bad.json", "[1, ", "not valid JSON"),
    ("str.json", '"sports"', "JSON list of labels or a {label: description} object"),
    ("num.json", '["a", 3]', "label 1 is int"),
    ("desc.json", '{"a": ""}', "description of label 'a'"),
    ("latin1.txt", b"caf\xe9\n", "not UTF-8"),
])
def test_read_labels_file_errors_name_the_file(tmp_path, name, content, message):
    from spacy_gliznet.errors import GliZNetInputError
    from spacy_gliznet.corpus.readers import read_labels_file

    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf8")
    with pytest.raises(GliZNetInputError, match="labels file") as err:
        read_labels_file(path)
    assert message in str(err.value) and name in str(err.value)


# -- #33 item 11: errors that name the file and the line --------------------------------
def test_a_non_utf8_text_corpus_names_the_file_and_the_line(tmp_path):
    import spacy
    from spacy_gliznet.corpus.readers import read_unlabeled
    from spacy_gliznet.errors import GliZNetInputError

    path = tmp_path / "texts.txt"
    path.write_bytes("first line\nsecond line\ncaf\u00e9\n".encode("utf8") + b"bad \xe9t\xe9\n")
    with pytest.raises(GliZNetInputError, match=r"texts.txt' line 4: not UTF-8 text \(byte 0xe9"):
        read_unlabeled(path, spacy.blank("en"))


def test_a_byte_order_mark_is_accepted_in_jsonl_and_the_manifest(tmp_path):
    import spacy
    from spacy_gliznet.corpus.readers import load_datasets, read_unlabeled

    (tmp_path / "u.jsonl").write_bytes(b"\xef\xbb\xbf" + b'{"text": "a"}\n{"text": "b"}\n')
    assert [d.text for d in read_unlabeled(tmp_path / "u.jsonl", spacy.blank("en"))] == ["a", "b"]
    (tmp_path / "d.jsonl").write_bytes(b"\xef\xbb\xbf" + b'{"text": "a", "labels": ["x"]}\n')
    (tmp_path / "manifest.json").write_bytes(
        b"\xef\xbb\xbf" + b'{"d": {"file": "d.jsonl", "labels": ["x", "y"]}}')
    assert load_datasets(tmp_path)[0].rows == [{"text": "a", "labels": ["x"]}]


@pytest.mark.parametrize("content,pattern", [
    ('{"d": {"file": "d.jsonl", "labels": ["x"]}', r"manifest.json' line 1: invalid JSON"),
    ('{"d": "d.jsonl"}', r"manifest.json': the entry of dataset 'd' must be an object"),
])
def test_an_invalid_manifest_names_the_file(tmp_path, content, pattern):
    from spacy_gliznet.corpus.readers import load_datasets

    (tmp_path / "manifest.json").write_text(content, encoding="utf8")
    with pytest.raises(ValueError, match=pattern):
        load_datasets(tmp_path)


def test_row_errors_name_the_file_and_the_line(tmp_path):
    import spacy
    from spacy_gliznet.corpus.readers import load_datasets, read_unlabeled

    (tmp_path / "manifest.json").write_text('{"d": {"file": "d.jsonl", "labels": ["x"]}}')
    rows = '{"text": "a", "labels": ["x"]}\n\n{"text": "b", "labels": ["z"]}\n'
    (tmp_path / "d.jsonl").write_text(rows, encoding="utf8")
    with pytest.raises(ValueError, match=r"d.jsonl' line 3: labels not in the manifest's label set"):
        load_datasets(tmp_path)
    (tmp_path / "d.jsonl").write_text('{"text": "a", "labels": ["x"]}\n{"text": "b", "lab', encoding="utf8")
    with pytest.raises(ValueError, match=r"d.jsonl' line 2: invalid JSON"):
        load_datasets(tmp_path)
    with pytest.raises(ValueError, match=r"d.jsonl' line 2: invalid JSON"):
        read_unlabeled(tmp_path / "d.jsonl", spacy.blank("en"))
    (tmp_path / "broken.spacy").write_bytes(b"\x00not a docbin")
    with pytest.raises(ValueError, match=r"broken.spacy' is not a readable .spacy"):
        read_unlabeled(tmp_path / "broken.spacy", spacy.blank("en"))


@pytest.mark.parametrize("setting,bad", [("limit", -1), ("max_rows_per_dataset", -2),
                                         ("negative_samples", -1), ("shuffle", "false"),
                                         ("seed", 1.5)])
def test_the_corpus_reader_refuses_bad_settings(tmp_path, setting, bad):
    """JsonlCorpus(limit=-1) dropped the last example of every epoch ([:-1])."""
    from spacy_gliznet.corpus.readers import JsonlCorpus
    from spacy_gliznet.errors import GliZNetInputError

    with pytest.raises(GliZNetInputError, match=setting):
        JsonlCorpus(make_folder(tmp_path / "d"), **{setting: bad})


@pytest.mark.parametrize("entry,pattern", [
    ({"file": "d.jsonl", "labels": "abc"}, "'labels' must be a list of strings"),
    ({"file": "d.jsonl", "labels": ["x"], "task": "multilabel"}, "'task' must be one of"),
])
def test_manifest_entries_that_would_be_misread_are_refused(tmp_path, entry, pattern):
    """labels "abc" became the labels a, b, c; task "multilabel" (a typo) was single-label."""
    from spacy_gliznet.corpus.readers import load_datasets
    from spacy_gliznet.errors import GliZNetInputError

    (tmp_path / "manifest.json").write_text(json.dumps({"d": entry}), encoding="utf8")
    (tmp_path / "d.jsonl").write_text('{"text": "a", "labels": []}\n', encoding="utf8")
    with pytest.raises(GliZNetInputError, match=pattern):
        load_datasets(tmp_path)


def test_a_dataset_name_cannot_write_outside_the_output(tmp_path):
    """write_split wrote NAME.jsonl: a dataset named '../x' landed beside the output."""
    from spacy_gliznet.corpus.readers import write_split
    from spacy_gliznet.errors import GliZNetInputError

    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"../x": {"file": "d.jsonl", "labels": ["a"]}}))
    (data / "d.jsonl").write_text('{"text": "a", "labels": ["a"]}\n', encoding="utf8")
    with pytest.raises(GliZNetInputError, match="without path separators"):
        write_split(data, tmp_path / "out", split="all", holdout_fraction=0.0)
    assert not (tmp_path / "x.jsonl").exists()
