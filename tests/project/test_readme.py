"""The README's two newcomer commands: the main one ends in the demo, and CI
(.ci/run) runs the test one exactly as written."""

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
