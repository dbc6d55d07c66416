"""spacy_gliznet.pipeline.adapt, GliZNetTextCategorizer.adapt and ``python -m spacy_gliznet adapt``:
self-training on unlabeled texts, on the tiny test model."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import spacy
import torch
from spacy.tokens import DocBin

from spacy_gliznet.__main__ import main
from spacy_gliznet.pipeline.adapt import AdaptSettings, label_stats, select_pseudo_labels
from spacy_gliznet.pipeline.decisions import decision_mask, logits_of
from spacy_gliznet.settings import DecisionSettings
from spacy_gliznet.cli._common import read_labels_option
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.pipeline.layer import ensure_loaded
from spacy_gliznet.corpus.readers import read_unlabeled

import helpers

LABELS = ["sports", "food", "music"]
WORDS = "the team won match goal pasta food hot cold cooking song film music new good".split()
FAST = {"steps": 3, "batch_size": 4, "per_label": 4, "min_texts": 5}


def corpus(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 9)))) for _ in range(n)]


@pytest.fixture
def nlp(tiny_gliznet_dir):
    return helpers.make_nlp(tiny_gliznet_dir, labels=LABELS, multi_label=False)


def state(nlp):
    return {k: v.clone() for k, v in ensure_loaded(nlp.get_pipe("gliznet_textcat").model)
            .state_dict().items()}


# -- pseudo-label selection ----------------------------------------------------
def test_single_label_selection_is_balanced_and_most_confident_first():
    scores = np.array([
        [0.9, 0.1, 0.0],   # label 0, gap 0.8
        [0.5, 0.4, 0.1],   # label 0, gap 0.1
        [0.7, 0.2, 0.1],   # label 0, gap 0.5
        [0.1, 0.8, 0.1],   # label 1, gap 0.7
        [0.3, 0.6, 0.1],   # label 1, gap 0.3
    ])
    pseudo = select_pseudo_labels(scores, multi_label=False, per_label=2)
    assert pseudo.rows == [0, 2, 3, 4]  # row 1 is label 0's least confident: left out
    assert pseudo.positives == [[0], [0], [1], [1]]
    assert pseudo.negatives[0] == [1, 2]
    assert pseudo.counts == [2, 2, 0]  # label 2 is nobody's top label


def test_multi_label_selection_uses_each_labels_z_score():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.3, 0.4, size=(50, 3))
    scores[7, 0] = 0.99   # stands out for label 0
    scores[9, 1] = 0.99   # and for label 1
    scores[9, 2] = 0.98   # row 9 also stands out for label 2
    pseudo = select_pseudo_labels(scores, multi_label=True, per_label=1, min_z=2.0)
    assert pseudo.rows == [7, 9]
    assert pseudo.positives == [[0], [1, 2]]
    assert 0 not in pseudo.negatives[1] or scores[9, 0] < scores[:, 0].mean()
    assert pseudo.counts == [1, 1, 1]


def test_selection_of_nothing():
    pseudo = select_pseudo_labels(np.zeros((0, 3)), multi_label=False, per_label=4)
    assert pseudo.rows == [] and pseudo.counts == [0, 0, 0]
    with pytest.raises(GliZNetInputError, match="matrix"):
        select_pseudo_labels(np.zeros(3), multi_label=False, per_label=4)


def test_label_stats_are_logit_mean_and_std():
    scores = np.array([[0.5, 0.9], [0.731058578630005, 0.9]])  # logits 0 and 1; 2.197 twice
    stats = label_stats(["a", "b"], scores)
    assert np.allclose(stats["a"], [0.5, 0.5]) and np.isclose(stats["b"][0], 2.1972246)
    assert stats["b"][1] == 1.0  # no spread: 1, so the rule never divides by zero
    assert np.allclose(logits_of(scores)[:, 0], [0.0, 1.0])


@pytest.mark.parametrize("field,value", [("steps", -1), ("per_label", -1), ("learn_rate", 2.0),
                                         ("dropout", 1.0), ("mix", 0.0), ("batch_size", True),
                                         ("min_z", float("nan"))])
def test_bad_settings_are_named(field, value):
    with pytest.raises(GliZNetInputError, match=field):
        AdaptSettings(**{field: value})


def test_with_overrides_checks_names_and_values():
    base = AdaptSettings(seed=3)
    new = base.with_overrides(steps=5, mix=0.5)
    assert (new.steps, new.mix, new.seed) == (5, 0.5, 3) and base.steps is None
    with pytest.raises(GliZNetInputError, match=r"where: unknown settings \['stepz'\]; known: .*'steps'"):
        base.with_overrides("where", stepz=1)
    with pytest.raises(GliZNetInputError, match="mix must be in"):
        base.with_overrides(mix=0.0)


# -- the pipe method -------------------------------------------------------------
def test_adapt_changes_the_weights_and_reports(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    before = state(nlp)
    seen = []
    report = pipe.adapt(corpus(), nlp=nlp, progress=lambda *a: seen.append(a[0]), **FAST)
    after = state(nlp)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert report.steps == 3 and len(report.losses) == 3
    assert report.texts == 40 and report.labels == LABELS and not report.multi_label
    assert sum(report.pseudo_labels[0].values()) > 0
    assert 0.0 <= report.agreement_with_start <= 1.0
    assert report.start_scores.shape == report.final_scores.shape == (40, 3)
    assert {"scoring", "training 1/1", "checking"} <= set(seen)
    text = report.summary()
    assert "40 texts" in text and "3 steps" in text and "Pseudo-labels per label" in text


def test_adapt_is_deterministic_under_a_seed(tiny_gliznet_dir):
    states = []
    for _ in range(2):
        nlp = helpers.make_nlp(tiny_gliznet_dir, labels=LABELS, multi_label=False)
        nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, seed=3, **FAST)
        states.append(state(nlp))
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    nlp = helpers.make_nlp(tiny_gliznet_dir, labels=LABELS, multi_label=False)
    nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, seed=4, **FAST)
    other = state(nlp)
    assert any(not torch.equal(states[0][k], other[k]) for k in other)


def test_multi_label_default_stores_statistics_and_switches_to_zscore(nlp, tmp_path):
    pipe = nlp.get_pipe("gliznet_textcat")
    before = state(nlp)
    texts = corpus()
    report = pipe.adapt(texts, nlp=nlp, multi_label=True, min_texts=5)
    assert report.steps == 0 and report.pseudo_labels == []  # statistics only (the default)
    assert all(torch.equal(before[k], v) for k, v in state(nlp).items())
    assert pipe.decision_rule == "zscore" and pipe.rule_param == 2.0
    assert pipe.label_stats == label_stats(LABELS, report.start_scores)
    assert "zscore rule" in report.summary()
    doc = nlp("the team won the match")
    want = decision_mask(np.array([doc.cats[k] for k in LABELS]), LABELS,
                         settings=DecisionSettings(decision_rule="zscore", rule_param=2.0,
                                                   label_stats=pipe.label_stats))
    assert set(doc._.gliznet_predicted_labels) == {k for k, m in zip(LABELS, want) if m}
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p").get_pipe("gliznet_textcat")
    assert loaded.decision_rule == "zscore" and set(loaded.label_stats) == set(LABELS)
    for k in LABELS:  # the JSON config keeps 10 digits
        assert np.allclose(loaded.label_stats[k], pipe.label_stats[k], rtol=0, atol=1e-8)
    # steps given: self-training in multi-label mode too, then statistics of the adapted model
    report = pipe.adapt(texts, nlp=nlp, multi_label=True, min_z=1.0, **FAST)
    assert report.steps == 3 and pipe.label_stats == label_stats(LABELS, report.final_scores)


def test_adapt_sets_the_labels_and_mode_it_adapted_to(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    report = pipe.adapt(corpus(), nlp=nlp, labels={"a": "sports", "b": "food"},
                        multi_label=True, min_z=1.0, **FAST)
    assert pipe.labels == ("a", "b") and pipe.label_descriptions == {"a": "sports", "b": "food"}
    assert pipe.multi_label and report.multi_label
    # the model read the descriptions, in scoring as in training
    doc = nlp(corpus()[-1])
    assert np.allclose(report.final_scores[-1], [doc.cats["a"], doc.cats["b"]], atol=1e-5)
    plain = nlp(corpus()[-1], component_cfg={"gliznet_textcat": {"labels": ["a", "b"]}})
    assert not np.allclose([plain.cats["a"], plain.cats["b"]], [doc.cats["a"], doc.cats["b"]])


def test_mix_with_the_start_weights(nlp, tiny_gliznet_dir):
    start = state(nlp)
    other = helpers.make_nlp(tiny_gliznet_dir, labels=LABELS, multi_label=False)
    other.get_pipe("gliznet_textcat").adapt(corpus(), nlp=other, seed=0, **FAST)
    tuned = state(other)
    nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, seed=0, mix=0.5, **FAST)
    mixed = state(nlp)
    key = next(k for k in start if start[k].is_floating_point() and not torch.equal(start[k], tuned[k]))
    assert torch.allclose(mixed[key], 0.5 * start[key] + 0.5 * tuned[key], atol=1e-6)


def test_labels_without_confident_texts_are_reported(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    # 7 labels, 8 texts, at least 3 confident texts wanted per label: some labels fall short
    labels = ["sports", "food", "music", "film", "news", "bank", "weather"]
    report = pipe.adapt(corpus(8), nlp=nlp, labels=labels, min_per_label=3,
                        **{**FAST, "min_texts": 8})
    short = [k for k, c in report.pseudo_labels[0].items() if c < 3]
    assert short and report.too_few[0] == short
    assert "fewer than 3 confident texts" in report.summary()


def test_small_empty_and_bad_corpora_are_refused(nlp):
    pipe = nlp.get_pipe("gliznet_textcat")
    with pytest.raises(GliZNetInputError, match="at least 20"):
        pipe.adapt(corpus(5), nlp=nlp)
    with pytest.raises(GliZNetInputError, match="has 0 text"):
        pipe.adapt([], nlp=nlp)
    with pytest.raises(GliZNetInputError, match="empty text"):
        pipe.adapt(corpus(30) + ["  "], nlp=nlp)
    with pytest.raises(GliZNetInputError, match="pass nlp"):
        pipe.adapt(corpus(30))
    with pytest.raises(GliZNetInputError, match="unknown settings.*stepz"):
        pipe.adapt(corpus(30), nlp=nlp, stepz=3)
    with pytest.raises(GliZNetInputError, match="at least 2 labels"):
        pipe.adapt(corpus(30), nlp=nlp, labels=["sports"])


# -- the adapted pipeline is a pipeline like any other ----------------------------------
SUBPROCESS = textwrap.dedent("""
    import json, sys
    import spacy, spacy_gliznet
    from spacy_gliznet.scale.distributed import GliZNetBatchClassifier
    import numpy as np
    path, texts = sys.argv[1], json.loads(sys.argv[2])
    nlp = spacy.load(path)
    one = [d.cats for d in nlp.pipe(texts)]
    two = [d.cats for d in nlp.pipe(texts, n_process=2, batch_size=3)]
    ray_rows = GliZNetBatchClassifier(path, batch_size=4)({"text": np.array(texts)})
    print("RESULT " + json.dumps({"one": one, "two": two,
                                  "ray": {k: v.tolist() for k, v in ray_rows.items()
                                          if k.startswith("score_")}}))
""")


@pytest.mark.slow
def test_adapted_pipeline_saves_loads_and_runs_with_n_process_and_ray_actor(nlp, tmp_path):
    nlp.get_pipe("gliznet_textcat").adapt(corpus(), nlp=nlp, **FAST)
    texts = corpus(10, seed=5)
    expected = [d.cats for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "adapted")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SUBPROCESS, str(tmp_path / "adapted"),
                           json.dumps(texts)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    for name in ("one", "two"):
        for got, want in zip(result[name], expected):
            assert set(got) == set(LABELS)
            assert max(abs(got[k] - want[k]) for k in LABELS) <= 1e-5
    for k in LABELS:
        assert np.allclose(result["ray"][f"score_{k}"], [c[k] for c in expected], atol=1e-5)


# -- corpus files and the CLI -------------------------------------------------------
def test_read_unlabeled_formats(tmp_path):
    nlp = spacy.blank("en")
    (tmp_path / "a.jsonl").write_text('{"text": "one two", "labels": ["x"]}\n{"text": "three"}\n')
    (tmp_path / "a.txt").write_text("one two\n\n  \nthree\n")
    db = DocBin()
    for t in ("one two", "three"):
        db.add(nlp.make_doc(t))
    db.to_disk(tmp_path / "a.spacy")
    for name in ("a.jsonl", "a.txt", "a.spacy"):
        assert [d.text for d in read_unlabeled(tmp_path / name, nlp)] == ["one two", "three"]
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(ValueError, match="line 2.*'text'"):
        read_unlabeled(tmp_path / "bad.jsonl", nlp)
    (tmp_path / "a.csv").write_text("x\n")
    with pytest.raises(ValueError, match=r"\.jsonl, \.txt, \.spacy"):
        read_unlabeled(tmp_path / "a.csv", nlp)
    with pytest.raises(ValueError, match="No such corpus"):
        read_unlabeled(tmp_path / "missing.txt", nlp)


def test_labels_option(tmp_path):
    assert read_labels_option("a, b,c") == ["a", "b", "c"]
    (tmp_path / "l.txt").write_text("alpha\n\nbeta\n")
    assert read_labels_option(str(tmp_path / "l.txt")) == ["alpha", "beta"]
    (tmp_path / "l.json").write_text('{"a": "about a"}')
    assert read_labels_option(str(tmp_path / "l.json")) == {"a": "about a"}
    with pytest.raises(GliZNetInputError, match="does not exist"):
        read_labels_option(str(tmp_path / "none.txt"))
    assert read_labels_option(None) is None


def test_cli_adapts_a_saved_pipeline(tiny_gliznet_dir, tmp_path, capsys):
    source = helpers.saved_pipeline(tiny_gliznet_dir, LABELS, tmp_path / "pipe")
    (tmp_path / "corpus.txt").write_text("\n".join(corpus()) + "\n")
    out = tmp_path / "adapted"
    assert main(["adapt", str(source), str(tmp_path / "corpus.txt"), str(out), "--steps", "2",
                 "--batch-size", "4", "--per-label", "4", "--labels", "sports,food",
                 "--single-label", "--no-progress", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Adapted to 40 texts, 2 labels (single-label), 2 steps" in printed
    loaded = spacy.load(out)
    pipe = loaded.get_pipe("gliznet_textcat")
    assert pipe.labels == ("sports", "food") and not pipe.multi_label
    meta = loaded.meta["gliznet_adapt"]
    assert meta["steps"] == 2 and meta["texts"] == 40 and meta["settings"]["seed"] == 1
    doc = loaded("the team won")
    assert set(doc.cats) == {"sports", "food"} and abs(sum(doc.cats.values()) - 1) < 1e-5


def test_cli_refuses_what_it_cannot_use(tiny_gliznet_dir, tmp_path):
    (tmp_path / "corpus.txt").write_text("\n".join(corpus()) + "\n")
    with pytest.raises(GliZNetInputError, match="No pipeline directory"):
        main(["adapt", str(tmp_path / "nope"), str(tmp_path / "corpus.txt"), str(tmp_path / "o")])
    source = helpers.saved_pipeline(tiny_gliznet_dir, LABELS, tmp_path / "pipe")
    with pytest.raises(GliZNetInputError, match="no component 'other'"):
        main(["adapt", str(source), str(tmp_path / "corpus.txt"), str(tmp_path / "o"),
              "--component", "other"])
    with pytest.raises(SystemExit):
        main(["adapt", str(source), str(tmp_path / "corpus.txt"), str(tmp_path / "o"),
              "--multi-label", "--single-label"])
