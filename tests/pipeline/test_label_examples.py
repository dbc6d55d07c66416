"""Labels with examples in the pipe: through the config, per call, per doc and from
files; validated; cached; saved and loaded; multi-label decisions from the examples;
and as seeds for adapt."""

import json

import numpy as np
import pytest
import spacy
import srsly
from spacy.training import Example

from spacy_gliznet.corpus.readers import read_examples_file, read_labels_file
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.model import network
from spacy_gliznet.model import prototypes as P
from spacy_gliznet.pipeline.layer import ensure_loaded
from spacy_gliznet.pipeline.metrics import example_decisions

from helpers import make_nlp

TEXTS = ["the team won the match", "pasta cooking is good", "a new song from the film",
         "hot food and cold rain"]
EXAMPLES = {"sports": {"examples": ["the goal was great", "the team lost the game"]},
            "food": {"description": "food and cooking", "examples": ["hot pasta", "good food"]},
            "music": "music"}
PLAIN = {"sports": "sports", "food": "food and cooking", "music": "music"}
KEYS = list(PLAIN)


def scores(nlp, texts=TEXTS, **cfg):
    component_cfg = {"gliznet_textcat": cfg} if cfg else None
    return np.array([[d.cats[k] for k in KEYS] for d in nlp.pipe(texts, component_cfg=component_cfg)])


@pytest.fixture
def forced_weight(monkeypatch):
    """The examples' weight forced to ``w`` (the choice itself is tested in
    tests/model/test_prototypes.py): the tiny random model's examples may not earn one."""
    def force(weight):
        def fixed(label_vecs, example_vecs, keys, scale, offset, multi):
            real = P.label_prototypes(label_vecs, example_vecs, keys, scale, offset, multi)
            X, Y = P.stack_examples(example_vecs, keys, label_vecs.shape[0])
            sums, counts = P.example_sums(X, Y)
            return P.Prototypes(P.combine(label_vecs, sums, counts, weight), real.choice)
        monkeypatch.setattr(network, "label_prototypes", fixed)
    return force


def test_examples_through_config_call_and_doc_change_the_scores(tiny_isolated_gliznet_dir,
                                                                 forced_weight):
    forced_weight(0.7)
    with_examples = make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLES, multi_label=False)
    plain = make_nlp(tiny_isolated_gliznet_dir, labels=PLAIN, multi_label=False)
    by_config = scores(with_examples)
    assert np.abs(by_config - scores(plain)).max() > 1e-3
    assert np.allclose(scores(plain, labels=EXAMPLES), by_config, atol=1e-6)
    docs = [plain.make_doc(t) for t in TEXTS]
    for doc in docs:
        doc._.gliznet_labels = EXAMPLES
    by_doc = np.array([[d.cats[k] for k in KEYS] for d in plain.pipe(docs)])
    assert np.allclose(by_doc, by_config, atol=1e-6)
    assert with_examples.get_pipe("gliznet_textcat").label_examples == {
        "sports": ["the goal was great", "the team lost the game"], "food": ["hot pasta", "good food"]}


def test_a_label_without_examples_scores_exactly_as_before(tiny_isolated_gliznet_dir, forced_weight):
    forced_weight(1.0)
    nlp = make_nlp(tiny_isolated_gliznet_dir, multi_label=True)
    before, after = scores(nlp, labels=PLAIN), scores(nlp, labels=EXAMPLES)
    assert np.abs(after[:, 2] - before[:, 2]).max() <= 1e-6           # music: no examples
    assert np.abs(after[:, :2] - before[:, :2]).max() > 1e-3


def test_examples_at_weight_zero_score_as_the_plain_labels(tiny_isolated_gliznet_dir, forced_weight):
    forced_weight(0.0)
    nlp = make_nlp(tiny_isolated_gliznet_dir, multi_label=False)
    assert np.abs(scores(nlp, labels=EXAMPLES) - scores(nlp, labels=PLAIN)).max() <= 1e-6


def test_cached_until_the_examples_change(tiny_isolated_gliznet_dir, monkeypatch):
    calls = []
    real = network.label_prototypes
    monkeypatch.setattr(network, "label_prototypes", lambda *a: calls.append(a) or real(*a))
    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLES)
    module = ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
    first = scores(nlp)
    misses = module.example_cache.misses
    assert len(calls) == 1 and misses == 4
    assert np.array_equal(scores(nlp), first) and len(calls) == 1    # unchanged: reused
    assert module.example_cache.misses == misses
    changed = {**EXAMPLES, "sports": {"examples": ["the goal was great", "a match"]}}
    scores(nlp, labels=changed)
    assert len(calls) == 2 and module.example_cache.misses == misses + 1  # only the new text
    scores(nlp)
    assert len(calls) == 2                                         # both label sets kept
    module.clear_label_cache()
    scores(nlp)
    assert len(calls) == 3


def test_the_leave_one_out_choice_is_deterministic(tiny_isolated_gliznet_dir):
    choices = []
    for _ in range(2):
        nlp = make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLES, multi_label=False)
        scores(nlp)
        choices.append(ensure_loaded(nlp.get_pipe("gliznet_textcat").model).prototype_cache.last())
    assert choices[0].choice.curve == choices[1].choice.curve
    assert choices[0].choice.weight == choices[1].choice.weight
    assert np.array_equal(choices[0].vectors.numpy(), choices[1].vectors.numpy())


@pytest.mark.parametrize("labels,match", [
    ({"sports": {"examples": []}}, "examples of label 'sports' are an empty list"),
    ({"sports": {"examples": ["a", "a"]}}, "repeats example 0"),
    ({"sports": {"examples": [None]}}, "example 0 is NoneType"),
])
def test_invalid_examples_are_refused_in_every_place(tiny_isolated_gliznet_dir, labels, match):
    with pytest.raises(GliZNetInputError, match=match):
        make_nlp(tiny_isolated_gliznet_dir, labels=labels)
    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=["sports"])
    with pytest.raises(GliZNetInputError, match=match):
        nlp.get_pipe("gliznet_textcat").labels = labels
    with pytest.raises(GliZNetInputError, match="^labels: .*" + match):
        nlp("a text", component_cfg={"gliznet_textcat": {"labels": labels}})
    doc = nlp.make_doc("a text")
    doc._.gliznet_labels = labels
    with pytest.raises(GliZNetInputError, match="^doc._.gliznet_labels: .*" + match):
        nlp.get_pipe("gliznet_textcat")(doc)


def test_a_model_whose_labels_read_the_text_refuses_examples(tiny_gliznet_dir):
    nlp = make_nlp(tiny_gliznet_dir, labels=EXAMPLES)  # label_attention "full"
    with pytest.raises(GliZNetInputError, match="encoded apart from the text.*adapt with --examples"):
        nlp("the team won")
    assert set(nlp("the team won", component_cfg={"gliznet_textcat": {"labels": PLAIN}}).cats) \
        == set(KEYS)


def test_examples_from_label_files(tiny_isolated_gliznet_dir, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [
        {"label": "sports", "examples": ["the goal was great", "the team lost the game"]},
        {"label": "food", "description": "food and cooking", "examples": ["hot pasta", "good food"]},
        {"label": "music", "description": "music"}]) + "\n\n", encoding="utf8")
    assert read_labels_file(path) == EXAMPLES
    (tmp_path / "plain.jsonl").write_text('{"label": "a"}\n{"label": "b"}\n', encoding="utf8")
    assert read_labels_file(tmp_path / "plain.jsonl") == ["a", "b"]
    srsly.write_json(tmp_path / "labels.json", EXAMPLES)
    assert read_labels_file(tmp_path / "labels.json") == EXAMPLES
    nlp = make_nlp(tiny_isolated_gliznet_dir,
                   labels={"@readers": "spacy_gliznet.read_labels.v1", "path": str(path)})
    assert nlp.get_pipe("gliznet_textcat").label_data == EXAMPLES
    for lines, match in [
        (['{"label": "a"}', '{"label": "a"}'], "line 2 repeats the label 'a' of line 1"),
        (['{"label": "a", "examples": []}'], "line 1: the examples of label 'a' are an empty list"),
        (['{"label": "a", "exemples": ["x"]}'], "line 1 has unknown fields \\['exemples'\\]"),
        (['{"label": "a"}', 'not json'], "line 2 is not valid JSON"),
        (['["a"]'], "line 1 must be an object with a 'label' string"),
    ]:
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(lines) + "\n", encoding="utf8")
        with pytest.raises(GliZNetInputError, match=f"bad.jsonl.*{match}"):
            read_labels_file(bad)


def test_examples_are_saved_and_loaded_with_the_pipeline(tiny_isolated_gliznet_dir, tmp_path):
    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=["x"])
    pipe = nlp.get_pipe("gliznet_textcat")
    nlp.initialize()
    pipe.labels = EXAMPLES  # e.g. from `spacy init labels` data given to initialize
    assert nlp.config["components"]["gliznet_textcat"]["labels"] == EXAMPLES
    assert pipe.add_label("news") == 1 and pipe.label_data == {**EXAMPLES, "news": "news"}
    pipe.labels = EXAMPLES
    before = scores(nlp)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    again = loaded.get_pipe("gliznet_textcat")
    assert again.label_data == EXAMPLES and again.label_examples == pipe.label_examples
    assert np.abs(scores(loaded) - before).max() <= 1e-6
    copy = make_nlp(tiny_isolated_gliznet_dir, labels=["x"])
    copy.get_pipe("gliznet_textcat").from_bytes(pipe.to_bytes())
    assert copy.get_pipe("gliznet_textcat").label_data == EXAMPLES
    assert np.abs(scores(copy) - before).max() <= 1e-6
    # initialize with the label data `spacy init labels` writes
    fresh = make_nlp(tiny_isolated_gliznet_dir)
    example = Example.from_dict(fresh.make_doc("a text"), {})
    fresh.get_pipe("gliznet_textcat").initialize(lambda: [example], nlp=fresh, labels=pipe.label_data)
    assert fresh.get_pipe("gliznet_textcat").label_data == EXAMPLES


def test_multi_label_decisions_come_from_the_examples(tiny_isolated_gliznet_dir):
    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLES, multi_label=True)
    pipe = nlp.get_pipe("gliznet_textcat")
    docs = list(nlp.pipe(TEXTS))
    choice = ensure_loaded(pipe.model).prototype_cache.last().choice
    assert len(choice.thresholds) == 3
    cut = 1.0 / (1.0 + np.exp(-np.array(choice.thresholds)))
    for doc in docs:
        top = max(KEYS, key=lambda k: doc.cats[k])
        want = {k for k, c in zip(KEYS, cut) if doc.cats[k] >= c} | {top}
        assert set(doc._.gliznet_predicted_labels) == want
    settings = example_decisions(pipe.decision_settings(), choice.thresholds, KEYS)
    assert (settings.decision_rule, settings.param) == ("margin", 0.0)
    assert example_decisions(pipe.decision_settings(), None, KEYS) == pipe.decision_settings()
    # a per-label threshold the user gave still wins for its label
    docs = list(nlp.pipe(TEXTS, component_cfg={"gliznet_textcat": {"thresholds": {"music": 0.0}}}))
    assert all("music" in d._.gliznet_predicted_labels for d in docs)
    # single-label: the top label, as always
    assert all(len(d._.gliznet_predicted_labels) == 1
               for d in nlp.pipe(TEXTS, component_cfg={"gliznet_textcat": {"multi_label": False}}))


def test_adapt_fine_tunes_on_seeds_alone(tiny_isolated_gliznet_dir, tmp_path):
    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=EXAMPLES, multi_label=False)
    pipe = nlp.get_pipe("gliznet_textcat")
    before = scores(nlp)
    seeds = [{"text": t, "labels": [k]} for k, v in EXAMPLES.items() if isinstance(v, dict)
             for t in v["examples"]] + [{"text": "a new song", "labels": ["music"]}]
    report = pipe.adapt([], nlp=nlp, examples=seeds, steps=3, batch_size=2, learn_rate=1e-3)
    assert report.steps == 3 and report.seeds == 5 and report.texts == 0
    assert "no corpus: fine-tuned on them alone" in report.summary()
    assert pipe.label_data == EXAMPLES          # the label examples stay
    assert np.abs(scores(nlp) - before).max() > 1e-4
    with pytest.raises(GliZNetInputError, match="seeds.jsonl line 2: labels \\['nope'\\]"):
        pipe.adapt([], nlp=nlp, examples=[seeds[0], {**seeds[1], "labels": ["nope"],
                                                      "where": "seeds.jsonl line 2"}])
    with pytest.raises(GliZNetInputError, match="example 0: an example needs exactly one label"):
        pipe.adapt([], nlp=nlp, examples=[("two labels", ["sports", "food"])])


def test_adapt_command_reads_examples_without_a_corpus(tiny_isolated_gliznet_dir, tmp_path):
    from spacy_gliznet.cli.adapt import adapt_pipeline

    nlp = make_nlp(tiny_isolated_gliznet_dir, labels=PLAIN, multi_label=False)
    nlp.to_disk(tmp_path / "start")
    path = tmp_path / "seeds.jsonl"
    path.write_text('{"text": "the goal", "labels": ["sports"]}\n\n'
                    '{"text": "hot pasta", "labels": ["food"]}\n', encoding="utf8")
    assert [r["where"] for r in read_examples_file(path)] == ["seeds.jsonl line 1",
                                                              "seeds.jsonl line 3"]
    report = adapt_pipeline(tmp_path / "start", None, tmp_path / "out", examples=path,
                            progress=False, steps=2, batch_size=2)
    assert report.seeds == 2 and report.steps == 2
    meta = srsly.read_json(tmp_path / "out" / "meta.json")["gliznet_adapt"]
    assert meta["examples"] == str(path) and meta["corpus"] is None and meta["seeds"] == 2
    path.write_text('{"text": "the goal", "labels": "sports"}\n', encoding="utf8")
    with pytest.raises(GliZNetInputError, match="seeds.jsonl.*line 1 must be an object"):
        read_examples_file(path)
    with pytest.raises(GliZNetInputError, match="needs an unlabeled corpus, --examples, or both"):
        adapt_pipeline(tmp_path / "start", None, tmp_path / "out2")


def test_adapt_command_line_takes_the_corpus_as_optional():
    import argparse

    from spacy_gliznet.cli import adapt

    parser = argparse.ArgumentParser()
    adapt.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["adapt", "default", "out", "--examples", "seeds.jsonl"])
    assert (args.pipeline, args.unlabeled, args.output, args.examples) == \
        ("default", None, "out", "seeds.jsonl")
    args = parser.parse_args(["adapt", "default", "corpus.jsonl", "out"])
    assert (args.unlabeled, args.output, args.examples) == ("corpus.jsonl", "out", None)
