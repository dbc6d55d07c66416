"""nlp.pipe(n_process=N) on CPU: never hangs, same scores as one process.

The hang (fork after torch has run its OpenMP pool with >1 thread) shows only
with kernels big enough to use the pool, so the end-to-end tests use the bundled
model, in a subprocess with a hard timeout: a regression fails instead of
hanging CI.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from spacy_gliznet.scale import fork_safety

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

SCRIPT = textwrap.dedent("""
    import json, sys, tempfile
    import torch
    torch.set_num_threads(2)  # whatever CI's core count: the parent's pool has 2 threads
    import spacy, spacy_gliznet
    from spacy_gliznet.scale import fork_safety
    if sys.argv[1] == "no-handler":
        fork_safety.set_threads_after_fork(None)
    texts = [f"Report {i}: the striker scored twice, the minister resigned and the pasta was cold."
             for i in range(30)]
    labels = ["sports", "politics", "food"]
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": labels})
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(tmp)
        for name, pipeline in (("bundled", nlp), ("spacy.load", spacy.load(tmp))):
            one = list(pipeline.pipe(texts))          # runs torch's thread pool in the parent
            before = torch.get_num_threads()
            two = list(pipeline.pipe(texts, n_process=2, batch_size=4))
            result[name] = {
                "n": [len(one), len(two)],
                "texts_equal": [d.text for d in one] == [d.text for d in two],
                "max_diff": max(abs(a.cats[k] - b.cats[k]) for a, b in zip(one, two) for k in labels),
                "keys_equal": all(set(a.cats) == set(b.cats) == set(labels) for a, b in zip(one, two)),
                "truncated_equal": [d._.gliznet_truncated for d in one] == [d._.gliznet_truncated for d in two],
                "threads_before": before,
                "threads_after": torch.get_num_threads(),
            }
    print("RESULT " + json.dumps(result))
""")


def run_script(mode: str, timeout: float):
    return subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


@pytest.mark.slow
def test_n_process_bundled_and_spacy_load_same_scores_no_hang():
    try:
        proc = run_script("handler", timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("nlp.pipe(n_process=2) did not finish in 300 s: the fork hang is back")
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    assert set(result) == {"bundled", "spacy.load"}
    for name, r in result.items():
        assert r["n"] == [30, 30], name
        assert r["texts_equal"] and r["keys_equal"] and r["truncated_equal"], (name, r)
        assert r["max_diff"] <= 1e-5, (name, r)
        assert r["threads_before"] == r["threads_after"] == 2, (name, r)


@pytest.mark.slow
def test_without_the_handler_n_process_hangs():
    """The control: the test above can fail. Without the fork handler the same
    script hangs (killed after 90 s)."""
    with pytest.raises(subprocess.TimeoutExpired):
        run_script("no-handler", timeout=90)


ERROR_SCRIPT = textwrap.dedent("""
    import sys, warnings
    import spacy, spacy_gliznet
    warnings.simplefilter("ignore")
    nlp = spacy.blank("en")
    nlp.add_pipe("gliznet_textcat", config={"labels": ["sports", "food"], "long_text": "truncate",
        "model": {"@architectures": "spacy_gliznet.GliZNet.v1", "name": sys.argv[1]}})
    # long docs: one batch of results is larger than a pipe's buffer (64 KB)
    docs = [nlp.make_doc(" ".join(["sports"] * 3000) + f" {i}") for i in range(12)]
    docs[5]._.gliznet_labels = "notalist"
    try:
        list(nlp.pipe(docs, n_process=2, batch_size=2))
        print("RESULT no error")
    except ValueError as err:
        print("RESULT " + type(err).__name__ + ": " + str(err).splitlines()[-1])
""")


@pytest.mark.slow
def test_an_error_in_a_worker_reaches_the_caller_without_a_hang(tiny_gliznet_dir):
    """spaCy's workers inherit every result pipe (spaCy issue 7934): after one worker's
    error the parent used to wait in proc.join() forever for a worker stuck sending."""
    try:
        proc = subprocess.run([sys.executable, "-c", ERROR_SCRIPT, str(tiny_gliznet_dir)],
                              capture_output=True, text=True, timeout=150, env=ENV)
    except subprocess.TimeoutExpired:
        pytest.fail("nlp.pipe(n_process=2) with a bad doc did not finish in 150 s: it hangs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    assert "doc._.gliznet_labels" in line and "not a single string: 'notalist'" in line, line


def _thread_count_in_forked_child() -> int:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report and leave at once
        try:
            os.write(write_fd, str(torch.get_num_threads()).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        value = f.read()
    os.waitpid(pid, 0)
    return int(value)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_child_gets_one_thread_parent_keeps_its_own():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert fork_safety.threads_after_fork() == 1
        assert _thread_count_in_forked_child() == 1
        assert torch.get_num_threads() == 2
        fork_safety.set_threads_after_fork(None)  # left alone: the child keeps the parent's count
        assert _thread_count_in_forked_child() == 2
    finally:
        fork_safety.set_threads_after_fork(1)
        torch.set_num_threads(before)


def test_handler_registered_once_and_settings_checked():
    assert fork_safety.register_fork_handler() is hasattr(os, "register_at_fork")
    assert fork_safety.register_fork_handler() is hasattr(os, "register_at_fork")  # idempotent
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="positive int or None"):
            fork_safety.set_threads_after_fork(bad)
    assert fork_safety.threads_after_fork() == 1


SPAWN_SCRIPT = textwrap.dedent("""
    import json, multiprocessing
    import spacy, spacy_gliznet
    if __name__ == "__main__":
        multiprocessing.set_start_method("spawn")  # macOS, Windows, Linux from Python 3.14
        nlp = spacy.blank("en")
        nlp.add_pipe("gliznet_textcat", config={"labels": ["sports", "food", "politics"]})
        texts = ["the team won the cup", "pasta with tomato sauce", "the senate voted"] * 4
        one = [d.cats for d in nlp.pipe(texts)]
        two = [d.cats for d in nlp.pipe(texts, n_process=2, batch_size=3)]
        print("RESULT " + json.dumps(max(abs(a[k] - b[k]) for a, b in zip(one, two) for k in a)))
""")


@pytest.mark.slow
def test_n_process_with_spawn_pickles_the_pipeline_and_gives_the_same_scores(tmp_path):
    """Under `spawn` spaCy pickles the pipeline into each worker (the loss must pickle)."""
    script = tmp_path / "spawn_check.py"
    script.write_text(SPAWN_SCRIPT)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")][-1]
    assert json.loads(line[len("RESULT "):]) < 1e-5
