"""Static checks of the Measuring and Roofline chapters' notebooks (nbval executes them).

Cheap to run and catching what only a full book build would otherwise report: a ``{glue:text}``
key that no cell glues, outputs committed by mistake, an exercise without its solution.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    [*ROOT.glob("notebooks/measuring_*.ipynb"), *ROOT.glob("notebooks/roofline_*.ipynb")]
)
GLUED = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")
PASTED = re.compile(r"\{glue(?::text|:md)?\}`([^`:]+)")
EXERCISE = re.compile(r"```\{exercise\}\s*\n:label:\s*(\S+)")
SOLUTION = re.compile(r"```\{solution\}\s+(\S+)")


def _read(path):
    return nbformat.read(path, as_version=4)


def test_the_chapters_have_notebooks():
    assert NOTEBOOKS, "no notebooks/measuring_*.ipynb or notebooks/roofline_*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for cell in _read(path).cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: a code cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_pasted_value_is_glued(path):
    cells = _read(path).cells
    glued = {k for c in cells if c.cell_type == "code" for k in GLUED.findall(c.source)}
    pasted = {k for c in cells if c.cell_type == "markdown" for k in PASTED.findall(c.source)}
    assert pasted <= glued, f"{path.name}: pasted but never glued: {sorted(pasted - glued)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_solution_and_a_hidden_solution_cell(path):
    cells = _read(path).cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    exercises, solutions = EXERCISE.findall(markdown), SOLUTION.findall(markdown)
    assert sorted(exercises) == sorted(solutions), f"{path.name}: exercises {exercises}, solutions {solutions}"
    hidden = [c for c in cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    assert len(hidden) == len(exercises), f"{path.name}: {len(exercises)} exercises, {len(hidden)} solution cells"
    assert all("hide-cell" in c.metadata["tags"] for c in hidden)
