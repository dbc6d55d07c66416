"""What the model returns (a leaf: imports nothing of the package but its errors)."""

from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import torch

from ..errors import GliZNetInputError

ACTIVATIONS = ("sigmoid", "softmax")


class ModelOutput(NamedTuple):
    """What the network's forward returns: scores of labels, merged per input.

    logits: (N, K) (cosine similarity - score_offset) times exp(logit_scale).
    bce_logits: (N, K) (cosine similarity - score_offset) times exp(bce_scale),
        for the BCE loss.
    label_embeddings: (N, K, D) unit-length projected label vectors.
    label_mask: (N, K) True where a label exists.
    """

    logits: torch.Tensor
    bce_logits: torch.Tensor
    label_embeddings: torch.Tensor
    label_mask: torch.Tensor


@dataclass
class ClassificationResult:
    """What :meth:`GliZNetForSequenceClassification.predict_example` returns.

    labels: (label, score) items, in the order the labels were given.
    text_truncated: whether the text was cut to fit the model.
    n_passes: encoder passes used (more than one when the labels needed them).
    """

    labels: List[Tuple[str, float]]
    text_truncated: bool = False
    n_passes: int = 1

    def as_dict(self) -> Dict[str, float]:
        return dict(self.labels)


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    """Sigmoid or softmax of a 1-d logits array, in float64 for stability."""
    x = np.asarray(logits, dtype=np.float64)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "softmax":
        e = np.exp(x - x.max()) if x.size else x
        return e / e.sum() if x.size else x
    raise GliZNetInputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
