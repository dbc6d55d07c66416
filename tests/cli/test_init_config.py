"""#19 items 1 and 4: `init-config` writes a complete, commented config that spaCy's own
commands accept; the shipped configs train visibly (progress bar, macro-F in the table,
warmup that follows max_steps); a learning rate that would wreck the encoder warns once."""

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import spacy
from spacy.training import Example
from spacy.util import load_config, registry
from thinc.api import Adam, Config

import spacy_gliznet
from spacy_gliznet.__main__ import main
from spacy_gliznet.cli.init_config import make_config
from spacy_gliznet.errors import GliZNetInputError, LearnRateWarning
from spacy_gliznet.pipeline.learn_rate import MAX_SAFE_LEARN_RATE, warmup_linear_fraction

CONFIGS = Path(spacy_gliznet.__file__).parent / "configs"
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}


def spacy_cli(*args, cwd=None):
    res = subprocess.run([sys.executable, "-m", "spacy", *args], capture_output=True, text=True,
                         cwd=cwd, env=ENV, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


def test_init_config_writes_a_commented_config_with_the_settings_asked_for(tmp_path):
    out = tmp_path / "config.cfg"
    assert main(["init-config", str(out), "--labels", "joy,anger,fear", "--multi-label"]) == 0
    text = out.read_text(encoding="utf8")
    assert text.count("\n#") >= 8  # commented
    cfg = Config().from_str(text, interpolate=False)
    pipe = cfg["components"]["gliznet_textcat"]
    assert pipe["labels"] == ["joy", "anger", "fear"] and pipe["multi_label"] is True
    assert cfg["paths"]["model"] is None  # the bundled model
    assert cfg["training"]["logger"]["progress_bar"] is True
    assert cfg["training"]["score_weights"]["cats_macro_f"] == 0.0  # shown, not selecting
    assert cfg["training"]["max_steps"] == 2000 and cfg["training"]["eval_frequency"] == 100
    lr = cfg["training"]["optimizer"]["learn_rate"]
    assert lr["@schedules"] == "spacy_gliznet.warmup_linear.v1" and lr["initial_rate"] <= MAX_SAFE_LEARN_RATE
    assert lr["total_steps"] == "${training.max_steps}"
    assert cfg["initialize"]["after_init"]["@callbacks"] == "spacy_gliznet.label_report.v1"
    with pytest.raises(GliZNetInputError, match="exists.*--overwrite"):
        main(["init-config", str(out)])


def test_init_config_gpu_and_single_label():
    cfg = Config().from_str(make_config(["a", "b"], gpu=True), interpolate=False)
    assert cfg["components"]["gliznet_textcat"]["multi_label"] is False
    assert cfg["components"]["gliznet_textcat"]["model"]["mixed_precision"] is True
    assert cfg["training"]["max_steps"] == 20000
    with pytest.raises(ValueError, match="Duplicate label"):
        make_config(["a", "a"])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_spacy_debug_config_and_fill_config_accept_it(tmp_path):
    main(["init-config", str(tmp_path / "a.cfg"), "--labels", "joy,anger", "--multi-label"])
    spacy_cli("debug", "config", "a.cfg", "--paths.train", "t.spacy", "--paths.dev", "d.spacy",
              cwd=tmp_path)
    spacy_cli("init", "fill-config", "a.cfg", "b.cfg", cwd=tmp_path)
    a = load_config(tmp_path / "a.cfg", interpolate=False)
    b = load_config(tmp_path / "b.cfg", interpolate=False)
    assert a == b  # complete: fill-config adds nothing


@pytest.mark.parametrize("name", ["gliznet_textcat.cfg", "zero_shot.cfg"])
def test_shipped_configs_show_progress_and_macro_f(name):
    cfg = Config().from_str((CONFIGS / name).read_text(encoding="utf8"), interpolate=False)
    assert cfg["training"]["logger"]["progress_bar"] is True
    assert cfg["training"]["score_weights"]["cats_macro_f"] == 0.0


def rates(config, steps):
    opt = registry.resolve(config.interpolate()["training"])["optimizer"]
    out = []
    for _ in range(steps):
        out.append(opt.learn_rate)
        opt.step_schedules()
    return out


def test_the_warmup_follows_max_steps_given_on_the_command_line():
    """--training.max_steps 60 kept 250 warmup steps: the rate never passed ~7e-6."""
    cfg = load_config(CONFIGS / "gliznet_textcat.cfg", overrides={"training.max_steps": 60},
                      interpolate=False)
    seen = rates(cfg, 60)
    assert max(seen) == pytest.approx(3e-5) and seen.index(max(seen)) == 6
    assert seen[-1] < seen[30] < max(seen)
    # an absolute warmup_steps still wins (the GoEmotions project's overrides)
    cfg = load_config(CONFIGS / "gliznet_textcat.cfg", overrides={
        "training.max_steps": 60, "training.optimizer.learn_rate.warmup_steps": 20}, interpolate=False)
    assert rates(cfg, 60).index(3e-5) == 20


def test_the_schedule_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="max_steps > 0"):
        warmup_linear_fraction(3e-5, 0)
    with pytest.raises(ValueError, match="warmup_fraction"):
        warmup_linear_fraction(3e-5, 100, warmup_fraction=1.5)


def tiny_pipe(tiny_gliznet_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": ["sports", "food"], "model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)}})
    eg = Example.from_dict(nlp.make_doc("the team won"), {"cats": {"sports": 1.0, "food": 0.0}})
    nlp.initialize(lambda: [eg])
    return nlp, eg


def test_a_rate_that_wrecks_the_encoder_warns_once(tiny_gliznet_dir):
    nlp, eg = tiny_pipe(tiny_gliznet_dir)
    with pytest.warns(LearnRateWarning, match=r"1e-03|0\.001.*init-config"):
        nlp.update([eg], sgd=Adam(1e-3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", LearnRateWarning)
        nlp.update([eg], sgd=Adam(1e-3))  # once per pipe
        pipe = nlp.get_pipe("gliznet_textcat")
        pipe.finish_update(Adam(1e-3))  # spacy train's path: finish_update after update(sgd=None)


def test_a_safe_rate_and_a_warmup_below_the_limit_do_not_warn(tiny_gliznet_dir):
    nlp, eg = tiny_pipe(tiny_gliznet_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LearnRateWarning)
        nlp.update([eg], sgd=Adam(3e-5))
    # a warmup to 1e-3 warns when the rate passes the limit, through finish_update
    opt = Adam(warmup_linear_fraction(1e-3, 100, warmup_fraction=0.5))
    pipe = nlp.get_pipe("gliznet_textcat")
    with pytest.warns(LearnRateWarning, match="spacy_gliznet/configs/gliznet_textcat.cfg"):
        for _ in range(10):
            nlp.update([eg], sgd=None)
            pipe.finish_update(opt)
            opt.step_schedules()
    assert opt.learn_rate > MAX_SAFE_LEARN_RATE


def test_spacy_init_config_shows_macro_f_too():
    """`spacy init config --pipeline gliznet_textcat` takes the factory's score weights."""
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": ["a"]})
    assert nlp.config["training"]["score_weights"]["cats_macro_f"] == 0.0
    assert nlp.config["training"]["score_weights"]["cats_score"] == 1.0


def test_labels_as_a_json_object_or_a_file(tmp_path):
    """#33 item 7: a JSON object or a file path became junk labels (the path as a label);
    bad JSON gave a raw JSONDecodeError."""
    def labels_of(value, name):
        main(["init-config", str(tmp_path / name), "--labels", value])
        return load_config(tmp_path / name)["components"]["gliznet_textcat"]["labels"]

    assert labels_of('{"pos": "a positive review", "neg": "a negative review"}', "a.cfg") == {
        "pos": "a positive review", "neg": "a negative review"}
    (tmp_path / "labels.txt").write_text("joy\nanger\n\nfear\n", encoding="utf8")
    assert labels_of(str(tmp_path / "labels.txt"), "b.cfg") == ["joy", "anger", "fear"]
    (tmp_path / "labels.json").write_text('{"x": "the x things", "y": "y"}', encoding="utf8")
    assert labels_of(str(tmp_path / "labels.json"), "c.cfg") == {"x": "the x things", "y": "y"}
    nlp = spacy.util.load_model_from_config(load_config(tmp_path / "c.cfg"), auto_fill=True)
    assert nlp.get_pipe("gliznet_textcat").label_descriptions == {"x": "the x things", "y": "y"}
    with pytest.raises(GliZNetInputError, match="--labels is not valid JSON"):
        main(["init-config", str(tmp_path / "d.cfg"), "--labels", '{"a": "b"'])
    with pytest.raises(GliZNetInputError, match="does not exist"):
        main(["init-config", str(tmp_path / "e.cfg"), "--labels", "missing.json"])
    with pytest.raises(GliZNetInputError, match="Duplicate label"):
        main(["init-config", str(tmp_path / "f.cfg"), "--labels", '["a", "a"]'])
    assert not (tmp_path / "d.cfg").exists() and not (tmp_path / "f.cfg").exists()
