"""Helpers shared by the test modules (import with ``from helpers import ...``)."""

from typing import Any, Optional

import spacy

ARCH = "spacy_gliznet.GliZNet.v1"
# Tiny multi-label training data for the tiny test vocabulary (tests/conftest.py).
TRAIN = [
    ("the team won the match", {"sports": 1.0, "food": 0.0, "music": 0.0}),
    ("pasta cooking is good", {"sports": 0.0, "food": 1.0, "music": 0.0}),
    ("a new song from the film", {"sports": 0.0, "food": 0.0, "music": 1.0}),
    ("the team had pasta and a song", {"sports": 1.0, "food": 1.0, "music": 1.0}),
    ("the goal was great", {"sports": 1.0, "food": 0.0, "music": 0.0}),
    ("hot food and cold pasta", {"sports": 0.0, "food": 1.0, "music": 0.0}),
]


def make_nlp(name: Optional[Any] = None, *, sentencizer: bool = False,
             model: Optional[dict] = None, **cfg: Any):
    """A blank English pipeline with ``gliznet_textcat`` on the model ``name``
    (None: the bundled default model), optionally after a sentencizer.

    model: extra settings of the model block (e.g. ``{"batch_size": 2}``).
    cfg: the component's settings (labels, multi_label, ...).
    """
    nlp = spacy.blank("en")
    if sentencizer:
        nlp.add_pipe("sentencizer")
    block = {"@architectures": ARCH, "name": None if name is None else str(name)}
    block.update(model or {})
    nlp.add_pipe("gliznet_textcat", config={"model": block, **cfg})
    return nlp


def saved_pipeline(name: Any, labels, path):
    """A pipeline with ``gliznet_textcat`` on the model ``name``, initialized and saved to ``path``."""
    nlp = make_nlp(name, labels=list(labels))
    nlp.initialize()
    nlp.to_disk(path)
    return path
