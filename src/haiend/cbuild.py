"""Compile a kernel's C source at first use, cache the shared library, load it with ctypes.

The library's name is a hash of the source, the flags and the compiler's version, so changing
any of them builds anew and nothing stale is ever loaded. Builds go to a temporary name and are
renamed into place, so MPI ranks compiling the same source at once never load half a file.

ctypes (standard library) rather than cffi: it needs no extra package, and
``numpy.ctypeslib.ndpointer`` checks each array's dtype, rank and contiguity at the call, which
turns a wrong argument into an error rather than a wrong answer.

``DEFAULT_FLAGS`` is what the ``c`` variants use. ``$HAIEND_CFLAGS`` replaces it for every
kernel; the compilers chapter passes its own flags to :func:`build` to compare them.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from haiend import atomic
from haiend.errors import HaiendError
from haiend.requirements import c_compiler

DEFAULT_FLAGS = ("-O3", "-march=native", "-fopenmp")
ENV_FLAGS = "HAIEND_CFLAGS"
ENV_CACHE = "HAIEND_CACHE_DIR"


@dataclass(frozen=True)
class Built:
    """A compiled library with how it was made, so a learner can see and repeat it."""

    library: ctypes.CDLL
    path: Path
    command: tuple[str, ...]
    flags: tuple[str, ...]

    @property
    def command_line(self) -> str:
        return shlex.join(self.command)


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser() / "c"
    from platformdirs import user_cache_path

    return user_cache_path("haiend") / "c"


def default_flags() -> tuple[str, ...]:
    """The flags the ``c`` variants use here: $HAIEND_CFLAGS if set, else DEFAULT_FLAGS."""
    text = os.environ.get(ENV_FLAGS)
    return tuple(shlex.split(text)) if text else DEFAULT_FLAGS


@functools.cache
def compiler_identity(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HaiendError(f"the C compiler {cc} cannot be run ({exc}).") from None
    return out.stdout


def build(
    source: str | Path, flags: tuple[str, ...] | list[str] | None = None, *, extra: tuple[str, ...] = ()
) -> Built:
    """Compile ``source`` into a shared library with ``flags`` (+ ``extra``) and load it.

    ``extra`` holds flags the kernel always needs (``-lm``, say), kept apart from the flags a
    learner varies. Raises HaiendError with the compiler's message if the build fails.
    """
    cc = c_compiler()
    if cc is None:
        raise HaiendError("no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC.")
    source = Path(source)
    flags = tuple(flags) if flags is not None else default_flags()
    text = source.read_bytes()
    key = hashlib.sha256(
        b"\0".join([text, " ".join(flags + extra).encode(), cc.encode(), compiler_identity(cc).encode()])
    ).hexdigest()[:16]
    target = cache_dir() / f"{source.stem}-{key}.so"
    command = (cc, *flags, "-shared", "-fPIC", str(source), "-o", str(target), *extra)
    if not target.exists():
        _compile(command, target, source.name)
    return Built(_load(str(target)), target, command, flags)


def _compile(command: tuple[str, ...], target: Path, name: str) -> None:
    """Run ``command`` with its output redirected to a temporary file that replaces ``target``
    only when the compiler succeeded (:mod:`haiend.atomic`): two processes building the same
    library at once each produce a whole file, and the last rename wins."""
    with atomic.replacing(target, mode=0o777) as tmp:
        tmp_command = list(command)
        tmp_command[tmp_command.index(str(target))] = str(tmp)
        result = subprocess.run(tmp_command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["no message"]
            # gcc opens with "In function ...": quote the first line that states the error
            first = next((line for line in lines if "error:" in line.lower()), lines[0])
            raise HaiendError(f"compiling {name} failed ({shlex.join(command)}): {first}")


@functools.cache
def _load(path: str) -> ctypes.CDLL:
    return ctypes.CDLL(path)
