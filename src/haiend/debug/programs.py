"""Build the chapter's small C programs into executables for a debugger, cached like kernels.

:mod:`haiend.cbuild` makes shared libraries for ctypes; a debugger demonstration needs a whole
program with a ``main`` to start, stop and read. The executable's name is a hash of the source,
the flags and the compiler's version, under the same cache folder, written atomically.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
from pathlib import Path

from haiend import atomic, cbuild
from haiend.errors import HaiendError
from haiend.requirements import c_compiler

HERE = Path(__file__).resolve().parent
TRIAD = HERE / "triad_steps.c"  # the triad loop of the stream kernel as a standalone main
DEBUG_FLAGS = ("-g", "-O0")


def marked_line(source: str | Path, marker: str) -> int:
    """The number of the one line of ``source`` that contains ``marker`` (a comment such as ``TRIAD``)."""
    lines = [n for n, text in enumerate(Path(source).read_text().splitlines(), 1) if marker in text]
    if len(lines) != 1:
        raise HaiendError(f"{Path(source).name} has {len(lines)} lines marked {marker}, not one.")
    return lines[0]


def executable(source: str | Path = TRIAD, flags: tuple[str, ...] = DEBUG_FLAGS, *, pie: bool = True) -> Path:
    """Compile ``source`` into a program with ``flags`` (PIE or not) and return its path."""
    cc = c_compiler()
    if cc is None:
        raise HaiendError("no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC.")
    source = Path(source)
    if not source.is_file():
        raise HaiendError(f"the C source {source} does not exist.")
    flags = (*flags, "-pie" if pie else "-no-pie", "-fPIE" if pie else "-fno-pie")
    identity = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256(b"\0".join([source.read_bytes(), " ".join(flags).encode(), identity.encode()]))
    target = cbuild.cache_dir() / f"{source.stem}-{key.hexdigest()[:16]}"
    if not target.exists():
        with atomic.replacing(target, mode=0o755) as tmp:
            command = [cc, *flags, str(source), "-o", str(tmp)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["no message"])[0]
                raise HaiendError(f"compiling {source.name} failed ({shlex.join(command)}): {first}")
    return target
