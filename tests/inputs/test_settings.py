"""The settings groups: one validation each, one spelling, the defaults the config is built from."""

import dataclasses

import pytest

from spacy_gliznet.errors import GliZNetInputError, UnknownLabelWarning
from spacy_gliznet.registrations import DEFAULT_CONFIG
from spacy_gliznet.settings import (
    RULE_PARAM_DEFAULTS,
    DecisionSettings,
    LongTextSettings,
    LossSettings,
    TrainingSettings,
    long_text_settings,
    validate_label_stats,
    validate_rule,
    validate_threshold,
    validate_thresholds,
    validate_top_k,
)


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "0.5", True, None])
def test_threshold_validation(bad):
    with pytest.raises(GliZNetInputError, match="threshold"):
        validate_threshold(bad)
    with pytest.raises(GliZNetInputError, match=r"thresholds\['x'\]"):
        validate_thresholds({"x": bad})


def test_thresholds_validation_and_unknown_label_warning():
    assert validate_thresholds({"a": 0.3, "b": 1}) == {"a": 0.3, "b": 1.0}
    with pytest.raises(GliZNetInputError, match="dict"):
        validate_thresholds([("a", 0.3)])
    with pytest.raises(GliZNetInputError, match="non-empty"):
        validate_thresholds({"": 0.3})
    with pytest.warns(UnknownLabelWarning, match="nope"):
        validate_thresholds({"a": 0.3, "nope": 0.2}, known_labels=["a", "b"])


def test_rule_validation():
    assert validate_rule("threshold", None) == ("threshold", None)
    assert validate_rule("ratio", 0.7) == ("ratio", 0.7)
    with pytest.raises(GliZNetInputError, match="decision_rule must be one of"):
        validate_rule("top_k", 2)
    # each relative rule has its own default parameter, never the other rule's
    assert validate_rule("ratio", None) == ("ratio", RULE_PARAM_DEFAULTS["ratio"]) == ("ratio", 0.95)
    assert validate_rule("margin", None) == ("margin", 0.015)
    with pytest.raises(GliZNetInputError, match=r"\(0, 1\]"):
        validate_rule("ratio", 0.0)
    with pytest.raises(GliZNetInputError, match=r"\[0, 1\]"):
        validate_rule("margin", 1.5)




def test_label_stats_validation():
    assert validate_label_stats({"a": (0, 2)}) == {"a": [0.0, 2.0]}
    for bad in ({"a": [0.0, 0.0]}, {"a": [1.0]}, {"a": ["x", 1.0]}, {"a": [float("nan"), 1.0]}, [1]):
        with pytest.raises(GliZNetInputError, match="label_stats"):
            validate_label_stats(bad)




def test_top_k_validation():
    assert validate_top_k(None) is None and validate_top_k(3) == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(GliZNetInputError, match="cats_top_k"):
            validate_top_k(bad)


def test_decision_settings_validate_once_on_construction():
    s = DecisionSettings(threshold=1, thresholds={"a": 0}, decision_rule="ratio", rule_param=1)
    assert (s.threshold, s.thresholds, s.rule_param) == (1.0, {"a": 0.0}, 1.0)
    assert DecisionSettings().decision_rule == "margin" and DecisionSettings().param == 0.015
    with pytest.raises(GliZNetInputError, match="decision_rule must be one of"):
        DecisionSettings(decision_rule="top_k")
    with pytest.raises(GliZNetInputError, match="'margin' rule must be in"):
        DecisionSettings(rule_param=2.0)
    with pytest.raises(GliZNetInputError, match=r"label_stats\['a'\]"):
        DecisionSettings(label_stats={"a": [0.0, -1.0]})


def test_decision_overrides_a_parameter_belongs_to_its_rule():
    s = DecisionSettings(decision_rule="margin", rule_param=0.1)
    assert s.with_overrides(threshold=None) is s
    assert s.with_overrides(decision_rule="ratio").rule_param is None   # not margin's 0.1
    assert s.with_overrides(decision_rule="ratio").param == RULE_PARAM_DEFAULTS["ratio"]
    assert s.with_overrides(decision_rule="margin").rule_param == 0.1   # same rule: kept
    assert s.with_overrides(decision_rule="ratio", rule_param=0.5).param == 0.5
    with pytest.raises(GliZNetInputError, match="unknown decision settings"):
        s.with_overrides(rule="ratio")


def test_long_text_settings_name_the_setting_and_the_pipe():
    assert long_text_settings() == LongTextSettings()
    assert long_text_settings(window_overlap=3).window_overlap == 3
    with pytest.raises(GliZNetInputError, match="pipe: unknown setting.*'overlap'"):
        long_text_settings("pipe", overlap=3)
    with pytest.raises(GliZNetInputError, match="pipe: doc_cats='spans' needs span_source"):
        long_text_settings("pipe", doc_cats="spans")
    with pytest.raises(GliZNetInputError, match="window_overlap must be null"):
        LongTextSettings(window_overlap=-1)


def test_training_and_loss_settings():
    assert TrainingSettings(negative_samples=2).negative_samples == 2
    with pytest.raises(GliZNetInputError, match="negative_samples"):
        TrainingSettings(negative_samples=-1)
    with pytest.raises(GliZNetInputError, match="repulsion_weight must be >= 0"):
        LossSettings(repulsion_weight=-0.1)
    assert LossSettings().repulsion_threshold == 0.3


def test_default_config_is_built_from_the_settings():
    for group in (DecisionSettings().config(), dataclasses.asdict(TrainingSettings()),
                  LongTextSettings().as_dict()):
        for key, value in group.items():
            assert DEFAULT_CONFIG[key] == value
    loss = {k: v for k, v in DEFAULT_CONFIG["loss"].items() if not k.startswith("@")}
    assert loss == dataclasses.asdict(LossSettings())
