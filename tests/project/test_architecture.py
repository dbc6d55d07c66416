"""The package's modules import one way: each only from modules of lower layers,
function-level imports included (an import inside a function is how a cycle hides).

The layers, as data flows (see spacy_gliznet/__init__.py): leaves -> encoding ->
collation -> network -> prediction API and the original implementation's format
-> checkpoint IO -> Thinc layer and loss -> component -> registrations ->
package -> CLI and integrations. A new module must be placed here.
"""

import ast
from pathlib import Path
from helpers import ROOT

PACKAGE = ROOT / "spacy_gliznet"

LAYERS = [
    {"errors"},
    {"config", "outputs", "labels", "settings", "fork_safety", "label_cache", "learn_rate"},
    {"decisions", "encoding", "model_files"},
    {"metrics", "collation"},
    {"windows", "spans", "modeling"},
    {"planning", "prediction", "original"},
    {"aggregation", "checkpoints"},
    {"layers", "losses"},
    {"adapt", "label_report", "visualize"},
    {"component", "readers"},
    {"registrations"},
    {"__init__"},
    {"distributed", "cli"},
    {"__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return "cli" if rel.parts[0] == "cli" else rel.parts[-1]


def imported_modules(path: Path):
    """Package modules imported anywhere in ``path`` (top level or inside functions)."""
    return imports_in(path.read_text(encoding="utf8"), in_cli=path.parent.name == "cli")


def imports_in(code: str, in_cli: bool = False):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "spacy_gliznet":
                    continue
                parts = parts[1:]
            else:
                base = ["cli"] if in_cli and node.level == 1 else []
                parts = base + (node.module.split(".") if node.module else [])
            if not parts:  # "from . import x" / "from spacy_gliznet import x"
                names = [a.name for a in node.names]
                if node.level == 0 or (node.level == 2 if in_cli else node.level == 1):
                    yield from (n if n in RANK else "__init__" for n in names)
                continue
            yield "cli" if parts[0] == "cli" else parts[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "spacy_gliznet":
                    yield "__init__" if len(parts) == 1 else ("cli" if parts[1] == "cli" else parts[1])


def test_every_module_is_placed_in_a_layer():
    names = {module_name(p) for p in PACKAGE.rglob("*.py")}
    assert names - set(RANK) == set(), "place new modules in LAYERS"


def test_imports_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        for other in set(imported_modules(path)):
            if other == me and me == "cli":
                continue  # cli commands share helpers within the CLI layer
            if RANK[other] >= RANK[me]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert wrong == []


def test_the_check_sees_every_kind_of_import():
    code = ("import torch\nfrom .errors import A\nimport spacy_gliznet.layers\n"
            "def f():\n    from .component import X\n    import spacy_gliznet\n")
    assert list(imports_in(code)) == ["errors", "layers", "component", "__init__"]
    assert list(imports_in("from ..checkpoints import x\nfrom .export import y\n", in_cli=True)) \
        == ["checkpoints", "cli"]
