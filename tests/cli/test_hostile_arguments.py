"""#33, the rest of the package tried as a hostile user would: arguments that were read
wrongly or refused only after the work are refused first, with a message, no traceback."""

import os
import subprocess
import sys

import pytest

from spacy_gliznet.__main__ import main
from spacy_gliznet.errors import GliZNetInputError
from helpers import ROOT, make_folder


def test_benchmark_refuses_a_negative_limit(tmp_path):
    """--limit -1 dropped the last row of every dataset ([:-1])."""
    with pytest.raises(GliZNetInputError, match="--limit must be a whole number >= 0"):
        main(["benchmark", "--data", str(make_folder(tmp_path / "d")), "--limit", "-1",
              "--baseline", "none"])


def test_export_and_interpolate_refuse_bad_numbers_before_loading(tmp_path):
    """export --max-length -5 wrote a checkpoint with max_length -5; interpolate --alpha 2
    was refused only after both models were loaded."""
    with pytest.raises(GliZNetInputError, match="--max-length must be 0"):
        main(["export", str(tmp_path / "no_pipeline"), str(tmp_path / "out"), "--max-length", "-5"])
    with pytest.raises(GliZNetInputError, match=r"--alpha must be in \[0, 1\]"):
        main(["interpolate", "no_start", "no_tune", str(tmp_path / "out"), "--alpha", "2"])
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(120)
def test_a_user_mistake_prints_a_message_not_a_traceback(tmp_path):
    data = make_folder(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "spacy_gliznet", "convert", str(data), str(data),
                           "--to", "jsonl"], capture_output=True, text=True, env=env, timeout=110)
    assert done.returncode == 2 and done.stderr.startswith("error: OUTPUT")
    assert "Traceback" not in done.stderr


def test_an_unreadable_spacy_file_is_named(tmp_path):
    """find-thresholds and label-report ended in a raw msgpack error naming no file."""
    broken = tmp_path / "dev.spacy"
    broken.write_bytes(b"\x00 not a DocBin")
    with pytest.raises(GliZNetInputError, match=r"dev.spacy' is not a readable .spacy"):
        main(["label-report", str(broken)])


@pytest.mark.parametrize("argv,pattern", [
    (["--holdout-fraction", "0.2"], "applies to split 'train' or 'dev'"),
    (["--split", "dev", "--holdout-fraction", "1.5"], r"must be a number in \[0, 1\)"),
    (["--split", "train", "--holdout-fraction", "-0.1"], r"must be a number in \[0, 1\)"),
])
def test_a_holdout_fraction_that_would_be_ignored_or_is_out_of_range_is_refused(tmp_path, argv, pattern):
    """convert --holdout-fraction 0.2 with --split all ignored it silently."""
    with pytest.raises(GliZNetInputError, match=pattern):
        main(["convert", str(make_folder(tmp_path / "d")), str(tmp_path / "o.spacy"), *argv])
    assert not (tmp_path / "o.spacy").exists()
