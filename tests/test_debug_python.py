"""Python and mixed stacks: the JupyterLab debugger protocol driven from code, and a Python + Numba + C
stack read from outside; every kernel and program is gone afterwards."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from haiend.debug import kernel_debugger, mixed_stack, stacks, tools
from haiend.requirements import c_compiler

CELL = """def triad_sum(b, c, scalar):
    total = 0.0
    for i in range(len(b)):
        total += b[i] + scalar * c[i]
    return total

result = triad_sum([1.0, 2.0, 3.0], [0.5, 1.0, 1.5], 3.0)
"""


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(autouse=True)
def nothing_left_running():
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and alive(p.pid)]
    assert not left, f"processes left running: {left}"


@pytest.mark.slow
@pytest.mark.skipif(kernel_debugger.missing() is not None, reason=kernel_debugger.missing() or "")
def test_a_breakpoint_in_a_cell_reads_its_locals_and_the_kernel_is_gone_afterwards() -> None:
    with kernel_debugger.KernelDebugger(timeout_s=60) as debugger:
        folder = Path(debugger.info["tmpFilePrefix"])
        stops, reply = debugger.run_cell(CELL, [4], max_stops=2)
        unreached, second = debugger.run_cell("def never():\n    return 1\n\nvalue = 2\n", [2])
        kernel = debugger.kernel_pids[0]
        assert alive(kernel) and folder.is_dir()
    assert reply["status"] == "ok" and second["status"] == "ok" and unreached == []
    assert [(s.reason, s.function, s.line) for s in stops] == [("breakpoint", "triad_sum", 4)] * 2
    assert [s.locals["i"] for s in stops] == ["0", "1"]
    assert [float(s.locals["total"]) for s in stops] == [0.0, 1.0 + 3.0 * 0.5]
    assert stops[0].types["b"] == "list" and stops[0].locals["scalar"] == "3.0"
    commands = [command for command, ok, _ in debugger.transcript if ok]
    for expected in ("initialize", "attach", "debugInfo", "dumpCell", "setBreakpoints", "configurationDone",
                     "stackTrace", "scopes", "variables", "continue", "disconnect"):
        assert expected in commands
    assert not alive(kernel) and not folder.exists()


needs_stack_tools = pytest.mark.skipif(
    c_compiler() is None or tools.missing(tools.PTRACE) is not None,
    reason=tools.missing(tools.PTRACE) or "no C compiler to build the kernel: apt-get install gcc",
)


@pytest.mark.slow
@needs_stack_tools
def test_the_stack_of_python_calling_numba_calling_c_is_read_from_outside() -> None:
    pytest.importorskip("numba", reason="Numba is not installed: pip install numba")
    program = mixed_stack.start(seconds=120, also_debug=True)
    try:
        gdb = stacks.with_gdb(program.pid)
        spy = stacks.with_py_spy(program.pid)
    finally:
        mixed_stack.stop(program)
    assert not alive(program.pid)
    if gdb.missing is not None and (tools.GDB.missing() or tools.PYTHON_GDB.missing()):
        pytest.skip(gdb.missing)
    assert gdb.ok, gdb.missing
    assert "triad_then_wait" in gdb.text and "wait_kernel.c" in gdb.text  # the C frame, with its line
    numba_frames = [line for line in gdb.text.splitlines() if line.startswith("#") and " in __main__::" in line and "numba_triad[" in line]
    assert len(numba_frames) == 2  # one per thread: named through gdb's JIT interface
    assert sum(line.rstrip().endswith("()") for line in numba_frames) == 1  # Numba's defaults: no line
    assert sum("mixed_stack.py:" in line for line in numba_frames) == 1  # debug=True: its source line
    if tools.PYTHON_GDB.missing() is None:
        assert "in run_step" in gdb.text  # py-bt: the Python frame that called it
    if spy.missing is None:
        assert "run_step" in spy.text and "seconds: 120" in spy.text and "numba-debug" in spy.text, spy.text

