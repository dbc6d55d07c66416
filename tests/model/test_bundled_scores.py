"""The bundled default model's scores on fixed texts and labels, pinned (to 1e-6)
when the package was restructured: a refactoring must not change them."""

import json
import warnings

import pytest
import spacy

import spacy_gliznet  # noqa: F401
from helpers import DATA

CASES = json.loads((DATA / "bundled_scores.json").read_text())


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": ["x"]})
    return nlp


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:24] for c in CASES])
def test_bundled_model_scores_are_pinned(nlp, case):
    cfg = {"labels": case["labels"], "multi_label": case["multi_label"], **case.get("settings", {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = nlp(case["text"], component_cfg={"gliznet_textcat": cfg})
    assert list(doc.cats) == list(case["cats"])
    for label, score in case["cats"].items():
        assert doc.cats[label] == pytest.approx(score, abs=1e-6), label
    assert doc._.gliznet_truncated == case["truncated"]


def test_bundled_model_scores_in_one_batch(nlp):
    """nlp.pipe over all cases at once (one batch, shared label encoding) gives the pinned scores."""
    docs = []
    for case in CASES:
        doc = nlp.make_doc(case["text"])
        doc._.gliznet_labels = case["labels"]
        docs.append(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = list(nlp.pipe(docs))
    for doc, case in zip(out, CASES):
        if not case["multi_label"] or case.get("settings"):
            continue  # the pipe runs multi-label with its own settings; the rest is checked above
        for label, score in case["cats"].items():
            assert doc.cats[label] == pytest.approx(score, abs=1e-6), label
