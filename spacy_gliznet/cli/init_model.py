"""Start a GliZNet checkpoint from a bare backbone whose untrained scores are
the backbone's own cosine similarity (the starting point of the zero-shot recipe).

With ``label_attention="isolated"``, ``text_pooling="mean"``, identity projectors
and no LayerNorm, the text is encoded as ``[CLS] text`` and each label as
``[LAB] label``, each seeing only itself. Copying the ``[CLS]`` embedding into the
new ``[LAB]`` row makes each label read like ``[CLS] label``, i.e. close to the
backbone's own sentence embedding of the label.
"""

import argparse
from pathlib import Path
from typing import Any, Optional, Union

import torch

from ..atomic import atomic_folder, check_output
from ..model.checkpoints import GliZNetForSequenceClassification
from ._common import add_overwrite_option


def init_model(
    backbone: str,
    output: Union[str, Path],
    *,
    label_attention: str = "isolated",
    lab_from_cls: bool = True,
    logit_scale_init: float = 2.0,
    max_length: Optional[int] = 256,
    dropout: float = 0.1,
    overwrite: bool = False,
    **overrides: Any,
) -> Path:
    """Save a GliZNet start checkpoint of ``backbone`` to ``output`` (see the module
    docstring).

    backbone: a bare encoder (directory or Hub id).
    label_attention: "isolated" (texts and labels encoded apart), "text" or "full".
    lab_from_cls: start the new ``[LAB]`` token's embedding from ``[CLS]``'s.
    logit_scale_init: the starting log-temperature of the scores.
    max_length: the most tokens per sequence (None: the backbone's own).
    dropout: dropout rate of the heads.
    overrides: other ``GliZNetConfig`` fields.
    """
    check_output(output, inputs=[backbone], overwrite=overwrite)
    settings = dict(
        label_attention=label_attention, text_pooling="mean", label_pooling="mean",
        projected_dim=None, use_projection_layernorm=False, projector_init="identity",
        logit_scale_init=logit_scale_init, max_length=max_length, dropout=dropout,
    )
    settings.update(overrides)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(backbone, **settings)
    if lab_from_cls:
        emb = model.backbone.get_input_embeddings().weight
        with torch.no_grad():
            emb[tok.convert_tokens_to_ids(model.config.lab_token)] = emb[tok.cls_token_id]
    with atomic_folder(output, overwrite) as tmp:
        model.save_pretrained(tmp, tokenizer=tok)
    return Path(output)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``init-model`` (its options and its runner) with ``python -m spacy_gliznet``."""
    p = subparsers.add_parser("init-model", help="a GliZNet start checkpoint from a bare backbone")
    p.add_argument("backbone")
    p.add_argument("output")
    p.add_argument("--label-attention", default="isolated", choices=["full", "isolated", "text"])
    p.add_argument("--logit-scale-init", type=float, default=2.0)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--no-lab-from-cls", action="store_true")
    add_overwrite_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run ``init-model`` from parsed arguments."""
    out = init_model(args.backbone, args.output, label_attention=args.label_attention,
                     lab_from_cls=not args.no_lab_from_cls,
                     logit_scale_init=args.logit_scale_init, max_length=args.max_length,
                     overwrite=args.overwrite)
    print(f"Saved a start checkpoint to {out}")
