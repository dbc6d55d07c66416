import pytest

from spacy_gliznet.model.collation import collate
from spacy_gliznet.model.encoding import GliZNetEncoder
from spacy_gliznet.errors import GliZNetInputError, LabelTooLongError
from spacy_gliznet.model.files import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir):
    return load_tokenizer(tiny_bert_dir, add_lab=True)


def test_gliznet_template_layout(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=64)
    (out,) = enc.encode(["the team won"], [["sports", "new music"]])
    (p,) = out.passes
    toks = tokenizer.convert_ids_to_tokens(p.input_ids)
    assert toks == ["[CLS]", "the", "team", "won", "[LAB]", "sports", "[LAB]", "new", "music", "[SEP]"]
    assert p.label_tokens == [0, 0, 0, 0, 0, 1, 0, 2, 2, 0]
    assert p.label_markers == [0, 0, 0, 0, 1, 0, 2, 0, 0, 0]
    assert p.text_mask == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert p.slots == [0, 1] and not out.text_truncated


def test_reference_template_layout(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=64, template="reference")
    (out,) = enc.encode(["the team"], [["sports", "new music"]])
    toks = tokenizer.convert_ids_to_tokens(out.passes[0].input_ids)
    assert toks == ["[CLS]", "the", "team", "[SEP]", "sports", "[LAB]", "new", "music", "[LAB]"]
    assert out.passes[0].label_tokens == [0, 0, 0, 0, 1, 0, 2, 2, 0]


def test_literal_special_tokens_in_text_are_text(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=64)
    (out,) = enc.encode(["a [LAB] b [CLS] c [SEP]"], [["x", "y"]])
    ids = out.passes[0].input_ids
    assert ids.count(enc.lab_id) == 2
    assert ids.count(enc.cls_id) == 1 and ids.count(enc.sep_id) == 1


def test_text_is_cut_before_labels_and_no_label_is_lost(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=32)
    text = " ".join(["the team won the match"] * 20)
    labels = [f"label {w}" for w in "red blue green cat dog sun rain cold hot food".split()]
    (out,) = enc.encode([text], [labels])
    assert out.text_truncated and out.n_text_tokens_used < out.n_text_tokens
    assert len(out.passes) > 1
    seen = sorted(s for p in out.passes for s in p.slots)
    assert seen == list(range(len(labels)))
    lab_ids = enc.label_ids(labels)
    for p in out.passes:
        assert len(p) <= 32
        assert p.input_ids[1 : 1 + out.n_text_tokens_used] == p.input_ids[1 : 1 + out.n_text_tokens_used]
        for k, slot in enumerate(p.slots, start=1):
            toks = [t for t, li in zip(p.input_ids, p.label_tokens) if li == k]
            assert toks == list(lab_ids[slot])  # whole label, never cut


def test_short_text_with_many_labels_keeps_whole_text(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=24)
    labels = [f"{c} dog" for c in "abcdefghij"]
    (out,) = enc.encode(["the cat"], [labels])
    assert not out.text_truncated and len(out.passes) > 1


def test_label_longer_than_max_length_is_an_error(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=16)
    with pytest.raises(LabelTooLongError, match="at most 12 fit"):
        enc.encode(["x"], [["the " * 20]])


def test_no_labels_is_an_error(tokenizer):
    with pytest.raises(GliZNetInputError, match="no labels"):
        GliZNetEncoder(tokenizer, max_length=32).encode(["x"], [[]])


def test_collate_pads_and_tracks_slots(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=64)
    encoded = enc.encode(["a", "the team won the match"], [["x"], ["y", "z"]])
    passes = [p for e in encoded for p in e.passes]
    batch = collate(passes, 2, 2, enc.pad_id)
    assert batch.input_ids.shape[0] == 2
    assert batch.attention_mask.sum(1).tolist() == [len(p) for p in passes]
    assert batch.pass_slots.tolist() == [[0, -1], [0, 1]]
    assert batch.pass_example.tolist() == [0, 1]


def test_label_tokenization_is_cached(tokenizer):
    enc = GliZNetEncoder(tokenizer, max_length=64)
    enc.label_ids(["sports"])
    assert "sports" in enc._label_cache


# -- #33 item 12: a run the tokenizer reads as one [UNK] is flagged on every path ---------
RUN = "sports " + "x" * 50_000 + " food"


def test_an_unread_run_warns_on_every_path(tiny_gliznet_dir, api_model):
    import spacy
    from spacy.training import Example
    from spacy_gliznet.errors import UnreadTextWarning
    from helpers import make_nlp

    labels = ["sports", "food"]
    with pytest.warns(UnreadTextWarning, match="50000 characters"):
        api_model.predict_batch([RUN, "plain"], [labels, labels])  # the plain PyTorch API
    nlp = make_nlp(tiny_gliznet_dir, labels=labels)
    with pytest.warns(UnreadTextWarning, match="gliznet_textcat: 1 text"):
        nlp(RUN)  # the pipe
    example = Example.from_dict(nlp.make_doc(RUN), {"cats": {"sports": 1.0, "food": 0.0}})
    nlp.initialize()
    with pytest.warns(UnreadTextWarning, match="training: 1 text"):
        nlp.get_pipe("gliznet_textcat").update([example])  # training (spacy train, adapt)
    texts = [f"the team won match number {i}" for i in range(24)] + [RUN]
    with pytest.warns(UnreadTextWarning):
        nlp.get_pipe("gliznet_textcat").adapt(texts, nlp=nlp, steps=0, min_texts=5)
