"""``python -m spacy_gliznet find-thresholds``: the report maths on hand-made scores and
the command end to end on a tiny gliznet_textcat and on spaCy's textcat_multilabel."""

import json

import numpy as np
import pytest
import spacy
from spacy.training import Example

from spacy_gliznet.__main__ import main
from spacy_gliznet.cli.find_thresholds import format_report, tuning_report
from spacy_gliznet.pipeline.metrics import gliznet_textcat_score
from spacy_gliznet.settings import DecisionSettings
from spacy_gliznet.errors import GliZNetInputError

from helpers import TRAIN, write_docbin

LABELS = ["sports", "food", "music"]
DEV = TRAIN + [
    ("the band played the song", {"sports": 0.0, "food": 0.0, "music": 1.0}),
    ("nothing much", {"sports": 0.0, "food": 0.0, "music": 0.0}),
]


def test_tuning_report_hand_made():
    scores = np.array([[0.20, 0.9], [0.25, 0.8], [0.10, 0.7], [0.15, 0.1]])
    gold = np.array([[1, 0], [1, 0], [0, 0], [0, 0]], dtype=bool)
    before = DecisionSettings(decision_rule="threshold", threshold=0.5)
    rep = tuning_report(scores, gold, ["low", "never"], before, min_positives=2)
    # before at 0.5: "low" never predicted (F 0), "never" predicted 3 times, all wrong (F 0)
    assert rep["macro_f"]["before"] == 0.0 and rep["micro_f"]["before"] == 0.0
    # "low" gets 0.20 (perfect, tie toward 0.5); "never" has no positives -> global
    assert rep["thresholds"] == {"low": 0.2}
    assert rep["per_label"]["never"]["tuned"] is False
    assert rep["per_label"]["never"]["threshold"] == rep["threshold"]
    # global: above 0.9 nothing of "never" passes (F 0 either way) and "low" is 0;
    # best global cut is where "low" is perfect: (0.15, 0.20], closest to 0.5 -> 0.2
    assert rep["threshold"] == 0.2
    assert rep["per_label"]["low"]["f_per_label"] == 1.0
    # "never": F 0 at any cut; macro = (1 + 0) / 2; micro: tp 2, fp 3 at 0.2 -> 4 / 7
    assert rep["macro_f"]["per_label"] == pytest.approx(0.5)
    assert rep["micro_f"]["per_label"] == pytest.approx(4 / 7)
    table = format_report(rep)
    assert "| low | 2 | 0.000 | 1.000 | 0.20 | 1.000 |" in table
    assert "0.20 (global)" in table and "**macro-F1**" in table and "**micro-F1**" in table


def write_dev(path, nlp, rows=DEV):
    return write_docbin(path, rows, nlp)


def test_find_thresholds_on_gliznet_textcat(tmp_path, tiny_gliznet_dir, capsys):
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)},
        "labels": LABELS})
    nlp.to_disk(tmp_path / "in")
    dev = write_dev(tmp_path / "dev.spacy", nlp)
    assert main(["find-thresholds", str(tmp_path / "in"), str(dev), str(tmp_path / "out"),
                 "--min-positives", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| sports | 3 |" in printed and "**macro-F1**" in printed
    report = json.loads((tmp_path / "out" / "thresholds.json").read_text())
    assert set(report["thresholds"]) == {"sports", "food", "music"}  # 3 positives each
    loaded = spacy.load(tmp_path / "out")
    pipe = loaded.get_pipe("gliznet_textcat")
    assert pipe.decision_rule == "threshold"
    assert pipe.threshold == report["threshold"]
    assert pipe.thresholds == report["thresholds"]
    assert loaded.config["components"]["gliznet_textcat"]["thresholds"] == report["thresholds"]
    # spacy evaluate (the component's scorer) counts what the report counted
    egs = [Example.from_dict(loaded.make_doc(t), {"cats": c}) for t, c in DEV]
    scores = loaded.evaluate(egs)
    assert scores["cats_macro_f"] == pytest.approx(report["macro_f"]["per_label"])
    assert scores["cats_micro_f"] == pytest.approx(report["micro_f"]["per_label"])
    # the decisions on a doc use the tuned thresholds
    doc = loaded(DEV[0][0])
    assert doc._.gliznet_predicted_labels == sorted(
        [k for k in LABELS if doc.cats[k] >= pipe.thresholds[k]], key=lambda k: -doc.cats[k])


def test_find_thresholds_on_textcat_multilabel(tmp_path):
    from spacy_gliznet.cli.find_thresholds import find_thresholds

    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat_multilabel")
    egs = [Example.from_dict(nlp.make_doc(t), {"cats": c}) for t, c in DEV]
    nlp.initialize(lambda: egs)
    for _ in range(3):
        nlp.update(egs)
    nlp.to_disk(tmp_path / "in")
    dev = write_dev(tmp_path / "dev.spacy", nlp)
    report = find_thresholds(tmp_path / "in", dev, tmp_path / "out", min_positives=3,
                             progress=False)
    assert report["factory"] == "textcat_multilabel"
    loaded = spacy.load(tmp_path / "out")
    assert loaded.get_pipe("textcat_multilabel").cfg["threshold"] == report["threshold"]
    # its own scorer uses the global threshold ...
    egs = [Example.from_dict(loaded.make_doc(t), {"cats": c}) for t, c in DEV]
    assert loaded.evaluate(egs)["cats_macro_f"] == pytest.approx(report["macro_f"]["global"])
    # ... and the per-label ones apply through gliznet_textcat_score (the recipe)
    preds = [Example(loaded(t), eg.reference) for (t, _), eg in zip(DEV, egs)]
    res = gliznet_textcat_score(preds, labels=list(textcat.labels), threshold=report["threshold"],
                                thresholds=report["thresholds"], decision_rule="threshold")
    assert res["cats_macro_f"] == pytest.approx(report["macro_f"]["per_label"])
    assert res["cats_micro_f"] == pytest.approx(report["micro_f"]["per_label"])


def test_find_thresholds_refuses_what_it_cannot_tune(tmp_path, tiny_gliznet_dir):
    from spacy_gliznet.cli.find_thresholds import find_thresholds

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "plain")
    dev = write_dev(tmp_path / "dev.spacy", nlp)
    with pytest.raises(GliZNetInputError, match="has no gliznet_textcat or textcat_multilabel"):
        find_thresholds(tmp_path / "plain", dev, tmp_path / "o", progress=False)
    nlp.add_pipe("gliznet_textcat", config={
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)},
        "labels": LABELS, "multi_label": False})
    nlp.to_disk(tmp_path / "single")
    with pytest.raises(GliZNetInputError, match="single-label"):
        find_thresholds(tmp_path / "single", dev, tmp_path / "o", progress=False)
    with pytest.raises(GliZNetInputError, match="no component 'nope'"):
        find_thresholds(tmp_path / "single", dev, tmp_path / "o", component="nope", progress=False)


def tiny_pipeline(path, tiny_gliznet_dir, labels):
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)},
        "labels": labels})
    nlp.to_disk(path)
    return nlp


def test_a_label_starting_with_at_survives_find_thresholds(tmp_path, tiny_gliznet_dir):
    """'@home' in config.cfg's thresholds reads as a registry name (RegistryError E892)."""
    from spacy_gliznet.cli.find_thresholds import find_thresholds

    labels = ["@home", "away", "draw"]
    nlp = tiny_pipeline(tmp_path / "in", tiny_gliznet_dir, labels)
    rows = [(t, {"@home": c["sports"], "away": c["food"], "draw": c["music"]}) for t, c in DEV]
    dev = write_dev(tmp_path / "dev.spacy", nlp, rows)
    report = find_thresholds(tmp_path / "in", dev, tmp_path / "out", min_positives=1, progress=False)
    assert set(report["thresholds"]) == set(labels)
    pipe = spacy.load(tmp_path / "out").get_pipe("gliznet_textcat")
    assert pipe.labels == tuple(labels) and pipe.decision_rule == "threshold"
    assert pipe.thresholds == pytest.approx(report["thresholds"])


def test_dev_data_that_cannot_support_tuning_is_refused(tmp_path, tiny_gliznet_dir):
    from spacy_gliznet.cli.find_thresholds import find_thresholds

    nlp = tiny_pipeline(tmp_path / "in", tiny_gliznet_dir, LABELS)
    cases = {
        "no_cats": ([(t, {}) for t, _ in DEV], "carry no cats"),
        "other_labels": ([(t, {"weather": 1.0}) for t, _ in DEV], r"their cats name only \['weather'\]"),
        "no_positives": ([(t, {k: 0.0 for k in c}) for t, c in DEV], "no positive label"),
    }
    for name, (rows, message) in cases.items():
        dev = write_dev(tmp_path / f"{name}.spacy", nlp, rows)
        with pytest.raises(GliZNetInputError, match=message):
            find_thresholds(tmp_path / "in", dev, tmp_path / name, progress=False)
        assert not (tmp_path / name).exists()  # no pipeline switched to "threshold" on nothing
    partial = [(t, {"sports": c["sports"]}) for t, c in DEV]
    dev = write_dev(tmp_path / "partial.spacy", nlp, partial)
    with pytest.warns(UserWarning, match=r"2 label\(s\) .* in no dev doc's cats.*'food', 'music'"):
        find_thresholds(tmp_path / "in", dev, tmp_path / "partial", min_positives=1, progress=False)
