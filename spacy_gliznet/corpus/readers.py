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
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from ..atomic import atomic_file, atomic_folder, check_output
from ..errors import GliZNetDataError, GliZNetInputError
from ..labels import label_config, label_pairs, label_specs, training_labels
from ..settings import validate_bool, validate_int

MANIFEST = "manifest.json"
TASKS = ("single_label", "multi_label")
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


def _text_lines(path: Path) -> Iterator[Tuple[int, str]]:
    """(line number, line) of a UTF-8 text file (a byte-order mark is skipped); a line
    that is not UTF-8 raises GliZNetDataError naming the file, the line and the byte."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise GliZNetDataError(
                    f"{str(path)!r} line {number}: not UTF-8 text (byte {raw[err.start]:#04x} "
                    f"at column {err.start + 1}); convert the file to UTF-8") from None


def read_jsonl(path: Union[str, Path]) -> Iterator[Tuple[int, Any]]:
    """(line number, object) of each non-blank line of a JSONL file (UTF-8, a byte-order
    mark accepted); a line that is not JSON raises GliZNetDataError naming the file
    and the line."""
    path = Path(path)
    if not path.is_file():
        raise GliZNetDataError(f"No such file: {str(path)!r}")
    for number, line in _text_lines(path):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            raise GliZNetDataError(f"{str(path)!r} line {number}: invalid JSON ({err.msg} at "
                                   f"column {err.colno})") from None


def read_manifest(path: Union[str, Path]) -> Dict[str, Dict]:
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise GliZNetDataError(f"{str(path)!r} has no {MANIFEST}")
    text = "".join(line for _, line in _text_lines(manifest))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise GliZNetDataError(f"{str(manifest)!r} line {err.lineno}: invalid JSON ({err.msg} "
                               f"at column {err.colno})") from None
    if not isinstance(data, dict) or not data:
        raise GliZNetDataError(f"{str(manifest)!r} must map dataset names to their entries")
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise GliZNetDataError(f"{str(manifest)!r}: the entry of dataset {name!r} must be "
                                   f"an object, got {type(entry).__name__}")
        for key in ("file", "labels"):
            if key not in entry:
                raise GliZNetDataError(f"{str(manifest)!r}: dataset {name!r} has no {key!r}")
        where = f"{str(manifest)!r}: dataset {name!r}"
        if not name or name in (".", "..") or any(c in name for c in "/\\"):
            raise GliZNetDataError(f"{where}: a dataset name is a file name (write_split "
                                   f"writes NAME.jsonl), without path separators")
        labels = entry["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise GliZNetDataError(f"{where}: 'labels' must be a list of strings, got "
                                   f"{type(labels).__name__} {str(labels)[:60]!r}")
        if entry.get("task", "single_label") not in TASKS:
            raise GliZNetDataError(f"{where}: 'task' must be one of {list(TASKS)}, got "
                                   f"{entry.get('task')!r}")
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
    if isinstance(holdout_fraction, bool) or not isinstance(holdout_fraction, (int, float)) \
            or not 0.0 <= holdout_fraction < 1.0:
        raise GliZNetInputError(f"holdout_fraction must be a number in [0, 1), got "
                                f"{holdout_fraction!r}")
    if split == "all" and holdout_fraction:
        raise GliZNetInputError(f"holdout_fraction={holdout_fraction} applies to split 'train' "
                                f"or 'dev'; split 'all' reads every row (it would be ignored)")
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
        file = path / (own or entry["file"])
        for i, row in read_jsonl(file):
            where = f"{name}: {str(file)!r} line {i}"
            text = row.get("text") if isinstance(row, dict) else None
            gold = row.get("labels") if isinstance(row, dict) else None
            if not isinstance(text, str) or not text.strip() or not isinstance(gold, list):
                raise GliZNetDataError(f"{where}: expected {{'text': str, 'labels': list}}")
            bad = [g for g in gold + list(row.get("not_labels", [])) if g not in known]
            if bad:
                raise GliZNetDataError(f"{where}: labels not in the manifest's label set: {bad}")
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
        self.negative_samples = validate_int(negative_samples, "negative_samples", 0)
        # limit=-1 would drop the last example ([:-1]); a float would be cut silently
        self.max_rows_per_dataset = validate_int(max_rows_per_dataset, "max_rows_per_dataset", 0)
        self.shuffle = validate_bool(shuffle, "shuffle")
        self.limit = validate_int(limit, "limit", 0)
        self.seed = validate_int(seed, "seed")
        self.datasets = load_datasets(path, datasets, exclude, split, holdout_fraction)
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
    overwrite: bool = False,
) -> int:
    """Write a manifest folder as one ``.spacy`` DocBin (cats with one fixed
    draw of negatives; ``doc._.gliznet_labels`` stored as user data), at most
    ``max_rows_per_dataset`` rows of each dataset (a seeded sample in file order;
    0: all). Returns the number of docs written. ``output`` is checked first (not
    in ``path``; an existing file only with ``overwrite``) and written atomically."""
    import spacy

    if negative_samples < 0:
        raise GliZNetInputError(f"negative_samples must be >= 0, got {negative_samples}")
    check_output(output, inputs=[path], overwrite=overwrite, folder=False)
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
    with atomic_file(output, overwrite) as tmp:
        db.to_disk(tmp)
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
    overwrite: bool = False,
) -> int:
    """Copy one split of a manifest folder into a new manifest folder (e.g. the
    held-out part of train_pool, for the benchmark command). Returns rows written.

    ``output`` must not be ``path`` or lie inside it, and a non-empty ``output`` (say,
    another manifest folder, whose other entries would be lost) is refused unless
    ``overwrite``, which replaces the whole folder; it is written atomically."""
    check_output(output, inputs=[path], overwrite=overwrite)
    manifest = read_manifest(path)
    rng = random.Random(seed)
    out_manifest = {}
    total = 0
    sets = load_datasets(path, datasets, exclude, split, holdout_fraction)
    with atomic_folder(output, overwrite) as tmp:
        for d in sets:
            rows = sample_rows(d.rows, max_rows_per_dataset, rng)
            entry = dict(manifest[d.name])
            entry.pop("splits", None)  # one file now
            entry["file"] = f"{d.name}.jsonl"
            entry["rows"] = len(rows)
            entry["notes"] = (f"{split} split (holdout_fraction={holdout_fraction}) of "
                              f"{Path(path).name}/{manifest[d.name]['file']}")
            srsly.write_jsonl(tmp / entry["file"], rows)
            out_manifest[d.name] = entry
            total += len(rows)
        (tmp / MANIFEST).write_text(json.dumps(out_manifest, indent=1), encoding="utf8")
    return total


UNLABELED_FORMATS = (".jsonl", ".txt", ".spacy")


def read_docbin(path: Union[str, Path], vocab: Any) -> List[Doc]:
    """The docs of a ``.spacy`` (DocBin) file; a missing or unreadable file raises
    GliZNetInputError naming it (msgpack and zlib errors name nothing)."""
    path = Path(path)
    if not path.is_file():
        raise GliZNetDataError(f"No such .spacy file: {str(path)!r}")
    try:
        return list(DocBin().from_disk(path).get_docs(vocab))
    except Exception as err:
        raise GliZNetDataError(f"{str(path)!r} is not a readable .spacy (DocBin) file: "
                               f"{type(err).__name__}: {err}") from None


def read_unlabeled(path: Union[str, Path], nlp: Language) -> List[Doc]:
    """An unlabeled corpus as Docs, from JSONL (one ``{"text": ...}`` object per
    line; other fields, gold labels included, are not read), plain text (one doc
    per line; blank lines are not docs) or a ``.spacy`` DocBin."""
    path = Path(path)
    if not path.is_file():
        raise GliZNetDataError(f"No such corpus file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        return read_docbin(path, nlp.vocab)
    if suffix == ".txt":
        return [nlp.make_doc(line.strip()) for _, line in _text_lines(path) if line.strip()]
    if suffix == ".jsonl":
        docs = []
        for i, row in read_jsonl(path):
            text = row.get("text") if isinstance(row, dict) else None
            if not isinstance(text, str):
                raise GliZNetDataError(f"{str(path)!r} line {i}: expected an object with a 'text' "
                                       f"string, got {str(row)[:80]!r}")
            docs.append(nlp.make_doc(text))
        return docs
    raise GliZNetDataError(f"{str(path)!r}: an unlabeled corpus is {', '.join(UNLABELED_FORMATS)}; "
                           f"got {suffix or 'no extension'!r}")


def read_examples_file(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Labeled examples (seeds for adapt) from JSONL, one ``{"text": str, "labels":
    [str, ...]}`` object per line (blank lines skipped), as dicts with ``text``,
    ``labels`` and ``where`` (file and line, for later errors). GliZNetInputError,
    naming the file and line, for anything else."""
    path = Path(path)
    where = f"examples file {str(path)!r}"
    if not path.is_file():
        raise GliZNetInputError(f"{where} does not exist")
    out = []
    with path.open(encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise GliZNetInputError(f"{where}: line {number} is not valid JSON: {err}") from None
            text = row.get("text") if isinstance(row, dict) else None
            gold = row.get("labels") if isinstance(row, dict) else None
            if not isinstance(text, str) or not text.strip() or not isinstance(gold, list) \
                    or not gold or not all(isinstance(g, str) for g in gold):
                raise GliZNetInputError(f"{where}: line {number} must be an object with a "
                                        f"non-empty 'text' string and a non-empty 'labels' list "
                                        f"of strings, got {line.strip()[:80]!r}")
            out.append({"text": text, "labels": gold, "where": f"{path.name} line {number}"})
    if not out:
        raise GliZNetInputError(f"{where} holds no examples")
    return out


# -- label sets from files -----------------------------------------------------------
LABEL_LINE_FIELDS = ("label", "description", "examples")


def read_labels_jsonl(text: str, where: str) -> Union[List[str], Dict[str, Any]]:
    """The label set of a JSONL labels file: one object per line with ``label`` and
    optionally ``description`` and ``examples`` (a list of texts that carry the
    label); blank lines skipped. Errors name the line."""
    out: Dict[str, Any] = {}
    lines: Dict[str, int] = {}
    plain = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise GliZNetInputError(f"{where}: line {number} is not valid JSON: {err}") from None
        if not isinstance(row, dict) or not isinstance(row.get("label"), str):
            raise GliZNetInputError(f"{where}: line {number} must be an object with a 'label' "
                                    f"string (and optionally 'description', 'examples')")
        unknown = sorted(set(row) - set(LABEL_LINE_FIELDS))
        if unknown:
            raise GliZNetInputError(f"{where}: line {number} has unknown fields {unknown}; a "
                                    f"line holds {list(LABEL_LINE_FIELDS)}")
        label = row["label"]
        if label in lines:
            raise GliZNetInputError(f"{where}: line {number} repeats the label {label!r} of "
                                    f"line {lines[label]}")
        lines[label] = number
        entry = {k: row[k] for k in ("description", "examples") if k in row}
        plain = plain and not entry
        try:
            label_specs({label: entry}, f"line {number}")
        except GliZNetInputError as err:
            raise GliZNetInputError(f"{where}: {err}") from None
        out[label] = entry or label
    return list(out) if plain else out


def read_labels_file(path: Union[str, Path]) -> Union[List[str], Dict[str, Any]]:
    """A label set from a file (registered as ``spacy_gliznet.read_labels.v1``, for
    ``labels`` in the component's config):

    - ``*.json``: a list of labels, or a ``{label: description}`` object (what
      ``python -m spacy init labels`` writes for this component), whose values may
      also be ``{"description": ..., "examples": [...]}``;
    - ``*.jsonl``: one ``{"label", "description"?, "examples"?}`` object per line;
    - any other file: plain UTF-8 text, one label per line (leading and trailing
      whitespace removed; blank lines skipped).

    Raises GliZNetDataError, naming the file (and the line), for a missing file,
    bad JSON, another JSON type, and empty, duplicate or invalid labels or examples.
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
    elif path.suffix.lower() == ".jsonl":
        labels = read_labels_jsonl(text, where)
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
    pairs, examples = label_specs(labels, where)
    if not isinstance(labels, dict):
        return [k for k, _ in pairs]
    return label_config(pairs, examples) if examples else dict(pairs)


def parse_labels_option(value: Optional[str]) -> Optional[Union[List[str], Dict[str, str]]]:
    """A ``--labels`` option as the commands read it: a label file (``.txt``: one per
    line; ``.json``: a list or a ``{label: description}`` object; any existing file), a
    JSON list or object, or comma-separated labels; None for none. Bad JSON or bad
    labels raise GliZNetInputError saying what is wrong."""
    if value is None or not value.strip():
        return None
    if Path(value).is_file() or Path(value).suffix.lower() in (".txt", ".json", ".jsonl"):
        return read_labels_file(value)
    if value.lstrip().startswith(("[", "{")):
        try:
            labels = json.loads(value)
        except json.JSONDecodeError as err:
            raise GliZNetInputError(f"--labels is not valid JSON ({err.msg} at character "
                                    f"{err.pos}): {value[:80]!r}") from None
        if not isinstance(labels, (list, dict)):
            raise GliZNetInputError("--labels as JSON must be a list or a {label: description} "
                                    "object")
        pairs, examples = label_specs(labels, "--labels")
        if not isinstance(labels, dict):
            return [k for k, _ in pairs]
        return label_config(pairs, examples) if examples else dict(pairs)
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise GliZNetInputError(f"--labels: no names in {value!r} (give them comma-separated)")
    return [k for k, _ in label_pairs(items, "--labels")]


def make_labels_reader(path: str) -> Union[List[str], Dict[str, Any]]:
    """``spacy_gliznet.read_labels.v1``: :func:`read_labels_file` of ``path``."""
    return read_labels_file(path)
