"""Grading a lab's exercise: is the learner's function still a stub, and is its result right?

Kept apart from measuring and showing (``haiend.lab``) because a check is a verdict, and a
verdict must be able to fail: see :func:`check_exercise`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from haiend import kernels, sizes
from haiend.kernels import Check, Kernel


def is_stub(func: Callable[..., Any]) -> bool:
    """True while a function's body is still only ``...`` (and perhaps a docstring)."""
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


def check_exercise(
    kernel: Kernel | str, func: Callable[..., Any], inputs: Sequence[Any] | None = None
) -> Check | None:
    """Check a learner's ``func(*inputs, out)`` against the reference; prints the verdict.

    Returns None (and says so) while the function is still ``...``, so that a student copy
    runs to the end before the exercise is done.
    """
    kernel = kernels.get(kernel) if isinstance(kernel, str) else kernel
    name = getattr(func, "__name__", "your function")
    if is_stub(func):
        print(
            f"{name} is still `...`: write its body in the exercise cell, run it, then run this cell again."
        )
        return None
    inputs = tuple(inputs) if inputs is not None else kernel.make_inputs(sizes.for_kernel(kernel))
    result = kernels.written_in_notebook(kernel, func, name)(*inputs)
    check = kernel.check(result, kernel.reference(*inputs))
    print(f"{name}: {check}")
    return check
