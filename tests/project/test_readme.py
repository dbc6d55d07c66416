"""The README: its two newcomer commands (the main one ends in the demo, and CI
(.ci/run) runs the test one exactly as written), its length, and the package names,
paths and links it and the examples' READMEs use."""

import re
from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf8")


def bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_quick_start_has_exactly_the_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    main, tests = [b.strip() for b in bash_blocks(quick)]
    assert main.startswith("pip install torch==2.13.0 && pip install -e .")
    assert main.endswith("python examples/zero_shot_demo.py")
    assert tests.startswith("pip install torch==2.13.0 && pip install -e \".[test]\"")
    assert tests.endswith('python -m pytest -q -m "not slow"')


def test_ci_runs_the_readme_test_command_as_written():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    tests = bash_blocks(quick)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf8").strip().splitlines()
    assert ci[-1] == tests


def markdown_files():
    return [ROOT / "README.md", *sorted((ROOT / "examples").rglob("*.md"))]


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 180


def test_package_names_in_the_docs_exist():
    """Every ``spacy_gliznet.x.y`` a README names imports (a module, or a name in one) or is
    a registered name (``...v1``), and every ``spacy_gliznet/...`` path exists: the
    README's import paths follow the folders."""
    import importlib

    registered = (ROOT / "spacy_gliznet" / "registrations.py").read_text(encoding="utf8")
    wrong = []
    for path in markdown_files():
        text = path.read_text(encoding="utf8")
        for dotted in sorted(set(re.findall(r"\bspacy_gliznet(?:\.\w+)+", text))):
            if re.search(r"\.v\d+$", dotted):
                if f'"{dotted}"' not in registered:
                    wrong.append(f"{path.name}: {dotted} is not registered")
                continue
            parts = dotted.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:cut]))
                except ImportError:
                    continue
                try:
                    for name in parts[cut:]:
                        obj = getattr(obj, name)
                except AttributeError:
                    wrong.append(f"{path.relative_to(ROOT)}: {dotted} does not resolve")
                break
        for rel in sorted(set(re.findall(r"\bspacy_gliznet/[\w/.]*\w", text))):
            if not (ROOT / rel).exists():
                wrong.append(f"{path.relative_to(ROOT)}: {rel} does not exist")
        for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                if re.match(r"\s*from spacy_gliznet[\w.]* import ", line):
                    try:
                        exec(line.strip(), {})
                    except ImportError as err:
                        wrong.append(f"{path.relative_to(ROOT)}: {line.strip()}: {err}")
    assert wrong == []


def test_links_between_the_docs_resolve():
    """Relative links of the README and the examples' READMEs point at files that exist
    (and at a heading there, for a #anchor)."""
    wrong = []
    for path in markdown_files():
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf8")):
            if "://" in target:
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                wrong.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and dest.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", dest.read_text(encoding="utf8"), flags=re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
                         for h in headings}
                if anchor not in slugs:
                    wrong.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert wrong == []
