"""Start a GliZNet checkpoint from a bare backbone whose untrained scores are
the backbone's own cosine similarity (the starting point of the zero-shot recipe).

With ``label_attention="isolated"``, ``text_pooling="mean"``, identity projectors
and no LayerNorm, the text is encoded as ``[CLS] text`` and each label as
``[LAB] label``, each seeing only itself. Copying the ``[CLS]`` embedding into the
new ``[LAB]`` row makes each label read like ``[CLS] label``, i.e. close to the
backbone's own sentence embedding of the label.
"""

from pathlib import Path
from typing import Any, Optional, Union

import torch

from ..atomic import atomic_folder, check_output
from ..model.checkpoints import GliZNetForSequenceClassification


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
