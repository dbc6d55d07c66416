import numpy as np
import pytest
import torch

from spacy_gliznet import ClassificationResult, GliZNetForSequenceClassification
from spacy_gliznet.model.collation import collate
from spacy_gliznet.model.checkpoints import load_model
from spacy_gliznet.model.losses import gliznet_loss


def test_lab_token_added_and_embeddings_grow_only_when_needed(tiny_bert_dir, tiny_modernbert_dir):
    from transformers import AutoTokenizer

    bert_vocab = len(AutoTokenizer.from_pretrained(str(tiny_bert_dir)))
    model, tok = load_model(tiny_bert_dir)
    assert len(tok) == bert_vocab + 1
    assert model.backbone.get_input_embeddings().num_embeddings == bert_vocab + 1
    assert tok.convert_tokens_to_ids("[LAB]") == bert_vocab

    model, tok = load_model(tiny_modernbert_dir)
    # ModernBERT reserves spare rows: [LAB] fits, nothing is resized.
    assert model.backbone.get_input_embeddings().num_embeddings == len(tok) + 15


@pytest.mark.parametrize("fixture", ["tiny_bert_dir", "tiny_modernbert_dir"])
def test_model_card_api(fixture, request):
    path = request.getfixturevalue(fixture)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(path, projected_dim=8)
    res = model.predict_example("the team won the match", ["sports", "food", "music"], tok)
    assert isinstance(res, ClassificationResult)
    assert [label for label, _ in res.labels] == ["sports", "food", "music"]
    assert all(0.0 <= s <= 1.0 for _, s in res.labels)
    soft = model.predict_example("the team won", ["sports", "food"], activation="softmax")
    assert sum(s for _, s in soft.labels) == pytest.approx(1.0, abs=1e-6)
    batch = model.predict_batch(["the team won the match", "pasta"], [["sports", "food", "music"], ["food"]])
    assert batch[0].as_dict() == pytest.approx(res.as_dict(), abs=1e-6)  # same scores in a batch
    with pytest.raises(ValueError, match="activation"):
        model.predict_example("x", ["a"], activation="relu")


def test_save_and_load_round_trip(tiny_gliznet_dir, tmp_path):
    model, tok = load_model(tiny_gliznet_dir)
    before = model.predict_example("the cat and the dog", ["cat", "dog", "red"]).labels
    model.save_pretrained(tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json"}
    again = GliZNetForSequenceClassification.from_pretrained(tmp_path / "m")
    after = again.predict_example("the cat and the dog", ["cat", "dog", "red"]).labels
    assert dict(after) == pytest.approx(dict(before), abs=1e-7)


def test_fp16_checkpoint_loads_as_float32(tiny_gliznet_dir, tmp_path):
    model, _ = load_model(tiny_gliznet_dir)
    model.save_pretrained(tmp_path / "half", dtype=torch.float16)
    half, _ = load_model(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in half.parameters())
    a = model.predict_example("the team won", ["sports", "food"]).labels
    b = half.predict_example("the team won", ["sports", "food"]).labels
    assert [x[1] for x in a] == pytest.approx([x[1] for x in b], abs=2e-2)


def test_scalars_have_shape_one(tiny_gliznet_dir):
    model, _ = load_model(tiny_gliznet_dir)
    assert model.logit_scale.shape == (1,) and model.bce_scale.shape == (1,)


def test_identity_projectors_give_backbone_cosine(tiny_bert_dir):
    model, tok = load_model(tiny_bert_dir, text_pooling="mean", projector_init="identity",
                            use_projection_layernorm=False, logit_scale_init=0.0)
    enc = model.get_encoder()
    (e,) = enc.encode(["the team won"], [["sports"]])
    batch = collate(e.passes, 1, 1, enc.pad_id)
    with torch.no_grad():
        h = model.backbone(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state[0]
        lab = h[batch.label_tokens[0] == 1].mean(0)
        txt = h[batch.text_mask[0] == 1].mean(0)
        cos = torch.nn.functional.cosine_similarity(txt, lab, dim=0)
    model.eval()
    logit = model.predict_encoded([e])[0][0]
    assert logit == pytest.approx(cos.item(), abs=1e-5)


def test_multi_pass_merge_matches_training_forward(tiny_gliznet_dir):
    model, _ = load_model(tiny_gliznet_dir, max_length=16)
    enc = model.get_encoder()
    labels = ["red cat", "blue dog", "green sun", "cold rain", "hot food"]
    encoded = enc.encode(["the team won the match today"], [labels])
    assert len(encoded[0].passes) > 1
    predicted = model.predict_encoded(encoded)[0]
    batch = collate(encoded[0].passes, 1, len(labels), enc.pad_id)
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert out.label_mask.all()
    np.testing.assert_allclose(out.logits[0].numpy(), predicted, atol=1e-5)


def test_loss_backpropagates_through_the_forward(tiny_gliznet_dir):
    model, _ = load_model(tiny_gliznet_dir)
    enc = model.get_encoder()
    encoded = enc.encode(["the team won", "pasta"], [["sports", "food"], ["food", "music", "cat"]])
    passes = [p for e in encoded for p in e.passes]
    batch = collate(passes, 2, 3, enc.pad_id)
    out = model(batch)
    targets = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    loss = gliznet_loss(out, targets, out.label_mask)[0]
    loss.backward()
    assert torch.isfinite(loss)
    assert model.text_projector[0].weight.grad is not None


def test_score_offset_moves_the_sigmoid_cut_but_not_the_ranking(tiny_bert_dir):
    torch.manual_seed(0)
    base, tok = load_model(tiny_bert_dir, projected_dim=8, logit_scale_init=1.0)
    shifted, _ = load_model(tiny_bert_dir, projected_dim=8, logit_scale_init=1.0,
                            score_offset_init=0.3)
    shifted.load_state_dict({**base.state_dict(), "score_offset": torch.tensor([0.3])})
    enc = base.get_encoder(tok)
    encoded = enc.encode(["the team won the match"], [["sports", "food", "music", "rain"]])
    a = base.predict_encoded(encoded)[0]
    b = shifted.predict_encoded(encoded)[0]
    scale = float(np.exp(1.0))
    np.testing.assert_allclose(b, a - 0.3 * scale, atol=1e-5)   # (cos - 0.3) * T
    soft_a = base.predict_example("the team won the match", ["sports", "food"], activation="softmax")
    soft_b = shifted.predict_example("the team won the match", ["sports", "food"], activation="softmax")
    assert soft_b.as_dict() == pytest.approx(soft_a.as_dict(), abs=1e-6)
    # the packed training forward applies the same offset
    batch = collate(encoded[0].passes, 1, 4, enc.pad_id)
    shifted.eval()
    with torch.no_grad():
        out = shifted(batch)
    np.testing.assert_allclose(out.logits[0].numpy(), b, atol=1e-5)


def test_checkpoint_without_score_offset_loads_with_offset_zero(tiny_gliznet_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    model, _ = load_model(tiny_gliznet_dir)
    model.save_pretrained(tmp_path / "old")
    state = load_file(str(tmp_path / "old" / "model.safetensors"))
    assert "score_offset" in state
    del state["score_offset"]  # as written before the offset existed
    save_file(state, str(tmp_path / "old" / "model.safetensors"))
    old, _ = load_model(tmp_path / "old")
    assert old.score_offset.item() == 0.0
    a = model.predict_example("the cat", ["cat", "dog"]).as_dict()
    assert old.predict_example("the cat", ["cat", "dog"]).as_dict() == pytest.approx(a, abs=1e-7)


def test_score_offset_survives_save_and_load(tiny_bert_dir, tmp_path):
    model, tok = load_model(tiny_bert_dir, projected_dim=8)
    with torch.no_grad():
        model.score_offset.fill_(0.25)
    model.save_pretrained(tmp_path / "m", tokenizer=tok)
    again, _ = load_model(tmp_path / "m")
    assert again.score_offset.item() == pytest.approx(0.25)


def test_config_keys_of_no_release_are_refused_and_bad_values_are_config_errors():
    """The loss weights an unreleased format wrote into config.json are unknown keys now
    (the bundled model's config.json holds only current keys); a bad value is a
    GliZNetConfigError, which `except ValueError` still catches."""
    import json

    from spacy_gliznet.errors import GliZNetConfigError, GliZNetLoadError
    from spacy_gliznet.model.checkpoints import DEFAULT_MODEL_DIR
    from spacy_gliznet.model.config import GliZNetConfig

    bundled = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text(encoding="utf8"))
    assert GliZNetConfig.from_dict(bundled).label_attention == "isolated"
    with pytest.raises(GliZNetLoadError, match="supcon_loss_weight"):
        GliZNetConfig.from_dict({**bundled, "supcon_loss_weight": 1.0})
    with pytest.raises(GliZNetConfigError, match="text_pooling must be one of") as info:
        GliZNetConfig(text_pooling="max")
    assert isinstance(info.value, ValueError)
