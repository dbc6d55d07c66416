"""Bad, hostile and odd input: every case gives a correct result or one of our
own errors (GliZNetInputError, LabelTooLongError, GliZNetLoadError, ValueError)
whose message names the problem; never a torch/tokenizer error from deep
inside, never a silently dropped label.

Each input class runs through both entry points: the spaCy component
(``route == "spacy"``) and the plain torch API (``route == "api"``).
"""

import json
import math
import pickle
import re
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import spacy_gliznet  # noqa: F401  (registers the factory)
from spacy_gliznet import (
    GliZNetForSequenceClassification,
    GliZNetInputError,
    GliZNetLoadError,
    GliZNetTextCategorizer,
    LabelTooLongError,
    TruncationWarning,
)

from helpers import ROOT, load_script, make_nlp

PACKAGE_DIR = Path(spacy_gliznet.__file__).resolve().parent
LABELS = ["sports", "politics"]
NLP = {"labels": LABELS}
ARCH = "spacy_gliznet.GliZNet.v1"
SPECIAL_STRINGS = ["[LAB]", "[CLS]", "[SEP]", "<s>", "</s>", "[PAD]", "[MASK]", "[UNK]", "<pad>",
                   "[lab]", "[LAB][LAB]"]
OUR_ERRORS = (GliZNetInputError, GliZNetLoadError, ValueError)


# -- helpers -------------------------------------------------------------------
def hostile_nlp(name, labels=LABELS, **cfg):
    return make_nlp(name, model=cfg.pop("model", None), labels=labels, **cfg)


def check_scores(cats, labels):
    """Exactly the labels, in order, each a finite score in [0, 1]."""
    assert list(cats) == list(labels)
    for label, score in cats.items():
        assert isinstance(score, float), label
        assert math.isfinite(score) and 0.0 <= score <= 1.0, (label, score)




@pytest.fixture(params=["spacy", "api"])
def route(request, nlp, api_model):
    """score(text, labels) -> (cats dict, truncated), through one entry point."""
    if request.param == "spacy":
        def score(text, labels, multi_label=True):
            # long_text="truncate": the same cut as the API route (windows: test_component_spans)
            doc = nlp(text, component_cfg={"gliznet_textcat": {"labels": labels,
                                                               "multi_label": multi_label,
                                                               "long_text": "truncate"}})
            return dict(doc.cats), doc._.gliznet_truncated
    else:
        def score(text, labels, multi_label=True):
            res = api_model.predict_example(
                text, labels, activation="sigmoid" if multi_label else "softmax")
            return res.as_dict(), res.text_truncated
    score.name = request.param
    score.reference = lambda text, labels: api_model.predict_example(text, labels).as_dict()
    return score


def check_same(cats, reference, labels, tol=1e-4):
    """``check_scores`` and the same scores as ``reference`` (label by label)."""
    check_scores(cats, labels)
    for k in labels:
        assert cats[k] == pytest.approx(reference[k], abs=tol), (k, cats[k], reference[k])


@contextmanager
def raises(exc, *patterns):
    """pytest.raises that also checks that each regex is in the message and that
    the error is ours (or a builtin ValueError), not a library's."""
    with pytest.raises(exc) as info:
        yield info
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in {msg!r}"
    assert type(info.value).__module__.startswith(("spacy_gliznet", "builtins", "confection")), \
        type(info.value)


# -- texts -------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "\u3000\u00a0"])
def test_empty_and_whitespace_docs_are_scored(route, text):
    """Empty and whitespace-only docs: a result (the model's scores for no text),
    the same for all of them, not flagged as truncated."""
    cats, truncated = route(text, LABELS)
    check_scores(cats, LABELS)
    assert truncated is False
    empty, _ = route("", LABELS)
    for k in LABELS:
        assert cats[k] == pytest.approx(empty[k], abs=1e-6)


def test_very_long_doc_is_cut_and_every_label_scored(route, api_model):
    """100k+ characters: the text is cut (flagged and warned), every label is
    scored in one pass, and the scores equal those of the kept prefix."""
    text = "game " * 25_000
    assert len(text) > 100_000
    labels = LABELS + ["music"]
    with pytest.warns(TruncationWarning):
        cats, truncated = route(text, labels)
    check_scores(cats, labels)
    assert truncated is True
    enc = api_model.get_encoder().encode([text], [labels])[0]
    assert len(enc.passes) == 1 and enc.text_truncated
    assert len(enc.passes[0]) <= api_model.get_encoder().max_length
    prefix = " ".join(["game"] * enc.n_text_tokens_used)
    cats_prefix, truncated_prefix = route(prefix, labels)
    assert truncated_prefix is False
    for k in labels:
        assert cats[k] == pytest.approx(cats_prefix[k], abs=1e-5)


def test_very_long_doc_with_many_labels(route):
    text = "the match was great. " * 6000
    labels = [f"topic {i}" for i in range(80)]
    with pytest.warns(TruncationWarning):
        cats, truncated = route(text, labels)
    check_scores(cats, labels)
    assert truncated is True


@pytest.mark.parametrize("text", [
    "日本語のテキストです。",
    "Привет, мир! Hello world! مرحبا بالعالم שלום",
    "emoji 😀🎉👍🏽 👨‍👩‍👧‍👦 flags 🇫🇷",
    "e\u0301te\u0301 (combining accents) ﬁ ligature Ⅻ ½",
    "mixed: sports 体育 спорт رياضة",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟙𝟚𝟛",
])
def test_non_ascii_and_mixed_script(route, api_model, text):
    """Scored in full (not cut), with the plain API's scores on the same text (through
    spaCy, the component reads the doc's text exactly as the API reads the string)."""
    cats, truncated = route(text, LABELS)
    assert truncated is False
    check_same(cats, api_model.predict_example(text, LABELS).as_dict(), LABELS)


@pytest.mark.parametrize("text, reads_as", [
    ("a\x00b", "ab"),
    ("bell\x07 and escape \x1b[31mred\x1b[0m", "bell and escape [31mred[0m"),
    ("zero\u200bwidth\ufeffbom", "zerowidthbom"),
    ("line\r\nbreaks\r", "line breaks"),
    ("\x00\x01\x02\x03", ""),
    ("tab\tvt\x0bff\x0c", "tab vtff"),  # \x0b and \x0c are control characters, not spaces
    ("rtl \u202eoverride\u202c", "rtl override"),
])
def test_control_characters(route, text, reads_as):
    """Control and format characters are dropped (whitespace ones read as a space), as
    the tokenizer cleans text: the scores are exactly those of the cleaned text."""
    cats, _ = route(text, LABELS)
    check_same(cats, route(reads_as, LABELS)[0], LABELS)


@pytest.mark.parametrize("text", ["a\ud800b", "\udcff"])
def test_lone_surrogates_in_text_are_a_clear_error(route, text):
    """Lone surrogates are not valid Unicode. Through spaCy, its tokenizer refuses
    them before the component runs (UnicodeEncodeError, a ValueError); through
    the API, our encoder refuses them before the tokenizer fails deep inside."""
    if route.name == "spacy":
        with raises(ValueError, r"surrogates not allowed"):
            route(text, LABELS)
    else:
        with raises(GliZNetInputError, r"Text 0 is not valid Unicode", r"lone surrogate"):
            route(text, LABELS)


# -- special-token strings ----------------------------------------------------
def _special_text():
    return "before " + " ".join(SPECIAL_STRINGS) + " middle [LAB] sports [LAB] politics [SEP] end"


@pytest.mark.parametrize("which", ["tiny", "reference"])
def test_special_token_strings_in_text_are_plain_text(which, tiny_gliznet_dir, request):
    """Literal "[LAB]", "[CLS]", "[SEP]", "<s>" in the text or labels are read as
    text: the encoding has exactly K [LAB] ids, one [CLS], one [SEP], and K labels are scored."""
    directory = tiny_gliznet_dir if which == "tiny" else request.getfixturevalue("reference_dir")
    model, tok = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(directory)
    encoder = model.get_encoder()
    special_ids = set(tok.all_special_ids) - {tok.unk_token_id}
    for labels in (["sports", "politics"], ["news", "[LAB]", "a [SEP] b", "<s>"]):
        text = _special_text()
        K = len(labels)
        enc = encoder.encode([text], [labels])[0]
        assert enc.n_labels == K and len(enc.passes) == 1
        ids = enc.passes[0].input_ids
        assert ids.count(encoder.lab_id) == K
        assert ids.count(encoder.cls_id) == 1
        assert ids.count(encoder.sep_id) == 1
        text_ids = [i for i, m in zip(ids, enc.passes[0].text_mask) if m][1:]  # after [CLS]
        assert not special_ids & set(text_ids)
        result = model.predict_example(text, labels)
        assert [k for k, _ in result.labels] == labels
        doc = hostile_nlp(directory, labels=labels)(text)
        check_scores(doc.cats, labels)


def test_special_token_strings_do_not_change_label_count(route, api_model):
    """A special-token string in the text scores as the same characters written
    apart from the marker syntax would: it is text, one input, K labels."""
    encoder = api_model.get_encoder()
    for s in SPECIAL_STRINGS:
        text = f"{s} {s}{s} text {s}"
        cats, _ = route(text, LABELS)
        enc = encoder.encode([text], [LABELS])[0]
        assert len(enc.passes) == 1 and enc.passes[0].input_ids.count(encoder.lab_id) == len(LABELS)
        check_same(cats, api_model.predict_example(text, LABELS).as_dict(), LABELS)


# -- label lists ---------------------------------------------------------------
def test_empty_label_list(route):
    with raises(GliZNetInputError, r"no labels to score"):
        route("some text", [])


def test_empty_labels_per_doc_and_in_config(tiny_gliznet_dir, nlp):
    doc = nlp.make_doc("text")
    doc._.gliznet_labels = []
    with raises(GliZNetInputError, r"no labels to score", r"gliznet_labels"):
        nlp.get_pipe("gliznet_textcat")(doc)
    empty = hostile_nlp(tiny_gliznet_dir, labels=[])
    with raises(GliZNetInputError, r"no labels to score"):
        empty("text")


@pytest.mark.parametrize("labels", [["a", "a"], ["sports", "politics", "sports"]])
def test_duplicate_labels(route, labels):
    with raises(GliZNetInputError, r"Duplicate label: 'a'|Duplicate label: 'sports'"):
        route("text", labels)


def test_duplicate_labels_in_config_and_per_doc(tiny_gliznet_dir, nlp):
    with raises(GliZNetInputError, r"gliznet_textcat labels: Duplicate label: 'x'"):
        hostile_nlp(tiny_gliznet_dir, labels=["x", "y", "x"])
    doc = nlp.make_doc("text")
    doc._.gliznet_labels = ["x", "x"]
    with raises(GliZNetInputError, r"doc\._\.gliznet_labels: Duplicate label: 'x'"):
        nlp.get_pipe("gliznet_textcat")(doc)


@pytest.mark.parametrize("labels, pattern", [
    (["a", 3], r"label 1 is int: 3"),
    (["a", None], r"label 1 is NoneType"),
    ([b"bytes"], r"label 0 is bytes"),
    ([1.5, "a"], r"label 0 is float"),
    ([["nested"]], r"label 0 is list"),
    ("sports", r"not a single string: 'sports'"),
    ({"a", "b"}, r"not a set"),
    (None, r"Labels must be a list of strings; got NoneType|no labels to score"),
    (7, r"Labels must be a list of strings; got int"),
    ([""], r"empty or whitespace-only; label 0 is ''"),
    (["a", "  \t"], r"empty or whitespace-only; label 1"),
    (["\x00"], r"produced no tokens"),
    (["ok", "\u200b\u200b"], r"produced no tokens"),
    (["x\ud800"], r"Label 0 .* is not valid Unicode"),
])
def test_invalid_labels(route, labels, pattern):
    if route.name == "spacy" and labels is None:
        # labels=None per call means: use the pipe's labels.
        check_scores(route("text", None)[0], LABELS)
        return
    with raises(GliZNetInputError, pattern):
        route("text", labels)


def test_labels_with_special_strings_and_non_ascii_are_scored(route):
    # (the tiny vocabulary reads "😀" and "Спорт" alike, as one [UNK]: such labels are
    # refused as the model cannot tell them apart, so the Cyrillic one carries a "!")
    labels = ["[LAB]", "[CLS] x", "<s>", "😀", "体育", "Спорт!", "a\x07b", "x [SEP] y"]
    cats, _ = route("text [LAB]", labels)
    check_scores(cats, labels)
    # a control character in a label is dropped, as in a text: "a\x07b" scores as "ab"
    # in the same list, and no label is read as a marker (the API gives the same scores)
    clean, _ = route("text [LAB]", [("ab" if k == "a\x07b" else k) for k in labels])
    assert list(clean.values()) == pytest.approx(list(cats.values()), abs=1e-6)
    check_same(cats, route.reference("text [LAB]", labels), labels)


def test_non_string_labels_in_config_file(tiny_gliznet_dir):
    """Labels from a config file: spaCy validates the type first (a ValueError that
    names the labels setting)."""
    with raises(ValueError, r"labels"):
        hostile_nlp(tiny_gliznet_dir, labels=["a", 1])
    with raises(ValueError, r"labels"):
        hostile_nlp(tiny_gliznet_dir, labels={"a": 1})
    with raises(GliZNetInputError, r"description of label 'a'"):
        hostile_nlp(tiny_gliznet_dir, labels={"a": " "})
    with raises(GliZNetInputError, r"not a single string"):
        hostile_nlp(tiny_gliznet_dir, labels="sports")


def test_hundreds_of_labels(route, api_model):
    """300 labels: several passes, every label scored, finite, in [0, 1], and the
    same on a second call."""
    labels = [f"label {i} about topic {i % 7}" for i in range(300)]
    enc = api_model.get_encoder().encode(["a short text"], [labels])[0]
    assert len(enc.passes) > 5
    assert sorted(s for p in enc.passes for s in p.slots) == list(range(300))
    cats, truncated = route("a short text", labels)
    check_scores(cats, labels)
    assert truncated is False
    again, _ = route("a short text", labels)
    for k in labels:
        assert again[k] == pytest.approx(cats[k], abs=1e-6)
    soft, _ = route("a short text", labels, multi_label=False)
    check_scores(soft, labels)
    assert sum(soft.values()) == pytest.approx(1.0, abs=1e-6)


def test_hundreds_of_labels_spacy_equals_api(nlp, api_model):
    labels = [f"label {i}" for i in range(250)]
    doc = nlp("text", component_cfg={"gliznet_textcat": {"labels": labels}})
    res = api_model.predict_example("text", labels).as_dict()
    for k in labels:
        assert doc.cats[k] == pytest.approx(res[k], abs=1e-5)


def test_label_longer_than_max_length(route, api_model):
    encoder = api_model.get_encoder()
    limit = encoder.max_label_tokens()
    assert encoder.max_length == 128
    too_long = " ".join(["game"] * (limit + 1))
    with raises(LabelTooLongError, r"Label 'game game .*\.\.\.' has 125 tokens",
                r"at most 124 fit", r"maximum length of 128 tokens"):
        route("text", ["sports", too_long])
    # Exactly at the limit: scored, with the text cut to a token.
    at_limit = " ".join(["game"] * limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        cats, _ = route("some text here", ["sports", at_limit])
    check_scores(cats, ["sports", at_limit])
    # A label of 10,000 characters that the tokenizer reads as one token is fine.
    cats, _ = route("text", ["x" * 10_000])
    check_scores(cats, ["x" * 10_000])


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None, True])
def test_threshold_outside_unit_interval(tiny_gliznet_dir, nlp, threshold):
    pipe = nlp.get_pipe("gliznet_textcat")
    with raises(ValueError, r"threshold must be a number in \[0, 1\]"):
        pipe.threshold = threshold
    assert pipe.threshold == 0.5
    with raises(ValueError, r"threshold must be a number in \[0, 1\]"):
        GliZNetTextCategorizer(nlp.vocab, pipe.model, labels=LABELS, threshold=threshold)
    if isinstance(threshold, float) and math.isfinite(threshold):
        with raises(ValueError, r"threshold must be a number in \[0, 1\]"):
            hostile_nlp(tiny_gliznet_dir, threshold=threshold)


@pytest.mark.parametrize("threshold", [0, 0.0, 1, 1.0])
def test_threshold_bounds_are_accepted(tiny_gliznet_dir, threshold):
    nlp = hostile_nlp(tiny_gliznet_dir, threshold=threshold)
    assert nlp.get_pipe("gliznet_textcat").threshold == float(threshold)
    check_scores(nlp("text").cats, LABELS)


def test_api_bad_arguments(api_model):
    with raises(ValueError, r"activation must be one of"):
        api_model.predict_example("text", LABELS, activation="relu")
    with raises(GliZNetInputError, r"Texts must be strings; text 0 is NoneType"):
        api_model.predict_example(None, LABELS)
    with raises(GliZNetInputError, r"Texts must be strings; text 1 is bytes"):
        api_model.predict_batch(["ok", b"bytes"], LABELS)
    with raises(GliZNetInputError, r"Got 3 texts but 2 label lists"):
        api_model.predict_batch(["a", "b", "c"], [["x"], ["y"]])


def test_api_predict_batch_refuses_a_single_string(api_model):
    with pytest.raises(GliZNetInputError, match="not a single string"):
        api_model.predict_batch("one text, not a list", LABELS)


def test_batch_size_must_be_positive(tiny_gliznet_dir, api_model):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        api_model.predict_batch(["a"], LABELS, batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        hostile_nlp(tiny_gliznet_dir, labels=LABELS, model={"batch_size": 0})


# -- determinism ---------------------------------------------------------------
def test_same_doc_same_scores_whatever_the_batch(tiny_gliznet_dir, api_model):
    target = "the team won the match"
    labels = ["sports", "politics", "music"]
    others = ["", "a much longer text about money, banks and the market " * 3, "雨", "cat dog"]
    alone = api_model.predict_example(target, labels).as_dict()
    for bs in (1, 3, 64):
        nlp = hostile_nlp(tiny_gliznet_dir, labels=labels, model={"batch_size": bs})
        for pipe_bs in (1, 5):
            docs = list(nlp.pipe(others[:2] + [target] + others[2:], batch_size=pipe_bs))
            for k in labels:
                assert docs[2].cats[k] == pytest.approx(alone[k], abs=1e-5), (bs, pipe_bs)
        batch = api_model.predict_batch(others + [target], labels, batch_size=bs)
        for k in labels:
            assert batch[-1].as_dict()[k] == pytest.approx(alone[k], abs=1e-5)


def test_label_order_moves_scores_but_keeps_the_set(route):
    """Labels attend to each other: order changes scores (measured by
    examples/benchmarks/label_order_sensitivity.py), but never which labels are scored."""
    labels = ["sports", "politics", "music", "weather", "money"]
    a, _ = route("the team won the match", labels)
    b, _ = route("the team won the match", labels[::-1])
    assert set(a) == set(b) == set(labels)
    check_scores(b, labels[::-1])


def test_order_sensitivity_script_runs(tiny_gliznet_dir):
    mod = load_script(ROOT / "examples" / "benchmarks" / "label_order_sensitivity.py")
    model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tiny_gliznet_dir)
    examples = [("the team won", ["sports", "politics", "music"]),
                ("rain and cold", ["weather", "news"])]
    stats = mod.measure(model, examples, permutations=4, seed=0)
    assert stats["n_scores"] == 5
    assert 0.0 <= stats["mean_abs_change"] <= stats["max_abs_change"] <= 1.0
    single = mod.measure(model, [("x", ["only"])], permutations=3, seed=0)
    assert single["max_abs_change"] == pytest.approx(0.0, abs=1e-6)


# -- model directories -----------------------------------------------------------
def _copy(src, tmp_path, name="model"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _drop_files(d, keep):
    for p in d.iterdir():
        if p.name not in keep:
            p.unlink()


def _edit_config(d, **changes):
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(changes)
    (d / "config.json").write_text(json.dumps(cfg))


def _rewrite_weights(d, edit):
    from safetensors.torch import load_file, save_file

    state = load_file(str(d / "model.safetensors"))
    edit(state)
    save_file(state, str(d / "model.safetensors"))


def _corrupt(kind, d):
    """Apply one corruption to the checkpoint copy ``d``; return the message regexes."""
    weights = d / "model.safetensors"
    if kind == "no_config":
        (d / "config.json").unlink()
        return [r"has no config\.json"]
    if kind == "invalid_json":
        (d / "config.json").write_text("{not json")
        return [r"config\.json' is not valid JSON"]
    if kind == "binary_config":
        (d / "config.json").write_bytes(b"\xff\xfe\x00\x01")
        return [r"config\.json' is not valid JSON"]
    if kind == "config_not_object":
        (d / "config.json").write_text("[1, 2]")
        return [r"does not hold a JSON object"]
    if kind == "config_no_model_type":
        (d / "config.json").write_text("{}")
        return [r"has no 'model_type'"]
    if kind == "config_bad_value":
        _edit_config(d, text_pooling="max")
        return [r"Invalid GliZNet config", r"text_pooling"]
    if kind == "config_unknown_key":
        _edit_config(d, surprise=1)
        return [r"Unknown keys in GliZNet config: \['surprise'\]"]
    if kind == "config_bad_backbone":
        cfg = json.loads((d / "config.json").read_text())
        cfg["backbone_config"]["hidden_size"] = -1
        (d / "config.json").write_text(json.dumps(cfg))
        return [r"Invalid GliZNet config", r"negative dimension"]
    if kind == "config_unknown_backbone":
        _edit_config(d, backbone_config={"model_type": "no_such_model"})
        return [r"Unsupported backbone model_type 'no_such_model'"]
    if kind == "no_weights":
        weights.unlink()
        return [r"has no model\.safetensors"]
    if kind == "truncated_weights":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
        return [r"model\.safetensors' could not be read as safetensors"]
    if kind == "garbage_weights":
        weights.write_bytes(bytes(range(256)) * 8)
        return [r"model\.safetensors' could not be read as safetensors"]
    if kind == "empty_weights":
        weights.write_bytes(b"")
        return [r"model\.safetensors' could not be read as safetensors"]
    if kind == "weights_wrong_shape":
        _rewrite_weights(d, lambda s: s.__setitem__("text_projector.0.weight", torch.zeros(3, 3)))
        return [r"do not match the model", r"shape mismatch text_projector\.0\.weight: \(3, 3\)"]
    if kind == "weights_missing_key":
        _rewrite_weights(d, lambda s: s.pop("logit_scale"))
        return [r"do not match the model", r"missing \['logit_scale'\]"]
    if kind == "weights_extra_key":
        _rewrite_weights(d, lambda s: s.__setitem__("extra.weight", torch.zeros(2)))
        return [r"do not match the model", r"unexpected \['extra\.weight'\]"]
    if kind == "no_tokenizer":
        _drop_files(d, {"config.json", "model.safetensors"})
        return [r"has no tokenizer files"]
    if kind == "partial_tokenizer":
        _drop_files(d, {"config.json", "model.safetensors", "vocab.txt"})
        return [r"has no tokenizer_config\.json", r"incomplete"]
    if kind == "invalid_tokenizer_json":
        (d / "tokenizer.json").write_text("garbage")
        return [r"tokenizer\.json' is not valid JSON"]
    if kind == "tokenizer_without_lab":
        _drop_files(d, {"config.json", "model.safetensors", "vocab.txt"})
        from transformers import BertTokenizerFast

        BertTokenizerFast(str(d / "vocab.txt")).save_pretrained(str(d))
        return [r"has no '\[LAB\]' token"]
    raise AssertionError(kind)


CORRUPTIONS = [
    "no_config", "invalid_json", "binary_config", "config_not_object", "config_no_model_type",
    "config_bad_value", "config_unknown_key", "config_bad_backbone", "config_unknown_backbone",
    "no_weights", "truncated_weights", "garbage_weights", "empty_weights", "weights_wrong_shape",
    "weights_missing_key", "weights_extra_key", "no_tokenizer", "partial_tokenizer",
    "invalid_tokenizer_json", "tokenizer_without_lab",
]


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_broken_model_directory(kind, tiny_gliznet_dir, tmp_path):
    d = _copy(tiny_gliznet_dir, tmp_path)
    patterns = _corrupt(kind, d)
    with raises(GliZNetLoadError, *patterns):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)
    # The component loads lazily on first use, or in nlp.initialize().
    nlp = hostile_nlp(d)
    with raises(GliZNetLoadError, *patterns):
        nlp("text")
    with raises(GliZNetLoadError, *patterns):
        hostile_nlp(d).initialize()


def test_missing_model_directory(tmp_path):
    missing = tmp_path / "does_not_exist"
    with raises(GliZNetLoadError, r"Model directory '.*does_not_exist' does not exist"):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(missing)
    with raises(GliZNetLoadError, r"does_not_exist' does not exist"):
        hostile_nlp(missing)("text")
    with raises(GliZNetLoadError, r"is not a directory"):
        (tmp_path / "file").write_text("x")
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(tmp_path / "file")
    with raises(GliZNetLoadError, r"must be a non-empty string or path"):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer("  ")


@pytest.mark.parametrize("kind", ["no_weights", "truncated_weights", "no_tokenizer",
                                  "weights_wrong_shape"])
def test_broken_reference_checkpoint(kind, reference_dir, tmp_path):
    d = _copy(reference_dir, tmp_path)
    d.chmod(0o755)  # the shared fixture is read-only
    for p in d.iterdir():
        p.chmod(0o644)
    if kind == "weights_wrong_shape":
        _rewrite_weights(d, lambda s: s.__setitem__("aggregator.text_projector.0.weight",
                                                    torch.zeros(3, 3)))
        patterns = [r"do not match the model", r"text_projector\.0\.weight"]
    else:
        patterns = _corrupt(kind, d)
    with raises(GliZNetLoadError, *patterns):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)


def test_broken_backbone_directory(tiny_bert_dir, tmp_path):
    d = _copy(tiny_bert_dir, tmp_path)
    (d / "model.safetensors").unlink()
    with raises(GliZNetLoadError, r"has no model\.safetensors"):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)
    d2 = _copy(tiny_bert_dir, tmp_path, "partial")
    _rewrite_weights(d2, lambda s: [s.pop(k) for k in list(s) if "layer.1." in k])
    with raises(GliZNetLoadError, r"do not match its config\.json", r"missing", r"layer\.1\."):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d2)


# -- no pickles ------------------------------------------------------------------
class _Trap:
    """Unpickling this creates ``path``: proof that pickled code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickle_dir(src, tmp_path, name):
    d = _copy(src, tmp_path, name)
    (d / "model.safetensors").unlink()
    sentinel = tmp_path / f"{name}_pickle_ran"
    torch.save({"trap": _Trap(sentinel)}, d / "pytorch_model.bin")
    return d, sentinel


def test_pickle_trap_is_armed(tmp_path):
    sentinel = tmp_path / "armed"
    pickle.loads(pickle.dumps(_Trap(sentinel))).close()
    assert sentinel.exists()


@pytest.mark.parametrize("which", ["checkpoint", "backbone"])
def test_pickle_only_weights_are_refused(which, tiny_gliznet_dir, tiny_bert_dir, tmp_path,
                                         monkeypatch):
    src = tiny_gliznet_dir if which == "checkpoint" else tiny_bert_dir
    d, sentinel = _pickle_dir(src, tmp_path, which)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    with raises(GliZNetLoadError, r"has no model\.safetensors",
                r"pickle-based weights \['pytorch_model\.bin'\]", r"never loaded"):
        GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)
    with raises(GliZNetLoadError, r"pytorch_model\.bin"):
        hostile_nlp(d)("text")
    assert not sentinel.exists()
    assert calls == []


def test_pickle_next_to_safetensors_is_ignored(tiny_gliznet_dir, tmp_path):
    d = _copy(tiny_gliznet_dir, tmp_path)
    sentinel = tmp_path / "ran"
    torch.save({"trap": _Trap(sentinel)}, d / "pytorch_model.bin")
    model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)
    check_scores(model.predict_example("text", LABELS).as_dict(), LABELS)
    assert not sentinel.exists()


def test_loading_never_calls_torch_load(tiny_gliznet_dir, tiny_bert_dir, reference_dir,
                                        monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load was called while loading a model")

    monkeypatch.setattr(torch, "load", refuse)
    for d in (tiny_gliznet_dir, tiny_bert_dir, reference_dir):
        model, _ = GliZNetForSequenceClassification.from_pretrained_with_tokenizer(d)
        check_scores(model.predict_example("text", LABELS).as_dict(), LABELS)
    nlp = hostile_nlp(tiny_gliznet_dir)
    nlp.initialize()
    nlp2 = type(nlp).from_config(nlp.config)
    nlp2.from_bytes(nlp.to_bytes())
    check_scores(nlp2("text").cats, LABELS)


def test_package_source_has_no_unsafe_deserialization():
    """Every torch.load in the package passes weights_only=True; no pickle module."""
    for path in PACKAGE_DIR.rglob("*.py"):
        source = path.read_text(encoding="utf8")
        for m in re.finditer(r"torch\.load\s*\(", source):
            depth, i = 1, m.end()
            while depth and i < len(source):
                depth += {"(": 1, ")": -1}.get(source[i], 0)
                i += 1
            call = source[m.start():i]
            assert re.search(r"weights_only\s*=\s*True", call), f"{path.name}: {call}"
        assert not re.search(r"^\s*(import pickle|from pickle|import dill|import joblib)",
                             source, re.M), path.name
        assert not re.search(r"\bpickle\.loads?\(|use_safetensors\s*=\s*False", source), path.name
