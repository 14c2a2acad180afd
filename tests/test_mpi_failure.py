"""Under mpiexec, an exception on one rank ends the whole job quickly, with that rank's message."""

import subprocess
import sys
import textwrap
import time

import pytest

from haiend.machine import mpiexec_path

MPIEXEC = mpiexec_path()
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install mpi4py mpich")

FAILING_RANK = textwrap.dedent(
    """
    import sys
    from haiend import cli, mpi

    def fail_on_rank_one(args):
        if mpi.world().Get_rank() == 1:
            raise RuntimeError("rank 1 failed on purpose")
        mpi.world().Barrier()  # the other ranks wait here for a rank that will never come
        return 0

    cli.cmd_list = fail_on_rank_one
    sys.exit(cli.main(["list"]))
    """
)


def test_an_exception_on_one_rank_stops_every_rank(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(FAILING_RANK)
    start = time.monotonic()
    result = subprocess.run(
        [MPIEXEC, "-n", "3", sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "rank 1 failed on purpose" in result.stderr + result.stdout
    assert elapsed < 30, f"the job took {elapsed:.0f} s to stop"


def test_bad_input_under_mpiexec_exits_2_on_every_rank(tmp_path):
    result = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "haiend", "bench", "nosuch", "--no-save"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown kernel 'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr
