"""The opt-in ``label_attention`` option ("isolated" / "text")."""

import numpy as np
import pytest
import torch

from spacy_gliznet import GliZNetConfig, GliZNetForSequenceClassification
from spacy_gliznet.model.network import block_attention
from spacy_gliznet.model.losses import gliznet_loss

LABELS = ["sports", "politics", "music song", "food"]
TEXT = "the team won the match with a late goal"


def _load(tiny_bert_dir, **kw):
    torch.manual_seed(0)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, **{"projected_dim": 16, **kw})
    model.eval()
    return model, tok


def test_default_is_full():
    assert GliZNetConfig().label_attention == "full"
    with pytest.raises(ValueError):
        GliZNetConfig(label_attention="sideways")


def test_full_mode_unchanged(tiny_bert_dir):
    """label_attention='full' calls the backbone exactly as before (2-d mask)."""
    model, tok = _load(tiny_bert_dir)
    enc = model.get_encoder().encode([TEXT], [LABELS])
    from spacy_gliznet.model.collation import collate

    b = collate(enc[0].passes, 1, len(LABELS), 0)
    seen = {}
    hook = model.backbone.register_forward_pre_hook(
        lambda m, a, kw: seen.update(kw), with_kwargs=True)
    model(b)
    hook.remove()
    assert seen["attention_mask"].dim() == 2 and "position_ids" not in seen


def test_isolated_scores_do_not_depend_on_other_labels(tiny_bert_dir):
    model, tok = _load(tiny_bert_dir, label_attention="isolated")
    full = dict(model.predict_example(TEXT, LABELS).labels)
    rev = dict(model.predict_example(TEXT, LABELS[::-1]).labels)
    alone = {lab: model.predict_example(TEXT, [lab]).labels[0][1] for lab in LABELS}
    for lab in LABELS:
        assert full[lab] == pytest.approx(rev[lab], abs=1e-5)
        assert full[lab] == pytest.approx(alone[lab], abs=1e-5)


def test_full_scores_do_depend_on_order(tiny_bert_dir):
    model, tok = _load(tiny_bert_dir)
    a = dict(model.predict_example(TEXT, LABELS).labels)
    b = dict(model.predict_example(TEXT, LABELS[::-1]).labels)
    assert max(abs(a[k] - b[k]) for k in LABELS) > 1e-4


def test_isolated_equals_separate_encoding(tiny_bert_dir):
    """Text pooled from [CLS] text and labels from [LAB] label, each encoded alone."""
    model, tok = _load(tiny_bert_dir, label_attention="isolated", text_pooling="mean",
                       projected_dim=None, use_projection_layernorm=False,
                       projector_init="identity")
    logits = model.predict_batch([TEXT], [LABELS], activation="sigmoid")[0]
    bb = model.backbone
    with torch.no_grad():
        t_ids = [tok.cls_token_id] + tok(TEXT, add_special_tokens=False)["input_ids"]
        t = bb(input_ids=torch.tensor([t_ids])).last_hidden_state[0].mean(0)
        lab_id = tok.convert_tokens_to_ids("[LAB]")
        sims = []
        for lab in LABELS:
            ids = [lab_id] + tok(lab, add_special_tokens=False)["input_ids"]
            h = bb(input_ids=torch.tensor([ids])).last_hidden_state[0, 1:].mean(0)
            sims.append(float(torch.nn.functional.cosine_similarity(t, h, dim=0)))
    scale = float(torch.exp(model.logit_scale.detach()))
    expected = 1 / (1 + np.exp(-np.array(sims) * scale))
    got = np.array([s for _, s in logits.labels])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_text_mode_labels_see_text(tiny_bert_dir):
    model, tok = _load(tiny_bert_dir, label_attention="text")
    a = dict(model.predict_example(TEXT, LABELS).labels)
    b = dict(model.predict_example(TEXT, LABELS[::-1]).labels)
    for lab in LABELS:
        assert a[lab] == pytest.approx(b[lab], abs=1e-5)
    c = dict(model.predict_example("rain and cold weather", LABELS).labels)
    assert any(abs(a[k] - c[k]) > 1e-6 for k in LABELS)


def test_block_attention_shapes():
    # [CLS] t t [LAB] l [LAB] l l [SEP] pad
    att = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])
    text = torch.tensor([[1, 1, 1, 0, 0, 0, 0, 0, 0, 0]])
    lidx = torch.tensor([[0, 0, 0, 0, 1, 0, 2, 2, 0, 0]])
    labidx = torch.tensor([[0, 0, 0, 1, 0, 2, 0, 0, 0, 0]])
    mask, pos = block_attention(att, lidx, labidx, text)
    assert pos.tolist() == [[0, 1, 2, 0, 1, 0, 1, 2, 3, 0]]
    m = mask[0].bool()
    assert m[1, :3].all() and not m[1, 3:].any()
    assert m[6, 5:8].all() and not m[6, :5].any() and not m[6, 8:].any()
    assert not m[:, 8][:8].any()  # nobody attends to [SEP]
    assert m[9, 9] and m[9].sum() == 1


def test_refused_on_other_backbones(tiny_modernbert_dir):
    with pytest.raises(ValueError, match="label_attention"):
        GliZNetForSequenceClassification.from_pretrained(
            tiny_modernbert_dir, label_attention="isolated")


def test_saved_and_loaded(tiny_bert_dir, tmp_path):
    model, tok = _load(tiny_bert_dir, label_attention="isolated")
    model.save_pretrained(tmp_path, tokenizer=tok)
    again = GliZNetForSequenceClassification.from_pretrained(tmp_path)
    assert again.config.label_attention == "isolated"
    a = model.predict_example(TEXT, LABELS).labels
    b = again.predict_example(TEXT, LABELS).labels
    assert [x for _, x in a] == pytest.approx([x for _, x in b], abs=1e-5)


def test_isolated_fast_prediction_matches_packed_passes(tiny_bert_dir):
    """predict_encoded's per-text/per-label path equals the packed forward pass."""
    from spacy_gliznet.model.collation import collate

    for pooling in ("mean", "lab"):
        model, tok = _load(tiny_bert_dir, label_attention="isolated", label_pooling=pooling,
                           text_pooling="mean", max_length=8)
        texts = [TEXT, "rain and cold weather today", "pasta"]
        enc = model.get_encoder().encode(texts, [LABELS, LABELS[:2], LABELS[::-1]])
        assert any(len(e.passes) > 1 for e in enc)
        fast = model.predict_encoded(enc)
        passes = [p for e in enc for p in e.passes]
        b = collate(passes, len(enc), len(LABELS), 0)
        with torch.no_grad():
            packed = model(b).logits.numpy()
        for e, (x, lg) in enumerate(zip(enc, fast)):
            np.testing.assert_allclose(lg, packed[e, : x.n_labels], atol=1e-5)


@pytest.mark.parametrize("pooling,text_pooling,layernorm",
                         [("mean", "mean", False), ("lab", "cls", True), ("mean", "cls", True)])
def test_isolated_training_batch_matches_packed_passes(tiny_bert_dir, pooling, text_pooling, layernorm):
    """The training forward of an isolated model encodes texts and distinct labels
    apart (IsolatedBatch): same logits, mask and gradients as the packed passes."""
    from spacy_gliznet.model.collation import collate, collate_isolated

    model, tok = _load(tiny_bert_dir, label_attention="isolated", label_pooling=pooling,
                       text_pooling=text_pooling, use_projection_layernorm=layernorm,
                       max_length=8, score_offset_init=0.1)
    texts = [TEXT, "rain and cold weather today", "pasta"]
    labels = [LABELS, LABELS[:2], LABELS[::-1]]
    enc = model.get_encoder().encode(texts, labels)
    assert any(len(e.passes) > 1 for e in enc)
    iso = collate_isolated(enc, len(LABELS), 0, pooling)
    assert iso.label_ids.shape[0] == len(LABELS)  # each distinct label encoded once
    targets = torch.zeros(3, len(LABELS))
    targets[0, 0] = targets[1, 1] = targets[2, 3] = 1.0
    results = []
    for batch in (collate([p for e in enc for p in e.passes], 3, len(LABELS), 0), iso):
        model.zero_grad()
        out = model(batch)
        loss = gliznet_loss(out, targets, out.label_mask)[0]
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((out, grads))
    (packed, g_packed), (isolated, g_iso) = results
    assert torch.equal(packed.label_mask, isolated.label_mask)
    np.testing.assert_allclose(isolated.logits.detach().numpy(), packed.logits.detach().numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(isolated.bce_logits.detach().numpy(),
                               packed.bce_logits.detach().numpy(), atol=1e-5)
    assert set(g_iso) == set(g_packed)
    for name in g_packed:
        np.testing.assert_allclose(g_iso[name].numpy(), g_packed[name].numpy(), atol=1e-4,
                                   err_msg=name)


def test_isolated_batch_needs_an_isolated_model(tiny_bert_dir):
    from spacy_gliznet.model.collation import collate_isolated

    model, tok = _load(tiny_bert_dir)
    enc = model.get_encoder().encode([TEXT], [LABELS])
    with pytest.raises(ValueError, match="isolated"):
        model(collate_isolated(enc, len(LABELS), 0, "mean"))
    with pytest.raises(TypeError, match="Batch or an IsolatedBatch"):
        model({"input_ids": None})


def test_isolated_text_cut_does_not_depend_on_the_labels(tiny_bert_dir):
    """With label_attention "isolated" a long text keeps max_length - 2 tokens however
    many labels come with it, so a label's score is the same alone or among many."""
    model, tok = _load(tiny_bert_dir, label_attention="isolated", text_pooling="mean", max_length=24)
    text = " ".join(["the team won the match with a late goal"] * 4)
    many = LABELS + [f"label {w}" for w in "abcdefgh"]
    enc = model.get_encoder()
    alone, crowd = enc.encode([text, text], [["sports"], many])
    assert alone.n_text_tokens_used == crowd.n_text_tokens_used == 22
    a = model.predict_example(text, ["sports"]).as_dict()["sports"]
    b = model.predict_example(text, many).as_dict()["sports"]
    assert a == pytest.approx(b, abs=1e-6)
    # the packed passes of the isolated model still give the same scores
    from spacy_gliznet.model.collation import collate

    (crowd,) = enc.encode([text], [many])
    assert len(crowd.passes) > 1
    b2 = collate(crowd.passes, 1, len(many), 0)
    with torch.no_grad():
        packed = model(b2).logits[0].numpy()
    np.testing.assert_allclose(packed, model.predict_encoded([crowd])[0], atol=1e-5)
