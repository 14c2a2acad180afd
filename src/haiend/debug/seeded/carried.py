"""A learner's function, carried into a child process (a bounds-checked run, an MPI job) as a file.

A function defined in a notebook cannot be imported by another process, so its source is written
to a temporary file after a prelude of the imports it may use, and the child loads it from there.
The function must therefore use only those imports and names defined inside it.
"""

from __future__ import annotations

import importlib.util
import inspect
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write(function: Callable[..., Any], prelude: str) -> Path:
    """A new file holding ``prelude`` and ``function``'s source (its decorators included); the caller removes it."""
    source = textwrap.dedent(inspect.getsource(getattr(function, "py_func", function)))
    handle = tempfile.NamedTemporaryFile("w", prefix="haiend-carried-", suffix=".py", delete=False)
    with handle:
        handle.write(prelude + "\n\n" + source)
    return Path(handle.name)


class NotCarried(ValueError):
    """The file is missing or defines no such function; the message is one sentence."""


def load(path: Path, name: str) -> Callable[..., Any]:
    """The function ``name`` defined in the file ``path``; :class:`NotCarried` if there is none.

    The file is run as a module, so an error in the learner's code surfaces with its traceback.
    """
    if not Path(path).is_file():
        raise NotCarried(f"{path} does not exist.")
    spec = importlib.util.spec_from_file_location(f"haiend_carried_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, name, None)):
        raise NotCarried(f"{path} defines no function named {name}.")
    return getattr(module, name)
