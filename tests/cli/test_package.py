"""#19 item 2: a shipped pipeline installs on another machine. The project builds a
wheel; `spacy package` makes the pipeline a package whose requirements name
spacy-gliznet; both go into a wheelhouse, and a fresh venv installs the pipeline from
that wheelhouse alone (`pip install --no-index --find-links`), then loads it and scores
a doc in a separate process.

The fresh venv holds no copy of this project. Its third-party dependencies (spaCy,
torch, transformers, ...) come from this test venv through a read-only overlay: a
folder of links to every entry of our site-packages except spacy_gliznet's own, put
on the fresh venv's path by a .pth file, so that pip sees them installed and the test
needs no network and no second 1 GB of torch. What pip must resolve from the
wheelhouse is exactly what failed before: the pipeline's `spacy-gliznet` requirement.
"""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import spacy
from helpers import ROOT

LABELS = ["sports", "food"]


def sh(*args, cwd=None, env=None, timeout=300):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                         env=env, timeout=timeout)
    assert res.returncode == 0, " ".join(map(str, args)) + "\n" + res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout


def overlay(target: Path) -> Path:
    """Links to this venv's installed distributions (pip included), spacy_gliznet's own
    left out."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("spacy_gliznet", "__editable__", "en_gliznet")) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_packaged_pipeline_installs_from_a_wheelhouse_into_a_fresh_venv(tiny_gliznet_dir, tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    # 1. the project's wheel (python -m build --wheel does the same, with an isolated build env)
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
       "-q", "-w", wheelhouse, ROOT)
    assert list(wheelhouse.glob("spacy_gliznet-*.whl"))
    # 2. a pipeline, packaged by spaCy, built into a wheel
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": LABELS, "model": {
        "@architectures": "spacy_gliznet.GliZNet.v1", "name": str(tiny_gliznet_dir)}})
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    (tmp_path / "packages").mkdir()
    sh(sys.executable, "-m", "spacy", "package", tmp_path / "pipeline", tmp_path / "packages",
       "--name", "gliznet_tiny", "--version", "0.0.1", "--build", "none", "--force")
    package_dir = tmp_path / "packages" / "en_gliznet_tiny-0.0.1"
    assert "spacy-gliznet" in (package_dir / "meta.json").read_text()  # the requirement to resolve
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
       "-q", "-w", wheelhouse, package_dir)
    # 3. a fresh venv: the pipeline from the wheelhouse only; spacy-gliznet resolved from it
    fresh = tmp_path / "fresh"
    sh(sys.executable, "-m", "venv", "--without-pip", fresh)  # pip comes with the overlay
    py = fresh / "bin" / "python"
    fresh_site = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (fresh_site / "overlay.pth").write_text(str(overlay(tmp_path / "overlay")) + "\n")
    env = {"PATH": os.environ.get("PATH", ""), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PIP_CONFIG_FILE": os.devnull, "HOME": str(tmp_path)}
    res = subprocess.run([py, "-c", "import spacy_gliznet"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert res.returncode != 0  # the fresh venv has no spacy_gliznet yet
    sh(py, "-m", "pip", "install", "--no-index", "--find-links", wheelhouse, "-q",
       "en_gliznet_tiny", cwd=tmp_path, env=env)
    script = ("import spacy, spacy_gliznet; nlp = spacy.load('en_gliznet_tiny'); "
              "doc = nlp('the team won'); print(spacy_gliznet.__file__); "
              "print(sorted(doc.cats), doc._.gliznet_predicted_labels is not None)")
    out = sh(py, "-c", script, cwd=tmp_path, env=env).strip().splitlines()
    assert out[0].startswith(str(fresh_site))  # the installed wheel, not this checkout
    assert out[-1] == f"{sorted(LABELS)} True"
