"""A deadlocked MPI exchange is caught by a time limit with every rank's stack in Send; the fixes finish."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haiend.debug import hung, tools
from haiend.machine import mpiexec_path

pytestmark = pytest.mark.skipif(mpiexec_path() is None, reason="no mpiexec was found: pip install mpi4py mpich")
EXCHANGE = "haiend.debug.mpi_exchange"


def live_processes_running(module: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line names ``module``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if module.encode() in argv and state != "Z":
            found.append(int(entry))
    return found


@pytest.fixture
def nothing_left_running():
    yield
    assert live_processes_running(EXCHANGE) == [] and live_processes_running("haiend.debug.mpi_eager") == []


def test_the_eager_limit_is_where_the_exchange_starts_to_hang(nothing_left_running) -> None:
    job = hung.run_job("haiend.debug.mpi_eager", 2, timeout_s=30)
    assert job.finished.returncode == 0, job.finished.output
    fields = dict(item.split("=") for item in job.finished.stdout.split())
    eager = int(fields["eager_max"])
    assert int(fields["rendezvous_min"]) == eager + 1
    fits = hung.run_job(EXCHANGE, 2, ["blocking", str(eager)], timeout_s=20)
    assert not fits.hung and f"exchanged {eager} bytes" in fits.finished.stdout


@pytest.mark.skipif(tools.missing(tools.PY_SPY, tools.PTRACE) is not None, reason=str(tools.missing(tools.PY_SPY, tools.PTRACE)))
def test_a_deadlock_is_caught_by_the_time_limit_with_every_rank_in_send(nothing_left_running) -> None:
    job = hung.run_job(EXCHANGE, 3, ["blocking", "100000"], timeout_s=3)
    assert job.hung and job.finished.seconds < 30
    assert len(job.ranks) == 3, job.ranks
    for rank in job.ranks:
        assert rank.stack.ok, rank.stack.missing
        assert rank.innermost is not None and rank.innermost[0] == "exchange"
        assert rank.source.startswith("comm.Send("), rank.stack.text
    assert sorted(rank.local("rank") for rank in job.ranks) == ["0", "1", "2"]


@pytest.mark.parametrize("method", ["sendrecv", "nonblocking"])
def test_the_fixed_exchange_finishes(method: str, nothing_left_running) -> None:
    job = hung.run_job(EXCHANGE, 3, [method, "100000"], timeout_s=30)
    assert not job.hung and job.finished.returncode == 0 and "exchanged 100000 bytes" in job.finished.stdout


def test_mpich_names_the_error_class_of_a_bad_argument() -> None:
    job = hung.run_job("haiend.debug.mpi_mistakes", 2, ["bad-rank"], timeout_s=30)
    assert not job.hung and "rank 0: MPI_ERR_RANK: Invalid rank" in job.finished.stdout, job.finished.output


def test_an_unknown_stack_tool_is_one_sentence() -> None:
    from haiend.errors import HaiendError

    with pytest.raises(HaiendError, match="unknown stack tool 'perf'"):
        hung.run_job(EXCHANGE, 2, ["sendrecv", "8"], dump="perf")


@pytest.mark.slow  # gdb reads each rank's symbols: seconds per rank
@pytest.mark.skipif(tools.missing(tools.GDB, tools.PTRACE) is not None, reason=str(tools.missing(tools.GDB, tools.PTRACE)))
def test_gdb_shows_the_mpi_call_under_the_python_line(nothing_left_running) -> None:
    job = hung.run_job(EXCHANGE, 2, ["blocking", "100000"], timeout_s=3, dump="gdb")
    assert job.hung and len(job.ranks) == 2
    for rank in job.ranks:
        assert rank.stack.ok and "PMPI_Send" in rank.stack.text, rank.stack.text[-2000:]
