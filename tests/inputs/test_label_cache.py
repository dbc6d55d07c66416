"""The label-vector cache (label_cache.py) and how an isolated model uses it: the
same scores as without it, and never a stale vector after the weights change."""

import copy
import pickle

import numpy as np
import pytest
import torch
from spacy.training import Example
from thinc.api import Adam

from spacy_gliznet.model.label_cache import DEFAULT_MAX_SIZE, LabelVectorCache
from spacy_gliznet.pipeline.layer import ensure_loaded
from spacy_gliznet.model.network import label_scores

from helpers import TRAIN, make_nlp

TEXTS = ["the team won the match", "pasta cooking is good", "a new song from the film", "rain"]
LABELS = ["sports", "food", "music", "cold weather", "money and bank"]


# -- the cache alone -------------------------------------------------------------------
def keys(*names):
    return [(ord(n),) for n in names]


def vectors_for(ks):
    return torch.tensor([[float(k[0]), 1.0] for k in ks])


def lookup(cache, ks, state=0):
    asked = []

    def compute(which):
        asked.append([ks[i] for i in which])
        return vectors_for([ks[i] for i in which])

    out = cache.vectors(ks, state, compute)
    assert torch.equal(out, vectors_for(ks))  # right rows, in the order asked
    return asked[0] if asked else []


def test_cache_computes_each_key_once_and_returns_rows_in_order():
    cache = LabelVectorCache()
    assert lookup(cache, keys("a", "b", "c")) == keys("a", "b", "c")
    assert lookup(cache, keys("c", "d", "a")) == keys("d")
    assert lookup(cache, keys("a", "b", "c", "d")) == []
    assert (len(cache), cache.hits, cache.misses) == (4, 6, 4)


def test_cache_is_bounded_and_drops_the_least_recently_used():
    cache = LabelVectorCache(max_size=3)
    lookup(cache, keys("a", "b", "c"))
    lookup(cache, keys("a"))                       # a is now the most recent
    assert lookup(cache, keys("d")) == keys("d")   # b goes
    assert len(cache) == 3 and keys("b")[0] not in cache and keys("a")[0] in cache
    assert lookup(cache, keys("e", "f", "g", "h")) == keys("e", "f", "g", "h")  # more than fit
    assert len(cache) == 3 and cache.nbytes() <= 3 * 2 * 4
    assert DEFAULT_MAX_SIZE == 50_000


def test_cache_empties_on_another_state_and_can_be_switched_off():
    cache = LabelVectorCache()
    lookup(cache, keys("a", "b"), state="weights 1")
    assert lookup(cache, keys("a", "b"), state="weights 2") == keys("a", "b")
    cache.max_size = 0
    assert lookup(cache, keys("a")) == keys("a") and len(cache) == 0
    with pytest.raises(ValueError, match="max_size"):
        cache.max_size = -1


def test_copies_start_empty():
    cache = LabelVectorCache(max_size=7)
    lookup(cache, keys("a", "b"))
    for other in (copy.deepcopy(cache), pickle.loads(pickle.dumps(cache))):
        assert len(other) == 0 and other.max_size == 7


# -- an isolated model -----------------------------------------------------------------
@pytest.fixture(scope="module")
def isolated_dir(tiny_bert_dir, tmp_path_factory):
    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(0)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, projected_dim=16, label_attention="isolated", text_pooling="mean")
    directory = tmp_path_factory.mktemp("tiny_isolated")
    model.save_pretrained(directory, tokenizer=tok)
    return directory


def uncached_scores(module, texts, labels):
    """The model's logits with the cache switched off (what the scores were before it)."""
    size = module.label_cache.max_size
    module.label_cache.max_size = 0
    try:
        return np.stack(module.predict_encoded(module.get_encoder().encode(texts, [labels] * len(texts))))
    finally:
        module.label_cache.max_size = size


def pipe_scores(nlp, texts, labels):
    cfg = {"gliznet_textcat": {"labels": labels}}
    return np.array([[d.cats[k] for k in labels] for d in nlp.pipe(texts, component_cfg=cfg)])


def logits_to_probs(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def test_cached_scores_equal_uncached_ones_across_calls(isolated_dir):
    nlp = make_nlp(isolated_dir, model={"batch_size": 2})
    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    expected = logits_to_probs(uncached_scores(module, TEXTS, LABELS))
    first = pipe_scores(nlp, TEXTS, LABELS)
    assert len(module.label_cache) == len(LABELS) and module.label_cache.misses == len(LABELS)
    second = pipe_scores(nlp, TEXTS[::-1], LABELS)[::-1]
    assert module.label_cache.misses == len(LABELS)  # the second call computed no label
    np.testing.assert_allclose(first, expected, atol=1e-5)
    np.testing.assert_allclose(second, expected, atol=1e-5)


def test_prediction_keeps_no_per_slot_vectors_and_groups_label_lists(isolated_dir):
    nlp = make_nlp(isolated_dir)
    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    lists = [LABELS, LABELS[:2], LABELS, ["cat", "sports"]]
    batch = module.collate(module.get_encoder().encode(TEXTS, lists))
    with module.inference():
        out = module(batch)
    assert out.label_embeddings.shape == (4, len(LABELS), 0)
    cached = len(module.label_cache)
    module.label_cache.clear()
    with torch.no_grad():
        dropout_out = module.train()(batch)  # training mode (dropout): computed, not cached
    assert dropout_out.label_embeddings.shape == (4, len(LABELS), 0)
    assert cached == len(LABELS) + 1 and len(module.label_cache) == 0
    text = torch.randn(4, 16)
    vecs = torch.randn(7, 16)
    slots = torch.tensor([[0, 1, 2, 3, 4], [0, 1, -1, -1, -1], [0, 1, 2, 3, 4], [5, 6, -1, -1, -1]])
    naive = (text.unsqueeze(1) * vecs[slots.clamp(min=0)]).sum(-1)
    mask = slots >= 0
    torch.testing.assert_close(label_scores(text, vecs, slots)[mask], naive[mask])


def test_no_stale_vectors_after_training_steps(isolated_dir):
    """Predict (cache filled), train (every way spaCy steps), predict again: the
    scores are those of the new weights, computed without the cache."""
    nlp = make_nlp(isolated_dir, labels=["sports", "food", "music"])
    pipe = nlp.get_pipe("gliznet_textcat")
    module = ensure_loaded(pipe.model)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in TRAIN]
    nlp.initialize(lambda: examples)
    before = pipe_scores(nlp, TEXTS, LABELS)
    optimizer = Adam(0.01)
    # gradients accumulated without a step (as with accumulate_gradient), a prediction
    # in between, then the step
    pipe.update(examples, sgd=None)
    np.testing.assert_allclose(pipe_scores(nlp, TEXTS, LABELS), before, atol=1e-6)
    pipe.finish_update(optimizer)
    after_step = pipe_scores(nlp, TEXTS, LABELS)
    np.testing.assert_allclose(after_step, logits_to_probs(uncached_scores(module, TEXTS, LABELS)),
                               atol=1e-5)
    assert np.abs(after_step - before).max() > 1e-3  # the weights did change
    for sgd in (optimizer, None):  # nlp.update steps (with a default optimizer when None)
        nlp.update(examples, sgd=sgd)
        np.testing.assert_allclose(pipe_scores(nlp, TEXTS, LABELS),
                                   logits_to_probs(uncached_scores(module, TEXTS, LABELS)), atol=1e-5)


def test_training_bypasses_the_cache_and_reaches_the_label_encoder(isolated_dir):
    nlp = make_nlp(isolated_dir, labels=["sports", "food", "music"])
    pipe = nlp.get_pipe("gliznet_textcat")
    module = ensure_loaded(pipe.model)
    pipe_scores(nlp, TEXTS, ["sports", "food", "music"])  # warm cache
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in TRAIN]
    module.zero_grad()
    pipe.update(examples)  # no optimizer: the gradients stay for inspection
    assert len(module.label_cache) == 0  # a training forward empties it
    grad = module.label_projector[0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_other_weights_and_max_length_invalidate(isolated_dir):
    nlp = make_nlp(isolated_dir)
    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    pipe_scores(nlp, TEXTS, LABELS)
    state = module.label_state()
    # weights written in place with torch (load_state_dict, a torch optimizer)
    with torch.no_grad():
        module.backbone.embeddings.word_embeddings.weight.mul_(1.5)
    assert module.label_state() != state
    np.testing.assert_allclose(pipe_scores(nlp, TEXTS, LABELS),
                               logits_to_probs(uncached_scores(module, TEXTS, LABELS)), atol=1e-5)
    # another max_length
    state = module.label_state()
    module.config.max_length = 64
    assert module.label_state() != state
    # loading other weights: a new module, with its own empty cache
    other = make_nlp(isolated_dir)
    other.get_pipe("gliznet_textcat").model.from_bytes(
        nlp.get_pipe("gliznet_textcat").model.to_bytes())
    loaded = ensure_loaded(other.get_pipe("gliznet_textcat").model)
    assert loaded is not module and len(loaded.label_cache) == 0
    np.testing.assert_allclose(pipe_scores(other, TEXTS, LABELS), pipe_scores(nlp, TEXTS, LABELS),
                               atol=1e-5)


@pytest.mark.parametrize("write", ["copy", "row", "column", "projector"])
def test_writes_through_param_data_invalidate(isolated_dir, write):
    """#33 item 4: a write through ``param.data`` moves no version counter; the cache
    kept serving the old vectors (scores off by up to 0.88)."""
    nlp = make_nlp(isolated_dir)
    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    pipe_scores(nlp, TEXTS, LABELS)
    weight = module.backbone.embeddings.word_embeddings.weight
    tokens = module.get_encoder().label_ids(["sports"])[0]
    if write == "copy":
        weight.data.copy_(torch.randn_like(weight))
    elif write == "row":  # one row: only labels holding that token change
        weight.data[tokens[0]] = torch.randn(weight.shape[1])
    elif write == "column":  # one column of the projector: every label's vector moves
        weight = next(p for p in module.label_projector.parameters() if p.dim() == 2)
        weight.data[:, 3] = torch.randn(weight.shape[0])
    else:
        weight = next(p for p in module.label_projector.parameters() if p.dim() == 2)
        weight.data.normal_()
    np.testing.assert_allclose(pipe_scores(nlp, TEXTS, LABELS),
                               logits_to_probs(uncached_scores(module, TEXTS, LABELS)), atol=1e-5)
