"""#33 item 1: a command that writes never leaves its output half-written or its input
changed (spacy_gliznet/atomic.py): killed mid-save, OUTPUT is absent, the old one or the
complete new one; OUTPUT equal to, inside or containing an input, an existing OUTPUT
without --overwrite, and an unwritable OUTPUT are refused before any work."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import spacy

from spacy_gliznet.__main__ import main
from spacy_gliznet.atomic import atomic_folder, check_output
from spacy_gliznet.errors import GliZNetInputError
from helpers import ROOT, make_folder, saved_pipeline

LABELS = ["sports", "food", "music"]
WORDS = "the team won match pasta cooking song film goal great hot cold food new".split()


def tree_hash(path: Path) -> str:
    """A hash of every file (name and bytes) under ``path``."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def corpus(path: Path, n: int = 24) -> Path:
    path.write_text("\n".join(f"{WORDS[i % 14]} {WORDS[(3 * i) % 14]} {WORDS[(5 * i + 1) % 14]} "
                              f"number {i}" for i in range(n)) + "\n", encoding="utf8")
    return path


@pytest.fixture(scope="module")
def pipeline(tiny_gliznet_dir, tmp_path_factory):
    return saved_pipeline(tiny_gliznet_dir, LABELS, tmp_path_factory.mktemp("p") / "pipeline")


# The child process runs the real command with one writer made slow: after the first
# part of the save it says SAVING and waits to be killed.
SLOW_SAVE = textwrap.dedent("""
    import sys, time
    import spacy.util, srsly
    from spacy.tokens import DocBin

    def announce():
        print("SAVING", flush=True)
        time.sleep(120)

    to_disk = spacy.util.to_disk
    def slow_to_disk(path, writers, exclude):
        items = list(writers.items())
        to_disk(path, dict(items[:1]), exclude)
        announce()
    spacy.util.to_disk = slow_to_disk

    def slow_to_bytes(self):
        announce()
    DocBin.to_bytes = slow_to_bytes

    write_jsonl = srsly.write_jsonl
    def slow_write_jsonl(path, rows):
        write_jsonl(path, rows)
        announce()
    srsly.write_jsonl = slow_write_jsonl

    from spacy_gliznet.__main__ import main
    main(sys.argv[1:])
""")


def kill_mid_save(argv, timeout=90):
    """Run ``python -m spacy_gliznet argv`` with a slow save; SIGKILL it once it saves."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    start = time.monotonic()
    try:
        line = proc.stdout.readline()
        while line and "SAVING" not in line and time.monotonic() - start < timeout:
            line = proc.stdout.readline()
        assert "SAVING" in line, f"the command never reached its save: {proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow  # two processes load torch and spaCy (about 40 s on a busy machine)
@pytest.mark.timeout(150)
def test_adapt_killed_mid_save_leaves_no_half_written_pipeline(pipeline, tmp_path):
    """It left a half-written folder that failed to load ("Unpack failed"), or a mix of
    old and new files."""
    texts = corpus(tmp_path / "texts.txt")
    before = tree_hash(pipeline)
    out = tmp_path / "adapted"
    kill_mid_save(["adapt", pipeline, texts, out, "--steps", "0", "--no-progress"])
    assert not out.exists()
    # replacing an existing pipeline: killed mid-save, the old one is still whole
    main(["adapt", str(pipeline), str(texts), str(out), "--steps", "0", "--no-progress"])
    complete = tree_hash(out)
    kill_mid_save(["adapt", pipeline, texts, out, "--steps", "0", "--no-progress", "--overwrite"])
    assert tree_hash(out) == complete
    spacy.load(out)  # loads
    assert tree_hash(pipeline) == before


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_convert_killed_mid_save_leaves_no_half_written_output(tmp_path):
    data = make_folder(tmp_path / "data")
    before = tree_hash(data)
    out = tmp_path / "train.spacy"
    kill_mid_save(["convert", data, out])
    assert not out.exists()  # was an empty file
    folder = tmp_path / "split"
    kill_mid_save(["convert", data, folder, "--to", "jsonl"])
    assert not folder.exists()  # was one dataset's rows and no manifest
    assert tree_hash(data) == before


def test_output_that_is_or_holds_an_input_is_refused_before_any_work(pipeline, tmp_path):
    """adapt OUTPUT = PIPELINE overwrote the pipeline; convert --to jsonl into its own
    input folder destroyed it (30 rows became 4)."""
    texts = corpus(tmp_path / "texts.txt")
    data = make_folder(tmp_path / "data")
    hashes = tree_hash(pipeline), tree_hash(data)
    with pytest.raises(GliZNetInputError, match="is the input"):
        main(["adapt", str(pipeline), str(texts), str(pipeline), "--overwrite", "--no-progress"])
    with pytest.raises(GliZNetInputError, match="inside the input"):
        main(["adapt", str(pipeline), str(texts), str(pipeline / "sub"), "--no-progress"])
    with pytest.raises(GliZNetInputError, match="contains the input"):
        main(["adapt", str(pipeline), str(texts), str(tmp_path), "--overwrite", "--no-progress"])
    with pytest.raises(GliZNetInputError, match="is the input"):
        main(["convert", str(data), str(data), "--to", "jsonl", "--split", "all", "--overwrite"])
    with pytest.raises(GliZNetInputError, match="inside the input"):
        main(["convert", str(data), str(data / "out.spacy")])
    with pytest.raises(GliZNetInputError, match="is the input"):
        main(["render", "default", str(texts), str(texts), "--labels", "a,b", "--overwrite"])
    assert (tree_hash(pipeline), tree_hash(data)) == hashes


def test_an_existing_output_is_replaced_only_when_asked(pipeline, tmp_path):
    """adapt overwrote a folder holding the user's own config.cfg; convert --to jsonl
    into a manifest folder dropped that manifest's other entries."""
    texts = corpus(tmp_path / "texts.txt")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.cfg").write_text("my own", encoding="utf8")
    with pytest.raises(GliZNetInputError, match="non-empty folder.*--overwrite"):
        main(["adapt", str(pipeline), str(texts), str(mine), "--no-progress"])
    other = make_folder(tmp_path / "other")
    manifest = (other / "manifest.json").read_text()
    with pytest.raises(GliZNetInputError, match="non-empty folder.*--overwrite"):
        main(["convert", str(make_folder(tmp_path / "data")), str(other), "--to", "jsonl",
              "--datasets", "topics"])
    assert (mine / "config.cfg").read_text() == "my own"
    assert (other / "manifest.json").read_text() == manifest
    main(["adapt", str(pipeline), str(texts), str(mine), "--no-progress", "--steps", "0",
          "--overwrite"])
    assert (mine / "meta.json").is_file() and spacy.load(mine).pipe_names == ["gliznet_textcat"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left aside
    empty = tmp_path / "empty"
    empty.mkdir()
    main(["convert", str(tmp_path / "data"), str(empty), "--to", "jsonl"])  # an empty folder is fine
    assert json.loads((empty / "manifest.json").read_text()).keys() == {"topics", "moods"}


def test_an_unwritable_output_is_refused_before_any_work(pipeline, tmp_path):
    """It failed only after all the work."""
    texts = corpus(tmp_path / "texts.txt")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(GliZNetInputError, match="is not a folder"):
        main(["adapt", str(pipeline), "no_such_corpus.txt", str(blocker / "out")])
    with pytest.raises(GliZNetInputError, match="is a file, not a folder"):
        main(["adapt", str(pipeline), str(texts), str(blocker), "--overwrite"])
    with pytest.raises(GliZNetInputError, match="cannot write"):
        check_output("/proc/gliznet_out")


def test_a_failed_write_leaves_the_old_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(out, overwrite=True) as tmp:
            (tmp / "a").write_text("new")
            raise RuntimeError("failed half way")
    assert (out / "a").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out"]
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "b").write_text("new")
    assert [p.name for p in out.iterdir()] == ["b"] and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_long_output_name_still_gets_a_temporary_file(tmp_path):
    """The temporary name adds to OUTPUT's: a 250-character name would exceed the limit."""
    from spacy_gliznet.atomic import write_text

    out = tmp_path / ("x" * 250)
    write_text(out, "done")
    assert out.read_text() == "done" and [p.name for p in tmp_path.iterdir()] == [out.name]
