"""#33 item 2: a string (or a float) where a bool or a whole number goes is an error naming
the setting, on every path (per call, on the pipe, in the config, to adapt), checked by
the one settings validation (spacy_gliznet/settings.py); ``bool("false")`` is True."""

import pytest
import spacy
from thinc.api import ConfigValidationError

from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.pipeline.adapt import AdaptSettings
from spacy_gliznet.settings import TrainingSettings, validate_bool, validate_int, validate_number

NLP = {"labels": ["sports", "food", "music"], "multi_label": True}


@pytest.mark.parametrize("bad", ["false", "true", "0", 0, 1, None, 1.0])
def test_multi_label_must_be_a_bool_per_call_and_on_the_pipe(make_pipeline, bad):
    nlp = make_pipeline()
    pipe = nlp.get_pipe("gliznet_textcat")
    with pytest.raises(GliZNetInputError, match="multi_label must be true or false"):
        pipe.multi_label = bad
    assert pipe.multi_label is True and nlp.get_pipe_config("gliznet_textcat")["multi_label"] is True
    if bad is None:  # per call, None means "the pipe's"
        return
    with pytest.raises(GliZNetInputError, match="multi_label must be true or false"):
        nlp("the team won", component_cfg={"gliznet_textcat": {"multi_label": bad}})
    with pytest.raises(GliZNetInputError, match="multi_label must be true or false"):
        list(pipe.pipe([nlp.make_doc("the team won")], multi_label=bad))


def test_multi_label_in_the_config_and_to_adapt(make_pipeline, tiny_gliznet_dir):
    nlp = spacy.blank("en")
    with pytest.raises(ConfigValidationError, match="multi_label"):
        nlp.add_pipe("gliznet_textcat", config={"labels": ["a", "b"], "multi_label": "false"})
    nlp = make_pipeline()
    pipe = nlp.get_pipe("gliznet_textcat")
    texts = [f"the team won match number {i}" for i in range(25)]
    with pytest.raises(GliZNetInputError, match="multi_label must be true or false"):
        pipe.adapt(texts, nlp=nlp, multi_label="false", steps=0)
    assert pipe.multi_label is True


@pytest.mark.parametrize("field,bad", [("seed", 1.5), ("seed", "7"), ("steps", "3"),
                                       ("per_label", 2.0), ("batch_size", True),
                                       ("learn_rate", "3e-5"), ("dropout", "0.1"),
                                       ("mix", True), ("min_z", "2")])
def test_adapt_settings_refuse_strings_and_floats_for_whole_numbers(field, bad):
    """seed=1.5 or "7" ended in a raw numpy TypeError; learn_rate="3e-5" passed."""
    with pytest.raises(GliZNetInputError, match=f"adapt: {field}"):
        AdaptSettings(**{field: bad})
    with pytest.raises(GliZNetInputError, match=f"adapt: {field}"):
        AdaptSettings().with_overrides(**{field: bad})


def test_the_validators():
    assert validate_bool(False, "x") is False
    assert validate_int(3, "x", 0) == 3 and validate_number(1, "x", 0, 1) == 1.0
    for bad in ("7", 1.5, True, -1):
        with pytest.raises(GliZNetInputError, match="n must be a whole number >= 0"):
            validate_int(bad, "n", 0)
    with pytest.raises(GliZNetInputError, match=r"r must be in \(0, 1\] \(a number\)"):
        validate_number(0, "r", 0, 1, low_open=True)
    with pytest.raises(GliZNetInputError, match="shuffle_labels must be true or false"):
        TrainingSettings(shuffle_labels="false")


@pytest.mark.parametrize("bad", [0, -3, "8", 2.5])
def test_pipe_batch_size_must_be_a_whole_number_of_at_least_one(make_pipeline, bad):
    """nlp.pipe(texts, batch_size=0) gave back no docs at all, silently."""
    nlp = make_pipeline()
    with pytest.raises(GliZNetInputError, match="batch_size must be a whole number >= 1"):
        list(nlp.pipe(["the team won", "pasta"], batch_size=bad))
