"""The settings one call of the pipe runs with, resolved and checked once.

- :class:`CallSettings`: the labels, mode, decision, ``cats_top_k`` and long-text
  settings of one call: the pipe's own (:meth:`CallSettings.from_cfg`, kept by a
  :class:`SettingsCache` until a setting changes) with the call's overrides (spaCy's
  ``component_cfg``; :meth:`CallSettings.with_overrides`). ``predict`` puts them in its
  ``Prediction``, so ``set_annotations`` reads them from there.
- :func:`new_pipe_cfg`: a new pipe's settings (its ``cfg``), each checked.
- :func:`labels_for_doc`: the labels a doc is scored against.
- :class:`RuntimeSetting`: the pipe's attributes for its settings (``pipe.threshold =
  0.3``): a value is checked by :func:`checked_changes`, through the one validation of
  its group in ``settings.py``, and written through ``config_mirror.write_setting``.
"""

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from spacy.tokens import Doc

from .config_mirror import RUNTIME_SETTINGS, write_setting
from ..errors import GliZNetInputError
from ..labels import LabelPairs, LabelsArg, label_pairs
from ..settings import (
    DECISION_CONFIG_KEYS,
    DEFAULT_RULE,
    LONG_TEXT_KEYS,
    DecisionSettings,
    LongTextSettings,
    TrainingSettings,
    fits_rule,
    long_text_settings,
    validate_bool,
    validate_label_stats,
    validate_thresholds,
    validate_top_k,
)


def new_pipe_cfg(where: str, *, labels: LabelsArg = (), multi_label: bool = True,
                 cats_top_k: Optional[int] = None, **settings: Any) -> Dict[str, Any]:
    """The ``cfg`` of a new pipe named ``where``: ``labels``, ``multi_label``,
    ``cats_top_k`` and ``settings`` (fields of ``DecisionSettings`` but ``label_stats``,
    of ``LongTextSettings`` and of ``TrainingSettings``, by name), each checked by the
    one validation of its group; ``label_stats`` starts empty (learned by adapt)."""
    training_keys = tuple(f.name for f in fields(TrainingSettings))
    unknown = set(settings) - {*DECISION_CONFIG_KEYS, *LONG_TEXT_KEYS, *training_keys}
    if unknown:
        raise GliZNetInputError(f"{where}: unknown settings {sorted(unknown)}")
    pairs = label_pairs(labels, f"{where} labels")
    given = {k: v for k, v in settings.items() if k in DECISION_CONFIG_KEYS}
    # a rule_param that does not fit its rule may be the saved rule's, the rule switched by
    # spacy.load(..., config=...): restore_settings settles it; otherwise the first use raises
    rule = given.get("decision_rule", DEFAULT_RULE)
    deferred = not fits_rule(rule, given.get("rule_param")) and fits_rule(rule, None)
    decision = DecisionSettings(**{**given, "thresholds": given.get("thresholds") or {},
                                   **({"rule_param": None} if deferred else {})})
    validate_thresholds(decision.thresholds, [k for k, _ in pairs], f"{where} thresholds")
    long_text = long_text_settings(where, **{k: settings[k] for k in LONG_TEXT_KEYS if k in settings})
    training = TrainingSettings(**{k: settings[k] for k in training_keys if k in settings})
    return {"labels": pairs, "multi_label": validate_bool(multi_label, f"{where} multi_label"),
            **decision.config(), **({"rule_param": given["rule_param"]} if deferred else {}),
            "cats_top_k": validate_top_k(cats_top_k), **asdict(training), **long_text.as_dict(),
            "label_stats": {}, "label_stats_texts": {}}


@dataclass(frozen=True)
class CallSettings:
    """What one call scores with and writes (every value checked).

    labels: the call's labels (given per call, else the pipe's); a doc's own
        ``doc._.gliznet_labels`` win over them (:func:`labels_for_doc`).
    multi_label: sigmoid scores and the decision rule (True), or softmax and the top label.
    decision: the decision settings, with the pipe's learned ``label_stats``.
    cats_top_k: how many of the best labels go to ``doc.cats`` (None: all).
    long_text: texts longer than the model, the spans scored and where their labels go.
    stats_texts: for each label with ``label_stats``, the text the model read when they
        were computed (they apply only to a label read as that text).
    """

    labels: LabelPairs
    multi_label: bool
    decision: DecisionSettings
    cats_top_k: Optional[int]
    long_text: LongTextSettings
    stats_texts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_cfg(cls, cfg: Mapping[str, Any], where: str) -> "CallSettings":
        """A pipe's own settings from its ``cfg``; ``where``: the pipe's name, for errors."""
        decision = DecisionSettings(**{k: cfg[k] for k in DECISION_CONFIG_KEYS},
                                    label_stats=cfg.get("label_stats", {}))
        return cls(labels=cfg["labels"], multi_label=cfg["multi_label"],
                   decision=decision, cats_top_k=cfg["cats_top_k"],
                   long_text=long_text_settings(where, **{k: cfg[k] for k in LONG_TEXT_KEYS}),
                   stats_texts=cfg.get("label_stats_texts", {}))

    def with_overrides(self, where: str, **overrides: Any) -> "CallSettings":
        """These settings with a call's ``overrides``, each checked: ``labels``,
        ``multi_label``, ``cats_top_k`` and the decision settings (None: keep), the
        long-text settings (as given: None is a value of some). ``where``: for errors."""
        unknown = sorted(set(overrides) - set(RUNTIME_SETTINGS))
        if unknown:
            raise GliZNetInputError(f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; "
                                    f"known: {', '.join(RUNTIME_SETTINGS)}")
        given = {k: v for k, v in overrides.items() if v is not None or k in LONG_TEXT_KEYS}
        changes: Dict[str, Any] = {}
        if "labels" in given:
            changes["labels"] = label_pairs(given["labels"], "labels")
        if "multi_label" in given:
            changes["multi_label"] = validate_bool(given["multi_label"], "multi_label")
        if "cats_top_k" in given:
            changes["cats_top_k"] = validate_top_k(given["cats_top_k"])
        decision = {k: v for k, v in given.items() if k in DECISION_CONFIG_KEYS}
        if decision:
            try:
                changes["decision"] = self.decision.with_overrides(**decision)
            except GliZNetInputError as err:
                raise GliZNetInputError(f"{where}: {err}") from None
        long_text = {k: v for k, v in given.items() if k in LONG_TEXT_KEYS}
        if long_text:
            changes["long_text"] = long_text_settings(where, **{**self.long_text.as_dict(),
                                                                **long_text})
        return replace(self, **changes) if changes else self

    def usable(self, where: str) -> "CallSettings":
        """These settings, unless the decision rule needs what the pipe lacks (a call
        checks it after its overrides: a call may choose another rule)."""
        if self.decision.decision_rule == "zscore" and not self.decision.label_stats:
            raise GliZNetInputError(
                f"{where}: decision_rule 'zscore' needs label statistics of a corpus; "
                f"run adapt (python -m spacy_gliznet adapt, or the pipe's adapt method) first")
        return self


class SettingsCache:
    """A pipe's own :class:`CallSettings`, resolved again only when a value in its
    ``cfg`` was replaced (checked by identity: a write stores a new value), so a call
    without overrides checks nothing again."""

    KEYS = (*RUNTIME_SETTINGS, "label_stats", "label_stats_texts")

    def __init__(self) -> None:
        self._values: Optional[Tuple[Any, ...]] = None
        self._settings: Optional[CallSettings] = None

    def get(self, cfg: Mapping[str, Any], where: str) -> CallSettings:
        """The settings of ``cfg`` (a pipe's; ``where``: its name, for errors)."""
        values = tuple(cfg.get(k) for k in self.KEYS)
        if self._values is None or any(a is not b for a, b in zip(values, self._values)):
            self._settings = CallSettings.from_cfg(cfg, where)
            self._values = values
        return self._settings


def labels_for_doc(doc: Doc, settings: CallSettings, where: str) -> LabelPairs:
    """The labels ``doc`` is scored against, as (key written to doc.cats, text the model
    reads) pairs: its own ``doc._.gliznet_labels``, else the call's (``settings.labels``);
    an error naming the ways to give labels when there are none."""
    own = doc._.gliznet_labels
    pairs = label_pairs(own, "doc._.gliznet_labels") if own is not None else settings.labels
    if not pairs:
        raise GliZNetInputError(
            f"{where}: no labels to score. Give labels in the component config, "
            f"per call (component_cfg={{'{where}': {{'labels': [...]}}}}) or per doc "
            f"(doc._.gliznet_labels).")
    return pairs


def checked_changes(cfg: Mapping[str, Any], where: str, changes: Mapping[str, Any]
                    ) -> Dict[str, Any]:
    """``changes`` to a pipe's settings (its ``cfg``), checked by the one validation of
    each group, as the ``cfg`` entries to write. A new ``decision_rule`` without a
    ``rule_param`` resets the parameter to None (the new rule's default): a parameter
    belongs to its rule. Thresholds for labels the pipe does not have warn."""
    out: Dict[str, Any] = {}
    checks: Dict[str, Callable[[Any], Any]] = {
        "labels": lambda v: label_pairs(v, f"{where} labels"),
        "multi_label": lambda v: validate_bool(v, f"{where} multi_label"),
        "cats_top_k": validate_top_k,
        "label_stats": lambda v: validate_label_stats(v, f"{where} label_stats"),
    }
    unknown = set(changes) - set(checks) - set(DECISION_CONFIG_KEYS) - set(LONG_TEXT_KEYS)
    if unknown:
        raise GliZNetInputError(f"{where}: unknown setting(s) {sorted(unknown)}")
    out.update({k: checks[k](v) for k, v in changes.items() if k in checks})
    if "label_stats" in out:  # kept with the text the model reads for each label now
        described = dict(out.get("labels", cfg["labels"]))
        out["label_stats_texts"] = {k: described.get(k, k) for k in out["label_stats"]}
    decision = {k: v for k, v in changes.items() if k in DECISION_CONFIG_KEYS}
    if decision:
        current = DecisionSettings(**{k: cfg[k] for k in DECISION_CONFIG_KEYS})
        if "thresholds" in decision:
            decision["thresholds"] = validate_thresholds(
                decision["thresholds"], [k for k, _ in cfg["labels"]], f"{where} thresholds")
        if decision.get("decision_rule", current.decision_rule) != current.decision_rule:
            decision.setdefault("rule_param", None)
        new = replace(current, **decision)
        out.update({k: getattr(new, k) for k in DECISION_CONFIG_KEYS
                    if getattr(new, k) != getattr(current, k)})
    long_text = {k: v for k, v in changes.items() if k in LONG_TEXT_KEYS}
    if long_text:
        new_long = long_text_settings(where, **{**{k: cfg[k] for k in LONG_TEXT_KEYS}, **long_text})
        out.update({k: getattr(new_long, k) for k in long_text})
    return out


def change_settings(pipe: Any, **changes: Any) -> None:
    """Check ``changes`` to ``pipe``'s settings (:func:`checked_changes`) and write them
    through the config mirror."""
    for key, value in checked_changes(pipe.cfg, pipe.name, changes).items():
        write_setting(pipe, key, value)


class RuntimeSetting:
    """A pipe attribute for the setting of its name: reading gives ``pipe.cfg[name]``
    (or ``read(pipe)``), assigning checks the value and writes it through the config
    mirror (:func:`change_settings`)."""

    def __init__(self, doc: str, read: Optional[Callable[[Any], Any]] = None) -> None:
        self.__doc__ = doc
        self.read = read
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    def __get__(self, pipe: Any, owner: Optional[type] = None) -> Any:
        if pipe is None:
            return self
        return self.read(pipe) if self.read is not None else pipe.cfg[self.key]

    def __set__(self, pipe: Any, value: Any) -> None:
        change_settings(pipe, **{self.key: value})
