"""The MPI demos (haiend.mpi_demos) run under mpiexec -n 2 at tiny sizes and print the JSON they promise."""

import subprocess
import sys

import pytest

from haiend import mpi_demos
from haiend.machine import mpiexec_path

MPIEXEC = mpiexec_path()
needs_mpiexec = pytest.mark.skipif(
    MPIEXEC is None, reason="no mpiexec beside this Python or on PATH: pip install mpi4py mpich"
)


def test_sizes_are_log_spaced_and_include_both_ends():
    assert mpi_demos.powers_of_two(8, 64) == [8, 16, 32, 64]
    assert mpi_demos.powers_of_two(8, 32, per_octave=2) == [8, 11, 16, 23, 32]
    assert mpi_demos.powers_of_two(8, 100) == [8, 16, 32, 64, 100]
    with pytest.raises(ValueError):
        mpi_demos.powers_of_two(0, 8)


@needs_mpiexec
@pytest.mark.parametrize("pickle", [False, True], ids=["buffer", "pickle"])
def test_pingpong_json(pickle):
    args = ["--min-bytes", "8", "--max-bytes", "1024", "--repeats", "3"] + (["--pickle"] if pickle else [])
    rows = mpi_demos.launch("pingpong", 2, args, timeout=120)
    assert [r["bytes"] for r in rows] == [8, 16, 32, 64, 128, 256, 512, 1024]
    for row in rows:
        assert set(row) >= {"bytes", "latency_s", "bandwidth_gb_s", "path"}
        assert row["path"] == ("pickle" if pickle else "buffer")
        assert row["latency_s"] > 0
        assert row["bandwidth_gb_s"] == pytest.approx(row["bytes"] / row["latency_s"] / 1e9)


@needs_mpiexec
def test_pingpong_needs_two_ranks():
    done = subprocess.run(
        [MPIEXEC, "-n", "1", sys.executable, "-m", "haiend.mpi_demos.pingpong", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "at least 2 ranks" in done.stderr + done.stdout


@needs_mpiexec
@pytest.mark.parametrize("op", ["allreduce", "allgather", "bcast", "reduce"])
@pytest.mark.parametrize("pickle", [False, True], ids=["buffer", "pickle"])
def test_collectives_json(op, pickle):
    args = ["--op", op, "--max-bytes", "64", "--repeats", "2"] + (["--pickle"] if pickle else [])
    rows = mpi_demos.launch("collectives", 2, args, timeout=120)
    assert [r["bytes"] for r in rows] == [8, 16, 32, 64]
    assert all(r["op"] == op and r["ranks"] == 2 and r["time_s"] > 0 for r in rows)
    if op == "allgather":
        assert all(r["received_bytes"] == (2 - 1) * r["bytes"] for r in rows)


@needs_mpiexec
def test_allgather_receives_p_minus_one_contributions():
    rows = mpi_demos.launch(
        "collectives", 3, ["--op", "allgather", "--max-bytes", "16", "--repeats", "2"], timeout=120
    )
    assert [r["received_bytes"] for r in rows] == [2 * 8, 2 * 16]


def test_chain_neighbours_open_and_periodic():
    from haiend.mpi_demos.chain import neighbours

    null = -2
    assert [neighbours(r, 3, False, null) for r in range(3)] == [(1, null), (2, 0), (null, 1)]
    assert [neighbours(r, 3, True, null) for r in range(3)] == [(1, 2), (2, 0), (0, 1)]


@needs_mpiexec
@pytest.mark.parametrize("method", ["send-recv", "sendrecv"])
def test_open_chain_completes_and_reports_every_rank(method):
    rows = mpi_demos.launch("chain", 3, ["--bytes", "4096", "--method", method], timeout=120)
    assert [r["rank"] for r in rows] == [0, 1, 2]
    assert all(r["done_s"] >= r["send_s"] >= 0 and r["ranks"] == 3 and not r["periodic"] for r in rows)


@needs_mpiexec
def test_periodic_ring_of_blocking_sends_deadlocks_and_is_killed_whole():
    import psutil

    started = __import__("time").time() - 1
    with pytest.raises(subprocess.TimeoutExpired):
        mpi_demos.launch("chain", 2, ["--bytes", str(64 * 2**20), "--periodic"], timeout=8)
    left = []
    for proc in psutil.process_iter(["pid", "cmdline", "create_time", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if (
            proc.info["create_time"] >= started
            and "haiend.mpi_demos.chain" in cmd
            and proc.info["status"] != "zombie"
        ):
            left.append((proc.info["pid"], cmd))
    assert not left, f"ranks left running after the timeout: {left}"


@needs_mpiexec
def test_halo_methods_agree_and_report():
    rows = mpi_demos.launch("halo", 2, ["--nx", "16", "--rows", "4", "--steps", "3"], timeout=180)
    assert [r["method"] for r in rows] == ["sendrecv", "nonblocking", "overlap"]
    assert all(r["time_per_step_s"] > 0 and r["exchange_bytes"] == 2 * 16 * 8 for r in rows)


@needs_mpiexec
def test_imbalance_gives_the_last_rank_the_most_work_and_the_first_the_longest_wait():
    rows = mpi_demos.launch("imbalance", 2, ["--bodies", "64", "--steps", "2"], timeout=180)
    assert [r["rank"] for r in rows] == [0, 1]
    assert rows[1]["bodies"] == 2 * rows[0]["bodies"]
    assert rows[1]["compute_s"] > rows[0]["compute_s"]
    assert rows[0]["wait_s"] > rows[1]["wait_s"]


def test_balanced_split_keeps_the_total_work():
    from haiend.mpi_demos.imbalance import bodies_per_rank

    unequal, balanced = bodies_per_rank(100, 3, False), bodies_per_rank(100, 3, True)
    assert unequal == [100, 200, 300] and len(set(balanced)) == 1
    assert (
        abs(sum(n * n for n in balanced) - sum(n * n for n in unequal)) / sum(n * n for n in unequal) < 0.01
    )


def test_spread_runs_from_one_to_the_cores_and_stays_short():
    from haiend.threads import spread

    assert spread(1) == [1] and spread(2) == [1, 2] and spread(6) == [1, 2, 4, 6]
    big = spread(256, points=7)
    assert big[0] == 1 and big[-1] == 256 and len(big) == 7 and big == sorted(set(big))
    with pytest.raises(ValueError):
        spread(0)


def test_unknown_demo_is_refused():
    with pytest.raises(ValueError, match="unknown demo"):
        mpi_demos.launch("nosuch")
