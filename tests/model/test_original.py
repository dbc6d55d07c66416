"""Checkpoints of the original GliZNet implementation: import with numeric parity,
refusal of unsupported variants, export back to that layout, and persistence.

The fixture ``data/gliznet_reference_bert`` (a copy of ../shared/fixtures; see
data/gliznet_reference_bert.README.md) was
written by the original code, with ``expected.json`` holding its scores.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Union

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import spacy_gliznet  # noqa: F401  (registers the factory and architecture)
from spacy_gliznet import GliZNetForSequenceClassification, GliZNetLoadError, TruncationWarning
from spacy_gliznet.model.losses import gliznet_loss
from spacy_gliznet.model.config import CONFIG_NAME, LAB_TOKEN, WEIGHTS_NAME
from spacy_gliznet.model.network import GliZNetModel
from spacy_gliznet.model.original import SCALAR_MAP, SUPPORTED, original_weight_name
from spacy_gliznet.settings import LossSettings

from helpers import DATA, make_nlp

TOL = 1e-6
REFERENCE_DIR = DATA / "gliznet_reference_bert"
EXPECTED_PATH = REFERENCE_DIR / "expected.json"
CASES = json.loads(EXPECTED_PATH.read_text(encoding="utf8"))["cases"] if EXPECTED_PATH.is_file() else []
KEPT = [c for c in CASES if not c["dropped_labels"]]
DROPPED = [c for c in CASES if c["dropped_labels"]]
RECORDED = [c for c in CASES if "input_ids" in c]


# -- the original layout written back (test-only: the package imports it, never writes it) --
# The original's config.json also carries its training loss weights; this project keeps
# them in the component's loss block, so a written checkpoint holds the defaults of both.
_LOSS = LossSettings()
ORIGINAL_LOSS_SETTINGS = {"supcon_loss_weight": _LOSS.supcon_weight,
                          "label_repulsion_weight": _LOSS.repulsion_weight,
                          "repulsion_threshold": _LOSS.repulsion_threshold,
                          "bce_loss_weight": _LOSS.bce_weight}


def save_original_checkpoint(model: GliZNetModel,
                              directory: Union[str, Path], tokenizer=None) -> Path:
    """Write ``model`` in the original implementation's checkpoint layout.

    The layout can only express ``template="reference"`` with ``text_pooling="cls"``,
    ``label_pooling="mean"``, cosine scoring and the ``[LAB]`` token; anything
    else raises ValueError before a file is written. ``config.max_length``, if
    set, is stored as the tokenizer's ``model_max_length`` (the original's
    sequence budget). The backbone config is nested with only its non-default
    values (``to_diff_dict``); weights are written with safetensors (0-d
    temperature and BCE scale). Returns the directory.
    """
    from safetensors.torch import save_file
    import transformers

    if not isinstance(model, GliZNetModel):
        raise TypeError(f"Expected a GliZNet model, got {type(model).__name__}")
    cfg = model.config
    problems = []
    if cfg.template != "reference":
        problems.append(f"template={cfg.template!r} (the original reads "
                        "'[CLS] text [SEP] l1 [LAB] ... lK [LAB]', template='reference')")
    if cfg.text_pooling != "cls":
        problems.append(f"text_pooling={cfg.text_pooling!r} (the original uses the [CLS] vector)")
    if cfg.label_pooling != "mean":
        problems.append(f"label_pooling={cfg.label_pooling!r} (the original mean-pools label tokens)")
    if cfg.lab_token != LAB_TOKEN:
        problems.append(f"lab_token={cfg.lab_token!r} (the original uses {LAB_TOKEN!r})")
    if cfg.label_attention != "full":
        problems.append(f"label_attention={cfg.label_attention!r} (in the original every token "
                        "attends to the whole sequence)")
    offset = float(model.score_offset.detach().float().cpu().item())
    if offset != 0.0:
        problems.append(f"score_offset={offset:g} (the original scores cos * temperature, "
                        "with no offset)")
    tokenizer = tokenizer if tokenizer is not None else model.tokenizer
    if tokenizer is None:
        problems.append("no tokenizer (pass one, or load the model with its tokenizer)")
    if problems:
        raise ValueError(
            "This model cannot be written in the original GliZNet layout: "
            + "; ".join(problems)
            + f". Supported: {SUPPORTED}, text_pooling='cls', label_pooling='mean', "
            f"template='reference', lab_token={LAB_TOKEN!r}."
        )
    lab_id = tokenizer.convert_tokens_to_ids(cfg.lab_token)
    if lab_id is None or lab_id == tokenizer.unk_token_id:
        raise ValueError(f"The tokenizer has no {cfg.lab_token!r} token")
    state = {}
    for name, value in model.state_dict().items():
        if name == "score_offset":
            continue
        key = original_weight_name(name)
        value = value.detach().cpu().float()
        if key in SCALAR_MAP:
            value = value.reshape(())
        state[key] = value.contiguous()

    backbone_config = model.backbone.config.to_diff_dict()
    for key in ("_name_or_path", "transformers_version"):
        backbone_config.pop(key, None)
    backbone_config["model_type"] = model.backbone.config.model_type
    data = {
        "architectures": ["GliZNetForSequenceClassification"],
        "backbone_config": backbone_config,
        # The original records where its backbone came from; loading never reads it.
        "backbone_model": getattr(model.backbone.config, "_name_or_path", None) or None,
        "bce_loss_weight": ORIGINAL_LOSS_SETTINGS["bce_loss_weight"],
        "dropout_rate": float(cfg.dropout),
        "lab_token_id": int(lab_id),
        "label_repulsion_weight": ORIGINAL_LOSS_SETTINGS["label_repulsion_weight"],
        "learn_temperature": bool(cfg.learn_temperature),
        "logit_scale_init": float(cfg.logit_scale_init),
        "model_type": "gliznet",
        "projected_dim": int(model.text_projector[0].out_features),
        "repulsion_threshold": ORIGINAL_LOSS_SETTINGS["repulsion_threshold"],
        "similarity_metric": "cosine",
        "supcon_loss_weight": ORIGINAL_LOSS_SETTINGS["supcon_loss_weight"],
        "torch_dtype": "float32",
        "transformers_version": transformers.__version__,
        "use_lab_token_for_labels": False,
        "use_projection_layernorm": bool(cfg.use_projection_layernorm),
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(directory))
    if cfg.max_length:
        tok_cfg_path = directory / "tokenizer_config.json"
        tok_cfg = json.loads(tok_cfg_path.read_text(encoding="utf8"))
        tok_cfg["model_max_length"] = int(cfg.max_length)
        tok_cfg_path.write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf8")
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    (directory / CONFIG_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                         encoding="utf8")
    return directory


def case_id(case):
    return f"{case['id']}-{case['mode']}"


def activation(case):
    return "sigmoid" if case["mode"] == "multi-label" else "softmax"


def assert_scores(got, expected, tol=TOL):
    assert list(got) == list(expected)
    for label, value in expected.items():
        assert abs(got[label] - value) <= tol, (label, got[label], value)


def reference_nlp(name, labels, multi_label=True):
    # the original implementation cuts long texts
    return make_nlp(name, labels=list(labels), multi_label=multi_label, long_text="truncate")


def logits_of(model, text, labels):
    encoded = model.get_encoder().encode([text], [list(labels)])
    return model.predict_encoded(encoded)[0]


def completed(backbone_config):
    """A nested (partial) backbone config completed from its class defaults."""
    from spacy_gliznet.model.network import build_backbone_config

    data = build_backbone_config(backbone_config).to_dict()
    for key in ("_name_or_path", "architectures", "torch_dtype", "transformers_version"):
        data.pop(key, None)
    return data


def edited_copy(src, dst, config_edit=None, weights_edit=None):
    """Copy a checkpoint directory and edit its config.json and/or weights."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    if config_edit is not None:
        data = json.loads((dst / "config.json").read_text(encoding="utf8"))
        config_edit(data)
        (dst / "config.json").write_text(json.dumps(data), encoding="utf8")
    if weights_edit is not None:
        state = load_file(str(dst / "model.safetensors"))
        weights_edit(state)
        save_file(state, str(dst / "model.safetensors"))
    return dst


@pytest.fixture(scope="module")
def ref_loaded(reference_dir):
    return GliZNetForSequenceClassification.from_pretrained_with_tokenizer(reference_dir)


# -- parity with the original implementation ---------------------------------------
@pytest.mark.parametrize("case", KEPT, ids=case_id)
def test_model_parity(ref_loaded, case):
    model, tok = ref_loaded
    result = model.predict_example(case["text"], case["labels"], tok, activation=activation(case))
    assert_scores(result.as_dict(), case["scores"])
    assert not result.text_truncated and result.n_passes == 1
    logits = logits_of(model, case["text"], case["labels"])
    np.testing.assert_allclose(logits, [case["logits"][k] for k in case["labels"]], atol=TOL, rtol=0)


@pytest.mark.parametrize("case", KEPT, ids=case_id)
def test_pipeline_parity(reference_dir, case):
    nlp = reference_nlp(reference_dir, case["labels"], multi_label=case["mode"] == "multi-label")
    doc = nlp(case["text"])
    assert_scores(doc.cats, case["scores"])
    assert doc._.gliznet_truncated is False


def test_from_pretrained_detects_format(reference_dir):
    model = GliZNetForSequenceClassification.from_pretrained(reference_dir)
    cfg = model.config
    assert (cfg.template, cfg.text_pooling, cfg.label_pooling) == ("reference", "cls", "mean")
    assert model.text_projector[0].out_features == 16 and len(model.text_projector) == 2
    assert model.logit_scale.shape == (1,)
    assert model.max_length == 128
    case = KEPT[0]
    result = model.predict_example(case["text"], case["labels"], activation=activation(case))
    assert_scores(result.as_dict(), case["scores"])


@pytest.mark.parametrize("case", RECORDED, ids=case_id)
def test_recorded_input_ids_and_label_mask(reference_dir, ref_loaded, case):
    model, _ = ref_loaded
    kept = [lab for lab in case["labels"] if lab not in case["dropped_labels"]]
    if not case["dropped_labels"]:
        (enc,) = model.get_encoder().encode([case["text"]], [kept])
        assert len(enc.passes) == 1
        assert enc.passes[0].input_ids == case["input_ids"]
        assert enc.passes[0].label_tokens == case["lmask"]
        return
    # The reference cut the text to 63 tokens and dropped labels. This project
    # keeps every label (cutting the text a little more for the longest one), and
    # its cut text is a prefix of the reference's ...
    (enc,) = model.get_encoder().encode([case["text"]], [case["labels"]])
    n_text = enc.n_text_tokens_used
    assert 0 < n_text <= case["text_tokens_used"]
    assert enc.n_text_tokens == case["text_tokens_full"]
    assert enc.passes[0].input_ids[: n_text + 1] == case["input_ids"][: n_text + 1]
    # ... and with the reference's budget for the kept labels (seq_len tokens),
    # it builds exactly the recorded sequence and reproduces the recorded logits.
    small, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        reference_dir, max_length=case["seq_len"])
    (enc,) = small.get_encoder().encode([case["text"]], [kept])
    assert len(enc.passes) == 1
    assert enc.passes[0].input_ids == case["input_ids"]
    assert enc.passes[0].label_tokens == case["lmask"]
    np.testing.assert_allclose(small.predict_encoded([enc])[0], [case["logits"][k] for k in kept],
                               atol=TOL, rtol=0)


# -- labels the original dropped: scored here, truncation flagged -------------------
@pytest.mark.parametrize("case", DROPPED, ids=case_id)
def test_dropped_labels_are_scored_and_flagged(ref_loaded, case):
    model, tok = ref_loaded
    text_cut = case["text_tokens_used"] < case["text_tokens_full"]
    if text_cut:
        with pytest.warns(TruncationWarning):
            result = model.predict_example(case["text"], case["labels"], tok, activation=activation(case))
    else:
        result = model.predict_example(case["text"], case["labels"], tok, activation=activation(case))
    scores = result.as_dict()
    assert list(scores) == case["labels"]
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in scores.values())
    assert result.text_truncated or result.n_passes > 1
    assert result.text_truncated == text_cut
    if not text_cut:
        assert result.n_passes > 1
    if case["mode"] == "multi-class":
        assert abs(sum(scores.values()) - 1.0) < 1e-9


@pytest.mark.parametrize("case", DROPPED, ids=case_id)
def test_dropped_labels_pipeline(reference_dir, case):
    nlp = reference_nlp(reference_dir, case["labels"], multi_label=case["mode"] == "multi-label")
    text_cut = case["text_tokens_used"] < case["text_tokens_full"]
    if text_cut:
        with pytest.warns(TruncationWarning):
            doc = nlp(case["text"])
    else:
        doc = nlp(case["text"])
    assert list(doc.cats) == case["labels"]
    assert doc._.gliznet_truncated is text_cut


# -- the stale backbone_model path and partial backbone configs ---------------------
def test_stale_backbone_model_never_used(reference_dir, monkeypatch):
    import huggingface_hub
    import transformers

    data = json.loads((reference_dir / "config.json").read_text())
    assert not Path(data["backbone_model"]).exists()

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a pretrained backbone was requested: {args} {kwargs}")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", forbidden)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", forbidden)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", forbidden)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(reference_dir)
    case = KEPT[0]
    assert_scores(model.predict_example(case["text"], case["labels"], tok).as_dict(), case["scores"])
    nlp = reference_nlp(reference_dir, case["labels"])
    assert_scores(nlp(case["text"]).cats, case["scores"])


def test_partial_backbone_config_completed_from_defaults(reference_dir, ref_loaded, tmp_path):
    defaults = ["hidden_act", "layer_norm_eps", "initializer_range", "position_embedding_type",
                "attention_probs_dropout_prob", "hidden_dropout_prob", "type_vocab_size",
                "use_cache", "classifier_dropout", "torch_dtype", "architectures", "_name_or_path"]

    def strip(data):
        for key in defaults:
            del data["backbone_config"][key]

    directory = edited_copy(reference_dir, tmp_path / "partial", config_edit=strip)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    bb = model.backbone.config
    assert (bb.hidden_act, bb.layer_norm_eps, bb.type_vocab_size) == ("gelu", 1e-12, 2)
    assert (bb.hidden_size, bb.max_position_embeddings, bb.vocab_size) == (32, 256, 508)
    for case in KEPT:
        got = model.predict_example(case["text"], case["labels"], tok, activation=activation(case))
        assert_scores(got.as_dict(), case["scores"])


# -- refusals -----------------------------------------------------------------------
def _set(key, value):
    def edit(data):
        data[key] = value
    return edit


REFUSALS = {
    "bilinear": (_set("similarity_metric", "bilinear"), None, ["similarity_metric='bilinear'"]),
    "dot": (_set("similarity_metric", "dot"), None, ["similarity_metric='dot'"]),
    "lab_token_labels": (_set("use_lab_token_for_labels", True), None,
                         ["use_lab_token_for_labels=true"]),
    "unknown_key": (_set("label_scorer", "mlp"), None, ["unknown config keys", "label_scorer"]),
    "no_backbone_config": (lambda d: d.pop("backbone_config"), None, ["backbone_config"]),
    "unexpected_weight": (
        None, lambda s: s.__setitem__("aggregator.similarity_head.bilinear.weight", torch.zeros(1, 16, 16)),
        ["unexpected weight", "aggregator.similarity_head.bilinear.weight"]),
    "missing_weight": (None, lambda s: s.pop("aggregator.label_projector.1.weight"),
                       ["missing weights", "aggregator.label_projector.1.weight"]),
    "missing_scale": (None, lambda s: s.pop("aggregator.similarity_head.logit_scale"),
                      ["missing weights", "aggregator.similarity_head.logit_scale"]),
    "projected_dim_mismatch": (_set("projected_dim", 8), None, ["shape mismatch", "text_projector"]),
    "extra_projector_layer": (
        None, lambda s: s.__setitem__("aggregator.text_projector.2.weight", torch.zeros(16, 16)),
        ["aggregator.text_projector.2.weight"]),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_unsupported_variants_are_refused(reference_dir, tmp_path, name):
    config_edit, weights_edit, needles = REFUSALS[name]
    directory = edited_copy(reference_dir, tmp_path / name, config_edit, weights_edit)
    with pytest.raises(GliZNetLoadError) as info:
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    assert "Supported:" in message and SUPPORTED in message, message
    assert "cosine" in message


def test_pipeline_refuses_unsupported(reference_dir, tmp_path):
    directory = edited_copy(reference_dir, tmp_path / "bilinear", _set("similarity_metric", "bilinear"))
    nlp = reference_nlp(directory, ["a", "b"])
    with pytest.raises(GliZNetLoadError, match="bilinear"):
        nlp("some text")


# -- export to the reference layout --------------------------------------------------
def test_bert_roundtrips_keep_scores(reference_dir, ref_loaded, tmp_path):
    from safetensors.torch import load_file

    model, tok = ref_loaded
    # reference -> own layout
    model.save_pretrained(tmp_path / "own", tokenizer=tok)
    own_cfg = json.loads((tmp_path / "own" / "config.json").read_text())
    assert own_cfg["model_type"] == "spacy_gliznet" and own_cfg["template"] == "reference"
    own, own_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "own")
    # own layout -> reference layout
    save_original_checkpoint(own, tmp_path / "back")
    back, back_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "back")
    for case in KEPT:
        for m, t in ((own, own_tok), (back, back_tok)):
            got = m.predict_example(case["text"], case["labels"], t, activation=activation(case))
            assert_scores(got.as_dict(), case["scores"])
    for case in DROPPED:  # multi-pass and cut-text cases agree between layouts too
        a = logits_of(model, case["text"], case["labels"])
        b = logits_of(back, case["text"], case["labels"])
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)

    # The written files follow the original layout.
    ref_cfg = json.loads((reference_dir / "config.json").read_text())
    new_cfg = json.loads((tmp_path / "back" / "config.json").read_text())
    assert set(new_cfg) == set(ref_cfg)
    for key in set(ref_cfg) - {"backbone_config", "backbone_model", "transformers_version"}:
        assert new_cfg[key] == ref_cfg[key], key
    assert completed(new_cfg["backbone_config"]) == completed(ref_cfg["backbone_config"])
    ref_state = load_file(str(reference_dir / "model.safetensors"))
    new_state = load_file(str(tmp_path / "back" / "model.safetensors"))
    assert set(new_state) == {k for k in ref_state if not k.startswith("backbone.pooler.")}
    for key, value in new_state.items():
        assert value.shape == ref_state[key].shape and torch.equal(value, ref_state[key]), key
    assert new_state["aggregator.similarity_head.logit_scale"].dim() == 0
    assert new_state["loss_fn.bce_scale"].dim() == 0
    tok_cfg = json.loads((tmp_path / "back" / "tokenizer_config.json").read_text())
    assert "[LAB]" in tok_cfg["additional_special_tokens"]


def test_export_refuses_what_the_layout_cannot_express(tiny_bert_dir, tmp_path):
    settings = [
        ({}, "template='gliznet'"),
        ({"template": "reference", "text_pooling": "mean"}, "text_pooling='mean'"),
        ({"template": "reference", "label_pooling": "lab"}, "label_pooling='lab'"),
        ({"template": "reference", "label_attention": "isolated"}, "label_attention='isolated'"),
        ({"template": "reference", "score_offset_init": 0.25}, "score_offset=0.25"),
    ]
    for i, (overrides, needle) in enumerate(settings):
        model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
            tiny_bert_dir, projected_dim=16, **overrides)
        target = tmp_path / f"out{i}"
        with pytest.raises(ValueError, match="original GliZNet layout") as info:
            save_original_checkpoint(model, target, tok)
        assert needle in str(info.value) and "Supported" in str(info.value)
        assert not target.exists()


# -- ModernBERT in the reference layout ------------------------------------------------
MB_INPUTS = [
    ("The team won the match after a great final game.", ["sports", "politics", "music"]),
    ("I love cooking pasta.", ["food", "technology"]),
    ("ok", ["positive", "negative", "neutral"]),
    ("rain and cold weather today", ["weather"]),
    ("a short note", [f"label {w} of the very long list number {i}"
                      for i, w in enumerate("abcdefghijklmnop")]),  # needs several passes
]


@pytest.fixture(scope="module")
def modernbert_reference(tiny_modernbert_dir, tmp_path_factory):
    torch.manual_seed(0)
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        tiny_modernbert_dir, template="reference", projected_dim=16)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _, param in model.named_parameters():
            param.add_(0.02 * torch.randn(param.shape, generator=gen))
        model.logit_scale.fill_(1.5)
        model.score_offset.zero_()  # the original layout has no offset
    model.eval()
    directory = tmp_path_factory.mktemp("modernbert_reference")
    save_original_checkpoint(model, directory, tok)
    return model, tok, directory


def test_modernbert_reference_layout_loads_with_identical_scores(modernbert_reference):
    from safetensors.torch import load_file

    model, tok, directory = modernbert_reference
    cfg = json.loads((directory / "config.json").read_text())
    assert cfg["model_type"] == "gliznet" and cfg["backbone_config"]["model_type"] == "modernbert"
    # Only non-default values are nested; the rest comes from the defaults on load.
    for key in ("is_decoder", "output_hidden_states", "return_dict", "id2label"):
        assert key not in cfg["backbone_config"], key
    state = load_file(str(directory / "model.safetensors"))
    assert state["aggregator.similarity_head.logit_scale"].dim() == 0
    assert {k.split(".")[0] for k in state} == {"backbone", "aggregator", "loss_fn"}
    loaded, loaded_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    assert loaded.config.template == "reference"
    assert loaded.backbone.config.to_dict() == {**model.backbone.config.to_dict(),
                                                "_name_or_path": loaded.backbone.config._name_or_path,
                                                "architectures": loaded.backbone.config.architectures}
    for text, labels in MB_INPUTS:
        for act in ("sigmoid", "softmax"):
            a = model.predict_example(text, labels, tok, activation=act)
            b = loaded.predict_example(text, labels, loaded_tok, activation=act)
            assert_scores(b.as_dict(), a.as_dict())
            assert (a.n_passes, a.text_truncated) == (b.n_passes, b.text_truncated)
    assert loaded.predict_example(*MB_INPUTS[-1], loaded_tok).n_passes > 1


def test_modernbert_score_formula_independently(modernbert_reference):
    """Scores equal cos(text_proj(h[CLS]), mean(label_proj(h[label tokens]))) *
    exp(clamp(logit_scale, -10, 10)), computed here from the raw files."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    _, _, directory = modernbert_reference
    cfg = json.loads((directory / "config.json").read_text())
    bb_cfg = dict(cfg["backbone_config"])
    bb_cfg.pop("architectures", None)
    backbone = AutoModel.from_config(AutoConfig.for_model(bb_cfg.pop("model_type"), **bb_cfg)).eval()
    state = load_file(str(directory / "model.safetensors"))
    backbone.load_state_dict({k[len("backbone."):]: v for k, v in state.items()
                              if k.startswith("backbone.")})

    def project(prefix, x):
        x = F.linear(x, state[prefix + ".0.weight"], state[prefix + ".0.bias"])
        return F.layer_norm(x, x.shape[-1:], state[prefix + ".1.weight"], state[prefix + ".1.bias"],
                            eps=1e-5)

    tok = AutoTokenizer.from_pretrained(str(directory))
    lab = tok.convert_tokens_to_ids("[LAB]")
    assert lab == cfg["lab_token_id"]
    loaded, loaded_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    scale = torch.exp(torch.clamp(state["aggregator.similarity_head.logit_scale"], -10, 10))
    for text, labels in MB_INPUTS[:4]:
        ids = [tok.cls_token_id] + tok(text, add_special_tokens=False)["input_ids"] + [tok.sep_token_id]
        spans = []
        for label in labels:
            lab_ids = tok(label, add_special_tokens=False)["input_ids"]
            spans.append((len(ids), len(ids) + len(lab_ids)))
            ids += lab_ids + [lab]
        with torch.no_grad():
            h = backbone(input_ids=torch.tensor([ids]),
                         attention_mask=torch.ones(1, len(ids), dtype=torch.long)).last_hidden_state[0]
            text_vec = project("aggregator.text_projector", h[0])
            logits = torch.stack([
                F.cosine_similarity(text_vec, project("aggregator.label_projector", h[s:e]).mean(0), dim=0)
                for s, e in spans]) * scale
        got = logits_of(loaded, text, labels)
        np.testing.assert_allclose(got, logits.numpy(), atol=TOL, rtol=0)
        expected = torch.sigmoid(logits.double()).tolist()
        result = loaded.predict_example(text, labels, loaded_tok).as_dict()
        np.testing.assert_allclose([result[k] for k in labels], expected, atol=TOL, rtol=0)


def test_modernbert_own_and_reference_layouts_roundtrip(modernbert_reference, tmp_path):
    from safetensors.torch import load_file

    model, tok, directory = modernbert_reference
    ref, ref_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    ref.save_pretrained(tmp_path / "own", tokenizer=ref_tok)
    own, own_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "own")
    save_original_checkpoint(own, tmp_path / "back")
    back, back_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "back")
    for text, labels in MB_INPUTS:
        want = model.predict_example(text, labels, tok).as_dict()
        for m, t in ((own, own_tok), (back, back_tok)):
            assert_scores(m.predict_example(text, labels, t).as_dict(), want)
    a = load_file(str(directory / "model.safetensors"))
    b = load_file(str(tmp_path / "back" / "model.safetensors"))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert completed(json.loads((directory / "config.json").read_text())["backbone_config"]) == \
        completed(json.loads((tmp_path / "back" / "config.json").read_text())["backbone_config"])


def test_export_keeps_max_length(modernbert_reference, tmp_path):
    model, tok, directory = modernbert_reference
    short, short_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(
        directory, max_length=24)
    save_original_checkpoint(short, tmp_path / "short")
    back, back_tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "short")
    assert back.max_length == 24
    text, labels = MB_INPUTS[0][0] * 3, MB_INPUTS[0][1]
    with pytest.warns(TruncationWarning):
        a = short.predict_example(text, labels, short_tok)
    with pytest.warns(TruncationWarning):
        b = back.predict_example(text, labels, back_tok)
    assert_scores(b.as_dict(), a.as_dict())


# -- spaCy persistence -------------------------------------------------------------------
SCRIPT = """
import json, sys
import spacy
import spacy_gliznet
nlp = spacy.load(sys.argv[1])
cases = json.loads(sys.stdin.read())
out = []
for case in cases:
    doc = nlp(case["text"], component_cfg={"gliznet_textcat": {
        "labels": case["labels"], "multi_label": case["mode"] == "multi-label"}})
    out.append(doc.cats)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_pipeline_to_disk_and_spacy_load_fresh_process(reference_dir, tmp_path):
    copy = tmp_path / "reference_copy"
    shutil.copytree(reference_dir, copy)
    first = KEPT[0]
    nlp = reference_nlp(copy, first["labels"], multi_label=first["mode"] == "multi-label")
    before = nlp(first["text"]).cats
    assert_scores(before, first["scores"])
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(copy)
    cases = [{k: c[k] for k in ("text", "labels", "mode")} for c in KEPT]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "pipeline")], input=json.dumps(cases),
        capture_output=True, text=True, env=env, timeout=300, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for case, cats in zip(KEPT, results):
        assert_scores(cats, case["scores"])
    assert not copy.exists()


def test_fine_tuned_reference_model_can_still_be_exported(modernbert_reference, tmp_path):
    """An imported original checkpoint keeps score_offset fixed at 0 through training,
    so the fine-tuned model still fits the original layout."""
    from spacy_gliznet.model.collation import collate

    _, _, directory = modernbert_reference
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    assert model.score_offset.requires_grad is False
    enc = model.get_encoder().encode(["the team won"], [["sports", "food"]])
    batch = collate(enc[0].passes, 1, 2, model.get_encoder().pad_id)
    out = model(batch)
    gliznet_loss(out, torch.tensor([[1.0, 0.0]]), out.label_mask)[0].backward()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    optimizer.step()
    assert model.score_offset.item() == 0.0
    model.save_pretrained(tmp_path / "own", tokenizer=tok)
    own, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "own")
    assert own.score_offset.requires_grad is False
    save_original_checkpoint(own, tmp_path / "back")
    assert (tmp_path / "back" / "model.safetensors").is_file()
