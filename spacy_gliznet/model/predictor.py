"""The plain PyTorch prediction API: texts and labels in, label scores out.

:class:`GliZNetPredictor` is the network of modeling.py plus what a user calls
to classify with it: the encoder for its tokenizer (:meth:`get_encoder`), the
batch for its device (:meth:`collate`), logits of encoded inputs
(:meth:`predict_encoded`), texts and labels to :class:`ClassificationResult`
(:meth:`predict_example`, :meth:`predict_batch`), and the int8 copy that the
Thinc layer predicts with when ``quantize`` is set (:meth:`quantized`).
Loading and saving come with its subclass
:class:`spacy_gliznet.GliZNetForSequenceClassification` (checkpoints.py).
Usable without spaCy::

    from spacy_gliznet import GliZNetForSequenceClassification
    model, tokenizer = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(path)
    model.predict_example("The match ended 2-1", ["sports", "politics"]).labels
"""

import warnings
from contextlib import contextmanager
from copy import deepcopy
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from .collation import Batch, IsolatedBatch, collate_inputs
from .config import GliZNetConfig, check_batch_size, check_batch_tokens, resolve_max_length
from .encoding import EncodedInput, GliZNetEncoder, warn_unread
from ..errors import GliZNetInputError, TruncationWarning
from ..labels import validate_labels
from .network import GliZNetModel
from .outputs import ACTIVATIONS, ClassificationResult, ModelOutput, activate


class Int8Slot:
    """Where a model keeps its int8 copy (see :meth:`GliZNetPredictor.quantized`):
    a plain object, so the copy is no submodule of the model (not in its
    ``state_dict``, not moved by ``.to``), and never copied or pickled with it."""

    def __init__(self) -> None:
        self.module: Optional[nn.Module] = None

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Int8Slot":
        return Int8Slot()

    def __getstate__(self) -> Dict[str, Any]:
        return {"module": None}


class GliZNetPredictor(GliZNetModel):
    """The GliZNet network with the prediction API (arguments as :class:`GliZNetModel`)."""

    def __init__(self, config: GliZNetConfig, backbone: Optional[nn.Module] = None,
                 tokenizer=None) -> None:
        super().__init__(config, backbone=backbone, tokenizer=tokenizer)
        self._encoder: Optional[GliZNetEncoder] = None
        self._int8 = Int8Slot()

    def get_encoder(self, tokenizer=None) -> GliZNetEncoder:
        """The encoder for ``tokenizer`` (default: the model's own)."""
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is None:
            raise GliZNetInputError("No tokenizer: pass one, or load the model with from_pretrained_with_tokenizer")
        if self._encoder is None or self._encoder.tokenizer is not tokenizer:
            self._encoder = GliZNetEncoder(
                tokenizer,
                max_length=resolve_max_length(self.config, self.backbone.config, tokenizer),
                template=self.config.template,
                lab_token=self.config.lab_token,
                separate_blocks=self.config.label_attention == "isolated",
            )
        return self._encoder

    def collate(self, encoded: Sequence[EncodedInput]) -> Union[Batch, IsolatedBatch]:
        """The batch :meth:`forward` reads for ``encoded``, on the model's device."""
        pad = self.get_encoder().pad_id if self.tokenizer is not None else 0
        return collate_inputs(encoded, pad, self.config.label_attention,
                              self.config.label_pooling, self.device)

    def predict_encoded(self, encoded: Sequence[EncodedInput], batch_size: int = 32,
                        mixed_precision: bool = False,
                        batch_tokens: Optional[int] = None) -> List[np.ndarray]:
        """Logits (one float32 array per input, one value per label) for encoded
        inputs: :meth:`forward` in evaluation mode, without gradients.

        batch_size: sequences per backbone call (sorted by length first) where no
            token budget applies.
        mixed_precision: float16 autocast on CUDA (ignored on CPU).
        batch_tokens: padded tokens per backbone call (None: the device's default,
            see ``config.resolve_batch_tokens``; 0: none).
        """
        check_batch_size(batch_size)
        check_batch_tokens(batch_tokens)
        batch = self.collate(encoded)
        use_amp = bool(mixed_precision) and self.device.type == "cuda"
        with self.inference(), torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
            output = self(batch, batch_size=batch_size, batch_tokens=batch_tokens)
        return logits_per_input(output, encoded)

    @contextmanager
    def inference(self) -> Iterator[None]:
        """Evaluation mode under torch.inference_mode; the training mode is restored after."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)

    def _predict(self, texts: Sequence[str], labels_list: Sequence[Sequence[str]], tokenizer,
                 activation: str, batch_size: int,
                 batch_tokens: Optional[int] = None) -> List[ClassificationResult]:
        if activation not in ACTIVATIONS:
            raise GliZNetInputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        labels_list = [validate_labels(labels) for labels in labels_list]
        encoder = self.get_encoder(tokenizer)
        encoded = encoder.encode(list(texts), labels_list)
        warn_unread(encoder.tokenizer, list(texts), "GliZNet", stacklevel=4)
        logits = self.predict_encoded(encoded, batch_size=batch_size, batch_tokens=batch_tokens)
        results = []
        for labels, enc, lg in zip(labels_list, encoded, logits):
            scores = activate(lg, activation)
            if enc.text_truncated:
                warn_truncation(enc)
            results.append(ClassificationResult(
                list(zip(labels, (float(s) for s in scores))), enc.text_truncated, enc.n_passes
            ))
        return results

    def predict_example(self, text: str, labels: Sequence[str], tokenizer=None,
                        activation: str = "sigmoid") -> ClassificationResult:
        """Score one text against its labels.

        text: the text to classify.
        labels: candidate labels (natural-language strings).
        tokenizer: the model's tokenizer (default: the one loaded with it).
        activation: "sigmoid" (independent scores, multi-label) or "softmax"
            (scores sum to one, single-label).
        """
        return self._predict([text], [labels], tokenizer, activation, 1)[0]

    def predict_batch(self, texts: Sequence[str], labels_list: Sequence[Sequence[str]],
                      tokenizer=None, activation: str = "sigmoid",
                      batch_size: int = 32,
                      batch_tokens: Optional[int] = None) -> List[ClassificationResult]:
        """Score many texts; ``labels_list`` holds one label list per text, or a
        single list of strings shared by all texts. ``batch_size`` and
        ``batch_tokens``: as in :meth:`predict_encoded`."""
        if isinstance(texts, (str, bytes)):
            raise GliZNetInputError(
                "predict_batch takes a list of texts, not a single string; "
                "use predict_example for one text"
            )
        if labels_list and all(isinstance(x, str) for x in labels_list):
            labels_list = [list(labels_list)] * len(texts)
        return self._predict(texts, labels_list, tokenizer, activation, batch_size, batch_tokens)

    def quantized(self) -> "GliZNetPredictor":
        """A copy of this model with int8 dynamic quantization of its Linear layers,
        made on first use and kept until :meth:`drop_quantized`."""
        if self._int8.module is None:
            tokenizer, self.tokenizer = self.tokenizer, None
            try:
                copy = deepcopy(self)
            finally:
                self.tokenizer = tokenizer
            copy.tokenizer = tokenizer
            copy._encoder = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's deprecation notice for quantized tensors
                self._int8.module = torch.ao.quantization.quantize_dynamic(
                    copy.eval(), {nn.Linear}, dtype=torch.qint8)
        return self._int8.module

    def drop_quantized(self) -> None:
        """Forget the int8 copy (the weights are about to change)."""
        self._int8.module = None


def logits_per_input(output: ModelOutput, encoded: Sequence[EncodedInput]) -> List[np.ndarray]:
    """The merged (N, K) logits as one float32 array per input, of its own length."""
    logits = output.logits.detach().float().cpu().numpy()
    return [logits[i, : enc.n_labels].copy() for i, enc in enumerate(encoded)]


def warn_truncation(enc: EncodedInput) -> None:
    warnings.warn(
        f"Text of {enc.n_text_tokens} tokens was cut to {enc.n_text_tokens_used} tokens "
        f"to fit the model's maximum length; all {enc.n_labels} labels were scored "
        f"in {enc.n_passes} pass(es).",
        TruncationWarning,
        stacklevel=3,
    )
