"""Training data for gliznet_textcat: a corpus reader for JSONL + manifest
folders, and a converter to ``.spacy`` DocBin files.

Folder layout (as in ``../shared/data/``)::

    manifest.json   {"<dataset>": {"file": "x.jsonl", "task": "single_label" |
                     "multi_label", "labels": [...the full label set...], ...}, ...}
    x.jsonl         {"text": "...", "labels": ["gold", ...], "not_labels": [...]?}

Each example's reference ``doc.cats`` holds 1.0 for its gold labels and 0.0 for
negatives: the row's explicit ``not_labels`` (optional) plus ``negative_samples``
labels drawn afresh, every epoch, from the same dataset's label set. The
predicted doc gets ``doc._.gliznet_labels`` (the same labels, shuffled), so that
evaluation during ``spacy train`` scores each doc against its own labels only.

A deterministic held-out split (by a hash of the text) lets one folder give both
a training and a development corpus: ``split="train"`` leaves out the held-out
rows, ``split="dev"`` yields only them.
"""

import json
import random
import zlib
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from ..errors import GliZNetDataError, GliZNetInputError
from ..labels import label_pairs, training_labels

MANIFEST = "manifest.json"
SPLITS = ("all", "train", "dev", "test")


class Dataset:
    """One dataset of a manifest folder: its rows, task and full label set."""

    def __init__(self, name: str, task: str, labels: List[str], rows: List[Dict]) -> None:
        self.name = name
        self.task = task
        self.labels = labels
        self.rows = rows

    @property
    def multi_label(self) -> bool:
        return self.task == "multi_label"


def read_manifest(path: Union[str, Path]) -> Dict[str, Dict]:
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise GliZNetDataError(f"{str(path)!r} has no {MANIFEST}")
    data = srsly.read_json(manifest)
    if not isinstance(data, dict) or not data:
        raise GliZNetDataError(f"{str(manifest)!r} must map dataset names to their entries")
    for name, entry in data.items():
        for key in ("file", "labels"):
            if key not in entry:
                raise GliZNetDataError(f"{str(manifest)!r}: dataset {name!r} has no {key!r}")
    return data


def in_holdout(text: str, fraction: float) -> bool:
    """Deterministic held-out membership of a text (same on every machine)."""
    if fraction <= 0:
        return False
    return zlib.crc32(text.encode("utf8")) % 100_000 < fraction * 100_000


def load_datasets(
    path: Union[str, Path],
    datasets: Optional[Sequence[str]] = None,
    exclude: Sequence[str] = (),
    split: str = "all",
    holdout_fraction: float = 0.0,
) -> List[Dataset]:
    """Read the datasets of a manifest folder (all, or those named), keeping
    the rows of the requested split: a dataset whose manifest entry has ``splits``
    (``{"train": file, "dev": file, "test": file}``) reads that split's file (and
    refuses ``holdout_fraction``); another is split by text hash (``in_holdout``).
    ``"all"`` reads the entry's ``file``."""
    if split not in SPLITS:
        raise GliZNetInputError(f"split must be one of {SPLITS}, got {split!r}")
    path = Path(path)
    manifest = read_manifest(path)
    names = list(manifest) if datasets is None else list(datasets)
    unknown = [n for n in names if n not in manifest]
    if unknown:
        raise GliZNetInputError(f"Datasets not in {str(path / MANIFEST)!r}: {unknown}")
    out = []
    for name in names:
        if name in exclude:
            continue
        entry = manifest[name]
        labels = list(entry["labels"])
        known = set(labels)
        rows = []
        own = _own_split_file(name, entry, split, holdout_fraction)
        for i, row in enumerate(srsly.read_jsonl(path / (own or entry["file"]))):
            text, gold = row.get("text"), row.get("labels")
            if not isinstance(text, str) or not text.strip() or not isinstance(gold, list):
                raise GliZNetDataError(
                    f"{name} row {i}: expected {{'text': str, 'labels': list}}")
            bad = [g for g in gold + list(row.get("not_labels", [])) if g not in known]
            if bad:
                raise GliZNetDataError(
                    f"{name} row {i}: labels not in the manifest's label set: {bad}")
            if not own and split != "all" and in_holdout(text, holdout_fraction) != (split == "dev"):
                continue
            rows.append(row)
        out.append(Dataset(name, entry.get("task", "single_label"), labels, rows))
    return out


def _own_split_file(name: str, entry: Dict, split: str, holdout_fraction: float) -> Optional[str]:
    """The file of ``split`` from the entry's own ``splits``, or None to split by hash."""
    splits = entry.get("splits") or {}
    if split == "all":
        return None
    if splits:
        if holdout_fraction:
            raise GliZNetInputError(f"dataset {name!r} has its own splits in the manifest "
                                    f"({sorted(splits)}); drop holdout_fraction")
        if split not in splits:
            raise GliZNetInputError(f"dataset {name!r} has no {split!r} split in the manifest, "
                                    f"only {sorted(splits)}")
        return splits[split]
    if split == "test":
        raise GliZNetInputError(f"split 'test' needs the manifest's own splits, and dataset "
                                f"{name!r} has none")
    if not 0 < holdout_fraction < 1:
        raise GliZNetInputError(f"split 'train'/'dev' of dataset {name!r}, which has no splits "
                                f"in the manifest, needs 0 < holdout_fraction < 1")
    return None


def row_cats(row: Dict, labels: Sequence[str], negative_samples: int,
             rng: random.Random) -> Dict[str, float]:
    """Gold labels as 1.0; explicit and ``negative_samples`` sampled negatives
    (from the dataset's ``labels``) as 0.0; in shuffled order."""
    cats = {g: 1.0 for g in row["labels"]}
    for neg in row.get("not_labels", []):
        cats.setdefault(neg, 0.0)
    return training_labels(cats, labels, negative_samples, rng, shuffle=True)


def make_example(nlp: Language, text: str, cats: Dict[str, float]) -> Example:
    """An Example whose reference holds ``cats`` and whose predicted doc is
    scored against the same labels, in the same order (``doc._.gliznet_labels``)."""
    reference = nlp.make_doc(text)
    reference.cats = dict(cats)
    predicted = nlp.make_doc(text)
    if Doc.has_extension("gliznet_labels"):
        predicted._.gliznet_labels = list(cats)
    return Example(predicted, reference)


class JsonlCorpus:
    """Iterate Examples from a JSONL + manifest folder (see module docstring).

    path: the folder holding manifest.json.
    datasets: names of the datasets to read (None: all); exclude: names to skip.
    negative_samples: negatives drawn per row per epoch from the dataset's labels.
    max_rows_per_dataset: rows drawn per dataset per epoch (0: all), so that
        large datasets do not swamp small ones; a fresh sample every epoch.
    split, holdout_fraction: "train"/"dev" split by text hash ("all": every row).
    shuffle: shuffle the mixed rows every epoch.
    limit: stop after this many examples per epoch (0: no limit).
    seed: seed of the sampling; each call (epoch) draws new negatives.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        datasets: Optional[Sequence[str]] = None,
        exclude: Sequence[str] = (),
        negative_samples: int = 5,
        max_rows_per_dataset: int = 0,
        split: str = "all",
        holdout_fraction: float = 0.0,
        shuffle: bool = True,
        limit: int = 0,
        seed: int = 0,
    ) -> None:
        if negative_samples < 0:
            raise GliZNetInputError(f"negative_samples must be >= 0, got {negative_samples}")
        self.datasets = load_datasets(path, datasets, exclude, split, holdout_fraction)
        self.negative_samples = int(negative_samples)
        self.max_rows_per_dataset = int(max_rows_per_dataset)
        self.shuffle = bool(shuffle)
        self.limit = int(limit)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        n = sum(
            min(len(d.rows), self.max_rows_per_dataset) if self.max_rows_per_dataset else len(d.rows)
            for d in self.datasets
        )
        return min(n, self.limit) if self.limit else n

    def __call__(self, nlp: Language) -> Iterator[Example]:
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1
        items = []
        for d in self.datasets:
            idx = list(range(len(d.rows)))
            if self.max_rows_per_dataset and len(idx) > self.max_rows_per_dataset:
                idx = rng.sample(idx, self.max_rows_per_dataset)
            items.extend((d, i) for i in idx)
        if self.shuffle:
            rng.shuffle(items)
        if self.limit:
            items = items[: self.limit]
        for d, i in items:
            row = d.rows[i]
            cats = row_cats(row, d.labels, self.negative_samples, rng)
            if not cats:
                continue
            yield make_example(nlp, row["text"], cats)


def create_jsonl_corpus(
    path: str,
    datasets: Optional[List[str]] = None,
    exclude: List[str] = [],
    negative_samples: int = 5,
    max_rows_per_dataset: int = 0,
    split: str = "all",
    holdout_fraction: float = 0.0,
    shuffle: bool = True,
    limit: int = 0,
    seed: int = 0,
) -> JsonlCorpus:
    """Registered as ``spacy_gliznet.JsonlCorpus.v1`` (arguments as :class:`JsonlCorpus`)."""
    return JsonlCorpus(
        path, datasets=datasets, exclude=exclude, negative_samples=negative_samples,
        max_rows_per_dataset=max_rows_per_dataset, split=split,
        holdout_fraction=holdout_fraction, shuffle=shuffle, limit=limit, seed=seed,
    )


def jsonl_to_docbin(
    path: Union[str, Path],
    output: Union[str, Path],
    *,
    lang: str = "en",
    datasets: Optional[Sequence[str]] = None,
    exclude: Sequence[str] = (),
    negative_samples: int = 5,
    split: str = "all",
    holdout_fraction: float = 0.0,
    seed: int = 0,
    max_rows_per_dataset: int = 0,
) -> int:
    """Write a manifest folder as one ``.spacy`` DocBin (cats with one fixed
    draw of negatives; ``doc._.gliznet_labels`` stored as user data), at most
    ``max_rows_per_dataset`` rows of each dataset (a seeded sample in file order;
    0: all). Returns the number of docs written."""
    import spacy

    if negative_samples < 0:
        raise GliZNetInputError(f"negative_samples must be >= 0, got {negative_samples}")
    nlp = spacy.blank(lang)
    rng = random.Random(seed)
    db = DocBin(attrs=[], store_user_data=True)
    n = 0
    for d in load_datasets(path, datasets, exclude, split, holdout_fraction):
        for row in sample_rows(d.rows, max_rows_per_dataset, rng):
            cats = row_cats(row, d.labels, negative_samples, rng)
            if not cats:
                continue
            doc = nlp.make_doc(row["text"])
            doc.cats = cats
            if Doc.has_extension("gliznet_labels"):
                doc._.gliznet_labels = list(cats)
            db.add(doc)
            n += 1
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(output)
    return n


def sample_rows(rows: List[Dict], max_rows: int, rng: random.Random) -> List[Dict]:
    """At most ``max_rows`` of ``rows`` (0: all): a seeded sample, in file order."""
    if max_rows < 0:
        raise GliZNetInputError(f"max_rows_per_dataset must be >= 0, got {max_rows}")
    if max_rows and len(rows) > max_rows:
        return [rows[i] for i in sorted(rng.sample(range(len(rows)), max_rows))]
    return rows


def write_split(
    path: Union[str, Path],
    output: Union[str, Path],
    *,
    split: str,
    holdout_fraction: float,
    datasets: Optional[Sequence[str]] = None,
    exclude: Sequence[str] = (),
    max_rows_per_dataset: int = 0,
    seed: int = 0,
) -> int:
    """Copy one split of a manifest folder into a new manifest folder (e.g. the
    held-out part of train_pool, for the benchmark command). Returns rows written."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(path)
    rng = random.Random(seed)
    out_manifest = {}
    total = 0
    for d in load_datasets(path, datasets, exclude, split, holdout_fraction):
        rows = sample_rows(d.rows, max_rows_per_dataset, rng)
        entry = dict(manifest[d.name])
        entry.pop("splits", None)  # one file now
        entry["file"] = f"{d.name}.jsonl"
        entry["rows"] = len(rows)
        entry["notes"] = (f"{split} split (holdout_fraction={holdout_fraction}) of "
                          f"{Path(path).name}/{manifest[d.name]['file']}")
        srsly.write_jsonl(output / entry["file"], rows)
        out_manifest[d.name] = entry
        total += len(rows)
    (output / MANIFEST).write_text(json.dumps(out_manifest, indent=1), encoding="utf8")
    return total


UNLABELED_FORMATS = (".jsonl", ".txt", ".spacy")


def read_unlabeled(path: Union[str, Path], nlp: Language) -> List[Doc]:
    """An unlabeled corpus as Docs, from JSONL (one ``{"text": ...}`` object per
    line; other fields, gold labels included, are not read), plain text (one doc
    per line; blank lines are not docs) or a ``.spacy`` DocBin."""
    path = Path(path)
    if not path.is_file():
        raise GliZNetDataError(f"No such corpus file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    if suffix == ".txt":
        with path.open(encoding="utf8") as f:
            return [nlp.make_doc(line.strip()) for line in f if line.strip()]
    if suffix == ".jsonl":
        docs = []
        for i, row in enumerate(srsly.read_jsonl(path), start=1):
            text = row.get("text") if isinstance(row, dict) else None
            if not isinstance(text, str):
                raise GliZNetDataError(f"{str(path)!r} line {i}: expected an object with a 'text' "
                                       f"string, got {str(row)[:80]!r}")
            docs.append(nlp.make_doc(text))
        return docs
    raise GliZNetDataError(f"{str(path)!r}: an unlabeled corpus is {', '.join(UNLABELED_FORMATS)}; "
                           f"got {suffix or 'no extension'!r}")


# -- label sets from files -----------------------------------------------------------
def read_labels_file(path: Union[str, Path]) -> Union[List[str], Dict[str, str]]:
    """A label set from a file (registered as ``spacy_gliznet.read_labels.v1``, for
    ``labels`` in the component's config):

    - ``*.json``: a list of labels, or a ``{label: description}`` object (what
      ``python -m spacy init labels`` writes for this component);
    - any other file: plain UTF-8 text, one label per line (leading and trailing
      whitespace removed; blank lines skipped).

    Raises GliZNetDataError, naming the file (and the line), for a missing file,
    bad JSON, another JSON type, and empty, duplicate or invalid labels.
    """
    path = Path(path)
    where = f"labels file {str(path)!r}"
    if not path.is_file():
        raise GliZNetDataError(f"{where} does not exist (relative paths start at {Path.cwd()})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise GliZNetDataError(f"{where} is not UTF-8 text: {err}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise GliZNetDataError(f"{where} is not valid JSON: {err}") from None
        if not isinstance(data, (list, dict)):
            raise GliZNetDataError(
                                   f"{where} must hold a JSON list of labels or a {{label: description}} object, "
                                   f"not a {type(data).__name__}")
        labels = data
    else:
        labels = []
        seen: Dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            label = line.strip()
            if not label:
                continue
            if label in seen:
                raise GliZNetDataError(
                                       f"{where}: line {number} repeats the label {label!r} of line {seen[label]}")
            seen[label] = number
            labels.append(label)
    if not labels:
        raise GliZNetDataError(f"{where} holds no labels")
    pairs = label_pairs(labels, where)
    if isinstance(labels, dict):
        return dict(pairs)
    return [k for k, _ in pairs]


def make_labels_reader(path: str) -> Union[List[str], Dict[str, str]]:
    """``spacy_gliznet.read_labels.v1``: :func:`read_labels_file` of ``path``."""
    return read_labels_file(path)
