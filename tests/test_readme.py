"""README.md and docs/ stay true: the test command, the quickstart, the doctests."""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def _commands(section: str) -> list[str]:
    """The lines of the section's first ```bash block, without trailing # comments."""
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no ```bash block in the section"
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_ci_runs_exactly_the_readme_test_command():
    readme = _commands(_section(README.read_text(), "Running the tests"))
    assert len(readme) == 1, f"the test command must be one line, got {readme}"
    ci = re.findall(r'^TEST_COMMAND="(.*)"$', (ROOT / ".ci" / "run").read_text(), re.M)
    assert ci == readme, f".ci/run runs {ci}, README.md says {readme}"


def test_quickstart_has_two_commands_the_second_runs_the_tests():
    commands = _commands(_section(README.read_text(), "Quickstart"))
    assert len(commands) == 2, commands
    assert commands[1] == "bash .ci/run"


@pytest.mark.parametrize("path", [README, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: p.name)
def test_doctests_in_the_documentation(path):
    result = doctest.testfile(str(path), module_relative=False, verbose=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {path.name}"


def test_the_backprop_example_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "backprop.py")],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "f = -12;  df/dx = -4, df/dy = -4, df/dz = 3" in out
    assert "fitted y = 3.000·x -1.000" in out


def test_every_doc_is_linked_from_the_readme():
    text = README.read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{doc.name}" in text, f"README.md does not link docs/{doc.name}"


def test_core_size_tool_counts_the_core():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "core_size.py")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "hubel/tensor.py" in out and "hubel/autograd/engine.py" in out
    total = out.strip().splitlines()[-1].split()
    assert total[:5] == ["core", "(tensor", "+", "autograd", "+"] and int(total[-1]) > 0
