"""Build a C kernel and its driver into a cached executable, plain or instrumented.

:mod:`haiend.cbuild` makes shared libraries for ctypes; a sanitizer or valgrind is simplest to
run on a program of its own (no runtime to preload into Python, no Python allocations in its
report), so the seeded C kernels are linked with a small ``main`` instead. A kernel given as text
(a learner's fix) is written to a file first, so that reports name a real file and line; the
build itself is :func:`haiend.debug.programs.build` (cached by a hash of the sources, the flags
and the compiler, renamed into place).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from pathlib import Path

from haiend import atomic, cbuild
from haiend.debug import programs
from haiend.errors import HaiendError

DEBUG_FLAGS = ("-g", "-fno-omit-frame-pointer")  # reports name files and lines


def command_line(argv: Sequence[str]) -> str:
    """A command as one would type it: absolute paths (cached programs, temporary files) by name only."""
    return shlex.join(Path(arg).name if arg.startswith("/") else arg for arg in argv)


class BuildFailed(HaiendError):
    """The compiler refused a source; the message quotes its first error line."""


def build(
    kernel: str | Path,
    driver: Path,
    flags: Sequence[str] = (),
    *,
    name: str = "kernel",
) -> Path:
    """The executable of ``driver`` linked with ``kernel`` (a file, or C text) built with ``flags``."""
    if isinstance(kernel, Path):
        source = kernel
    else:  # a learner's text: a file named by its hash, so that reports name a real file and line
        key = hashlib.sha256(kernel.encode()).hexdigest()[:16]
        source = cbuild.cache_dir().parent / "seeded" / f"{name}-{key}.c"
        if not source.exists():
            with atomic.replacing(source) as tmp:
                tmp.write_text(kernel)
    try:
        return programs.build(source, (*flags, *DEBUG_FLAGS), also=(driver,))
    except HaiendError as exc:
        raise BuildFailed(str(exc)) from None
