"""What the training data say about the labels, before any training: positives and
explicit negatives per label, labels never positive, docs without a positive label.

:func:`label_report` counts from Docs or Examples (the reference ``doc.cats``: >= 0.5
positive, < 0.5 negative), optionally against the pipe's label set (a pipe label
the data never mention is never positive). :func:`make_label_report_callback`
(registered as ``spacy_gliznet.label_report.v1``) is an ``[initialize] after_init``
callback: ``spacy train`` (and ``spacy debug model``/``assemble``) print the report of
the training corpus right before training starts. ``python -m spacy_gliznet
label-report DATA`` prints it for a ``.spacy`` file or a JSONL + manifest folder.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from spacy.tokens import Doc
from spacy.training import Example
from wasabi import msg, table


@dataclass
class LabelReport:
    """Label counts over a corpus (see the module docstring)."""

    n_docs: int = 0
    n_without_cats: int = 0  # docs whose cats are empty: training skips them
    n_without_positive: int = 0  # docs with cats, none of them >= 0.5
    positives: Dict[str, int] = field(default_factory=dict)
    negatives: Dict[str, int] = field(default_factory=dict)
    labels: List[str] = field(default_factory=list)  # pipe labels first, then the data's

    @property
    def never_positive(self) -> List[str]:
        return [lab for lab in self.labels if not self.positives.get(lab)]

    @property
    def not_in_data(self) -> List[str]:
        return [lab for lab in self.labels
                if lab not in self.positives and lab not in self.negatives]

    def to_dict(self) -> Dict[str, Any]:
        return {"docs": self.n_docs, "docs_without_cats": self.n_without_cats,
                "docs_without_positive": self.n_without_positive,
                "positives": {lab: self.positives.get(lab, 0) for lab in self.labels},
                "negatives": {lab: self.negatives.get(lab, 0) for lab in self.labels},
                "never_positive": self.never_positive, "not_in_data": self.not_in_data}

    def table(self) -> str:
        rows = [(lab, self.positives.get(lab, 0), self.negatives.get(lab, 0),
                 f"{self.positives.get(lab, 0) / max(self.n_docs, 1):.1%}") for lab in self.labels]
        return table(rows, header=("label", "positive", "negative", "positive share"),
                     divider=True, aligns=("l", "r", "r", "r"))

    def problems(self) -> List[str]:
        out = []
        if self.never_positive:
            out.append(f"{len(self.never_positive)} label(s) never positive: "
                       f"{_short(self.never_positive)}")
        if self.n_without_cats:
            out.append(f"{self.n_without_cats} doc(s) have no cats at all (training skips them)")
        return out

    def print(self, title: str = "Labels in the training data") -> None:
        """Print the report with spaCy's console style (wasabi)."""
        msg.divider(title)
        msg.info(f"{self.n_docs} docs, {len(self.labels)} labels; "
                 f"{self.n_without_positive} doc(s) without a positive label, "
                 f"{self.n_without_cats} without cats")
        print(self.table())
        for problem in self.problems():
            msg.warn(problem)
        if not self.problems():
            msg.good("Every label has positives and every doc has cats")


def _short(items: Sequence[str], n: int = 10) -> str:
    shown = ", ".join(repr(x) for x in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def label_report(data: Iterable[Any], labels: Optional[Iterable[str]] = None) -> LabelReport:
    """Count the labels of ``data``: Examples (their reference docs), Docs, or
    ``(text, gold_labels)`` rows. ``labels``: the label set expected (e.g. the pipe's)."""
    report = LabelReport(labels=list(dict.fromkeys(labels or ())))
    seen: Dict[str, None] = dict.fromkeys(report.labels)
    for item in data:
        if isinstance(item, Example):
            cats = item.reference.cats
        elif isinstance(item, Doc):
            cats = item.cats
        elif isinstance(item, tuple) and len(item) == 2:
            cats = {lab: 1.0 for lab in item[1]}
        else:
            raise TypeError(f"label_report reads Examples, Docs or (text, labels) rows, not "
                            f"{type(item).__name__}")
        report.n_docs += 1
        if not cats:
            report.n_without_cats += 1
            continue
        positive = False
        for lab, value in cats.items():
            seen.setdefault(lab)
            if value >= 0.5:
                report.positives[lab] = report.positives.get(lab, 0) + 1
                positive = True
            else:
                report.negatives[lab] = report.negatives.get(lab, 0) + 1
        report.n_without_positive += not positive
    report.labels = list(seen)
    return report


def make_label_report_callback(corpus: str = "corpora.train", component: str = "gliznet_textcat",
                               max_examples: int = 100_000) -> Callable[[Any], Any]:
    """``spacy_gliznet.label_report.v1``: an ``[initialize] after_init`` callback that
    prints the label report of ``corpus`` (a dot name of the config, as
    ``[training] train_corpus``), against the labels of ``component`` when the
    pipeline has it; at most ``max_examples`` examples are read. A corpus that
    cannot be read (no ``paths.train``) gets a note, not an error."""
    from itertools import islice

    def report_labels(nlp: Any) -> Any:
        from spacy.util import dot_to_object, registry

        try:  # this corpus alone (resolve_dot_names would resolve its siblings too)
            block = dot_to_object(nlp.config.interpolate(), corpus)
            reader = registry.resolve({"corpus": block})["corpus"]
            examples = islice(reader(nlp), max_examples) if max_examples else reader(nlp)
            labels = nlp.get_pipe(component).labels if component in nlp.pipe_names else None
            report = label_report(examples, labels)
        except Exception as err:  # no corpus configured: nothing to report
            msg.info(f"label report: could not read {corpus!r} ({type(err).__name__}: "
                     f"{str(err).splitlines()[0] if str(err) else ''})")
            return nlp
        report.print(f"Labels in {corpus}" + (f" (first {max_examples} examples)"
                                               if report.n_docs >= max_examples > 0 else ""))
        return nlp

    return report_labels
