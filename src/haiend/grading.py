"""Grading an exercise: a check cell passes on a right answer and raises on anything else.

A check that only prints a verdict cannot fail: the notebook runs on, the book builds, and a
wrong solution goes unnoticed by the learner and by the tests. Every check here therefore raises
:class:`ExerciseFailed` (an ``AssertionError``, so a hidden test cell and a learner's own check
read alike) with a message that starts ``exercise <label>:`` and says what to do next::

    from haiend import grading
    grading.check_exercise(triad, triad_blocked, exercise="stream-blocked-triad")
    grading.expect_written("measuring-clock-batch", unbatched=unbatched)
    grading.expect("measuring-clock-batch", unbatched.batch == 1, "`unbatched` still batches calls")

Two kinds of failure, so that a learner (and a test) can tell them apart: the answer is not
there yet (:class:`ExerciseIncomplete`: a function whose body is still ``...``, a value still
``...``), or it is there and wrong (:class:`ExerciseWrong`). A student copy of a lab
(``python -m haiend.student``) stops at its first check cell, with the first kind.
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from haiend import kernels, sizes
from haiend.kernels import Check, Kernel

_NEXT_STEP = "run that cell, then this one again."


class ExerciseFailed(AssertionError):
    """An exercise's check did not pass; the message names the exercise and what is wrong."""

    def __init__(self, exercise: str, problem: str) -> None:
        self.exercise = exercise
        self.problem = problem
        super().__init__(f"exercise {exercise}: {problem}")


class ExerciseIncomplete(ExerciseFailed):
    """The answer is not written yet: a function body or a value is still ``...``."""


class ExerciseWrong(ExerciseFailed):
    """The answer is written and does not hold."""


def is_stub(func: Callable[..., Any]) -> bool:
    """True while a function's body is still only ``...`` (and perhaps a docstring).

    Read from the source, not by calling: a stub returns None, which some right answers do too.
    """
    func = getattr(func, "py_func", func)  # a Numba dispatcher keeps the Python function
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    definition = next(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    if definition is None:
        return False
    body = [
        n
        for n in definition.body
        if not (
            isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
        )
    ]
    return all(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and n.value.value is Ellipsis
        for n in body
    )


def expect_written(exercise: str, *functions: Callable[..., Any], **values: Any) -> None:
    """Raise :class:`ExerciseIncomplete` for the first function whose body, or value, is still ``...``."""
    for func in functions:
        if is_stub(func):
            name = getattr(func, "__name__", "your function")
            raise ExerciseIncomplete(
                exercise, f"{name} is still `...`: write its body in the exercise cell, {_NEXT_STEP}"
            )
    for name, value in values.items():
        if value is Ellipsis:
            raise ExerciseIncomplete(
                exercise, f"`{name}` is still `...`: replace it in the exercise cell, {_NEXT_STEP}"
            )


def expect(exercise: str, condition: Any, message: str) -> None:
    """Raise :class:`ExerciseWrong` with ``message`` (what is wrong, in the learner's terms) unless ``condition``."""
    if not condition:
        raise ExerciseWrong(exercise, message)


def expect_nonempty(exercise: str, items: Iterable[Any], what: str) -> list[Any]:
    """``items`` as a list; raise :class:`ExerciseWrong` if there are none (``all([])`` would pass)."""
    found = list(items)
    if not found:
        raise ExerciseWrong(exercise, f"there are no {what}, so nothing could be checked.")
    return found


def expect_close(
    exercise: str, what: str, got: Any, expected: Any, *, rtol: float = 1e-9, atol: float = 0.0
) -> float:
    """Raise :class:`ExerciseWrong` unless ``got`` is within ``rtol`` (relative) or ``atol`` of ``expected``.

    Returns the relative error, so a check cell can show it.
    """
    try:
        got_f, expected_f = float(got), float(expected)
    except (TypeError, ValueError):
        raise ExerciseWrong(exercise, f"{what} is {got!r}, not a number.") from None
    error = abs(got_f - expected_f) / abs(expected_f) if expected_f else abs(got_f)
    if not (math.isfinite(got_f) and (error <= rtol or abs(got_f - expected_f) <= atol)):
        raise ExerciseWrong(
            exercise,
            f"{what} is wrong: {got_f:.6g} instead of {expected_f:.6g} "
            f"(relative error {error:.1e} > tolerance {rtol:.0e}).",
        )
    return error


def check_exercise(
    kernel: Kernel | str,
    func: Callable[..., Any],
    inputs: Sequence[Any] | None = None,
    *,
    exercise: str | None = None,
) -> Check:
    """Check a learner's ``func(*inputs, out)`` against the kernel's reference; return the passing Check.

    Raises :class:`ExerciseIncomplete` while the body is still ``...`` and :class:`ExerciseWrong`
    when the result is wrong (error and tolerance in the message), is not returned, or has the
    wrong shape. ``inputs`` default to the lab's size (``HAIEND_SIZE``); ``exercise`` is the
    exercise's label, the function's name if not given.
    """
    kernel = kernels.get(kernel) if isinstance(kernel, str) else kernel
    name = getattr(func, "__name__", "your function")
    exercise = exercise or name
    expect_written(exercise, func)
    if inputs is None:
        size = sizes.for_kernel(kernel)
        inputs, where = kernel.make_inputs(size), f"at n = {kernel.size_label(size)}"
    else:
        shape = next((x.shape for x in inputs if hasattr(x, "shape")), None)
        inputs, where = tuple(inputs), f"for inputs of shape {shape}"
    result = kernels.written_in_notebook(kernel, func, name)(*inputs)  # judged by what it returns
    expect(exercise, result is not None, f"{name} returned None: end it with `return out`.")
    expected = kernel.reference(*inputs)
    shape = getattr(result, "shape", None)
    expect(
        exercise,
        shape == expected.shape,
        f"{name} returned an array of shape {shape}, the reference has shape {expected.shape} ({where}).",
    )
    check = kernel.check(result, expected)
    expect(
        exercise,
        check.passed,
        f"{name} is wrong {where}: relative error {check.error:.1e} > tolerance {check.tolerance:.0e}.",
    )
    print(f"{name}: {check}")
    return check
