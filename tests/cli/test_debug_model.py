"""#19 item 5: `spacy debug model CFG gliznet_textcat` runs (it crashed with "'Token'
object is not iterable": debug model gives the layer Docs, not (text, labels) pairs)."""

import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from spacy_gliznet.__main__ import main
from spacy_gliznet.errors import GliZNetInputError
from spacy_gliznet.pipeline.layer import as_inputs, build_gliznet_model

from helpers import write_docbin

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": str(Path(sys.executable).parent)}


def test_the_layer_reads_docs_with_their_labels_or_the_pipe_labels():
    nlp = spacy.blank("en")
    model = build_gliznet_model()
    doc = nlp.make_doc("the team won")
    with pytest.raises(GliZNetInputError, match="no labels to score"):
        as_inputs(model, [doc])
    model.attrs["labels"] = ["sports", "food"]
    assert as_inputs(model, [doc]) == [("the team won", ["sports", "food"])]
    doc.cats = {"music": 1.0}
    assert as_inputs(model, [doc]) == [("the team won", ["music"])]
    assert as_inputs(model, [("x", ["a"])]) == [("x", ["a"])]
    with pytest.raises(GliZNetInputError, match=r"\(text, labels\) pairs or Docs"):
        as_inputs(model, ["just a string"])


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("with_corpus", [False, True])
def test_spacy_debug_model_runs(tmp_path, tiny_gliznet_dir, with_corpus):
    main(["init-config", str(tmp_path / "c.cfg"), "--labels", "sports,food", "--multi-label",
          "--model", str(tiny_gliznet_dir), "--max-steps", "10"])
    args = []
    if with_corpus:
        write_docbin(tmp_path / "t.spacy", [("the team won", {"sports": 1.0, "food": 0.0}),
                                             ("pasta cooking", {"sports": 0.0, "food": 1.0})])
        args = ["--paths.train", str(tmp_path / "t.spacy")]
    res = subprocess.run([sys.executable, "-m", "spacy", "debug", "model", str(tmp_path / "c.cfg"),
                          "gliznet_textcat", "-P3", *args], capture_output=True, text=True,
                         env=ENV, timeout=240)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "Successfully ended analysis" in out and "LayerOutput" in out
    if with_corpus:
        assert "Labels in corpora.train" in out  # the after_init label report
