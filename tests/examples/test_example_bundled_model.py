"""examples/bundled_model/project.yml: every package command it runs is one the CLI
accepts, every spaCy override names a real config setting, and every dataset it
leaves out exists in train_pool."""

import json
import re
import shlex

import pytest
import srsly
from spacy.util import load_config

from spacy_gliznet.__main__ import build_parser
from helpers import ROOT

PROJECT = ROOT / "examples" / "bundled_model"
TRAIN_POOL = ROOT.parent / "shared" / "data" / "train_pool"


def _project():
    return srsly.read_yaml(PROJECT / "project.yml")


def _substitute(line: str, variables: dict) -> str:
    return re.sub(r"\$\{vars\.(\w+)\}", lambda m: str(variables[m.group(1)]), line)


def _scripts():
    project = _project()
    for command in project["commands"]:
        for line in command.get("script", []):
            yield command["name"], shlex.split(_substitute(line, project["vars"]))


def test_workflows_name_existing_commands():
    project = _project()
    names = {c["name"] for c in project["commands"]}
    for workflow, steps in project["workflows"].items():
        assert set(steps) <= names, workflow
    # the bundled model's recipe: fine-tune, interpolate with the start, calibrate
    assert project["workflows"]["all"][:4] == ["init-model", "train", "interpolate", "calibrate"]


def test_package_commands_parse():
    parser = build_parser()
    seen = set()
    for name, argv in _scripts():
        if argv[:3] == ["python", "-m", "spacy_gliznet"]:
            args = parser.parse_args(argv[3:])  # exits (fails the test) on a bad flag
            seen.add(args.command)
            if args.command == "interpolate":
                assert 0.0 <= args.alpha <= 1.0
    assert {"init-model", "calibrate", "interpolate", "benchmark"} <= seen


def test_spacy_train_overrides_name_config_settings():
    config_path = None
    for name, argv in _scripts():
        if argv[:4] != ["python", "-m", "spacy", "train"]:
            continue
        config_path = (PROJECT / argv[4]).resolve()
        config = load_config(config_path)
        options = argv[5:]
        for i, opt in enumerate(options):
            if opt.startswith("--") and opt != "--output":
                section, _, key = opt[2:].rpartition(".")
                node = config
                for part in section.split("."):
                    node = node[part]
                assert key in node, (name, opt)
                value = options[i + 1]
                if key == "exclude":
                    assert isinstance(json.loads(value), list)
    assert config_path is not None


def test_left_out_datasets_exist_in_train_pool():
    if not (TRAIN_POOL / "manifest.json").is_file():
        pytest.skip(f"train_pool not found at {TRAIN_POOL}")
    manifest = json.loads((TRAIN_POOL / "manifest.json").read_text())
    held = _project()["vars"]["fold_heldout"].split(",")
    assert len(held) == 7 and set(held) <= set(manifest)
    for name, argv in _scripts():
        for i, opt in enumerate(argv):
            if opt.endswith(".exclude"):
                assert json.loads(argv[i + 1]) == held, name
