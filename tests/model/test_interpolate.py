"""cli/interpolate.py: weight-space interpolation between a start checkpoint and its fine-tune."""

import pytest
import spacy
import torch
from spacy.training import Example
from thinc.api import Adam

from spacy_gliznet import GliZNetForSequenceClassification
from spacy_gliznet.__main__ import main
from spacy_gliznet.model.checkpoints import interpolate_states
from spacy_gliznet.cli.interpolate import interpolate_models

TEXTS = ["the team won the match", "pasta cooking is good"]
LABELS = ["sports", "food", "music"]


def _load(path):
    return GliZNetForSequenceClassification.from_pretrained_with_tokenizer(path)


@pytest.fixture(scope="module")
def finetuned_dir(tiny_gliznet_dir, tmp_path_factory):
    """The tiny checkpoint with every floating point weight moved: a stand-in fine-tune."""
    model, tok = _load(tiny_gliznet_dir)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    directory = tmp_path_factory.mktemp("finetuned")
    model.save_pretrained(directory, tokenizer=tok)
    return directory


def test_states_are_mixed_linearly_and_checked():
    a = {"w": torch.zeros(2, 2), "ids": torch.arange(3)}
    b = {"w": torch.ones(2, 2), "ids": torch.arange(3) + 5}
    mixed = interpolate_states(a, b, 0.25)
    assert torch.allclose(mixed["w"], torch.full((2, 2), 0.25))
    assert torch.equal(mixed["ids"], a["ids"])  # integer buffers come from the start
    assert torch.equal(interpolate_states(a, b, 1.0)["w"], b["w"])
    with pytest.raises(ValueError, match="alpha must be in"):
        interpolate_states(a, b, 1.5)
    with pytest.raises(ValueError, match="different parameters"):
        interpolate_states(a, {"w": b["w"]}, 0.5)
    with pytest.raises(ValueError, match="'w' has shape"):
        interpolate_states(a, {"w": torch.ones(3), "ids": b["ids"]}, 0.5)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_interpolated_checkpoint_lies_between_the_two(tiny_gliznet_dir, finetuned_dir, tmp_path,
                                                      alpha):
    out = interpolate_models(tiny_gliznet_dir, finetuned_dir, tmp_path / "mix", alpha, dtype="float32")
    start, _ = _load(tiny_gliznet_dir)
    tuned, _ = _load(finetuned_dir)
    mixed, tok = _load(out)
    s0, s1, sm = start.state_dict(), tuned.state_dict(), mixed.state_dict()
    for key, value in sm.items():
        if value.is_floating_point():
            assert torch.allclose(value, (1 - alpha) * s0[key] + alpha * s1[key], atol=1e-6), key
    # the endpoints predict exactly like the models they come from
    if alpha in (0.0, 1.0):
        ref = start if alpha == 0.0 else tuned
        assert mixed.predict_batch(TEXTS, LABELS, tok) == ref.predict_batch(TEXTS, LABELS, tok)


def test_main_interpolates_a_trained_pipeline(tiny_gliznet_dir, tmp_path, capsys):
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)}})
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"sports": float(i == 0),
                                                              "food": float(i == 1)}})
                for i, t in enumerate(TEXTS)]
    optimizer = nlp.initialize(lambda: examples, sgd=Adam(1e-2))
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(tmp_path / "pipeline")
    assert main(["interpolate", str(tiny_gliznet_dir), str(tmp_path / "pipeline"),
                 str(tmp_path / "mix"), "--alpha", "0.5", "--dtype", "float32"]) == 0
    assert "0.5 * fine-tune" in capsys.readouterr().out
    start, _ = _load(tiny_gliznet_dir)
    mixed, _ = _load(tmp_path / "mix")
    trained = spacy.load(tmp_path / "pipeline").get_pipe("gliznet_textcat").model
    from spacy_gliznet.pipeline.layer import ensure_loaded

    tuned = ensure_loaded(trained)
    s0, s1, sm = start.state_dict(), tuned.state_dict(), mixed.state_dict()
    moved = [k for k, v in s0.items() if v.is_floating_point() and not torch.equal(v, s1[k])]
    assert moved, "training did not change the model"
    for key in moved:
        assert torch.allclose(sm[key], 0.5 * s0[key] + 0.5 * s1[key], atol=1e-6), key


def test_a_model_with_another_layout_is_refused(tiny_gliznet_dir, tmp_path):
    model, tok = _load(tiny_gliznet_dir)
    other = GliZNetForSequenceClassification(
        model.config.__class__.from_dict({**model.config.to_dict(), "text_pooling": "mean"
                                          if model.config.text_pooling == "cls" else "cls"}),
        backbone=model.backbone, tokenizer=tok)
    other.save_pretrained(tmp_path / "other", tokenizer=tok)
    with pytest.raises(ValueError, match="differ in text_pooling"):
        interpolate_models(tiny_gliznet_dir, tmp_path / "other", tmp_path / "mix", 0.5)


def test_a_bare_backbone_as_start_is_refused(tiny_bert_dir, finetuned_dir, tmp_path):
    with pytest.raises(ValueError, match="not a GliZNet checkpoint"):
        interpolate_models(tiny_bert_dir, finetuned_dir, tmp_path / "mix", 0.5)
