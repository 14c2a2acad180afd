"""gdb run in batch mode on a program, and its stops read back as data to compare with our own debugger.

``gdb -batch -nx -ex CMD ... --args PROGRAM ARGS`` runs each command as if typed, then exits
(killing the program if it still runs). Every run goes through :func:`haiend.debug.bounded.run`,
so a program that never stops is killed with gdb after the time limit. The stops at a
breakpoint are marked with ``echo`` so that the registers and values printed at each hit can be
told apart from the program's own output.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from haiend.debug import bounded, tools
from haiend.errors import HaiendError

MARK = "@@haiend-stop"
_VALUE = re.compile(r"^\$\d+ = (.*)$")
_PC = re.compile(r"^(?:rip|pc)\s+(0x[0-9a-f]+)")
PC = "rip" if platform.machine() in ("x86_64", "AMD64") else "pc"  # gdb's name for the instruction pointer


@dataclass(frozen=True)
class Stop:
    """One stop of gdb at a breakpoint: the instruction pointer and the values it printed."""

    rip: int
    values: dict[str, str]


def batch(program: str | Path, commands: Sequence[str], args: Sequence[str] = (), timeout_s: float = 60) -> bounded.Finished:
    """Run gdb on ``program args`` with ``commands``; raises HaiendError when gdb cannot run here."""
    reason = tools.missing(tools.GDB, tools.PTRACE)
    if reason is not None:
        raise HaiendError(reason)
    argv = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off"]
    for command in commands:
        argv += ["-ex", command]
    return bounded.run([*argv, "--args", str(program), *args], timeout_s)


def stops(
    program: str | Path, location: str, variables: Sequence[str], args: Sequence[str] = (), hits: int = 1, timeout_s: float = 60
) -> tuple[list[Stop], bounded.Finished]:
    """Stop ``hits`` times at ``location``, printing the instruction pointer and each variable, as one would type it."""
    at_stop = ["echo " + MARK + "\\n", f"info registers {PC}", *(f"print {name}" for name in variables)]
    commands = [f"break {location}", "run", *at_stop]
    for _ in range(hits - 1):
        commands += ["continue", *at_stop]
    finished = batch(program, [*commands, "delete", "continue"], args, timeout_s)
    found: list[Stop] = []
    for block in finished.stdout.split(MARK + "\n")[1:]:
        lines = block.splitlines()
        rip = next((int(m.group(1), 16) for line in lines if (m := _PC.match(line))), None)
        values = [m.group(1) for line in lines if (m := _VALUE.match(line))][: len(variables)]
        if rip is None or len(values) != len(variables):
            raise HaiendError(f"gdb's output at a stop could not be read: {block.strip()[:200]!r}.")
        found.append(Stop(rip, dict(zip(variables, values, strict=True))))
    return found, finished
