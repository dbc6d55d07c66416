"""How the commands of ``python -m spacy_gliznet`` are built: each cli module registers
itself the same way and imports no other command; a user's mistake ends in one
``error:`` line and exit code 2; ``--gpu-id`` follows spaCy's convention."""

import ast
import json
import os
import subprocess
import sys

import pytest
import torch

from spacy_gliznet import __main__ as entry
from spacy_gliznet.__main__ import COMMANDS, build_parser, cli, main
from spacy_gliznet.cli import _common
from spacy_gliznet.cli._common import (UsageError, comma_list, load_pipeline, torch_device,
                                       use_gpu)
from spacy_gliznet.errors import GliZNetDataError, GliZNetInputError

from helpers import ROOT

CLI = ROOT / "spacy_gliznet" / "cli"
COMMAND_FILES = sorted(p for p in CLI.glob("*.py") if not p.name.startswith("_"))
GPU_COMMANDS = {"adapt", "benchmark", "calibrate", "find-thresholds", "render"}


def functions(tree: ast.Module):
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_command_module_registers_itself_the_same_way():
    """add_parser(subparsers) adds one sub-parser and set_defaults(run=run); run(args)."""
    assert COMMAND_FILES, "no command modules found"
    for path in COMMAND_FILES:
        tree = ast.parse(path.read_text(encoding="utf8"))
        defs = functions(tree)
        assert "add_parser" in defs and "run" in defs, f"{path.name}: add_parser and run"
        assert [a.arg for a in defs["add_parser"].args.args] == ["subparsers"], path.name
        assert len(defs["run"].args.args) == 1, f"{path.name}: run(args)"
        calls = [n for n in ast.walk(defs["add_parser"]) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute)]
        assert sum(c.func.attr == "add_parser" for c in calls) == 1, f"{path.name}: one command"
        assert any(c.func.attr == "set_defaults"
                   and any(k.arg == "run" and isinstance(k.value, ast.Name) and k.value.id == "run"
                           for k in c.keywords) for c in calls), f"{path.name}: set_defaults(run=run)"


def test_main_lists_every_command_module_once():
    listed = [module.__name__.rsplit(".", 1)[1] for module in COMMANDS]
    assert sorted(listed) == sorted(p.stem for p in COMMAND_FILES)
    assert len(set(listed)) == len(listed)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for module in COMMANDS:  # each module's run is what its sub-parser runs
        assert any(p.get_default("run") is module.run for p in sub.choices.values()), module


def _imported_cli_modules(path):
    """cli modules (by file stem) that ``path`` imports, top level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y / from . import x
                if node.module:
                    yield node.module.split(".")[0]
                else:
                    yield from (alias.name for alias in node.names)
            elif node.level == 0 and (node.module or "").startswith("spacy_gliznet.cli"):
                parts = node.module.split(".")
                yield from (parts[2:3] or [alias.name for alias in node.names])
            elif node.level == 2 and node.module and node.module.split(".")[0] == "cli":
                yield node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("spacy_gliznet.cli."):
                    yield alias.name.split(".")[2]


def test_no_command_module_imports_another():
    wrong = [f"{path.name} imports {other}" for path in COMMAND_FILES
             for other in _imported_cli_modules(path) if other != "_common"]
    wrong += [f"_common.py imports {other}" for other in _imported_cli_modules(CLI / "_common.py")]
    assert wrong == []


def test_the_import_check_sees_every_kind(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("from .export import a\nfrom . import render\nfrom ._common import b\n"
                    "def f():\n    from spacy_gliznet.cli.benchmark import c\n"
                    "    import spacy_gliznet.cli.adapt\n    from spacy_gliznet.cli import convert\n")
    assert sorted(_imported_cli_modules(path)) == ["_common", "adapt", "benchmark", "convert",
                                                   "export", "render"]


def test_commands_raise_only_the_packages_typed_errors():
    """A bare ValueError or SystemExit(message) would end the command line in a
    traceback or an exit code of 1; the readers' errors reach the CLI too."""
    wrong = []
    for path in [*CLI.glob("*.py"), ROOT / "spacy_gliznet" / "corpus" / "readers.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and isinstance(node.exc.func, ast.Name) \
                    and node.exc.func.id in {"ValueError", "SystemExit"}:
                wrong.append(f"{path.name}:{node.lineno} raises {node.exc.func.id}")
    assert wrong == []


# -- a user's mistake: one line, exit code 2 ---------------------------------------------
def manifest_without_splits(folder):
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"a": {"file": "a.jsonl", "labels": ["x"]}}))
    (folder / "a.jsonl").write_text('{"text": "hi", "labels": ["x"]}\n')
    return folder


def test_python_m_spacy_gliznet_reports_a_mistake_in_one_line(tmp_path, capsys, monkeypatch):
    """The module run as ``python -m spacy_gliznet`` (in this process: runpy)."""
    import runpy
    import warnings

    data = manifest_without_splits(tmp_path / "data")
    monkeypatch.setattr(sys, "argv", ["spacy_gliznet", "convert", str(data),
                                      str(tmp_path / "o.spacy"), "--split", "test"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # runpy: the module is imported already
        with pytest.raises(SystemExit) as info:
            runpy.run_module("spacy_gliznet", run_name="__main__")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: split 'test' needs")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_mistake_on_the_command_line_is_one_line_and_exit_code_2(tmp_path):
    data = manifest_without_splits(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-m", "spacy_gliznet", "convert", str(data),
                          str(tmp_path / "o.spacy"), "--split", "test"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=170)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: split 'test' needs")
    assert not (tmp_path / "o.spacy").exists()


@pytest.mark.parametrize("argv,message", [
    # a typed error of the package (GliZNetInputError from corpus/readers)
    (["convert", "{data}", "{tmp}/o.spacy", "--split", "train"], "needs 0 < holdout_fraction"),
    # a data folder that cannot be read (GliZNetDataError)
    (["convert", "{tmp}/empty", "{tmp}/o.spacy"], "has no manifest.json"),
    # a path that is neither kind of data (GliZNetInputError from the command)
    (["label-report", "{tmp}/missing"], "expected a .spacy file"),
    # options that do not go together (UsageError)
    (["convert", "{data}", "{tmp}/j", "--to", "jsonl", "--lang", "de"], "only for --to spacy"),
    # a pipeline that is not there (load_pipeline)
    (["find-thresholds", "{tmp}/nope", "{tmp}/dev.spacy", "{tmp}/out"], "No pipeline directory"),
    # an empty label list
    (["label-report", "{data}", "--labels", ","], "--labels: no names"),
])
def test_cli_reports_user_errors_in_one_line(tmp_path, capsys, argv, message):
    data = manifest_without_splits(tmp_path / "data")
    (tmp_path / "empty").mkdir()
    argv = [a.format(data=data, tmp=tmp_path) for a in argv]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err


def test_main_still_raises_the_typed_error_for_callers(tmp_path):
    data = manifest_without_splits(tmp_path / "data")
    with pytest.raises(GliZNetInputError, match="holdout_fraction"):
        main(["convert", str(data), str(tmp_path / "o.spacy"), "--split", "dev"])
    (data / "a.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(GliZNetDataError, match=r"(a row 0|line 1): expected"):
        main(["convert", str(data), str(tmp_path / "o.spacy")])


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    """Only the package's input errors are reported as user mistakes."""
    def broken(args):
        raise KeyError("a bug")

    data = manifest_without_splits(tmp_path / "data")
    monkeypatch.setattr(entry, "build_parser", lambda: _parser_running(broken))
    with pytest.raises(KeyError, match="a bug"):
        cli(["convert", str(data), str(tmp_path / "o.spacy")])


def _parser_running(run):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices["convert"].set_defaults(run=run)
    return parser


def test_argparse_mistakes_still_exit_2():
    with pytest.raises(SystemExit) as info:
        main(["calibrate", "m", "out", "--data", "d", "--dtype", "float8"])
    assert info.value.code == 2


# -- shared helpers ------------------------------------------------------------------------
def test_comma_list():
    assert comma_list("a, b,,c ") == ["a", "b", "c"]
    assert comma_list(None) is None
    with pytest.raises(UsageError, match="--datasets: no names"):
        comma_list(" , ", "--datasets")


def test_load_pipeline_one_behaviour(tmp_path, tiny_gliznet_dir):
    with pytest.raises(GliZNetInputError, match="No pipeline directory .*'default'"):
        load_pipeline(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GliZNetInputError, match="not a saved spaCy pipeline"):
        load_pipeline(tmp_path / "empty")
    from helpers import saved_pipeline

    saved = saved_pipeline(tiny_gliznet_dir, ["sports", "food"], tmp_path / "pipe")
    with pytest.raises(GliZNetInputError, match="no component 'other'"):
        load_pipeline(saved, "other")
    assert load_pipeline(saved, None).pipe_names == ["gliznet_textcat"]
    nlp = load_pipeline("default", "mine", labels=["a", "b"])
    assert nlp.pipe_names == ["mine"] and nlp.get_pipe("mine").labels == ("a", "b")


def test_storage_dtype():
    assert _common.storage_dtype("float16") == torch.float16
    assert _common.storage_dtype("float32") is None
    with pytest.raises(GliZNetInputError, match="float8"):
        _common.storage_dtype("float8")


# -- --gpu-id --------------------------------------------------------------------------------
def test_gpu_id_defaults_to_the_cpu_on_the_commands_that_run_the_model():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    having = {name for name, p in sub.choices.items()
              if any(a.dest == "gpu_id" for a in p._actions)}
    assert having == GPU_COMMANDS
    for name in GPU_COMMANDS:
        gpu = next(a for a in sub.choices[name]._actions if a.dest == "gpu_id")
        assert gpu.option_strings == ["--gpu-id"] and gpu.default == -1 and gpu.type is int
    args = build_parser().parse_args(["render", "p", "in.txt", "o.html", "--gpu-id", "0"])
    assert args.gpu_id == 0


def test_the_cpu_needs_nothing():
    use_gpu(-1)
    assert torch_device(-1) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_id_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    for call in (use_gpu, torch_device):
        with pytest.raises(GliZNetInputError, match=r"--gpu-id 0: .*--gpu-id -1 for the CPU"):
            call(0)
    (tmp_path / "in.txt").write_text("one text\n")
    # refused before any pipeline is loaded or page written
    assert cli(["render", "default", str(tmp_path / "in.txt"), str(tmp_path / "o.html"),
                "--labels", "a,b", "--gpu-id", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--gpu-id 0" in err and "cupy" in err
    assert not (tmp_path / "o.html").exists()
