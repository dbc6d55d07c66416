"""The package's modules import one way: each only from modules of lower layers,
function-level imports included (an import inside a function is how a cycle hides).

Folders show the layers (see spacy_gliznet/__init__.py): the leaves at the top
(errors, labels, settings) -> model/ (the torch network, no spaCy) -> longtext/
-> corpus/ and pipeline/ (the spaCy side) -> registrations -> the package ->
scale/ and cli/. LAYERS below is the exact order of the modules; a new module
must be placed here.
"""

import ast
from pathlib import Path
from helpers import ROOT

PACKAGE = ROOT / "spacy_gliznet"

LAYERS = [
    {"errors"},
    {"labels", "settings", "atomic", "model.config", "model.outputs", "model.label_cache", "model.prototypes",
     "scale.fork_safety", "pipeline.learn_rate", "corpus.label_report"},
    {"model.encoding", "model.files", "pipeline.decisions", "pipeline.config_mirror"},
    {"model.collation", "pipeline.metrics", "pipeline.runtime_settings"},
    {"model.network", "longtext.windows", "longtext.spans"},
    {"model.predictor", "model.original", "longtext.planning"},
    {"model.checkpoints", "longtext.aggregation", "model.losses"},
    {"pipeline.layer", "corpus.readers", "pipeline.annotations"},
    {"pipeline.adapt", "pipeline.visualize"},
    {"pipeline.component"},
    {"registrations"},
    {"__init__"},
    {"scale.distributed", "cli"},
    {"__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
#: folders whose modules never import spaCy or Thinc (usable as plain PyTorch)
TORCH_ONLY = {"model"}
#: the most modules (besides __init__) a folder may hold
MAX_MODULES = 12


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    if rel.parts[0] == "cli":
        return "cli"
    if rel.parts[-1] == "__init__" and len(rel.parts) > 1:
        return ".".join(rel.parts[:-1]) + ".__init__"
    return ".".join(rel.parts)


def _package_of(path: Path):
    rel = path.relative_to(PACKAGE).with_suffix("")
    return list(rel.parts[:-1])


def _resolve(parts):
    """A package module named by ``parts`` (["model", "config"]) as LAYERS names it."""
    if not parts:
        return "__init__"
    if parts[0] == "cli":
        return "cli"
    return ".".join(parts[:2]) if len(parts) >= 2 and parts[0] in _FOLDERS else parts[0]


_FOLDERS = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


def imported_modules(path: Path):
    """Package modules imported anywhere in ``path`` (top level or inside functions)."""
    return imports_in(path.read_text(encoding="utf8"), _package_of(path))


def imports_in(code: str, package=()):
    """Package modules imported by ``code`` written in the package folder ``package``
    (a list of folder names under spacy_gliznet)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "spacy_gliznet":
                    continue
                parts = parts[1:]
            else:
                base = list(package)[: len(package) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
            if not node.module or (node.level == 0 and node.module == "spacy_gliznet") \
                    or (parts and parts[-1] in _FOLDERS and len(parts) == 1):
                # "from . import x": x may be a module of that package
                for alias in node.names:
                    yield _resolve(parts + [alias.name])
                continue
            yield _resolve(parts)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "spacy_gliznet":
                    yield _resolve(parts[1:])


def test_every_module_is_placed_in_a_layer():
    names = {module_name(p) for p in PACKAGE.rglob("*.py") if not module_name(p).endswith(".__init__")}
    assert names - set(RANK) == set(), "place new modules in LAYERS"
    assert set(RANK) - names == set(), "LAYERS names modules that do not exist"


def test_imports_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        if me.endswith(".__init__"):
            assert set(imported_modules(path)) == set(), f"{path}: subpackage __init__ imports nothing"
            continue
        for other in set(imported_modules(path)):
            if other == me and me == "cli":
                continue  # cli commands share helpers within the CLI layer
            if RANK[other] >= RANK[me]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert wrong == []


def test_torch_only_folders_import_no_spacy_or_thinc():
    wrong = []
    for folder in TORCH_ONLY:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                wrong += [f"{path.relative_to(PACKAGE)} imports {n}" for n in names
                          if n.split(".")[0] in {"spacy", "thinc", "spacy_transformers"}]
    assert wrong == []


def test_no_folder_holds_more_than_twelve_modules():
    for folder in [PACKAGE, *(PACKAGE / f for f in _FOLDERS)]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES, f"{folder.name}: {len(modules)} modules"


def test_the_check_sees_every_kind_of_import():
    code = ("import torch\nfrom .errors import A\nimport spacy_gliznet.pipeline.layer\n"
            "def f():\n    from .pipeline.component import X\n    import spacy_gliznet\n"
            "from .pipeline import decisions\n")
    assert sorted(imports_in(code)) == ["__init__", "errors", "pipeline.component",
                                        "pipeline.decisions", "pipeline.layer"]
    assert list(imports_in("from ..model.checkpoints import x\nfrom .export import y\n", ["cli"])) \
        == ["model.checkpoints", "cli"]
    assert list(imports_in("from .config import x\nfrom ..errors import E\n", ["model"])) \
        == ["model.config", "errors"]


# -- the module map (the package docstring), checked against LAYERS and the files -----------
def map_order(doc: str, folder: str = ""):
    """Modules named in a docstring map (``name.py``), in order, as LAYERS names them:
    a bullet that starts with ``x/`` names modules of folder x."""
    import re

    order = []
    for bullet in re.split(r"\n- ", doc)[1:]:
        inner = re.match(r"``(\w+)/``", bullet)
        where = inner.group(1) if inner else folder
        for name in re.findall(r"``(\w+)\.py``", bullet):
            order.append(f"{where}.{name}" if where else name)
    return order


def map_problems(doc: str):
    """What is wrong with a package docstring's module map, against LAYERS and the files:
    each module named once, every module named, each folder's modules together, folders
    in the order of their highest layer and each folder's modules by layer, so that every
    import points at a module named before it."""
    problems = []
    order = map_order(doc)
    mapped = [m for m in order if not m.startswith("cli.")]
    if len(order) != len(set(order)):
        problems.append("a module is named twice")
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")} - {"cli", "__init__", "__main__"}
    modules = {m for m in modules if not m.endswith(".__init__")}
    if set(mapped) != modules:
        problems.append(f"not in the map: {sorted(modules - set(mapped))}; "
                        f"no such module: {sorted(set(mapped) - modules)}")
    mapped = [m for m in mapped if m in RANK]
    folders = [m.split(".")[0] if "." in m else "" for m in mapped]
    runs = [f for i, f in enumerate(folders) if i == 0 or folders[i - 1] != f]
    if len([f for f in runs if f]) != len({f for f in runs if f}):
        problems.append("a folder is split in two")
    top = {f: max(RANK[m] for m, g in zip(mapped, folders) if g == f) for f in set(folders)}
    blocks = [(f, [m for m, g in zip(mapped, folders) if g == f]) for f in runs]
    problems += [f"{f}/ is listed before {g}/ but reaches a higher layer"
                 for (f, _), (g, _) in zip(blocks, blocks[1:]) if f and g and top[f] > top[g]]
    problems += [f"{f or 'the top'}: modules not in LAYERS order: {names}" for f, names in blocks
                 if [RANK[m] for m in names] != sorted(RANK[m] for m in names)]
    position = {m: i for i, m in enumerate(mapped)}
    problems += [f"{me} imports {other}, named after it" for me in mapped
                 for other in imported_modules(PACKAGE / (me.replace(".", "/") + ".py"))
                 if other in position and position[other] > position[me]]
    return problems


def test_the_module_map_names_every_module_in_layer_order():
    """The package docstring is the one written module map (the README links to it)."""
    import spacy_gliznet
    from spacy_gliznet import cli

    assert map_problems(spacy_gliznet.__doc__) == []
    # the cli folder's own map names every command module and the private helper
    commands = map_order(cli.__doc__, "cli")
    assert sorted(commands) == sorted(f"cli.{p.stem}" for p in (PACKAGE / "cli").glob("*.py")
                                      if p.stem != "__init__")


def test_the_map_check_sees_a_missing_or_misplaced_module():
    import spacy_gliznet

    doc = spacy_gliznet.__doc__
    assert map_order("x\n\n- the top: ``errors.py``\n- ``model/``: ``network.py``, ``config.py``\n") \
        == ["errors", "model.network", "model.config"]
    missing = doc.replace("``losses.py`` (the training\n  losses)", "the losses")
    assert any("model.losses" in p for p in map_problems(missing))
    swapped = doc.replace("``config.py`` (the model\n  configuration)", "XX").replace(
        "``losses.py``", "``losses.py``, ``config.py``")
    assert any("model: modules not in LAYERS order" in p for p in map_problems(swapped))
    bullets = doc.split("\n- ")
    scale = next(b for b in bullets if b.startswith("``scale/``"))
    early = "\n- ".join(bullets[:2] + [scale] + [b for b in bullets[2:] if b is not scale])
    assert "scale/ is listed before model/ but reaches a higher layer" in map_problems(early)
    folders = doc.replace("- ``longtext/``", "- ``longtextX/``")
    assert any("not in the map" in p for p in map_problems(folders))


#: modules still raising bare ValueErrors (corpus/readers.py raises typed ones since #30)
BARE_VALUE_ERRORS_LEFT: set = set()


def test_the_package_raises_its_own_errors_not_bare_value_errors():
    """model/, longtext/, pipeline/, scale/ and the leaves raise the package's typed
    errors (subclasses of ValueError, so ``except ValueError`` still catches them)."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("cli/") or rel in BARE_VALUE_ERRORS_LEFT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id == "ValueError":
                    wrong.append(f"{rel}:{node.lineno}")
    assert wrong == []
