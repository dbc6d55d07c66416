import configparser
from pathlib import Path

import pytest
from spacy.util import registry

import spacy_gliznet  # noqa: F401
from helpers import ROOT

SETUP_CFG = ROOT / "setup.cfg"


def entry_points():
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    for group, body in parser["options.entry_points"].items():
        for line in body.strip().splitlines():
            name, target = (x.strip() for x in line.split("=", 1))
            yield group, name, target


@pytest.mark.parametrize("group,name,target", list(entry_points()))
def test_every_entry_point_resolves(group, name, target):
    import importlib

    module, attr = target.split(":")
    func = getattr(importlib.import_module(module), attr)
    assert callable(func)
    if group.startswith("spacy_"):
        category = group[len("spacy_"):]
        registered = registry.get(category, name)
        assert registered is func


def test_registered_names_are_versioned():
    for group, name, _ in entry_points():
        if group.startswith("spacy_") and group != "spacy_factories":
            assert name.startswith("spacy_gliznet.") and ".v" in name


def test_shipped_configs_resolve(tiny_gliznet_dir):
    from spacy.util import load_config, load_model_from_config

    for path in (Path(spacy_gliznet.__file__).parent / "configs").glob("*.cfg"):
        config = load_config(path, overrides={"paths.model": str(tiny_gliznet_dir)} if "${paths.model}" in path.read_text() else {})
        nlp = load_model_from_config(config, auto_fill=True, validate=True)
        assert "gliznet_textcat" in nlp.pipe_names, path
