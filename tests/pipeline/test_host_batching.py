"""Host work per batch: one tokenizer call for a batch whose texts fit, token-budget
backbone calls that give the scores of fixed ones, and batch decisions equal to per-doc ones."""

import warnings

import numpy as np
import pytest
import torch

from helpers import make_nlp
from spacy_gliznet.longtext import planning, windows
from spacy_gliznet.model import encoding
from spacy_gliznet.model.config import DEFAULT_GPU_BATCH_TOKENS, check_batch_tokens, resolve_batch_tokens
from spacy_gliznet.model.network import length_chunks
from spacy_gliznet.pipeline import decisions
from spacy_gliznet.settings import DecisionSettings

LABELS = ["sports", "food", "music"]
SHORT = ["the team won the match", "pasta cooking is good", "a new song from the film",
         "the goal was great", "hot food and cold pasta", "the team had pasta and a song"]


@pytest.fixture
def count_tokenizer_calls(monkeypatch):
    """Counts calls of the package's one tokenizing function, wherever it is imported."""
    calls = []
    real = encoding.tokenize

    def counting(tokenizer, texts, offsets=False):
        calls.append(list(texts))
        return real(tokenizer, texts, offsets)

    for module in (encoding, planning, windows):
        monkeypatch.setattr(module, "tokenize", counting)
    return calls


@pytest.mark.timeout(120)
def test_one_tokenizer_call_per_batch_of_texts_that_fit(tiny_gliznet_dir, count_tokenizer_calls):
    nlp = make_nlp(tiny_gliznet_dir, labels=LABELS)
    nlp.initialize()
    list(nlp.pipe(SHORT[:2]))  # the labels are tokenized once, then cached
    count_tokenizer_calls.clear()
    docs = list(nlp.pipe(SHORT, batch_size=len(SHORT)))
    assert count_tokenizer_calls == [SHORT]  # one call, every text, nothing again in the layer
    assert all(list(doc.cats) == LABELS for doc in docs)
    count_tokenizer_calls.clear()
    list(nlp.pipe(SHORT, batch_size=2))
    assert count_tokenizer_calls == [SHORT[:2], SHORT[2:4], SHORT[4:]]


@pytest.mark.timeout(120)
def test_only_texts_longer_than_the_model_are_tokenized_again(tiny_gliznet_dir, count_tokenizer_calls):
    nlp = make_nlp(tiny_gliznet_dir, labels=LABELS)
    nlp.initialize()
    list(nlp.pipe(SHORT[:2]))
    long_text = " ".join(SHORT * 12)  # longer than the tiny model's 128 tokens
    count_tokenizer_calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs = list(nlp.pipe(SHORT[:3] + [long_text], batch_size=4))
    assert docs[3]._.gliznet_windows > 1
    assert count_tokenizer_calls[0] == SHORT[:3] + [long_text]
    again = [texts for texts in count_tokenizer_calls[1:] if set(texts) & set(SHORT[:3])]
    assert again == []  # the short texts are never tokenized a second time
    assert count_tokenizer_calls[1] == [long_text]  # the long ones again, with offsets, in one call


def test_length_chunks_keep_the_token_budget_and_cover_every_row():
    lengths = [3, 3, 4, 10, 10, 12, 40, 200]
    chunks = length_chunks(lengths, None, batch_tokens=40)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(lengths)
    assert all(a < b for a, b in chunks) and all(x[1] == y[0] for x, y in zip(chunks, chunks[1:]))
    for a, b in chunks:
        assert (b - a) * lengths[b - 1] <= 40 or b - a == 1  # a row over the budget goes alone
    assert chunks[-1] == (7, 8)
    assert length_chunks(lengths, 3) == [(0, 3), (3, 6), (6, 8)]
    assert length_chunks(lengths, None) == [(0, 8)] and length_chunks([], 3) == []


def test_batch_tokens_default_per_device_and_checks():
    assert resolve_batch_tokens(None, torch.device("cpu")) is None
    assert resolve_batch_tokens(None, "cuda") == DEFAULT_GPU_BATCH_TOKENS
    assert resolve_batch_tokens(0, "cuda") is None and resolve_batch_tokens(500, "cpu") == 500
    for bad in (-1, 1.5, True, "64"):
        with pytest.raises(ValueError, match="batch_tokens"):
            check_batch_tokens(bad)
    with pytest.raises(ValueError, match="batch_tokens"):
        make_nlp(None, labels=LABELS, model={"batch_tokens": -5})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attention", ["isolated", "full"])
def test_token_budget_batches_give_the_scores_of_fixed_batches(tiny_bert_dir, attention):
    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(0)
    model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, projected_dim=16, label_attention=attention)
    texts = SHORT + [" ".join(SHORT[:k]) for k in range(2, 6)]
    encoded = model.get_encoder().encode(texts, [LABELS] * len(texts))
    fixed = np.stack(model.predict_encoded(encoded, batch_size=2, batch_tokens=0))
    whole = np.stack(model.predict_encoded(encoded, batch_size=1000, batch_tokens=0))
    for budget in (1, 30, 64, 10_000):
        by_tokens = np.stack(model.predict_encoded(encoded, batch_size=2, batch_tokens=budget))
        np.testing.assert_allclose(by_tokens, fixed, atol=1e-6)
    np.testing.assert_allclose(whole, fixed, atol=1e-6)


@pytest.mark.timeout(120)
def test_pipeline_with_a_token_budget_scores_as_the_default(tiny_gliznet_dir):
    default = make_nlp(tiny_gliznet_dir, labels=LABELS, model={"batch_size": 2})
    budget = make_nlp(tiny_gliznet_dir, labels=LABELS, model={"batch_size": 2, "batch_tokens": 24})
    default.initialize()
    budget.initialize()
    assert budget.get_pipe("gliznet_textcat").model.attrs["batch_tokens"] == 24
    for a, b in zip(default.pipe(SHORT), budget.pipe(SHORT)):
        assert list(a.cats) == list(b.cats)
        assert all(a.cats[k] == pytest.approx(b.cats[k], abs=1e-6) for k in LABELS)


@pytest.mark.parametrize("settings", [
    DecisionSettings(), DecisionSettings(decision_rule="margin", rule_param=0.1),
    DecisionSettings(decision_rule="ratio"), DecisionSettings(threshold=0.3, thresholds={"b": 0.9}),
    DecisionSettings(decision_rule="zscore", label_stats={"a": [0.0, 1.0], "c": [-1.0, 0.5]}),
])
@pytest.mark.parametrize("multi_label", [True, False])
def test_batch_decisions_equal_per_doc_decisions(settings, multi_label):
    rng = np.random.default_rng(0)
    abc, xy = ["a", "b", "c"], ["x", "y"]
    rows = [(abc, rng.random(3)), None, (xy, rng.random(2)), (abc, np.array([0.5, 0.5, 0.2])),
            (abc, rng.random(3)), ([], np.zeros(0))]
    got = decisions.predicted_labels_of_rows(rows, multi_label=multi_label, settings=settings)
    want = [None if r is None else decisions.predicted_labels(
        r[0], list(r[1]), multi_label=multi_label, settings=settings) for r in rows]
    assert got == want


def test_batch_decisions_refuse_nan_scores():
    from spacy_gliznet.errors import GliZNetInputError

    rows = [(["a", "b"], np.array([0.1, 0.2])), (["a", "b"], np.array([np.nan, 0.2]))]
    with pytest.raises(GliZNetInputError, match="NaN"):
        decisions.predicted_labels_of_rows(rows)
