"""Shared fixtures: tiny random backbones (BERT and ModernBERT) saved as
Hugging Face directories, so no test needs the network or a real model, and the
one pipeline fixture factory (``nlp`` and ``make_pipeline``)."""

from pathlib import Path

import pytest

import spacy_gliznet  # noqa: F401  (registers the factory without entry points)
from helpers import DATA, ROOT, make_nlp, make_tokenizer

SHARED = ROOT.parent / "shared"
REFERENCE_DIR = DATA / "gliznet_reference_bert"  # from ../shared/fixtures

@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A bare random BERT backbone (hidden 32, 2 layers) with its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny_bert")
    tok = make_tokenizer(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tiny_modernbert_dir(tmp_path_factory) -> Path:
    """A bare random ModernBERT backbone with spare embedding rows."""
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    directory = tmp_path_factory.mktemp("tiny_modernbert")
    tok = make_tokenizer(directory)
    torch.manual_seed(0)
    config = ModernBertConfig(
        vocab_size=len(tok) + 16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, global_attn_every_n_layers=1,
        local_attention=16, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
    )
    ModernBertModel(config).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="session")
def tiny_gliznet_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """A GliZNet checkpoint (this project's layout) on the tiny BERT backbone."""
    import torch
    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(0)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, projected_dim=16)
    directory = tmp_path_factory.mktemp("tiny_gliznet")
    model.save_pretrained(directory, tokenizer=tok)
    return directory


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip, saying so, without it."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"needs ../shared/data, which is not at {data}")
    return data


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference fixture not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models run many times faster on one torch thread, above all when the
    machine's two cores are shared with other jobs."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def api_model(tiny_gliznet_dir):
    """The tiny GliZNet checkpoint loaded through the plain PyTorch API."""
    from spacy_gliznet import GliZNetForSequenceClassification

    return GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tiny_gliznet_dir)[0]


@pytest.fixture(scope="module")
def nlp(request, tiny_gliznet_dir):
    """The test module's pipeline: ``gliznet_textcat`` on the tiny checkpoint with the
    module's ``NLP`` settings (``make_nlp`` keywords; default: none), shared by the module."""
    return make_nlp(tiny_gliznet_dir, **getattr(request.module, "NLP", {}))


@pytest.fixture
def make_pipeline(request, tiny_gliznet_dir):
    """A factory of fresh pipelines for tests that change one: the module's ``NLP``
    settings with per-call overrides (``checkpoint``: another model directory)."""
    def make(checkpoint=None, **overrides):
        settings = {**getattr(request.module, "NLP", {}), **overrides}
        return make_nlp(tiny_gliznet_dir if checkpoint is None else checkpoint, **settings)
    return make


@pytest.fixture(scope="session")
def tiny_isolated_gliznet_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """A GliZNet checkpoint on the tiny BERT whose labels are encoded apart from the
    text (label_attention "isolated", like the bundled model)."""
    import torch
    from spacy_gliznet import GliZNetForSequenceClassification

    torch.manual_seed(0)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_bert_dir, projected_dim=16, label_attention="isolated", text_pooling="mean")
    directory = tmp_path_factory.mktemp("tiny_isolated_gliznet")
    model.save_pretrained(directory, tokenizer=tok)
    return directory
