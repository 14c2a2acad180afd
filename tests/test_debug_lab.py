"""The debugging lab's seeded bugs: each passes the plain check, each is found by its tool, each fix is quiet.

For every realisation in ``haiend.debug.seeded``: the correctness check alone passes the buggy
version on the lab's default input (where that is deterministic), the tool the lab names reports
the seeded line (matched in its output), the fixed version keeps the tool quiet and the result
right, and no process the test started is left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from haiend.debug import bounded, tools
from haiend.debug.seeded import carried, deadlock, overrun, race, uninit
from haiend.kernels.stencil2d import numba_impl


@pytest.fixture(autouse=True)
def nothing_left_running():
    before = set(bounded.descendants(os.getpid()))  # a session's hub or kernel may be running already
    yield
    left = sorted(set(bounded.descendants(os.getpid())) - before)
    assert not left, f"processes started by the test are still running: {left}"


def _line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def exchange(comm, block, up, down):
    rows = block.shape[0] - 2
    comm.Sendrecv(block[rows], dest=down, sendtag=1, recvbuf=block[0], source=up, recvtag=1)
    comm.Sendrecv(block[1], dest=up, sendtag=2, recvbuf=block[rows + 1], source=down, recvtag=2)


FIXED_RESIDUAL = race.SOURCE.read_text().replace(
    "#pragma omp parallel for", "#pragma omp parallel for reduction(+: sum)"
)
FIXED_SCRATCH = uninit.SOURCE.read_text().replace(
    "    copy_edges(u0, out, ny, nx);\n",
    "    copy_edges(u0, out, ny, nx);\n    copy_edges(u0, scratch, ny, nx);\n",
)


def test_overrun_passes_the_check_and_boundscheck_finds_it():
    found = overrun.verdict()  # in this process, with Numba's default: no bounds checks
    assert found["passed"] and not found["passed_edges_once"], found
    found = overrun.run_checked()
    assert found.returncode == 1 and overrun.index_errors(found.output), found.output[-2000:]
    assert "sweep(src, dst)" in overrun.trim(found.output)


def test_overrun_fix_is_quiet():
    judged = overrun.judge(numba_impl.sweep)  # the curriculum's own sweep is the fix
    assert judged.holds, judged.problems


@pytest.mark.skipif(bool(tools.TSAN.missing()), reason=f"{tools.TSAN.missing()}")
def test_race_is_right_on_one_thread_and_thread_sanitizer_finds_it():
    assert race.value(race.run(race.build(), threads=1)) == race.reference()
    report = race.run(race.build(sanitize=True))
    update = _line_of(race.SOURCE, "sum += d * d")
    assert f"residual.c:{update} " in race.trim(report.output), report.output[-3000:]
    assert any("data race" in line and "residual.c" in line for line in race.races(report.output))


@pytest.mark.skipif(bool(tools.TSAN.missing()), reason=f"{tools.TSAN.missing()}")
def test_race_fix_is_quiet():
    judged = race.judge(FIXED_RESIDUAL, runs=10)
    assert judged.holds, judged.problems
    serial = race.judge(FIXED_RESIDUAL.replace("#pragma omp parallel for reduction(+: sum)", ""))
    assert any("no longer an OpenMP loop" in problem for problem in serial.problems), serial
    wrong = race.judge(race.SOURCE, runs=1)  # the check fails on the seeded bug
    assert any("ThreadSanitizer" in problem for problem in wrong.problems), wrong


@pytest.mark.skipif(bool(tools.VALGRIND.missing()), reason=f"{tools.VALGRIND.missing()}")
def test_uninitialised_scratch_passes_on_cold_edges_and_memcheck_finds_it():
    program = uninit.build()
    cold, steps = uninit.cold_inputs()
    result, _ = uninit.run(program, cold, steps)
    assert uninit.check(result, cold, steps) is None
    hot, hot_steps = uninit.hot_inputs()
    assert uninit.check(uninit.run(program, hot, hot_steps)[0], hot, hot_steps) is not None
    _, done = uninit.run(program, cold, steps, memcheck=True)
    report = uninit.trim(done.output)
    allocation = _line_of(uninit.SOURCE, "malloc(")
    assert uninit.error_count(done.output) >= 1
    assert "Uninitialised value was created by a heap allocation" in report, done.output[-3000:]
    assert f"stencil2d (stencil2d_scratch.c:{allocation})" in report, report


@pytest.mark.skipif(bool(tools.VALGRIND.missing()), reason=f"{tools.VALGRIND.missing()}")
def test_uninitialised_scratch_fix_is_quiet():
    judged = uninit.judge(FIXED_SCRATCH)
    assert judged.holds, judged.problems
    assert "ERROR SUMMARY: 0 errors" in judged.evidence


@pytest.mark.skipif(bool(deadlock.missing()), reason=f"{deadlock.missing()}")
def test_deadlock_runs_small_hangs_large_and_every_rank_waits_in_send():
    small = deadlock.run(deadlock.SMALL_NX, dump=False)
    assert small.verdict and small.verdict["passed"], small.finished.output[-2000:]
    hung = deadlock.run(deadlock.LARGE_NX)
    assert hung.finished.timed_out and hung.verdict is None
    if tools.missing(tools.PY_SPY, tools.PTRACE):
        pytest.skip(
            f"the deadlock was found, but no stack could be read: {tools.missing(tools.PY_SPY, tools.PTRACE)}"
        )
    send = _line_of(Path(deadlock.ring.__file__), "comm.Send(block[rows]")
    assert len(hung.stacks) == deadlock.RANKS
    for stack in hung.stacks:
        assert f"exchange (haiend/debug/seeded/ring.py:{send})" in deadlock.trim(stack), stack.text
        assert deadlock.waiting_in(stack).startswith(f"exchange, line {send}: comm.Send(")
    assert not [stack.pid for stack in hung.stacks if bounded.alive(stack.pid)], "a rank outlived the job"


@pytest.mark.skipif(bool(deadlock.missing()), reason=f"{deadlock.missing()}")
def test_deadlock_fix_finishes_above_the_eager_limit():
    judged = deadlock.judge(exchange)
    assert judged.holds, judged.problems


@pytest.mark.parametrize(
    ("module", "arguments", "says"),
    [
        ("haiend.debug.seeded.ring", ["--nx", "2"], "--nx of 3 or more"),
        (
            "haiend.debug.seeded.ring",
            ["--exchange-from", "no-such-file.py"],
            "no-such-file.py does not exist",
        ),
    ],
)
def test_bad_arguments_get_one_sentence_and_status_2(module, arguments, says):
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_carried_function_names_a_missing_function(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(carried.NotCarried, match="defines no function named exchange"):
        carried.load(empty, "exchange")


def test_a_missing_tool_is_not_run_and_says_why(monkeypatch):
    """Where the tool is missing, a judgement says so in one sentence instead of passing."""
    sentence = "valgrind is not installed here (Debian: apt-get install valgrind)."
    monkeypatch.setattr(uninit.tools, "missing", lambda *requirements: sentence)
    for judged in (uninit.judge(FIXED_SCRATCH), race.judge(FIXED_RESIDUAL)):
        assert judged.not_run == sentence and not judged.holds
    monkeypatch.setattr(deadlock, "missing", lambda: "no mpiexec was found: pip install mpich.")
    judged = deadlock.judge(exchange)
    assert judged.not_run and not judged.holds
