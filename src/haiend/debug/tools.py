"""Which debuggers and correctness tools this machine has, each one sentence when it has not.

Every probe answers ``None`` when the tool can be used here, else what is missing and how to get
it (the same contract as :mod:`haiend.requirements`, whose :class:`Requirement` these are). A tool
being installed is not enough: ``PTRACE`` forks a child that asks to be traced, because some
containers and ``kernel.yama.ptrace_scope = 3`` refuse ptrace to everyone, root included; the
sanitizers compile and run a one-line program, because gcc may be installed without their runtimes.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from haiend.requirements import Requirement, c_compiler

PTRACE_TRACEME = 0
_HOW_TO_INSTALL = {
    "gdb": "Debian: apt-get install gdb (./quickstart does it as root)",
    "valgrind": "Debian: apt-get install valgrind (./quickstart does it as root)",
    "py-spy": "pip install py-spy",
}


def _program(name: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        if shutil.which(name) is None:
            return f"{name} is not installed here ({_HOW_TO_INSTALL[name]})."
        return None

    probe.__name__ = f"has_{name.replace('-', '_')}"
    return probe


def ptrace_refusal() -> str | None:
    """None when a child may be traced here; else the kernel's refusal, in one sentence."""
    if not hasattr(os, "fork"):
        return "this system has no fork(), so no ptrace-based debugger runs here."
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    pid = os.fork()
    if pid == 0:  # the child: ask to be traced, report the answer in the exit status
        refused = libc.ptrace(PTRACE_TRACEME, 0, None, None) != 0
        os._exit(1 if refused else 0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        scope = Path("/proc/sys/kernel/yama/ptrace_scope")
        setting = f" (kernel.yama.ptrace_scope = {scope.read_text().strip()})" if scope.exists() else ""
        return (
            f"the kernel refuses ptrace here{setting}, so no debugger can stop a program: run on a machine or "
            "container that allows it (docker run --cap-add=SYS_PTRACE, or sysctl kernel.yama.ptrace_scope=1)."
        )
    return None


@functools.cache
def sanitizer_refusal(name: str) -> str | None:
    """None when ``gcc -fsanitize=NAME`` builds and runs a program here; else why not."""
    compiler = c_compiler()
    if compiler is None:
        return "no C compiler was found, so no sanitizer can be built: install gcc (Debian: apt-get install gcc)."
    flag = {"address": "-fsanitize=address", "thread": "-fsanitize=thread", "undefined": "-fsanitize=undefined"}[name]
    with tempfile.TemporaryDirectory(prefix="haiend-san-") as folder:
        source = Path(folder) / "probe.c"
        source.write_text("int main(void) { return 0; }\n")
        program = Path(folder) / "probe"
        built = subprocess.run([compiler, flag, str(source), "-o", str(program)], capture_output=True, text=True)
        if built.returncode != 0:
            return f"{compiler} cannot build with {flag} here (its runtime library is missing: Debian's gcc ships it; apt-get install gcc)."
        ran = subprocess.run([str(program)], capture_output=True, text=True, timeout=30)
        if ran.returncode != 0:
            first = (ran.stderr.strip().splitlines() or ["no message"])[0]
            return f"a program built with {flag} does not run here ({first})."
    return None


def runtime_library(name: str) -> Path | None:
    """The sanitizer's shared runtime (libasan.so, libtsan.so, libubsan.so) gcc links, for LD_PRELOAD.

    A kernel loaded into Python with ctypes was built with ASan but Python was not, so the
    runtime must be loaded first: ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``.
    """
    compiler = c_compiler()
    if compiler is None:
        return None
    short = {"address": "asan", "thread": "tsan", "undefined": "ubsan"}[name]
    found = subprocess.run([compiler, f"-print-file-name=lib{short}.so"], capture_output=True, text=True)
    path = Path(found.stdout.strip())
    return path.resolve() if path.is_absolute() and path.exists() else None


def python_gdb_script() -> Path | None:
    """CPython's gdb extension (``py-bt``, ``py-list``) for the interpreter running this code.

    CPython installs it beside the interpreter as ``python3.X-gdb.py`` (pyenv, a source build);
    Debian's ``python3.X-dbg`` puts it under gdb's auto-load folder.
    """
    real = Path(os.path.realpath(sys.executable))
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [
        real.with_name(real.name + "-gdb.py"),
        real.with_name(f"{version}-gdb.py"),
        Path("/usr/share/gdb/auto-load") / str(real).lstrip("/") / ".." / f"{real.name}-gdb.py",
        Path(f"/usr/share/gdb/auto-load/usr/bin/{version}-gdb.py"),
    ]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    return None


def _probe_python_gdb() -> str | None:
    if shutil.which("gdb") is None:
        return _program("gdb")()
    if python_gdb_script() is None:
        minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return (
            f"CPython's gdb extension (python{minor}-gdb.py) was not found beside {sys.executable}, so gdb "
            f"shows C frames only: install python{minor}-dbg (Debian) or use a Python built from source."
        )
    return None


GDB = Requirement("gdb", _program("gdb"))
VALGRIND = Requirement("valgrind", _program("valgrind"))
PY_SPY = Requirement("py-spy", _program("py-spy"))
PTRACE = Requirement("ptrace", ptrace_refusal)
PYTHON_GDB = Requirement("gdb with CPython's py-bt", _probe_python_gdb)
ASAN = Requirement("AddressSanitizer", functools.partial(sanitizer_refusal, "address"))
UBSAN = Requirement("UndefinedBehaviorSanitizer", functools.partial(sanitizer_refusal, "undefined"))
TSAN = Requirement("ThreadSanitizer", functools.partial(sanitizer_refusal, "thread"))


def missing(*requirements: Requirement) -> str | None:
    """The first unmet requirement's sentence, or None when all are met."""
    for requirement in requirements:
        reason = requirement.missing()
        if reason is not None:
            return reason
    return None

