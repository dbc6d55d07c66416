"""cli/calibrate.py: the temperature and multi-label offset fitted on labelled data."""


import numpy as np
import pytest

from spacy_gliznet.__main__ import main
from spacy_gliznet.cli.calibrate import (
    calibrate, choose_log_scale, choose_offset, dataset_loss,
)
from spacy_gliznet.model.checkpoints import load_model
from helpers import write_datasets


def _entry(cos, gold, multi):
    cos = np.asarray(cos, dtype=np.float32)
    targets = np.zeros_like(cos)
    for r, g in enumerate(gold):
        targets[r, g] = 1.0
    return {"name": "x", "multi_label": multi, "cos": cos, "gold": gold, "targets": targets}


def test_choose_offset_finds_the_cut_between_positives_and_negatives():
    # positives at 0.5-0.6, negatives at 0.1-0.3: any cut in (0.3, 0.5] is perfect, 0.0 is not
    cos = [[0.6, 0.2, 0.1], [0.3, 0.55, 0.5], [0.1, 0.25, 0.52]]
    sims = [_entry(cos, [[0], [1, 2], [2]], True)]
    c = choose_offset(sims)
    assert 0.3 < c <= 0.5
    assert choose_offset([_entry(cos, [[0], [1], [2]], False)]) is None  # no multi-label set


def test_choose_log_scale_prefers_sharper_scores_when_the_ranking_is_right():
    right = [_entry([[0.9, 0.1], [0.1, 0.9]], [[0], [1]], False)]
    noisy = [_entry([[0.55, 0.45], [0.55, 0.45], [0.45, 0.55]], [[0], [1], [1]], False)]
    assert choose_log_scale(right, 0.0) > choose_log_scale(noisy, 0.0)
    t = choose_log_scale(noisy, 0.0)
    worst = max(dataset_loss(noisy[0]["cos"], noisy[0]["targets"], False, 0.0, s) for s in (0.0, 6.0))
    assert dataset_loss(noisy[0]["cos"], noisy[0]["targets"], False, 0.0, t) < worst


@pytest.fixture(scope="module")
def labelled_dir(tmp_path_factory):
    multi = [{"text": t, "labels": g} for t, g in [
        ("the team won the match", ["sports"]), ("pasta and wine", ["food"]),
        ("a song about the team", ["music", "sports"]), ("rain all day", []),
        ("the band played at the match", ["music", "sports"]), ("bread", ["food"])]]
    single = [{"text": t, "labels": [g]} for t, g in [
        ("the cat sat", "cat"), ("a dog barked", "dog"), ("the cat ran", "cat")]]
    return write_datasets(tmp_path_factory.mktemp("labelled"), {
        "multi": {"labels": ["sports", "food", "music"], "task": "multi_label", "rows": multi},
        "single": {"labels": ["cat", "dog"], "rows": single}})


def test_calibrate_writes_a_checkpoint_with_the_chosen_values(tiny_gliznet_dir, labelled_dir, tmp_path):
    report = calibrate(tiny_gliznet_dir, labelled_dir, tmp_path / "cal", dtype="float32", progress=False)
    model, _ = load_model(tmp_path / "cal")
    assert model.score_offset.item() == pytest.approx(report["score_offset"]["after"])
    assert model.logit_scale.item() == pytest.approx(report["logit_scale"]["after"])
    assert model.bce_scale.item() == pytest.approx(report["logit_scale"]["after"])
    before = report["multi_label_macro_f1"]["before"]["multi"]
    after = report["multi_label_macro_f1"]["after"]["multi"]
    assert after >= before
    assert report["rows"] == 9 and report["datasets"] == ["multi", "single"]
    # the saved offset is what the model now uses: a multi-label score passes 0.5 where cos > offset
    source, _ = load_model(tiny_gliznet_dir)
    text, labels = "a song about the team", ["sports", "food", "music"]
    cos = np.array(source.predict_encoded(source.get_encoder().encode([text], [labels]))[0]) / float(
        np.exp(source.logit_scale.item()))
    got = dict(model.predict_example(text, labels).labels)
    for lab, c in zip(labels, cos):
        if abs(c - report["score_offset"]["after"]) > 1e-4:
            assert (got[lab] > 0.5) == (c > report["score_offset"]["after"])


def test_calibrate_cli_and_bad_arguments(tiny_gliznet_dir, labelled_dir, tmp_path, capsys):
    assert main(["calibrate", str(tiny_gliznet_dir), str(tmp_path / "c"), "--data", str(labelled_dir),
                 "--datasets", "single", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Saved the calibrated checkpoint" in out and '"score_offset"' in out
    # no multi-label set: the offset stays where it was
    assert load_model(tmp_path / "c")[0].score_offset.item() == 0.0
    with pytest.raises(ValueError, match="limit"):
        calibrate(tiny_gliznet_dir, labelled_dir, tmp_path / "d", limit=-1)
    with pytest.raises(ValueError, match="not in"):
        calibrate(tiny_gliznet_dir, labelled_dir, tmp_path / "d", datasets=["nope"])
