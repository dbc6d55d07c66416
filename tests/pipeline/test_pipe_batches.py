"""Batched host work gives the scores of one-by-one calls, and the scores the package
gave before its host work was batched (``tests/data/pipe_batch_scores.json``, written by
``python tests/pipeline/test_pipe_batches.py`` on main at 3454b07, the bundled model).

The batch mixes what planning treats differently: short docs, a doc longer than the
model (read in windows), a doc with its own labels, a doc with an over-long "word",
an empty doc; and, in a second call, sentence spans (``span_source="sents"``) with the
doc scored from its spans (``doc_cats="spans"``)."""

import json
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List

import pytest

import spacy_gliznet  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers import DATA, make_nlp  # noqa: E402

SAVED = DATA / "pipe_batch_scores.json"
LABELS = ["sports", "politics", "food and cooking", "music", "technology", "weather"]
LONG = " ".join(
    f"Sentence {i} talks about the {w} and what people said about it afterwards."
    for i, w in enumerate(["match", "election", "recipe", "concert", "phone", "storm"] * 9))
TEXTS = [
    "The striker scored twice in the final.",
    LONG,
    "Parliament passed the budget after a long debate.",
    "Heat the pasta and add basil. " + "x" * 150 + " then serve.",
    "",
    "The new phone has a faster chip and a better camera.",
    "Rain and strong wind are expected tomorrow.",
]
OWN_LABELS = {2: ["law", "economy", "cooking"]}  # doc 2 brings its own labels
CALLS = [
    {},  # the defaults: long_text "windows"
    {"span_source": "sents", "doc_cats": "spans"},
]


def make_docs(nlp) -> List[Any]:
    docs = [nlp.make_doc(t) for t in TEXTS]
    for i, labels in OWN_LABELS.items():
        docs[i]._.gliznet_labels = labels
    for doc in docs:  # the sentencizer, as nlp.pipe would run it first
        nlp.get_pipe("sentencizer")(doc)
    return docs


def record(doc) -> Dict[str, Any]:
    return {
        "cats": dict(doc.cats),
        "predicted": list(doc._.gliznet_predicted_labels or []),
        "windows": doc._.gliznet_windows,
        "truncated": bool(doc._.gliznet_truncated),
        "spans": [[s.start_char, s.end_char, dict(s._.gliznet_cats)] for s in doc.sents
                  if s._.gliznet_cats is not None] if doc.has_annotation("SENT_START") else [],
    }


def scored(nlp, settings: Dict[str, Any], one_by_one: bool) -> List[Dict[str, Any]]:
    pipe = nlp.get_pipe("gliznet_textcat")
    docs = make_docs(nlp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if one_by_one:
            docs = [pipe(doc, **settings) for doc in docs]
        else:
            docs = list(pipe.pipe(docs, batch_size=64, **settings))
    return [record(doc) for doc in docs]


def build_nlp():
    nlp = make_nlp(sentencizer=True, labels=LABELS)
    nlp.initialize()
    return nlp


@pytest.fixture(scope="module")
def nlp():
    return build_nlp()


def assert_same(got: List[Dict[str, Any]], want: List[Dict[str, Any]], tol: float) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert list(g["cats"]) == list(w["cats"]), i
        for k, v in w["cats"].items():
            assert g["cats"][k] == pytest.approx(v, abs=tol), (i, k)
        assert g["predicted"] == w["predicted"], i
        assert (g["windows"], g["truncated"]) == (w["windows"], w["truncated"]), i
        assert len(g["spans"]) == len(w["spans"]), i
        for (a0, a1, ac), (b0, b1, bc) in zip(g["spans"], w["spans"]):
            assert (a0, a1) == (b0, b1)
            assert list(ac) == list(bc)
            for k, v in bc.items():
                assert ac[k] == pytest.approx(v, abs=tol), (i, a0, k)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("call", range(len(CALLS)))
def test_pipe_equals_one_by_one_and_the_saved_scores(nlp, call):
    settings = CALLS[call]
    batched = scored(nlp, settings, one_by_one=False)
    single = scored(nlp, settings, one_by_one=True)
    assert_same(batched, single, 1e-5)
    assert_same(batched, json.loads(SAVED.read_text(encoding="utf8"))[call], 1e-5)
    if call == 0:  # the batch holds what it is meant to hold
        assert batched[1]["windows"] > 1 and batched[4]["cats"]
        assert list(batched[2]["cats"]) == OWN_LABELS[2]
    else:
        assert sum(len(r["spans"]) for r in batched) > len(TEXTS)


if __name__ == "__main__":  # write the saved scores (run on the code whose scores they pin)
    nlp = build_nlp()
    SAVED.write_text(json.dumps([scored(nlp, s, one_by_one=True) for s in CALLS], indent=1) + "\n",
                     encoding="utf8")
    print(f"wrote {SAVED}")
