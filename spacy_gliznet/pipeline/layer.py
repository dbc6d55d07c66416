"""The Thinc layer that wraps the GliZNet torch model (``spacy_gliznet.GliZNet.v1``).

The layer maps ``List[Tuple[str, List[str]]]`` (a text and the labels to score)
to a :class:`LayerOutput`. Training and prediction take one path: the inputs
are encoded and collated into one batch (``GliZNetPredictor.collate``), which goes
through Thinc's ``PyTorchWrapper_v3`` into the model's forward; the wrapper runs
it with gradients (training) or without (prediction). The wrapped module is a
placeholder at construction, so the node tree is the same whether or not weights
exist; the real model is loaded from ``name`` by ``initialize`` or, for
zero-shot use, lazily on the first call; ``from_bytes``/``from_disk`` replace the
placeholder with the serialized checkpoint (config, safetensors weights and
tokenizer files), with no network and no access to ``name``.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v3, get_torch_default_device
from torch import nn

from ..model.checkpoints import default_model_path, load_model, model_from_bytes, model_to_bytes
from ..model.config import HEAD_SETTINGS, check_batch_size, check_batch_tokens, check_dropout
from ..model.encoding import EncodedInput
from ..errors import GliZNetInputError
from ..model.encoding import warn_unread
from ..settings import validate_bool
from ..model.outputs import ModelOutput
from ..model.predictor import GliZNetPredictor, logits_per_input

#: (text, labels), or (text, labels, the text's token ids or None)
GliZNetInput = Union[Tuple[str, Sequence[str]], Tuple[str, Sequence[str], Optional[Sequence[int]]]]


@dataclass
class LayerOutput:
    """What the Thinc layer returns (the network's own output is a :class:`ModelOutput`).

    encoded: the encoding of each input (truncation and pass information).
    logits: in prediction, one float32 array of label logits per input.
    output: in training, the merged torch output (leaf tensors for the loss).
    label_keys: in training, each input's label keys (``doc.cats`` keys) in the order
        of its labels, set by the component so that ``get_loss(examples, scores)``
        builds its targets from what it is given (None: the examples' own cats).
    """

    encoded: List[EncodedInput]
    logits: Optional[List[np.ndarray]] = None
    output: Optional[ModelOutput] = None
    label_keys: Optional[List[List[str]]] = None


class PlaceholderModule(nn.Module):
    """Stands in for the GliZNet module until weights are loaded."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("The GliZNet model has not been loaded")


def build_gliznet_model(
    name: Optional[str] = None,
    max_length: Optional[int] = None,
    text_pooling: Optional[str] = None,
    label_pooling: Optional[str] = None,
    projected_dim: Optional[int] = None,
    use_projection_layernorm: Optional[bool] = None,
    projector_init: Optional[str] = None,
    logit_scale_init: Optional[float] = None,
    dropout: Optional[float] = None,
    batch_size: int = 32,
    mixed_precision: bool = False,
    quantize: bool = False,
    batch_tokens: Optional[int] = None,
) -> Model[List[GliZNetInput], LayerOutput]:
    """Registered as ``spacy_gliznet.GliZNet.v1``.

    name: Hugging Face Hub id or local directory of a GliZNet checkpoint (this
        project's or the original implementation's) or of a bare encoder
        backbone; None uses the default model bundled with the package.
    max_length: maximum sequence length in tokens; None for the model's own.
    text_pooling, label_pooling, projected_dim, use_projection_layernorm,
    projector_init, logit_scale_init, dropout: heads of a new model started
        from a bare backbone (None: GliZNetConfig's defaults). A checkpoint
        keeps its own, and a value that differs from it is an error. In
        ``spacy train`` the dropout rate is ``[training] dropout``.
    batch_size: sequences per backbone call (sorted by length first) where no
        token budget applies (on a CPU, by default).
    batch_tokens: padded tokens per backbone call (sequences sorted by length, then
        cut into calls of at most this many rows x longest length). None: the
        device's default, 32,768 on a GPU (``model.config.DEFAULT_GPU_BATCH_TOKENS``)
        and none on a CPU, where ``batch_size`` applies; 0: none on every device.
        Scores do not depend on it.
    mixed_precision: float16 autocast on CUDA (prediction and training).
    quantize: on CPU, predict with a copy of the model whose Linear layers are
        dynamically quantized to int8 (faster, slightly different scores);
        training and saving use the float32 model, and an update drops the copy.
    """
    head = {k: v for k, v in locals().items() if k in HEAD_SETTINGS}  # first: the arguments only
    check_batch_size(batch_size)
    check_batch_tokens(batch_tokens)
    mixed_precision = validate_bool(mixed_precision, "mixed_precision")
    quantize = validate_bool(quantize, "quantize")
    wrapper = PyTorchWrapper_v3(
        PlaceholderModule(),
        convert_inputs=_convert_inputs,
        convert_outputs=_convert_outputs,
        mixed_precision=mixed_precision,
        serialize_model=_serialize,
        deserialize_model=_deserialize,
    )
    return Model(
        "gliznet",
        forward,
        init=init,
        layers=[wrapper],
        attrs={
            "name": name,
            "max_length": max_length,
            "head": head,
            "batch_size": batch_size,
            "batch_tokens": batch_tokens,
            "mixed_precision": mixed_precision,
            "quantize": quantize,
            # set by the component from spaCy's `drop` (set_dropout_rate); None: the model's own
            "dropout_rate": None,
        },
    )


def get_torch_model(model: Model) -> Optional[GliZNetPredictor]:
    """The loaded torch module of a GliZNet layer, or None before loading."""
    module = model.layers[0].shims[0]._model
    return None if isinstance(module, PlaceholderModule) else module


def set_torch_model(model: Model, module: GliZNetPredictor) -> None:
    """Put ``module`` into the layer (on Thinc's current device)."""
    if not isinstance(module, GliZNetPredictor):
        raise TypeError(f"Expected a GliZNet model, got {type(module).__name__}")
    max_length = model.attrs.get("max_length")
    if max_length:
        module.config.max_length = int(max_length)
        module._encoder = None
    module.to(get_torch_default_device())
    module.clear_label_cache()
    # Same private attribute that spacy-transformers sets to swap its model in.
    model.layers[0].shims[0]._model = module


def ensure_loaded(model: Model) -> GliZNetPredictor:
    """Load the model from ``name`` if that has not happened yet."""
    module = get_torch_model(model)
    if module is None:
        name = model.attrs["name"]
        if name is None:
            name = str(default_model_path())
        module, _ = load_model(name, max_length=model.attrs.get("max_length"), **model.attrs["head"])
        set_torch_model(model, module)
    return module


def init(model: Model, X: Optional[List[GliZNetInput]] = None, Y: Any = None) -> None:
    ensure_loaded(model).clear_label_cache()


def as_inputs(model: Model, X: Sequence[Any]) -> List[GliZNetInput]:
    """The layer reads ``(text, labels)`` pairs, or ``(text, labels, token_ids)``
    triples whose text the caller tokenized already (``planning.ScoringPlan.layer_inputs``;
    ids None: not known). A Doc (what ``spacy debug model`` passes) is read as its text
    with ``doc._.gliznet_labels``, else its ``cats`` labels, else the labels the
    component had at ``initialize`` (``model.attrs["labels"]``)."""
    out = []
    for x in X:
        if not (hasattr(x, "text") and hasattr(x, "cats")):  # a (text, labels[, ids]) tuple
            if isinstance(x, str) or not hasattr(x, "__len__") or len(x) not in (2, 3):
                raise GliZNetInputError(
                    f"The GliZNet layer reads (text, labels) pairs or Docs, got "
                    f"{type(x).__name__}; the component builds the pairs for you")
            out.append(x)
            continue
        own = x._.gliznet_labels if x.has_extension("gliznet_labels") else None
        labels = list(own or x.cats or model.attrs.get("labels") or [])
        if not labels:
            raise GliZNetInputError(
                "The GliZNet layer got a Doc with no labels to score: set doc._.gliznet_labels "
                "or doc.cats, or give the component labels before initialize")
        out.append((x.text, [lab if isinstance(lab, str) else lab[0] for lab in labels]))
    return out


def forward(model: Model, X: List[GliZNetInput], is_train: bool) -> Tuple[LayerOutput, Callable]:
    module = ensure_loaded(model)
    X = as_inputs(model, X)
    known = [x[2] if len(x) == 3 else None for x in X]
    encoded = module.get_encoder().encode(
        [x[0] for x in X], [x[1] if isinstance(x[1], list) else list(x[1]) for x in X],
        text_ids=known if any(ids is not None for ids in known) else None)
    batch = module.collate(encoded)
    batch_size = model.attrs["batch_size"]
    batch_tokens = model.attrs.get("batch_tokens")  # absent in layers pickled before it existed
    if not is_train:
        if model.attrs.get("quantize") and module.device.type == "cpu":
            int8 = module.quantized()
            with int8.inference():
                output = int8(batch, batch_size=batch_size, batch_tokens=batch_tokens)
        else:
            output = model.layers[0].predict((batch, batch_size, batch_tokens))
        return LayerOutput(encoded, logits=logits_per_input(output, encoded)), lambda d: []
    module.drop_quantized()  # weights are about to change
    module.clear_label_cache()
    warn_unread(module.get_encoder().tokenizer, [x[0] for x in X], "training", stacklevel=5)
    with dropout_rate(module, model.attrs.get("dropout_rate")):
        output, backprop_layer = model.layers[0]((batch, batch_size, batch_tokens), is_train)

    def backprop(d_output: ModelOutput) -> List[Any]:
        backprop_layer(d_output)
        return []

    return LayerOutput(encoded, output=output), backprop


# Float attributes through which Hugging Face attention layers read their
# attention-probability dropout (BERT's SDPA path, ModernBERT).
ATTENTION_DROPOUT_ATTRS = ("dropout_prob", "attention_dropout")


@contextmanager
def dropout_rate(module: nn.Module, rate: Optional[float]) -> Iterator[None]:
    """Every dropout of ``module`` at ``rate`` for one forward, the head's and the
    backbone's (``nn.Dropout`` layers and the attention dropout rates of Hugging
    Face attention layers); restored after. None leaves them as configured."""
    if rate is None:
        yield
        return
    check_dropout(rate)
    saved = []
    for sub in module.modules():
        if isinstance(sub, nn.Dropout):
            saved.append((sub, "p", sub.p))
            sub.p = float(rate)
        for attr in ATTENTION_DROPOUT_ATTRS:
            value = getattr(sub, attr, None)
            if isinstance(value, float):
                saved.append((sub, attr, value))
                setattr(sub, attr, float(rate))
    try:
        yield
    finally:
        for sub, attr, value in saved:
            setattr(sub, attr, value)


def _convert_inputs(model: Model, X, is_train: bool):
    batch, batch_size, batch_tokens = X  # the batch, and the sequences or tokens per backbone call
    return (ArgsKwargs(args=(batch,), kwargs={"batch_size": batch_size, "batch_tokens": batch_tokens}),
            lambda d: X)


def _convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, output = inputs_outputs
    if not is_train:
        return output, lambda d: ArgsKwargs(args=(), kwargs={})
    # Leaf copies: the loss runs backward on these, and their grads flow back
    # into the torch graph through torch.autograd.backward in the shim.
    leaves = ModelOutput(
        *[t.detach().requires_grad_(t.is_floating_point()) for t in output]
    )

    def get_d_output(d_output: ModelOutput) -> ArgsKwargs:
        tensors, grads = [], []
        for y, dy in zip(output, d_output):
            if dy is not None and y.requires_grad:
                tensors.append(y)
                grads.append(dy)
        return ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": grads})

    return leaves, get_d_output


def _serialize(module: nn.Module) -> bytes:
    if isinstance(module, PlaceholderModule):
        return b""
    return model_to_bytes(module)


def _deserialize(module: nn.Module, data: bytes, device: torch.device) -> nn.Module:
    if not data:
        return module
    return model_from_bytes(data).to(device)
