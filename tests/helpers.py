"""Helpers shared by the test modules (import with ``from helpers import ...``;
tests/ is on ``sys.path`` through its conftest.py)."""

import importlib.util
import json
import string
from pathlib import Path
from typing import Any, Dict, Optional

import spacy
import srsly
from spacy.tokens import DocBin

ROOT = Path(__file__).resolve().parents[1]   # the repository
DATA = Path(__file__).resolve().parent / "data"   # files the tests read

ARCH = "spacy_gliznet.GliZNet.v1"
# Tiny multi-label training data for the tiny test vocabulary (tests/conftest.py).
TRAIN = [
    ("the team won the match", {"sports": 1.0, "food": 0.0, "music": 0.0}),
    ("pasta cooking is good", {"sports": 0.0, "food": 1.0, "music": 0.0}),
    ("a new song from the film", {"sports": 0.0, "food": 0.0, "music": 1.0}),
    ("the team had pasta and a song", {"sports": 1.0, "food": 1.0, "music": 1.0}),
    ("the goal was great", {"sports": 1.0, "food": 0.0, "music": 0.0}),
    ("hot food and cold pasta", {"sports": 0.0, "food": 1.0, "music": 0.0}),
]


def make_nlp(name: Optional[Any] = None, *, sentencizer: bool = False,
             model: Optional[dict] = None, **cfg: Any):
    """A blank English pipeline with ``gliznet_textcat`` on the model ``name``
    (None: the bundled default model), optionally after a sentencizer.

    model: extra settings of the model block (e.g. ``{"batch_size": 2}``).
    cfg: the component's settings (labels, multi_label, ...).
    """
    nlp = spacy.blank("en")
    if sentencizer:
        nlp.add_pipe("sentencizer")
    block = {"@architectures": ARCH, "name": None if name is None else str(name)}
    block.update(model or {})
    nlp.add_pipe("gliznet_textcat", config={"model": block, **cfg})
    return nlp


def saved_pipeline(name: Any, labels, path):
    """A pipeline with ``gliznet_textcat`` on the model ``name``, initialized and saved to ``path``."""
    nlp = make_nlp(name, labels=list(labels))
    nlp.initialize()
    nlp.to_disk(path)
    return path


# -- a tiny tokenizer (the tiny backbones of conftest.py use it) -------------------------
WORDS = (
    "the a an of to and in is it for on with as was at by be this that from or are "
    "not but have has had will can all new one two good bad great sports politics "
    "game team match won lost goal music song film movie food pasta cooking tech "
    "technology phone camera battery weather rain sun cold hot news world business "
    "money bank card price market school science space planet star health doctor "
    "happy sad angry love hate fear joy positive negative neutral question answer "
    "label text yes no very long short red blue green cat dog"
).split()


def write_vocab(path: Path) -> None:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    pieces = ["##" + c for c in string.ascii_lowercase + string.digits]
    vocab = specials + chars + pieces + WORDS
    path.write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf8")


def make_tokenizer(directory: Path, model_max_length: int = 128):
    from transformers import BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    write_vocab(directory / "vocab.txt")
    tok = BertTokenizerFast(str(directory / "vocab.txt"), do_lower_case=True,
                            model_max_length=model_max_length)
    tok.save_pretrained(str(directory))
    return tok


# -- data folders and scripts --------------------------------------------------------------
def write_datasets(folder: Path, datasets: Dict[str, Dict[str, Any]]) -> Path:
    """A manifest folder as ``readers.load_datasets`` reads it. ``datasets``: name ->
    ``{"labels": [...], "rows": [{"text", "labels"}, ...], "task": "single_label" or
    "multi_label" (default single), "splits": {split: rows} (optional)}``."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, spec in datasets.items():
        srsly.write_jsonl(folder / f"{name}.jsonl", spec["rows"])
        entry = {"file": f"{name}.jsonl", "task": spec.get("task", "single_label"),
                 "labels": list(spec["labels"]), "rows": len(spec["rows"])}
        if "splits" in spec:
            entry["splits"] = {}
            for split, rows in spec["splits"].items():
                srsly.write_jsonl(folder / f"{name}.{split}.jsonl", rows)
                entry["splits"][split] = f"{name}.{split}.jsonl"
        manifest[name] = entry
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf8")
    return folder


def make_folder(path: Path, n: int = 40) -> Path:
    """The standard small manifest folder: ``topics`` (single-label, 5 labels, ``n``
    rows) and ``moods`` (multi-label, 3 labels, with an empty row and explicit negatives)."""
    topics = ["sports", "politics", "music", "food", "weather"]
    multi = ["happy", "sad", "angry"]
    rows = [{"text": f"feeling {i}", "labels": [multi[i % 3]] + ([multi[(i + 1) % 3]] if i % 2 else [])}
            for i in range(n // 2)]
    rows.append({"text": "nothing at all", "labels": []})
    rows.append({"text": "explicit negatives", "labels": ["happy"], "not_labels": ["sad"]})
    return write_datasets(path, {
        "topics": {"labels": topics, "rows": [
            {"text": f"text number {i} about {topics[i % 5]}", "labels": [topics[i % 5]]}
            for i in range(n)]},
        "moods": {"labels": multi, "task": "multi_label", "rows": rows},
    })


def write_docbin(path: Path, rows, nlp=None) -> Path:
    """A .spacy file of ``(text, cats)`` rows (the gold ``doc.cats``), as spacy train reads it."""
    nlp = nlp or spacy.blank("en")
    db = DocBin()
    for text, cats in rows:
        doc = nlp.make_doc(text)
        doc.cats = dict(cats)
        db.add(doc)
    db.to_disk(path)
    return path


def load_script(path: Path, name: Optional[str] = None):
    """Import a script of examples/ as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
