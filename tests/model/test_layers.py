"""The Thinc layer spacy_gliznet.GliZNet.v1: lazy loading, serialization, quantization."""

import numpy as np
import pytest
import torch
from spacy.util import registry

import spacy_gliznet.model.checkpoints as default_model
from spacy_gliznet import GliZNetLoadError
from spacy_gliznet.pipeline.layer import PlaceholderModule, build_gliznet_model, get_torch_model

X = [("the team won the match", ["sports", "food"]), ("pasta", ["food", "music", "cat"])]


def test_registered_architecture_is_the_builder():
    assert registry.architectures.get("spacy_gliznet.GliZNet.v1") is build_gliznet_model


def test_placeholder_until_first_use(tiny_gliznet_dir):
    model = build_gliznet_model(str(tiny_gliznet_dir))
    assert get_torch_model(model) is None
    assert isinstance(model.layers[0].shims[0]._model, PlaceholderModule)
    result = model.predict(X)
    assert get_torch_model(model) is not None
    assert [len(x) for x in result.logits] == [2, 3]
    assert [e.n_labels for e in result.encoded] == [2, 3]


def test_bytes_round_trip_needs_no_source(tiny_gliznet_dir):
    model = build_gliznet_model(str(tiny_gliznet_dir))
    model.initialize()
    data = model.to_bytes()
    other = build_gliznet_model("/does/not/exist")
    other.from_bytes(data)
    for a, b in zip(model.predict(X).logits, other.predict(X).logits):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_unloaded_layer_serializes_as_placeholder(tiny_gliznet_dir):
    data = build_gliznet_model(str(tiny_gliznet_dir)).to_bytes()
    again = build_gliznet_model(str(tiny_gliznet_dir)).from_bytes(data)
    assert get_torch_model(again) is None
    assert again.predict(X).logits[0].shape == (2,)  # loads lazily from name


def test_backprop_reaches_torch_parameters(tiny_gliznet_dir):
    model = build_gliznet_model(str(tiny_gliznet_dir))
    model.initialize()
    result, backprop = model.begin_update(X)
    out = result.output
    loss = (out.logits * out.label_mask).sum()
    loss.backward()
    backprop(type(out)(*[t.grad if t.requires_grad else None for t in out]))
    module = get_torch_model(model)
    assert module.label_projector[0].weight.grad is not None
    assert torch.isfinite(module.label_projector[0].weight.grad).all()


def test_quantized_prediction(tiny_gliznet_dir):
    plain = build_gliznet_model(str(tiny_gliznet_dir))
    quant = build_gliznet_model(str(tiny_gliznet_dir), quantize=True)
    a, b = plain.predict(X).logits, quant.predict(X).logits
    module = get_torch_model(quant)
    copy = module.quantized()
    assert copy is not module and copy is module.quantized()  # cached, by the model
    assert list(module.state_dict()) == list(get_torch_model(plain).state_dict())  # no submodule
    assert any("quantized" in type(m).__module__ for m in copy.modules())
    assert all(type(m) is torch.nn.Linear for m in module.modules() if "Linear" in type(m).__name__)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=0.3)
    quant.begin_update(X)  # an update invalidates the int8 copy
    assert module.quantized() is not copy


def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(default_model, "DEFAULT_MODEL_DIR", tmp_path / "none")
    with pytest.raises(GliZNetLoadError, match="no bundled default model"):
        build_gliznet_model(None).predict(X)


def test_the_architecture_takes_the_head_settings_by_their_one_list():
    import inspect

    from spacy_gliznet.model.config import HEAD_SETTINGS

    assert set(HEAD_SETTINGS) <= set(inspect.signature(build_gliznet_model).parameters)
    values = {k: f"value of {k}" for k in HEAD_SETTINGS}
    assert build_gliznet_model(None, **values).attrs["head"] == values
