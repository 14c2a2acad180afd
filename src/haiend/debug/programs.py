"""A C source built into a program or a shared library with the flags a tool needs, cached.

:mod:`haiend.cbuild` builds a library and loads it into this process with ctypes. A debugger
needs a whole program with a ``main`` to start, stop and read; a library built with
AddressSanitizer must not be loaded into this process (its runtime has to come first, so it runs
in a child with the runtime preloaded); valgrind and the sanitizers also need standalone programs.
So this module only compiles, into the same cache folder, and hands back the path. The name holds
a hash of the source, the flags and the compiler, so a changed source or flag builds anew; the
compiler writes a temporary file that replaces the target only on success (:mod:`haiend.atomic`).
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

HERE = Path(__file__).resolve().parent
TRIAD = HERE / "triad_steps.c"  # the triad loop of the stream kernel as a standalone main
MEMORY_BUGS = HERE / "memory_bugs.c"  # seeded memory errors in a piece of the stencil
DEBUG_FLAGS = ("-g", "-O0")  # a build to hunt a bug with: every line where it is written
FIXED = "-DHAIEND_FIXED"  # the seeded sources' switch to their corrected lines


def build(
    source: str | Path, flags: Sequence[str] = DEBUG_FLAGS, *, shared: bool = False, also: Sequence[Path] = ()
) -> Path:
    """Compile ``source`` (and the sources ``also``, e.g. a driver's ``main``) with ``flags`` into a
    program, or a shared library, and return its path."""
    cc = c_compiler()
    if cc is None:
        raise HaiendError("no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC.")
    sources = [Path(source), *map(Path, also)]
    for path in sources:
        if not path.is_file():
            raise HaiendError(f"the C source {path} does not exist.")
    flags = tuple(flags) + (("-shared", "-fPIC") if shared else ())
    # The paths count too: the debug information names them, and reports are matched against them.
    parts = [*(bytes(path.resolve()) + b"\0" + path.read_bytes() for path in sources), shlex.join(flags).encode(), cc.encode()]
    key = hashlib.sha256(b"\0".join([*parts, cbuild.compiler_identity(cc).encode()])).hexdigest()[:16]
    target = cbuild.cache_dir() / "debug" / f"{sources[0].stem}-{key}{'.so' if shared else ''}"
    if not target.exists():
        with atomic.replacing(target, mode=0o755) as tmp:
            command = [cc, *flags, *map(str, sources), "-o", str(tmp)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines() or ["no message"]
                first = next((line for line in lines if "error:" in line.lower()), lines[0])
                raise HaiendError(f"compiling {source.name} failed ({shlex.join(command)}): {first}")
    return target


def executable(source: str | Path = TRIAD, flags: Sequence[str] = DEBUG_FLAGS, *, pie: bool = True) -> Path:
    """A program for a debugger: ``source`` built with ``flags`` as a position-independent executable or not."""
    return build(source, (*flags, "-pie", "-fPIE") if pie else (*flags, "-no-pie", "-fno-pie"))


def marked_line(source: str | Path, marker: str) -> int:
    """The number of the one line of ``source`` that contains ``marker`` (a comment such as ``TRIAD``)."""
    lines = [n for n, text in enumerate(Path(source).read_text().splitlines(), 1) if marker in text]
    if len(lines) != 1:
        raise HaiendError(f"{Path(source).name} has {len(lines)} lines marked {marker}, not one.")
    return lines[0]


def seeded_line(source: str | Path, tag: str) -> int:
    """The line of ``source`` marked ``/* seeded: TAG */`` (the first, when the mark repeats)."""
    for number, text in enumerate(Path(source).read_text(encoding="utf-8").splitlines(), start=1):
        if f"/* seeded: {tag} */" in text:
            return number
    raise HaiendError(f"{Path(source).name} has no line marked 'seeded: {tag}'.")


# Python calling memory_bugs.c's smooth through ctypes (the library's path is sys.argv[1]). The
# arrays are ctypes arrays, not NumPy's: importing NumPy under valgrind takes seconds.
SMOOTH_FROM_PYTHON = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
n = 100
Row = ctypes.c_double * n
u, out = Row(*(float(i % 7) for i in range(n))), Row()
lib.smooth.argtypes = [Row, Row, ctypes.c_long]
lib.smooth.restype = None
lib.smooth(u, out, n)
print("out[n-2] =", out[n - 2])
"""
