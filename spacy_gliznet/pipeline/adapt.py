"""Adapting a pipe to a corpus without labels: self-training on its own confident
predictions (Gera et al., EMNLP 2022, "Zero-Shot Text Classification with
Self-Training").

1. Score every unlabeled text against the target labels with the pipe itself.
2. Pick confident, label-balanced pseudo-labels (:func:`select_pseudo_labels`):
   single-label, per label the ``per_label`` texts whose top label it is with the
   largest gap to the runner-up; multi-label, per label the ``per_label`` texts
   where the label stands out most against its own scores over the corpus
   (z-score at least ``min_z``), with the labels that stand out in that text as
   positives and labels below their corpus mean as negatives.
   Texts longer than the model are judged on their first window, the text that
   training reads.
3. Fine-tune through the pipe's own ``update`` (its loss, dropout and forward),
   ``steps`` batches of ``batch_size``, with Adam at ``learn_rate``; optionally
   repeat (``iterations``, re-scoring with the adapted model), then mix the
   weights with the start (``mix``: WiSE-FT, Wortsman et al. 2022).
4. Multi-label: store each label's logit mean and standard deviation over the
   corpus with the pipe (``label_stats``) and switch its decisions to the
   ``"zscore"`` rule (``rule_param = min_z``): a label is predicted where it stands
   out against its own scores on the corpus.

Chosen on train_pool alone (``examples/adapt/README.md``): single-label sets gain
from 50 steps of self-training; multi-label sets gain from the statistics and lose
from self-training, so ``steps`` defaults to 50 single-label and 0 (statistics
only) multi-label.

The pipe is passed in (duck-typed: ``labels``, ``multi_label``, ``pipe``,
``update``, ``model``), so this module sits below the component, which exposes
:func:`adapt_pipe` as its method ``GliZNetTextCategorizer.adapt``;
``python -m spacy_gliznet adapt`` calls that.
"""

import random
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from .decisions import logits_of
from ..errors import GliZNetInputError, TruncationWarning
from ..labels import LabelsArg, label_pairs
from ..model.checkpoints import interpolate_states
from ..settings import validate_bool, validate_int, validate_number
from .layer import ensure_loaded


@dataclass
class AdaptSettings:
    """How :func:`self_train` adapts a pipe (defaults chosen on train_pool alone:
    ``examples/adapt/README.md``).

    per_label: confident texts kept per label (the most confident first).
    min_per_label: a label with fewer confident texts is reported in the summary.
    min_texts: the fewest texts a corpus must have.
    steps: update steps per iteration; None: 50 single-label, 0 multi-label (0: no
        fine-tuning, only the label statistics of a multi-label pipe).
    batch_size: pseudo-labelled texts per step.
    learn_rate: Adam's learning rate.
    dropout: the rate of every dropout in the model during an update.
    negatives: labels scored as negatives per text (sampled afresh each step from
        the labels that are not its positives; single-label: all others when fewer).
    iterations: rounds of score -> pick -> fine-tune (each re-scores with the
        adapted model).
    mix: weight of the adapted weights against the start's (WiSE-FT): 1.0 keeps
        the adapted model, 0.5 is half and half.
    min_z: multi-label: how many standard deviations above its mean over the corpus
        a label's logit must be for the text to count as a positive of that label.
    seed: seeds Python's, numpy's and torch's random number generators.
    """

    per_label: int = 64
    min_per_label: int = 8
    min_texts: int = 20
    steps: Optional[int] = None
    batch_size: int = 16
    learn_rate: float = 3e-5
    dropout: float = 0.1
    negatives: int = 7
    iterations: int = 1
    mix: float = 1.0
    min_z: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Every field checked by the one settings validation (``settings.py``): a
        string or a float where a whole number goes (``seed="7"``, ``seed=1.5``) is an
        error naming the field."""
        for name in ("per_label", "batch_size", "negatives", "iterations", "min_texts"):
            setattr(self, name, validate_int(getattr(self, name), f"adapt: {name}", 1))
        if self.steps is not None:
            self.steps = validate_int(self.steps, "adapt: steps (or None)", 0)
        self.min_per_label = validate_int(self.min_per_label, "adapt: min_per_label", 0)
        self.seed = validate_int(self.seed, "adapt: seed", 0)
        self.learn_rate = validate_number(self.learn_rate, "adapt: learn_rate", 0.0, 1.0,
                                          low_open=True, high_open=True)
        self.dropout = validate_number(self.dropout, "adapt: dropout", 0.0, 1.0, high_open=True)
        self.mix = validate_number(self.mix, "adapt: mix", 0.0, 1.0, low_open=True)
        self.min_z = validate_number(self.min_z, "adapt: min_z")

    def with_overrides(self, where: str = "adapt", **overrides: Any) -> "AdaptSettings":
        """These settings with ``overrides`` (fields by name), checked; an unknown
        name raises GliZNetInputError naming ``where``."""
        known = [f.name for f in fields(self)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise GliZNetInputError(f"{where}: unknown settings {unknown}; known: {known}")
        return replace(self, **overrides)

    def steps_for(self, multi_label: bool) -> int:
        """Update steps per iteration in this mode (``steps``, or the mode's default)."""
        if self.steps is not None:
            return self.steps
        return 0 if multi_label else 50


@dataclass
class PseudoLabels:
    """Pseudo-labelled texts: ``rows[i]`` indexes the corpus, ``positives[i]`` and
    ``negatives[i]`` the labels (negatives: those that may be drawn as negatives)."""

    rows: List[int]
    positives: List[List[int]]
    negatives: List[List[int]]
    # per label: how many picked texts have it as a positive
    counts: List[int]


@dataclass
class AdaptReport:
    """What :func:`self_train` did, for the summary a user reads."""

    labels: List[str]
    multi_label: bool
    texts: int
    settings: Dict[str, Any]
    # per iteration: pseudo-labels per label
    pseudo_labels: List[Dict[str, int]] = field(default_factory=list)
    # labels with fewer than min_per_label confident texts, per iteration
    too_few: List[List[str]] = field(default_factory=list)
    steps: int = 0
    losses: List[float] = field(default_factory=list)
    # share of texts whose decided top label is the start model's
    agreement_with_start: Optional[float] = None
    seconds: float = 0.0
    # the decision rule adapt set (multi-label), or None
    decision: Optional[str] = None
    # the corpus scores of the start and of the adapted model, (N, K)
    start_scores: Optional[np.ndarray] = field(default=None, repr=False)
    final_scores: Optional[np.ndarray] = field(default=None, repr=False)

    def summary(self) -> str:
        """A few lines a person reads after adapting."""
        last = self.pseudo_labels[-1] if self.pseudo_labels else {}
        lines = [
            f"Adapted to {self.texts} texts, {len(self.labels)} labels "
            f"({'multi' if self.multi_label else 'single'}-label), "
            f"{self.steps} steps in {self.seconds:.0f} s "
            f"({1000 * self.seconds / max(self.texts, 1):.0f} s per 1,000 texts).",
        ]
        if last:
            lines.append("Pseudo-labels per label: " + ", ".join(f"{k} {v}" for k, v in last.items()))
        if self.too_few and self.too_few[-1]:
            lines.append(f"Labels with fewer than {self.settings['min_per_label']} confident texts "
                         f"(trained on what there is, or not at all): {', '.join(self.too_few[-1])}")
        if self.losses:
            lines.append(f"Loss: first step {self.losses[0]:.3f}, last step {self.losses[-1]:.3f}.")
        if self.decision:
            lines.append(f"Decisions: {self.decision}, against each label's logit mean and "
                         f"standard deviation over the {self.texts} texts (label_stats).")
        if self.agreement_with_start is not None:
            lines.append(f"Top label unchanged from the start model on "
                         f"{100 * self.agreement_with_start:.1f}% of the texts.")
        return "\n".join(lines)


def _logit_moments(scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each label's logits over a corpus (from sigmoid scores), their mean and their
    standard deviation (1 where they do not spread, so no division by zero)."""
    logits = logits_of(scores)
    std = logits.std(0)
    return logits, logits.mean(0), np.where(std > 0, std, 1.0)


def label_stats(labels: Sequence[str], scores: np.ndarray) -> Dict[str, List[float]]:
    """``{label: [mean, std]}`` of each label's logit over a corpus, from its (N, K)
    sigmoid scores: what the ``"zscore"`` decision rule reads."""
    _, mean, std = _logit_moments(scores)
    return {k: [float(m), float(sd)] for k, m, sd in zip(labels, mean, std)}


def select_pseudo_labels(scores: np.ndarray, multi_label: bool, per_label: int,
                         min_z: float = 2.0) -> PseudoLabels:
    """Confident, label-balanced pseudo-labels from an (N texts, K labels) score
    matrix (softmax scores for single-label, sigmoid scores for multi-label).

    Single-label: for each label, the ``per_label`` texts whose top label it is,
    with the largest gap between the best and the second-best score; every other
    label may be a negative. Multi-label: for each label, the ``per_label`` texts
    where its z-score over the corpus is highest and at least ``min_z``; a picked
    text's positives are all its labels at ``min_z`` or more, its possible
    negatives the labels below their corpus mean (z < 0). A text picked for two
    labels appears once.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise GliZNetInputError(f"scores must be an (N, K) matrix, got shape {scores.shape}")
    n, k = scores.shape
    picked: Dict[int, Tuple[List[int], List[int]]] = {}
    if n == 0 or k == 0:
        return PseudoLabels([], [], [], [0] * k)
    if not multi_label or k == 1:
        top = scores.argmax(1)
        ordered = np.sort(scores, axis=1)
        gap = ordered[:, -1] - (ordered[:, -2] if k > 1 else 0.0)
        for label in range(k):
            rows = np.nonzero(top == label)[0]
            rows = rows[np.argsort(-gap[rows], kind="stable")][:per_label]
            others = [j for j in range(k) if j != label]
            for r in rows:
                picked[int(r)] = ([label], others)
    else:
        logits, mean, std = _logit_moments(scores)
        z = (logits - mean) / std
        for label in range(k):
            rows = np.nonzero(z[:, label] >= min_z)[0]
            rows = rows[np.argsort(-z[rows, label], kind="stable")][:per_label]
            for r in rows:
                if int(r) not in picked:
                    positives = [int(j) for j in np.nonzero(z[r] >= min_z)[0]]
                    negatives = [int(j) for j in np.nonzero(z[r] < 0)[0]]
                    picked[int(r)] = (positives, negatives)
    rows = sorted(picked)
    counts = [0] * k
    for r in rows:
        for j in picked[r][0]:
            counts[j] += 1
    return PseudoLabels(rows, [picked[r][0] for r in rows], [picked[r][1] for r in rows], counts)


def score_texts(pipe: Any, docs: Sequence[Doc], labels: LabelsArg, multi_label: bool,
                batch_size: int = 64, progress: Optional[Callable[[int], None]] = None,
                **settings: Any) -> np.ndarray:
    """(N, K) scores of ``docs`` against ``labels`` (a list, or ``{label: description}``:
    the model reads the descriptions) by the pipe's own prediction path (sigmoid
    scores for multi-label, softmax for single-label), columns in label order;
    ``settings``: per-call long-text settings of the pipe."""
    pairs = label_pairs(labels, "labels")
    keys = [k for k, _ in pairs]
    out = np.zeros((len(docs), len(keys)), dtype=np.float64)
    if pipe.cfg.get("doc_cats") == "none":  # the doc's own scores are what is read here
        settings.setdefault("doc_cats", "doc")
    for i, doc in enumerate(pipe.pipe(_unlabeled_copies(docs), batch_size=batch_size,
                                      labels=dict(pairs), multi_label=multi_label,
                                      cats_top_k=max(len(keys), 1), **settings)):
        out[i] = [doc.cats[k] for k in keys]
        if progress is not None:
            progress(1)
    return out


def _unlabeled_copies(docs: Iterable[Doc]) -> Iterator[Doc]:
    """Copies of the corpus docs (which keep their own cats and extensions) without
    their own label sets: a ``.spacy`` file written by ``convert`` stores each doc's
    ``doc._.gliznet_labels``, which would win over the labels adapt scores."""
    for doc in docs:
        copy = doc.copy()
        copy.cats = {}
        if Doc.has_extension("gliznet_labels"):
            copy._.gliznet_labels = None
        yield copy


def prepare_docs(nlp: Any, name: str, docs: Iterable[Doc]) -> List[Doc]:
    """``docs`` through the components of ``nlp`` before the pipe ``name`` (a
    sentencizer or parser that a pipe scoring sentences needs), as ``nlp`` would run
    them; the pipe itself and the components after it do not run."""
    docs = list(docs)
    before = nlp.pipe_names[:nlp.pipe_names.index(name)] if name in nlp.pipe_names else []
    if not before or not docs:
        return docs
    with nlp.select_pipes(enable=before):
        return list(nlp.pipe(docs))


def _examples(docs: Sequence[Doc], labels: Sequence[str], pseudo: PseudoLabels,
              picks: Sequence[int], negatives: int, rng: random.Random) -> List[Example]:
    """Training examples for the picked pseudo-labels: positives 1.0, up to
    ``negatives`` sampled negatives 0.0."""
    out = []
    for i in picks:
        pos, neg = pseudo.positives[i], pseudo.negatives[i]
        sampled = neg if len(neg) <= negatives else rng.sample(neg, negatives)
        cats = {labels[j]: 1.0 for j in pos}
        cats.update({labels[j]: 0.0 for j in sampled})
        items = list(cats.items())
        rng.shuffle(items)
        doc = docs[pseudo.rows[i]]
        reference, predicted = doc.copy(), doc.copy()
        reference.cats, predicted.cats = dict(items), {}
        out.append(Example(predicted, reference))
    return out


def check_corpus(docs: Iterable[Doc], min_texts: int) -> List[Doc]:
    """The corpus as a list, refused with a clear error when it cannot be adapted to."""
    texts = list(docs)
    bad = [i for i, d in enumerate(texts) if not isinstance(d, Doc)]
    if bad:
        raise GliZNetInputError(f"adapt: expected Docs, got {type(texts[bad[0]]).__name__} at "
                                f"position {bad[0]}")
    empty = [i for i, d in enumerate(texts) if not d.text.strip()]
    if empty:
        raise GliZNetInputError(f"adapt: {len(empty)} empty text(s) in the corpus "
                                f"(first at position {empty[0]}); remove them")
    if len(texts) < min_texts:
        raise GliZNetInputError(
            f"adapt: the corpus has {len(texts)} text(s); self-training needs at least "
            f"{min_texts} unlabeled texts from the target domain (min_texts)")
    # a text repeated gives no spread: every label's standard deviation would be 0
    distinct = len({" ".join(d.text.split()).lower() for d in texts})
    if distinct < min_texts:
        raise GliZNetInputError(
            f"adapt: the corpus has {len(texts)} texts but only {distinct} distinct one(s) "
            f"(ignoring case and spacing); self-training and the label statistics need at "
            f"least {min_texts} different texts (min_texts)")
    return texts


def self_train(pipe: Any, docs: Iterable[Doc],
               labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None,
               settings: Optional[AdaptSettings] = None,
               progress: Optional[Callable[[str, int, int], None]] = None) -> AdaptReport:
    """Adapt ``pipe`` in place to the unlabeled ``docs`` and return a report.

    pipe: a ``gliznet_textcat`` pipe; its labels become ``labels`` (default: its own)
        and its ``multi_label`` mode ``multi_label`` (default: its own).
    docs: the in-domain texts, as Docs (their cats and labels are not read).
    settings: :class:`AdaptSettings` (default: the chosen defaults).
    progress: called as ``progress(stage, done, total)``.
    """
    settings = settings or AdaptSettings()
    start_time = time.perf_counter()
    pairs = label_pairs(labels, "adapt labels") if labels is not None else list(pipe.cfg["labels"])
    if len(pairs) < 2:
        raise GliZNetInputError(
            f"adapt: needs at least 2 labels to tell apart, got {len(pairs)}; give labels "
            "with --labels or in the pipe's config")
    docs = check_corpus(docs, settings.min_texts)
    if multi_label is not None:
        multi_label = validate_bool(multi_label, "adapt: multi_label")
    # the labels as the model reads them (identical ones, labels too long, labels of no
    # tokens are refused here), before the pipe changes
    ensure_loaded(pipe.model).get_encoder().encode([""], [[t for _, t in pairs]])
    before = {key: pipe.cfg.get(key) for key in _CHANGED}
    pipe.labels = dict(pairs)
    if multi_label is not None:
        pipe.multi_label = multi_label
    multi = pipe.multi_label
    try:
        return _train(pipe, docs, pairs, multi, settings, progress, start_time)
    except BaseException:
        _restore(pipe, before)  # a refused or failed adapt leaves the pipe's settings as they were
        raise


#: the pipe settings self_train changes (restored when it fails)
_CHANGED = ("labels", "multi_label", "decision_rule", "rule_param", "label_stats",
            "label_stats_texts")


def _restore(pipe: Any, before: Dict[str, Any]) -> None:
    pipe.labels = dict(before["labels"])
    pipe.multi_label = before["multi_label"]
    pipe.set_decision_rule(before["decision_rule"], before["rule_param"])
    pipe.cfg["label_stats"] = before["label_stats"] or {}
    pipe.cfg["label_stats_texts"] = before["label_stats_texts"] or {}


def _train(pipe: Any, docs: List[Doc], pairs: List[Tuple[str, str]], multi: bool,
           settings: AdaptSettings, progress: Optional[Callable[[str, int, int], None]],
           start_time: float) -> AdaptReport:
    """:func:`self_train` once the inputs are checked and the pipe's labels are set."""
    keys = [k for k, _ in pairs]
    report = AdaptReport(labels=keys, multi_label=multi, texts=len(docs), settings=asdict(settings))
    fix_random_seed(settings.seed)
    rng = random.Random(settings.seed)
    module = ensure_loaded(pipe.model)
    # the start's weights, only for the WiSE-FT mix (a full copy of the model)
    start_state = ({k: v.detach().clone() for k, v in module.state_dict().items()}
                   if settings.mix < 1.0 else None)
    say = progress or (lambda stage, done, total: None)

    def scored(stage: str) -> np.ndarray:
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            say(stage, done[0], len(docs))

        # The first window of each text, as training reads it (long_text applies to
        # prediction only): confidence is judged on the text the model learns from.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)
            return score_texts(pipe, docs, dict(pairs), multi, progress=step, long_text="truncate")

    start_scores = scores = scored("scoring")
    steps = settings.steps_for(multi)
    for iteration in range(settings.iterations if steps else 0):
        if iteration:
            scores = scored(f"re-scoring {iteration + 1}")
        pseudo = select_pseudo_labels(scores, multi, settings.per_label, settings.min_z)
        report.pseudo_labels.append(dict(zip(keys, pseudo.counts)))
        report.too_few.append([k for k, c in zip(keys, pseudo.counts) if c < settings.min_per_label])
        if not pseudo.rows:
            raise GliZNetInputError(
                "adapt: no text is a confident prediction of any label, so there is nothing to "
                "train on; give more in-domain texts or other labels")
        optimizer = Adam(settings.learn_rate)
        order: List[int] = []
        for step in range(steps):
            if len(order) < settings.batch_size:
                more = list(range(len(pseudo.rows)))
                rng.shuffle(more)
                order.extend(more)
            picks, order = order[:settings.batch_size], order[settings.batch_size:]
            batch = _examples(docs, keys, pseudo, picks, settings.negatives, rng)
            losses = pipe.update(batch, drop=settings.dropout, sgd=optimizer)
            report.losses.append(float(losses[pipe.name]))
            report.steps += 1
            say(f"training {iteration + 1}/{settings.iterations}", step + 1, steps)
    if start_state is not None and report.steps:
        mixed = interpolate_states(start_state, module.state_dict(), settings.mix)
        module.load_state_dict(mixed)
    final = scored("checking") if report.steps else start_scores
    if multi:
        pipe.label_stats = label_stats(keys, final)
        pipe.set_decision_rule("zscore", settings.min_z)
        report.decision = f"zscore rule, rule_param {settings.min_z:g}"
    report.agreement_with_start = float((final.argmax(1) == start_scores.argmax(1)).mean())
    report.start_scores, report.final_scores = start_scores, final
    report.seconds = time.perf_counter() - start_time
    return report


def adapt_pipe(pipe: Any, texts: Iterable[Union[str, Doc]], *, nlp: Optional[Any] = None,
               labels: Optional[LabelsArg] = None, multi_label: Optional[bool] = None,
               settings: Optional[AdaptSettings] = None,
               progress: Optional[Callable[[str, int, int], None]] = None,
               **overrides: Any) -> AdaptReport:
    """Adapt ``pipe``'s model in place to unlabeled in-domain texts by self-training on
    its own confident predictions (:func:`self_train`); returns a report
    (``report.summary()``). Save the pipeline afterwards as usual. The pipe's method
    ``pipe.adapt(texts, ...)``.

    texts: the unlabeled corpus, strings (made into Docs by ``nlp.make_doc``)
        or Docs; their gold cats and own label sets (``doc._.gliznet_labels``, as in a
        ``.spacy`` file from ``convert``) are not read: the adapt labels win.
    nlp: the pipeline, needed when ``texts`` are strings; when given, its components
        before this pipe run on the texts first (the sentencizer a pipe that scores
        sentences needs).
    labels: the labels to adapt to (default: the pipe's); they become the pipe's.
    multi_label: the mode to adapt for (default: the pipe's); it becomes the pipe's.
    settings: an ``AdaptSettings``; ``overrides``: its fields by name
        (``steps=50``, ``seed=1``, ...), applied over ``settings``.
    progress: called as ``progress(stage, done, total)``.
    """
    settings = (settings or AdaptSettings()).with_overrides(f"{pipe.name}.adapt", **overrides)
    docs = []
    for text in texts:
        if isinstance(text, str):
            if nlp is None:
                raise GliZNetInputError(f"{pipe.name}.adapt: texts are strings, so pass "
                                        "nlp=... to make Docs of them (or pass Docs)")
            text = nlp.make_doc(text)
        docs.append(text)
    if nlp is not None:  # e.g. the sentencizer a pipe that scores sentences needs
        docs = prepare_docs(nlp, pipe.name, docs)
    return self_train(pipe, docs, labels=labels, multi_label=multi_label, settings=settings,
                      progress=progress)
