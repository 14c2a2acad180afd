"""Build a C kernel and its driver into a cached executable, plain or instrumented.

:mod:`haiend.cbuild` makes shared libraries for ctypes; a sanitizer or valgrind is simplest to
run on a program of its own (no runtime to preload into Python, no Python allocations in its
report), so the seeded C kernels are linked with a small ``main`` instead. A kernel given as text
(a learner's fix) is written beside the executable first, so that reports name a real file and
line. The executable's name is a hash of the sources, the flags and the compiler's version;
it is written to a temporary name and renamed into place (:mod:`haiend.atomic`).
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from haiend import atomic, cbuild
from haiend.errors import HaiendError
from haiend.requirements import c_compiler

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
    cc = c_compiler()
    if cc is None:
        raise BuildFailed("no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC.")
    text = kernel.read_text() if isinstance(kernel, Path) else kernel
    flags = tuple(flags) + DEBUG_FLAGS
    identity = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join([text, driver.read_text(), *flags, cc, identity]).encode()).hexdigest()[
        :16
    ]
    folder = cbuild.cache_dir().parent / "seeded"
    if isinstance(kernel, Path):
        source = kernel
    else:
        source = folder / f"{name}-{key}.c"
        if not source.exists():
            with atomic.replacing(source) as tmp:
                tmp.write_text(text)
    target = folder / f"{name}-{key}"
    if not target.exists():
        with atomic.replacing(target, mode=0o755) as tmp:
            command = [cc, *flags, str(source), str(driver), "-o", str(tmp)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or ["no message"]
                first = next((line for line in lines if "error:" in line.lower()), lines[0])
                raise BuildFailed(f"compiling {source.name} failed ({shlex.join(command)}): {first}")
    return target
