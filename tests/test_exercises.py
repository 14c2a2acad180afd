"""Every exercise check can fail: a learner's copy stops at the check, and the check names the exercise.

An exercise here is a code cell with a ``...`` placeholder (the skeleton), followed by the cell(s)
tagged ``solution`` that ``python -m haiend.student`` leaves out. Its check cell is the first code
cell after the solution that calls :mod:`haiend.grading` (``grading.…`` or
``lab.check_exercise``). Exercises are found by scanning ``labs/`` and ``notebooks/``, so a new
lab is covered without editing this file. A solution cell with no skeleton before it is an open
question (the learner writes their own cell), and has nothing to check.

* ``test_every_exercise_has_a_check_cell`` (fast): the structure above holds.
* ``test_student_copy_stops_at_the_check`` (slow): the student copy is executed at
  ``HAIEND_SIZE=quick``; it must fail, first at the exercise's check cell, with an
  ``ExerciseIncomplete`` naming the exercise. For a notebook's second and later exercises, the
  copy keeps the earlier solutions, so that execution reaches the check under test. That the
  full notebook passes is tests/test_notebooks.py's job.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from haiend import student

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("labs", "notebooks")
CELL_TIMEOUT_S = 1800
CHECK_CALL = re.compile(r"\bgrading\.\w+\(|\bcheck_exercise\(")
LABEL = re.compile(r"```\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)")
# Notebooks whose checks are being changed elsewhere: each entry says why, and goes when it is done.
PENDING: dict[str, str] = {}  # notebook -> why its check cannot raise yet (an xfail states it)


@dataclass(frozen=True)
class Exercise:
    notebook: str  # relative to the repository root
    label: str | None  # the {exercise} directive's label
    skeleton: int  # cell indices in the full notebook
    solutions: tuple[int, ...]
    check: int | None

    @property
    def id(self) -> str:
        return f"{self.notebook}::{self.label or self.skeleton}"


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags") or []


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_solution(cell: dict) -> bool:
    return student.SOLUTION_TAG in _tags(cell)


def has_placeholder(code: str) -> bool:
    """True if the code holds a ``...`` for the learner to replace (an Ellipsis, not a slice)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics and the like: fall back to the text
        return "..." in code
    return any(isinstance(node, ast.Constant) and node.value is Ellipsis for node in ast.walk(tree))


def find_exercises(path: Path) -> list[Exercise]:
    """The exercises of one notebook that have a skeleton, in order."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    found = []
    for position, index in enumerate(code):
        cell = cells[index]
        if not _is_solution(cell) or (position > 0 and _is_solution(cells[code[position - 1]])):
            continue  # not the first cell of a run of solution cells
        if position == 0 or not has_placeholder(_source(cells[code[position - 1]])):
            continue  # an open question: no skeleton to fill in
        skeleton = code[position - 1]
        solutions, rest = [], code[position:]
        while rest and _is_solution(cells[rest[0]]):
            solutions.append(rest.pop(0))
        check = next((i for i in rest if CHECK_CALL.search(_source(cells[i]))), None)
        if check is not None and any(_is_solution(cells[i]) for i in range(solutions[-1] + 1, check)):
            check = None  # the next grading call belongs to a later exercise
        labels = [m for c in cells[: skeleton + 1] for m in LABEL.findall(_source(c))]
        found.append(
            Exercise(
                notebook=path.relative_to(ROOT).as_posix(),
                label=labels[-1] if labels else None,
                skeleton=skeleton,
                solutions=tuple(solutions),
                check=check,
            )
        )
    return found


def all_exercises() -> list[Exercise]:
    paths = sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb"))
    return [exercise for path in paths for exercise in find_exercises(path)]


def _params(exercises: list[Exercise], *, run: bool = True) -> list:
    return [
        pytest.param(
            e,
            id=e.id,
            marks=[pytest.mark.xfail(reason=PENDING[e.notebook], run=run)] if e.notebook in PENDING else [],
        )
        for e in exercises
    ]


EXERCISES = all_exercises()


def test_discovery_finds_an_exercise_in_every_lab():
    labs = {p.relative_to(ROOT).as_posix() for p in (ROOT / "labs").glob("*.ipynb")}
    assert labs, "no labs found under labs/"
    without = sorted(labs - {e.notebook for e in EXERCISES})
    assert not without, f"no exercise (a `...` skeleton followed by a solution cell) found in {without}"


@pytest.mark.parametrize("exercise", _params(EXERCISES))
def test_every_exercise_has_a_check_cell(exercise: Exercise):
    assert exercise.label, (
        f"{exercise.id}: no ```{{exercise}}``` directive with a :label: before the skeleton"
    )
    assert exercise.check is not None, (
        f"{exercise.id}: no check cell after the solution (cell {exercise.solutions[-1]}): add a code cell "
        "that calls haiend.grading (or lab.check_exercise) and raises on a wrong answer"
    )
    cells = json.loads((ROOT / exercise.notebook).read_text(encoding="utf-8"))["cells"]
    assert f'"{exercise.label}"' in _source(cells[exercise.check]), (
        f"{exercise.id}: the check cell does not name its exercise; pass exercise={exercise.label!r}"
    )


def _student_copy(exercise: Exercise, folder: Path) -> tuple[Path, dict]:
    """The learner's copy, by ``python -m haiend.student``; for a later exercise, with the earlier solutions kept."""
    source = ROOT / exercise.notebook
    earlier = [e for e in find_exercises(source) if e.skeleton < exercise.skeleton]
    if earlier:  # keep those solutions: untag them in a copy of the lab
        notebook = json.loads(source.read_text(encoding="utf-8"))
        for index in (i for e in earlier for i in e.solutions):
            cell = notebook["cells"][index]
            cell["metadata"] = {
                **cell["metadata"],
                "tags": [t for t in _tags(cell) if t != student.SOLUTION_TAG],
            }
        source = folder / f"with-earlier-solutions-{source.name}"
        source.write_text(json.dumps(notebook), encoding="utf-8")
    target = folder / f"student-{Path(exercise.notebook).name}"
    done = subprocess.run(
        [sys.executable, "-m", "haiend.student", str(source), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"python -m haiend.student failed: {done.stderr}"
    return target, json.loads((ROOT / exercise.notebook).read_text(encoding="utf-8"))["cells"][exercise.check]


def _first_error(cells) -> tuple[int, dict] | None:
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output
    return None


@pytest.mark.slow
@pytest.mark.parametrize("exercise", _params(EXERCISES, run=False))
def test_student_copy_stops_at_the_check(exercise: Exercise, results_dir, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat executes notebooks: pip install nbformat")
    nbclient = pytest.importorskip("nbclient", reason="nbclient executes notebooks: pip install nbclient")
    if exercise.check is None:
        pytest.fail(f"{exercise.id} has no check cell (see test_every_exercise_has_a_check_cell)")
    monkeypatch.setenv("HAIEND_SIZE", "quick")  # the kernel inherits this process's environment
    monkeypatch.setenv("HAIEND_RESULTS_DIR", str(results_dir))  # ceilings measured once per session
    copy, check_cell = _student_copy(exercise, tmp_path)
    notebook = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str((ROOT / exercise.notebook).parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError:
        pass
    failed = _first_error(notebook.cells)
    assert failed is not None, f"the student copy of {exercise.id} ran to the end: its check cannot fail"
    index, error = failed
    cell = notebook.cells[index]
    where = f"cell {index} of the student copy:\n{''.join(cell.source)[:600]}"
    assert cell.get("id") == check_cell.get("id") and cell.source == _source(check_cell), (
        f"{exercise.id}: the first failure is not the exercise's check but {where}\n"
        f"{error['ename']}: {error['evalue']}"
    )
    assert error["ename"] == "ExerciseIncomplete", f"{exercise.id}: {error['ename']}: {error['evalue']}"
    assert error["evalue"].startswith(f"exercise {exercise.label}: "), error["evalue"]
    assert "`...`" in error["evalue"], error["evalue"]
