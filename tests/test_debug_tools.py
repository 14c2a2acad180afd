"""haiend.debug.tools says in one sentence what is missing; haiend.debug.bounded leaves nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from haiend.debug import bounded, stacks, tools


def test_a_missing_program_is_named_with_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = tools._program("valgrind")()
    assert reason is not None and reason.startswith("valgrind is not installed") and "apt-get install valgrind" in reason
    assert reason.endswith(".") and "\n" not in reason


def test_probes_answer_none_or_one_sentence() -> None:
    for requirement in (tools.GDB, tools.VALGRIND, tools.PTRACE, tools.PYTHON_GDB, tools.ASAN, tools.UBSAN, tools.TSAN):
        reason = requirement.missing()
        assert reason is None or (reason.endswith(".") and "\n" not in reason), (requirement.name, reason)


@pytest.mark.skipif(tools.PTRACE.missing() is not None, reason="ptrace is refused here, so there is nothing to compare")
def test_ptrace_probe_agrees_with_gdb() -> None:
    if tools.GDB.missing() is not None:
        pytest.skip(tools.GDB.missing())
    done = bounded.run(["gdb", "-batch", "-ex", "run", "--args", "/bin/true"], 60)
    assert done.returncode == 0 and "exited normally" in done.output, done.output


def test_a_run_past_its_limit_is_killed_with_everything_it_started() -> None:
    seen: list[list[int]] = []
    done = bounded.run(["bash", "-c", "sleep 60 & sleep 60 & wait"], 1.0, on_timeout=lambda g: seen.append(bounded.group_members(g)))
    assert done.timed_out and done.returncode is None and done.seconds < 30
    assert len(seen[0]) == 3  # bash and its two sleeps, seen before the kill
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") and bounded.group_members(seen[0][0]) for pid in seen[0]):
        assert time.monotonic() < deadline, "processes of a killed run are still alive"
        time.sleep(0.05)


def test_a_run_that_ends_reports_status_and_output() -> None:
    done = bounded.run(["bash", "-c", "echo out; echo err >&2; exit 3"], 30)
    assert (done.returncode, done.stdout, done.stderr, done.timed_out) == (3, "out\n", "err\n", False)


@pytest.mark.parametrize("dump", [stacks.with_gdb, stacks.with_py_spy], ids=["gdb", "py-spy"])
def test_the_stack_of_a_waiting_python_names_its_function(dump) -> None:
    program = "import time\ndef waiting_in_here(seconds):\n    time.sleep(seconds)\nprint('ready', flush=True)\nwaiting_in_here(120)\n"
    child = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout.readline() == "ready\n"
        stack = dump(child.pid)
        if stack.missing is not None and (tools.PTRACE.missing() or tools.GDB.missing() or tools.PY_SPY.missing()):
            pytest.skip(stack.missing)
        assert stack.ok, stack.missing
        assert "waiting_in_here" in stack.text, stack.text[-2000:]
    finally:
        bounded.kill_group(child.pid)
        child.wait(timeout=30)


def test_a_timed_out_run_kills_descendants_in_sessions_of_their_own() -> None:
    """As MPICH's Hydra starts each rank with setsid, outside mpiexec's process group."""
    seen: list[int] = []
    done = bounded.run(["bash", "-c", "setsid sleep 61 & wait"], 1.0, on_timeout=lambda g: seen.extend(bounded.descendants(g)))
    assert done.timed_out and seen, "the setsid child was not found below the command"
    assert not [pid for pid in seen if bounded.alive(pid)], "a descendant in its own session outlived the run"
