"""The stack of a running process, seen from outside: what a hung job looks like.

Two tools read it. ``gdb -p PID -batch`` stops the process with ptrace, unwinds every thread's C
stack from DWARF call-frame information and, with CPython's extension loaded, prints the Python
frames (``py-bt``) by reading the interpreter's frame objects out of its memory. ``py-spy dump``
reads the same Python frames without stopping the process for more than a moment, and needs no
debug information. Both need ptrace permission; where that or the tool is missing the answer is
the one-sentence reason instead of a stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haiend.debug import bounded, tools

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # py-spy colours its dump when it thinks a terminal reads it (a Jupyter kernel)


@dataclass(frozen=True)
class Stack:
    """A dump of one process: the tool's text, or why none could be taken."""

    pid: int
    tool: str
    text: str = ""
    missing: str | None = None

    @property
    def ok(self) -> bool:
        return self.missing is None


def with_gdb(pid: int, timeout_s: float = 60) -> Stack:
    """Every thread's C backtrace and, where CPython's gdb extension is found, its Python frames."""
    reason = tools.missing(tools.GDB, tools.PTRACE)
    if reason is not None:
        return Stack(pid, "gdb", missing=reason)
    commands = ["-ex", "set pagination off", "-ex", "thread apply all bt"]
    script = tools.python_gdb_script()
    if script is not None:
        commands = ["-ex", f"source {script}", *commands, "-ex", "thread apply all py-bt"]
    done = bounded.run(["gdb", "-p", str(pid), "-batch", "-nx", *commands], timeout_s)
    if done.timed_out:
        return Stack(pid, "gdb", done.output, missing=f"gdb did not finish reading process {pid} within {timeout_s:g} s.")
    return Stack(pid, "gdb", done.stdout)


def with_py_spy(pid: int, timeout_s: float = 60) -> Stack:
    """The Python stack of every thread of ``pid`` (``py-spy dump``), with local variables."""
    reason = tools.missing(tools.PY_SPY, tools.PTRACE)
    if reason is not None:
        return Stack(pid, "py-spy", missing=reason)
    done = bounded.run(["py-spy", "dump", "--locals", "--pid", str(pid)], timeout_s)
    if done.timed_out or done.returncode != 0:
        first = (done.output.strip().splitlines() or ["no output"])[-1]
        return Stack(pid, "py-spy", done.output, missing=f"py-spy could not read process {pid} ({first}).")
    return Stack(pid, "py-spy", _COLOUR.sub("", done.stdout))
