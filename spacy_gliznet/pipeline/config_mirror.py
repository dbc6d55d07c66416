"""The pipeline's config mirrors a pipe's runtime settings: every write of a setting
goes through :func:`write_setting`, which stores it in the pipe's ``cfg`` (saved with
the pipe) and, for a pipe in a pipeline, in ``nlp.config`` (saved as ``config.cfg``),
so ``pipe.threshold = 0.3`` is what ``config.cfg`` says after ``nlp.to_disk``.

A value the config cannot hold (a dict key starting with ``@``, or one holding ``=``,
``:``, ``[``, ...) stays in the pipe's own ``cfg`` only. On load (:func:`restore_settings`)
the config the pipe was built with wins for every value it can hold: it differs from
the saved ``cfg`` only by a ``spacy.load(..., config=...)`` override.
"""

import weakref
from typing import Any, Dict, Mapping, Optional

from spacy.language import Language
from thinc.api import Config

from ..errors import GliZNetInputError
from ..settings import DECISION_CONFIG_KEYS, LONG_TEXT_KEYS, DecisionSettings, rule_param_at_load

#: the settings a user may change at run time (per pipe, and per call); the pipeline's
#: config always holds their current values
RUNTIME_SETTINGS = ("labels", "multi_label", *DECISION_CONFIG_KEYS, "cats_top_k", *LONG_TEXT_KEYS)

# pipe -> its pipeline (weakly: a pipe neither keeps its pipeline alive nor pickles it)
_PIPELINES: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def bind_pipeline(pipe: Any, nlp: Language) -> None:
    """Remember the pipeline ``pipe`` belongs to (the factory does it), so that writing
    one of its runtime settings writes the pipeline's config too."""
    _PIPELINES[pipe] = weakref.ref(nlp)


def pipeline_of(pipe: Any) -> Optional[Language]:
    """The pipeline ``pipe`` was built for by the factory (None: none, or gone)."""
    ref = _PIPELINES.get(pipe)
    return ref() if ref is not None else None


def config_value(key: str, value: Any) -> Any:
    """A runtime setting as the config writes it: labels as a list, or as a
    ``{label: description}`` dict when a description differs from its label."""
    if key == "labels":
        return [k for k, _ in value] if all(k == t for k, t in value) else dict(value)
    return value


def config_can_hold(value: Any) -> bool:
    """Whether ``value`` survives config.cfg and ``spacy.load``: a save and a read
    give it back, and no dict key starts with ``@`` (read as a registered function)."""
    def keys(v):
        if isinstance(v, dict):
            for k, item in v.items():
                yield k
                yield from keys(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                yield from keys(item)

    if any(str(k).startswith("@") for k in keys(value)):
        return False
    try:
        return Config().from_str(Config({"s": {"v": value}}).to_str())["s"]["v"] == value
    except Exception:
        return False


def write_setting(pipe: Any, key: str, value: Any) -> None:
    """Store an already validated setting in ``pipe.cfg``; a runtime setting goes into
    the pipeline's config too when the config can hold it."""
    pipe.cfg[key] = value
    nlp = pipeline_of(pipe) if key in RUNTIME_SETTINGS else None
    name = next((n for n, proc in nlp.components if proc is pipe), None) if nlp is not None else None
    written = config_value(key, value)
    if name is not None and config_can_hold(written):
        nlp.get_pipe_config(name)[key] = written


def config_settings(pipe: Any) -> Dict[str, Any]:
    """The runtime settings ``pipe`` was built with from its pipeline's config (what
    :func:`restore_settings` keeps over saved values); empty outside a pipeline."""
    if pipeline_of(pipe) is None:
        return {}
    return {k: pipe.cfg[k] for k in RUNTIME_SETTINGS}


def restore_settings(pipe: Any, given: Mapping[str, Any]) -> None:
    """After ``pipe.cfg`` was read back from disk or bytes: each runtime setting in
    ``given`` (:func:`config_settings` before the read) wins where the config can hold
    both it and the saved value; then every runtime setting is written through
    :func:`write_setting`, so the pipeline's config says what the pipe uses."""
    pipe.cfg["labels"] = [tuple(p) for p in pipe.cfg["labels"]]  # JSON gives lists
    # statistics saved before their texts were kept: read as the saved labels' texts
    described, texts = dict(pipe.cfg["labels"]), dict(pipe.cfg.get("label_stats_texts") or {})
    missing = [k for k in pipe.cfg.get("label_stats", {}) if k not in texts]
    if missing or "label_stats_texts" not in pipe.cfg:
        texts.update({k: described.get(k, k) for k in missing})
        pipe.cfg["label_stats_texts"] = texts
    given = dict(given)
    if "decision_rule" in given:  # a rule switched at load time without its own parameter
        given["rule_param"] = rule_param_at_load(pipe.cfg["decision_rule"], pipe.cfg["rule_param"],
                                                 given["decision_rule"], given.get("rule_param"))
    for key in RUNTIME_SETTINGS:
        if key in given and config_can_hold(config_value(key, given[key])) \
                and config_can_hold(config_value(key, pipe.cfg[key])):
            pipe.cfg[key] = given[key]
        write_setting(pipe, key, pipe.cfg[key])
    try:
        DecisionSettings(**{k: pipe.cfg[k] for k in DECISION_CONFIG_KEYS})
    except GliZNetInputError as err:
        raise GliZNetInputError(f"{pipe.name}: {err}") from None
