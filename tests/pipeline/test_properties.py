"""Property-based tests (hypothesis) over random texts and label sets:

* doc.cats holds exactly the labels, in order, finite scores in [0, 1]; softmax
  scores sum to 1; the spaCy component and the plain API agree;
* arbitrary label lists give either that result or a GliZNetInputError naming
  the problem, never a library error;
* a doc scores the same (1e-5) alone and inside a batch of other random docs,
  whatever nlp.pipe's batch_size and the model layer's batch_size;
* encoding: every label's tokens appear exactly once across passes, whole and
  next to their own [LAB]; no pass is longer than max_length; every pass holds
  the same (possibly cut) text prefix; the pass plan is greedy and keeps at
  least the promised amount of text.
"""

import math
import re
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import spacy
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import spacy_gliznet  # noqa: F401
from helpers import make_tokenizer
from spacy_gliznet import GliZNetInputError, LabelTooLongError
from spacy_gliznet.model.encoding import GliZNetEncoder

ARCH = "spacy_gliznet.GliZNet.v1"
SPECIALS = ["[LAB]", "[CLS]", "[SEP]", "<s>", "</s>", "[PAD]", "[MASK]", "[UNK]"]
WORDS = ("the team won game match sports politics music money bank weather rain cat dog "
         "happy sad news world film song food phone").split()
LAYER_BATCH_SIZES = (1, 2, 5, 32)

SETTINGS = settings(max_examples=30, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- strategies -------------------------------------------------------------------
# st.text() already excludes lone surrogates (tested separately in test_hostile_input).
any_text = st.text(max_size=200)
piece = st.one_of(st.text(max_size=12), st.sampled_from(SPECIALS), st.sampled_from(WORDS))
texts = st.one_of(
    any_text,
    st.lists(piece, max_size=40).map(" ".join),  # special-token strings embedded
    st.lists(piece, max_size=20).map("".join),  # ... glued to other text
    st.integers(50, 400).map(lambda n: " ".join(WORDS[i % len(WORDS)] for i in range(n))),  # cut
)
# A valid label: starts with a known word (so it has tokens), then anything.
label = st.builds(lambda w, rest: w + rest, st.sampled_from(WORDS),
                  st.one_of(st.just(""), st.text(max_size=10),
                            st.sampled_from(SPECIALS).map(lambda s: " " + s)))
# Up to 40 labels: large sets need several passes of the 128-token model.
# Labels the model can tell apart: distinct token ids under the tiny test tokenizer
# (labels that read alike, e.g. "the" and "the ", are refused: test_adapt_refusals.py).
_TOKENIZER = make_tokenizer(Path(tempfile.mkdtemp(prefix="gliznet_tok_")))


def _reading(label: str):
    return tuple(_TOKENIZER(label, add_special_tokens=False)["input_ids"])


label_sets = st.integers(1, 40).flatmap(
    lambda n: st.lists(label, min_size=n, max_size=n, unique_by=_reading))


# -- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pipelines(tiny_gliznet_dir):
    """One pipeline per model-layer batch size."""
    out = {}
    for bs in LAYER_BATCH_SIZES:
        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", config={
            "model": {"@architectures": ARCH, "name": str(tiny_gliznet_dir), "batch_size": bs},
            "labels": ["default"],
            "long_text": "truncate"})  # compared with the API, which cuts long texts
        out[bs] = nlp
    return out


@contextmanager
def _quiet():
    """Silence truncation warnings inside property tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run(nlp, text, labels, multi_label=True):
    return nlp(text, component_cfg={"gliznet_textcat": {"labels": labels,
                                                        "multi_label": multi_label}})


# -- scores --------------------------------------------------------------------------
@SETTINGS
@given(text=texts, labels=label_sets, multi_label=st.booleans())
def test_cats_are_exactly_the_labels(pipelines, api_model, text, labels, multi_label):
    with _quiet():
        doc = run(pipelines[32], text, labels, multi_label)
        api = api_model.predict_example(text, labels,
                                        activation="sigmoid" if multi_label else "softmax")
    assert list(doc.cats) == labels
    values = np.array(list(doc.cats.values()))
    assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))
    if not multi_label:
        assert values.sum() == pytest.approx(1.0, abs=1e-6)
    assert [k for k, _ in api.labels] == labels
    np.testing.assert_allclose([s for _, s in api.labels], values, atol=1e-5)
    assert doc._.gliznet_truncated == api.text_truncated
    event(f"passes>1: {api.n_passes > 1}, truncated: {api.text_truncated}")


ERROR_PATTERNS = re.compile(
    r"Duplicate label|empty or whitespace-only|produced no tokens|no labels to score|"
    r"fit in the model's maximum length|read the same to the model")


@SETTINGS
@given(text=texts, labels=st.lists(st.text(max_size=6), max_size=6))
def test_arbitrary_labels_give_scores_or_a_clear_error(pipelines, api_model, text, labels):
    for call in (lambda: dict(run(pipelines[32], text, labels).cats),
                 lambda: api_model.predict_example(text, labels).as_dict()):
        try:
            with _quiet():
                cats = call()
        except GliZNetInputError as err:
            event("error")
            assert ERROR_PATTERNS.search(str(err)), str(err)
            valid = (labels and len(set(labels)) == len(labels)
                     and all(lab.strip() for lab in labels))
            if valid:  # only a label the tokenizer drops entirely, or two it reads alike
                assert "produced no tokens" in str(err) or "read the same" in str(err)
        else:
            assert list(cats) == labels
            assert all(math.isfinite(v) and 0 <= v <= 1 for v in cats.values())


@SETTINGS
@given(
    target=st.tuples(texts, label_sets),
    others=st.lists(st.tuples(texts, label_sets), min_size=1, max_size=5),
    position=st.integers(0, 5),
    layer_bs=st.sampled_from(LAYER_BATCH_SIZES),
    pipe_bs=st.integers(1, 7),
)
def test_same_scores_alone_or_in_any_batch(pipelines, api_model, target, others, position,
                                           layer_bs, pipe_bs):
    text, labels = target
    with _quiet():
        alone = api_model.predict_batch([text], [labels], batch_size=1)[0]
        nlp = pipelines[layer_bs]
        items = list(others)
        items.insert(min(position, len(items)), (text, labels))
        docs = []
        for t, labs in items:
            doc = nlp.make_doc(t)
            doc._.gliznet_labels = labs
            docs.append(doc)
        docs = list(nlp.pipe(docs, batch_size=pipe_bs))
        api_batch = api_model.predict_batch([t for t, _ in items], [labs for _, labs in items],
                                            batch_size=layer_bs)
    i = min(position, len(others))
    event(f"target passes>1: {alone.n_passes > 1}")
    expected = np.array([s for _, s in alone.labels])
    np.testing.assert_allclose([docs[i].cats[k] for k in labels], expected, atol=1e-5)
    np.testing.assert_allclose([s for _, s in api_batch[i].labels], expected, atol=1e-5)


# -- encoding -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer(api_model):
    return api_model.tokenizer


def _check_encoding(encoder, text, labels):
    tok_text = encoder._tokenize([text])[0]
    label_ids = encoder.label_ids(labels)
    if any(len(ids) > encoder.max_label_tokens() for ids in label_ids):
        with pytest.raises(LabelTooLongError, match="fit in the model's maximum length"):
            encoder.encode([text], [labels])
        event("label too long")
        return
    enc = encoder.encode([text], [labels])[0]
    K = len(labels)
    assert enc.n_labels == K and enc.n_text_tokens == len(tok_text)
    assert enc.text_truncated == (enc.n_text_tokens_used < len(tok_text))
    assert enc.n_text_tokens_used >= min(len(tok_text), 1)
    seen = []
    reference = encoder.template == "reference"
    for p in enc.passes:
        ids = p.input_ids
        assert 0 < len(p.slots) and len(ids) <= encoder.max_length
        assert len(p.label_tokens) == len(p.label_markers) == len(p.text_mask) == len(ids)
        # The same text prefix in every pass.
        used = enc.n_text_tokens_used
        assert ids[0] == encoder.cls_id and ids[1:1 + used] == tok_text[:used]
        assert sum(p.text_mask) == used + 1
        # Exactly one [LAB], one [CLS], one [SEP] per label / pass: user text
        # that spells special tokens is plain text.
        assert ids.count(encoder.lab_id) == len(p.slots)
        assert ids.count(encoder.cls_id) == 1 and ids.count(encoder.sep_id) == 1
        for k, slot in enumerate(p.slots, start=1):
            where = [j for j, x in enumerate(p.label_tokens) if x == k]
            # Whole, contiguous, the label's own tokens.
            assert where == list(range(where[0], where[0] + len(where)))
            assert [ids[j] for j in where] == list(label_ids[slot])
            lab_pos = [j for j, x in enumerate(p.label_markers) if x == k]
            assert lab_pos == [where[-1] + 1 if reference else where[0] - 1]
            assert ids[lab_pos[0]] == encoder.lab_id
        seen.extend(p.slots)
    # Every label exactly once, in order.
    assert seen == list(range(K))
    event(f"passes>1: {len(enc.passes) > 1}, truncated: {enc.text_truncated}")


@SETTINGS
@given(text=texts, labels=label_sets, max_length=st.integers(8, 128),
       template=st.sampled_from(["gliznet", "reference"]))
def test_encoding_invariants(tokenizer, text, labels, max_length, template):
    encoder = GliZNetEncoder(tokenizer, max_length=max_length, template=template)
    _check_encoding(encoder, text, labels)


@st.composite
def plans(draw):
    """(n_text, label token counts, max_length); some labels may be too long."""
    max_length = draw(st.integers(8, 512))
    longest = draw(st.sampled_from([max_length - 4, max_length - 3, max_length // 4 + 1]))
    lens = draw(st.lists(st.integers(1, max(1, longest)), min_size=1, max_size=60))
    return draw(st.integers(0, 2000)), lens, max_length


@settings(max_examples=40, deadline=None)
@given(plan=plans())
def test_plan_invariants(tokenizer, plan):
    n_text, label_lens, max_length = plan
    encoder = GliZNetEncoder(tokenizer, max_length=max_length)
    limit = encoder.max_label_tokens()
    if max(label_lens) > limit:
        with pytest.raises(LabelTooLongError):
            encoder.plan(n_text, label_lens)
        event("label too long")
        return
    keep, passes = encoder.plan(n_text, label_lens)
    event(f"passes>1: {len(passes) > 1}, text cut: {keep < n_text}")
    avail = max_length - 2
    blocks = [n + 1 for n in label_lens]
    assert [i for p in passes for i in p] == list(range(len(label_lens)))
    assert all(p for p in passes)
    for p in passes:
        assert keep + sum(blocks[i] for i in p) <= avail
    assert 0 <= keep <= n_text
    if n_text + sum(blocks) <= avail:
        assert keep == n_text and len(passes) == 1
    else:
        # At least half the budget, or what the longest label leaves, stays text.
        assert keep >= min(n_text, avail // 2, avail - max(blocks))
        assert keep >= min(n_text, 1)
    # Greedy: no pass could also have taken the next pass's first label.
    room = avail - keep
    for a, b in zip(passes, passes[1:]):
        assert sum(blocks[i] for i in a) + blocks[b[0]] > room
