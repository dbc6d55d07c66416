"""GliZNet training losses as pure torch functions, their registered config block, the
targets of a batch (:func:`loss_targets`) and the loss with its gradient
(:func:`loss_and_gradient`, what the component's ``get_loss`` returns).

All losses take label-level tensors merged per input (see outputs.ModelOutput):
``targets`` (N, K) holds 1.0 for positive labels and 0.0 for negative ones;
``target_mask`` (N, K) is True where a target is known. Positions outside the
mask (padding, labels with unknown targets) never contribute.
"""

from functools import partial
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ..errors import GliZNetInputError, GliZNetTrainingError
from .outputs import ModelOutput
from ..settings import LossSettings


def _zero(like: torch.Tensor) -> torch.Tensor:
    return like.sum() * 0.0


def supcon_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Supervised contrastive loss over the labels of each input.

    For every positive label p of an input: -log(exp(s_p) / sum over all known
    labels of exp(s)); averaged over the input's positives, then over inputs
    that have at least one positive. Inputs without positives give nothing.
    """
    mask = mask.bool()
    pos = (targets > 0.5) & mask
    has_pos = pos.any(dim=1)
    if not bool(has_pos.any()):
        return _zero(logits)
    masked = logits.masked_fill(~mask, float("-inf"))
    log_prob = masked - torch.logsumexp(masked, dim=1, keepdim=True)
    per_pos = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    n_pos = pos.sum(dim=1).clamp(min=1)
    per_input = -per_pos / n_pos
    return per_input[has_pos].mean()


def repulsion_loss(label_embeddings: torch.Tensor, mask: torch.Tensor,
                   threshold: float = 0.3) -> torch.Tensor:
    """Penalise different labels of the same input whose vectors are too close.

    Mean over ordered pairs (i != j) of known labels of relu(cos(l_i, l_j) - threshold).
    Inputs with fewer than two labels give nothing.
    """
    mask = mask.bool()
    unit = F.normalize(label_embeddings, dim=-1)
    sim = torch.einsum("nkd,njd->nkj", unit, unit)
    K = sim.shape[1]
    pair = mask.unsqueeze(2) & mask.unsqueeze(1)
    pair = pair & ~torch.eye(K, dtype=torch.bool, device=sim.device).unsqueeze(0)
    if not bool(pair.any()):
        return _zero(label_embeddings)
    return F.relu(sim[pair] - threshold).mean()


def bce_loss(bce_logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over every known label (mean)."""
    mask = mask.bool()
    if not bool(mask.any()):
        return _zero(bce_logits)
    return F.binary_cross_entropy_with_logits(bce_logits[mask], targets[mask].to(bce_logits.dtype))


def gliznet_loss(
    output: ModelOutput,
    targets: torch.Tensor,
    target_mask: Optional[torch.Tensor] = None,
    settings: LossSettings = LossSettings(),
) -> Tuple[torch.Tensor, Dict[str, float]]:
    """The weighted sum of the three losses (weights: ``settings``), and each
    unweighted part as a float."""
    supcon_weight, repulsion_weight = settings.supcon_weight, settings.repulsion_weight
    repulsion_threshold, bce_weight = settings.repulsion_threshold, settings.bce_weight
    mask = output.label_mask if target_mask is None else (target_mask.bool() & output.label_mask)
    targets = targets.to(output.logits.device, output.logits.dtype)
    parts = {}
    total = _zero(output.logits)
    if supcon_weight:
        parts["supcon"] = supcon_loss(output.logits, targets, mask)
        total = total + supcon_weight * parts["supcon"]
    if repulsion_weight:
        parts["repulsion"] = repulsion_loss(output.label_embeddings, output.label_mask, repulsion_threshold)
        total = total + repulsion_weight * parts["repulsion"]
    if bce_weight:
        parts["bce"] = bce_loss(output.bce_logits, targets, mask)
        total = total + bce_weight * parts["bce"]
    return total, {k: float(v.detach()) for k, v in parts.items()}


LossFunction = Callable[[ModelOutput, torch.Tensor, torch.Tensor], Tuple[torch.Tensor, Dict[str, float]]]


def make_gliznet_loss(
    supcon_weight: float = LossSettings.supcon_weight,
    repulsion_weight: float = LossSettings.repulsion_weight,
    repulsion_threshold: float = LossSettings.repulsion_threshold,
    bce_weight: float = LossSettings.bce_weight,
) -> LossFunction:
    """Registered as ``spacy_gliznet.GliZNetLoss.v1``.

    supcon_weight: weight of the supervised contrastive loss over labels.
    repulsion_weight: weight of the repulsion between labels of one input.
    repulsion_threshold: cosine above which two labels of one input repel.
    bce_weight: weight of the binary cross-entropy (own learned temperature).
    """
    settings = LossSettings(supcon_weight, repulsion_weight, repulsion_threshold, bce_weight)
    if settings.supcon_weight == 0 and settings.bce_weight == 0:
        raise GliZNetInputError("At least one of supcon_weight and bce_weight must be > 0")
    # a partial, not a closure: a pipeline holding it pickles (n_process with spawn)
    return partial(gliznet_loss, settings=settings)


def loss_targets(cats: Sequence[Mapping[str, float]], label_keys: Sequence[Sequence[str]],
                 shape: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``targets`` and ``target_mask`` (both ``shape``, (N inputs, K labels)) of a batch.

    cats: each input's gold values by label key (e.g. an example's reference cats).
    label_keys: each input's label keys in the order it was scored against them.
    Input i's j-th label is a positive (1.0) when ``cats[i]`` gives it 0.5 or more, else
    a negative (0.0; a label it does not mention is a sampled negative); positions
    past an input's labels are masked out.
    """
    targets = torch.zeros(shape, dtype=torch.float32)
    mask = torch.zeros(shape, dtype=torch.bool)
    for i, (gold, keys) in enumerate(zip(cats, label_keys)):
        for j, key in enumerate(keys):
            targets[i, j] = 1.0 if gold.get(key, 0.0) >= 0.5 else 0.0
            mask[i, j] = True
    return targets, mask


def loss_and_gradient(loss_fn: LossFunction, output: ModelOutput, targets: torch.Tensor,
                      target_mask: torch.Tensor, where: str = "gliznet"
                      ) -> Tuple[float, ModelOutput]:
    """The loss of a training forward pass ``output`` and its gradient with respect to
    each of its tensors that requires one (None for the others), by
    ``torch.autograd.grad``: nothing accumulates anywhere, so a second call gives the
    same. A loss that is not finite raises GliZNetTrainingError naming ``where``."""
    device = output.logits.device
    total, parts = loss_fn(output, targets.to(device), target_mask.to(device))
    if not torch.isfinite(total):
        raise GliZNetTrainingError(f"{where}: the training loss is not finite ({parts})")
    wrt = [t for t in output if t.requires_grad]
    grads = iter(torch.autograd.grad(total, wrt, allow_unused=True)) if wrt else iter(())
    return float(total.detach()), ModelOutput(*[next(grads) if t.requires_grad else None
                                                for t in output])
