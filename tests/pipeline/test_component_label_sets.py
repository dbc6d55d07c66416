"""Large label sets in the gliznet_textcat component: ``cats_top_k`` (and what spaCy's
scorer makes of it), ``label_data`` with ``spacy init labels`` and spaCy's
``read_labels.v1``, and label files as ``labels`` in the config."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.scorer import Scorer
from spacy.training import Example

import spacy_gliznet
from spacy_gliznet.pipeline.decisions import predicted_labels
from spacy_gliznet.settings import DecisionSettings
from spacy_gliznet.errors import GliZNetInputError

from helpers import make_nlp, write_docbin

LABELS = ["sports", "politics", "food", "music", "money", "weather"]
NLP = {"labels": LABELS}
TEXTS = ["the team won the match", "the minister spoke", "pasta and a song", "rain and sun"]
CONFIG = Path(spacy_gliznet.__file__).parent / "configs" / "gliznet_textcat.cfg"




# -- cats_top_k -------------------------------------------------------------------------
def test_top_k_writes_the_k_best_and_decides_from_every_label(nlp):
    full = list(nlp.pipe(TEXTS))
    cfg = {"gliznet_textcat": {"cats_top_k": 2, "decision_rule": "threshold", "threshold": 0.0}}
    top = list(nlp.pipe(TEXTS, component_cfg=cfg))
    for a, b in zip(full, top):
        best = sorted(LABELS, key=lambda k: (-a.cats[k], LABELS.index(k)))[:2]
        assert list(b.cats) == best  # the k best, best first
        assert all(b.cats[k] == pytest.approx(a.cats[k], abs=1e-6) for k in best)
        # every label is still decided on: threshold 0 predicts all six
        assert b._.gliznet_predicted_labels == predicted_labels(
            LABELS, [a.cats[k] for k in LABELS],
            settings=DecisionSettings(decision_rule="threshold", threshold=0.0))
        assert len(b._.gliznet_predicted_labels) == len(LABELS)
    # per-call defaults untouched, and the pipe setting applies to single calls
    pipe = nlp.get_pipe("gliznet_textcat")
    assert pipe.cats_top_k is None and len(nlp(TEXTS[0]).cats) == len(LABELS)
    pipe.cats_top_k = 1
    try:
        doc = nlp(TEXTS[0])
        assert list(doc.cats) == [doc._.gliznet_predicted_labels[0]]
    finally:
        pipe.cats_top_k = None


def test_top_k_is_validated_and_kept_by_the_config(tiny_gliznet_dir, tmp_path):
    for bad in (0, -3):  # spaCy's config check already refuses what is not an int
        with pytest.raises(GliZNetInputError, match="cats_top_k"):
            make_nlp(tiny_gliznet_dir, labels=LABELS, cats_top_k=bad)
    nlp = make_nlp(tiny_gliznet_dir, labels=LABELS, cats_top_k=3)
    for bad in (0, 1.5, True, "5"):
        with pytest.raises(GliZNetInputError, match="cats_top_k"):
            nlp.get_pipe("gliznet_textcat").cats_top_k = bad
    with pytest.raises(GliZNetInputError, match="cats_top_k"):
        nlp("the team", component_cfg={"gliznet_textcat": {"cats_top_k": 0}})
    nlp.initialize()
    nlp.to_disk(tmp_path / "p")
    assert len(spacy.load(tmp_path / "p")(TEXTS[0]).cats) == 3
    loaded = spacy.load(tmp_path / "p", config={"components": {"gliznet_textcat": {"cats_top_k": None}}})
    assert len(loaded(TEXTS[0]).cats) == len(LABELS)  # a load-time setting wins


def test_what_spacys_scorer_does_with_top_k(nlp):
    """A label missing from doc.cats is a score of 0.0 to spaCy's scorer: AUC sees 0.0
    where the score was; P/R/F count the decisions taken on what doc.cats holds, the
    same as without top-k when the k best hold every decided label."""
    gold = [{"sports": 1.0}, {"politics": 1.0}, {"food": 1.0, "music": 1.0}, {"weather": 1.0}]
    gold = [{k: g.get(k, 0.0) for k in LABELS} for g in gold]

    def examples(k):
        cfg = {"gliznet_textcat": {"cats_top_k": k}}
        return [Example(d, Example.from_dict(nlp.make_doc(t), {"cats": g}).reference)
                for d, t, g in zip(nlp.pipe(TEXTS, component_cfg=cfg), TEXTS, gold)]

    pipe = nlp.get_pipe("gliznet_textcat")  # margin rule: one or two labels per doc here
    full, top = examples(None), examples(len(LABELS) - 1)
    assert all(len(eg.predicted._.gliznet_predicted_labels) < len(LABELS) for eg in full)
    s_full, s_top = pipe.score(full), pipe.score(top)
    for key in ("cats_micro_f", "cats_macro_f", "cats_micro_p", "cats_micro_r"):
        assert s_top[key] == pytest.approx(s_full[key])
    # AUC: the dropped label reads as 0.0, exactly what spaCy's scorer does with those cats
    zeroed = [{k: eg.predicted.cats.get(k, 0.0) for k in LABELS} for eg in top]
    for eg, cats in zip(full, zeroed):
        eg.predicted.cats = cats
    expected = Scorer.score_cats(full, "cats", labels=LABELS, multi_label=True)
    assert s_top["cats_macro_auc"] == pytest.approx(expected["cats_macro_auc"])
    # with k = 1 the top label is all the scorer sees: multi-label P/R/F count it alone
    one = examples(1)
    assert all(len(eg.predicted.cats) == 1 for eg in one)
    s_one = pipe.score(one)
    tp = sum(list(eg.predicted.cats)[0] in {k for k, v in g.items() if v} for eg, g in zip(one, gold))
    assert s_one["cats_micro_p"] == pytest.approx(tp / len(one))


# -- label_data, spacy init labels and read_labels ----------------------------------------
def test_label_data_is_a_list_or_the_descriptions(tiny_gliznet_dir):
    assert make_nlp(tiny_gliznet_dir, labels=LABELS).get_pipe("gliznet_textcat").label_data == LABELS
    described = {"sports": "sports and games", "food": "food"}
    pipe = make_nlp(tiny_gliznet_dir, labels=described).get_pipe("gliznet_textcat")
    assert pipe.label_data == described


def write_corpus(path: Path, labels) -> None:
    write_docbin(path, [(text, {label: float(j == i) for j, label in enumerate(labels)})
                        for i, text in enumerate(TEXTS)])


@pytest.mark.slow
def test_spacy_init_labels_then_read_labels_in_initialize(tiny_bert_dir, tmp_path):
    """`python -m spacy init labels` writes the labels found in the training data;
    `[initialize.components.gliznet_textcat] labels` with spaCy's read_labels.v1
    gives them back to `initialize`, with no pass over the data."""
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    write_corpus(tmp_path / "train.spacy", LABELS)
    paths = ["--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "train.spacy"),
             "--paths.model", str(tiny_bert_dir)]
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}
    res = subprocess.run([sys.executable, "-m", "spacy", "init", "labels", str(CONFIG),
                          str(tmp_path / "labels"), *paths], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    written = json.loads((tmp_path / "labels" / "gliznet_textcat.json").read_text())
    assert written == LABELS
    # a second data set whose cats hold other labels: the file's labels are what initialize uses
    write_corpus(tmp_path / "other.spacy", ["red", "blue", "green", "cat"])
    config = load_config(CONFIG, overrides={
        "paths.train": str(tmp_path / "other.spacy"), "paths.dev": str(tmp_path / "other.spacy"),
        "paths.model": str(tiny_bert_dir),
        "initialize.components": {"gliznet_textcat": {"labels": {
            "@readers": "spacy.read_labels.v1", "path": str(tmp_path / "labels" / "gliznet_textcat.json")}}}})
    nlp = init_nlp(config)
    assert nlp.get_pipe("gliznet_textcat").labels == tuple(LABELS)


# -- a label file as `labels` in the config ----------------------------------------------
LABELS_BLOCK = """
[nlp]
lang = "en"
pipeline = ["gliznet_textcat"]

[components]

[components.gliznet_textcat]
factory = "gliznet_textcat"

[components.gliznet_textcat.labels]
@readers = "spacy_gliznet.read_labels.v1"
path = "{path}"

[components.gliznet_textcat.model]
@architectures = "spacy_gliznet.GliZNet.v1"
name = "{model}"
"""


@pytest.mark.parametrize("name,content,expected", [
    ("labels.txt", "sports\n\n  food and drink \nmusic\n", ["sports", "food and drink", "music"]),
    ("labels.json", json.dumps({"sports": "sports and games", "food": "food and drink"}),
     {"sports": "sports and games", "food": "food and drink"}),
])
def test_label_file_as_labels_in_the_config(tiny_gliznet_dir, tmp_path, name, content, expected):
    from spacy.util import load_model_from_config
    from thinc.api import Config

    (tmp_path / name).write_text(content, encoding="utf8")
    config = Config().from_str(LABELS_BLOCK.format(path=tmp_path / name, model=tiny_gliznet_dir))
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    pipe = nlp.get_pipe("gliznet_textcat")
    assert pipe.labels == tuple(expected)
    assert pipe.label_data == expected
    assert set(nlp("the team won").cats) == set(expected)
    nlp.initialize()
    nlp.to_disk(tmp_path / "saved")  # the saved pipeline reads the file again when built
    assert spacy.load(tmp_path / "saved").get_pipe("gliznet_textcat").labels == tuple(expected)
    (tmp_path / name).unlink()
    with pytest.raises(GliZNetInputError, match="labels file .* does not exist"):
        spacy.load(tmp_path / "saved")
