import math

import pytest
import torch

from spacy_gliznet.model.losses import bce_loss, gliznet_loss, make_gliznet_loss, repulsion_loss, supcon_loss
from spacy_gliznet.model.outputs import ModelOutput


def test_supcon_hand_computed():
    logits = torch.tensor([[2.0, 0.0, 1.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    z = math.log(math.exp(2) + math.exp(0) + math.exp(1))
    expected = -((2 - z) + (1 - z)) / 2
    assert supcon_loss(logits, targets, mask).item() == pytest.approx(expected, abs=1e-6)


def test_supcon_ignores_masked_labels_and_inputs_without_positives():
    logits = torch.tensor([[2.0, 5.0, 1.0], [1.0, 2.0, 3.0]])
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, False, True], [True, True, True]])
    expected = -(2 - math.log(math.exp(2) + math.exp(1)))
    assert supcon_loss(logits, targets, mask).item() == pytest.approx(expected, abs=1e-6)


def test_repulsion_hand_computed():
    emb = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    c = 1 / math.sqrt(2)
    # ordered pairs: (0,1)=c, (0,2)=0, (1,2)=c, each twice
    expected = (2 * (c - 0.3) + 2 * (c - 0.3)) / 6
    assert repulsion_loss(emb, mask, 0.3).item() == pytest.approx(expected, abs=1e-6)


def test_bce_hand_computed():
    logits = torch.tensor([[0.0, 2.0]])
    targets = torch.tensor([[1.0, 0.0]])
    mask = torch.tensor([[True, True]])
    expected = (math.log(2) + math.log(1 + math.exp(2))) / 2
    assert bce_loss(logits, targets, mask).item() == pytest.approx(expected, abs=1e-6)


def _output(logits, emb):
    mask = torch.ones(logits.shape, dtype=torch.bool)
    return ModelOutput(logits, logits * 2, emb, mask)


@pytest.mark.parametrize("targets", [
    [[0.0, 0.0, 0.0]],  # no positive
    [[1.0, 1.0, 1.0]],  # no negative
])
def test_gradients_finite_without_positives_or_negatives(targets):
    logits = torch.randn(1, 3, requires_grad=True)
    emb = torch.randn(1, 3, 4, requires_grad=True)
    total, parts = gliznet_loss(_output(logits, emb), torch.tensor(targets))
    total.backward()
    assert torch.isfinite(total)
    assert torch.isfinite(logits.grad).all() and torch.isfinite(emb.grad).all()


def test_gradients_finite_with_a_single_label():
    logits = torch.randn(1, 1, requires_grad=True)
    emb = torch.randn(1, 1, 4, requires_grad=True)
    total, parts = gliznet_loss(_output(logits, emb), torch.tensor([[1.0]]))
    total.backward()
    assert parts["repulsion"] == 0.0 and parts["supcon"] == pytest.approx(0.0, abs=1e-7)
    assert torch.isfinite(logits.grad).all() and torch.isfinite(emb.grad).all()


def test_weights_combine_parts():
    logits = torch.tensor([[1.0, -1.0]])
    emb = torch.tensor([[[1.0, 0.0], [0.9, 0.1]]])
    out = _output(logits, emb)
    t = torch.tensor([[1.0, 0.0]])
    _, parts = gliznet_loss(out, t)
    total, _ = make_gliznet_loss(supcon_weight=2.0, repulsion_weight=0.5, bce_weight=0.0)(out, t, None)
    assert total.item() == pytest.approx(2 * parts["supcon"] + 0.5 * parts["repulsion"], abs=1e-6)


def test_loss_block_rejects_bad_weights():
    with pytest.raises(ValueError, match="supcon_weight"):
        make_gliznet_loss(supcon_weight=-1)
    with pytest.raises(ValueError, match="At least one"):
        make_gliznet_loss(supcon_weight=0, bce_weight=0)


def test_loss_targets_follow_each_inputs_label_order():
    from spacy_gliznet.model.losses import loss_targets

    cats = [{"a": 1.0, "b": 0.0}, {"c": 0.6}]
    targets, mask = loss_targets(cats, [["b", "a", "x"], ["c"]], (2, 3))
    assert targets.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # x: a sampled negative
    assert mask.tolist() == [[True, True, True], [True, False, False]]  # past its labels: out


def test_loss_and_gradient_is_autograd_of_the_loss_and_refuses_a_non_finite_loss():
    from spacy_gliznet.errors import GliZNetTrainingError
    from spacy_gliznet.model.losses import loss_and_gradient

    logits = torch.tensor([[1.0, -1.0, 0.5]], requires_grad=True)
    emb = torch.randn(1, 3, 4, requires_grad=True)
    out = _output(logits, emb)
    targets, mask = torch.tensor([[1.0, 0.0, 0.0]]), torch.ones(1, 3, dtype=torch.bool)
    loss_fn = make_gliznet_loss()
    total, _ = loss_fn(out, targets, mask)
    want = torch.autograd.grad(total, [logits, emb], retain_graph=True)
    loss, grads = loss_and_gradient(loss_fn, out, targets, mask)
    assert loss == pytest.approx(total.item())
    assert torch.allclose(grads.logits, want[0]) and torch.allclose(grads.label_embeddings, want[1])
    assert grads.label_mask is None  # a tensor without a gradient gets None
    bad = _output(torch.tensor([[float("nan"), 0.0, 0.0]], requires_grad=True), emb)
    with pytest.raises(GliZNetTrainingError, match="pipe: the training loss is not finite") as info:
        loss_and_gradient(loss_fn, bad, targets, mask, "pipe")
    assert isinstance(info.value, ValueError)
