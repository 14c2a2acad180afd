"""A real Slurm (haiend.localslurm): scripts from ``haiend slurm`` submitted with sbatch, run, and
their records, ``sacct -c`` and ``haiend jobs`` checked. Skipped, with why, where Slurm cannot
start (not root, or the Debian packages missing: ``./quickstart test`` installs them)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haiend import jobs, localslurm, records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The results folder every job writes to, as on a cluster: the ceilings are measured once."""
    return tmp_path_factory.mktemp("shared results")


@pytest.fixture
def profile_for(slurm_profile):
    def write(results, **changes):
        sizes = ["65536", "131072", "262144", "524288"]
        return slurm_profile(results, **{"variants": ["numpy"], "sweep_sizes": sizes, **changes})

    return write


def haiend(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "haiend", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def submit(cluster, script, cwd):
    env = {**os.environ, **cluster.env, "HAIEND_SIZE": "quick"}
    done = subprocess.run(
        ["sbatch", "--parsable", str(script)], capture_output=True, text=True, cwd=cwd, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(";")[0]


def wait_for(cluster, job_id, timeout=150):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        elements = jobs.show(job_id, cluster.env)
        if all(e.finished for e in elements):
            return elements
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish in {timeout} s: {jobs.summary(jobs.show(job_id, cluster.env))}")


def sacct_states(cluster):
    done = cluster.command("sacct", "-c", "-n", "-P", "--format=JobID,State,ExitCode")
    assert done.returncode == 0, done.stderr
    return {line.split("|")[0]: line.split("|")[1:] for line in done.stdout.splitlines() if line.strip()}


def test_array_of_four_benches_runs_and_leaves_one_record_each(local_slurm, tmp_path, shared, profile_for):
    profile = profile_for(shared)
    script = tmp_path / "sweep.sbatch"
    done = haiend("slurm", str(profile), "stream.triad", "--array", "--output", str(script))
    assert done.returncode == 0, done.stderr
    started = time.monotonic()
    elements = wait_for(local_slurm, submit(local_slurm, script, tmp_path))
    print(f"array of 4 on the local Slurm: {time.monotonic() - started:.1f} s")
    assert [e.task for e in elements] == [0, 1, 2, 3]
    assert all(e.state == "COMPLETED" and e.exit_code == 0 for e in elements), jobs.summary(elements)
    assert all(Path(e.log).is_file() and Path(e.log).parent == tmp_path for e in elements)
    # the ceilings were measured at most once, the other elements waited (flock) and read the cache
    assert sum("measuring memory bandwidth" in Path(e.log).read_text() for e in elements) <= 1

    loaded = records.load(shared, kernel="stream.triad")
    assert loaded.problems == []
    mine = [r for r in loaded.records if r.size[0] in (65536, 131072, 262144, 524288)]
    assert sorted(r.size[0] for r in mine) == [65536, 131072, 262144, 524288]
    assert all(r.variant == "numpy" and r.correct for r in mine)
    checked = haiend("results", "validate", str(shared))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    states = sacct_states(local_slurm)
    assert all(states[e.job_id] == ["COMPLETED", "0:0"] for e in elements), states
    assert haiend("jobs", elements[0].array_job_id, env={**os.environ, **local_slurm.env}).returncode == 0


def test_single_job_runs_bench_and_report(local_slurm, tmp_path, shared, profile_for):
    profile = profile_for(shared)
    script = tmp_path / "job.sbatch"
    assert (
        haiend("slurm", str(profile), "stream.triad", "--size", "100000", "--output", str(script)).returncode
        == 0
    )
    (element,) = wait_for(local_slurm, submit(local_slurm, script, tmp_path))
    assert element.state == "COMPLETED" and element.task is None, element.describe()
    log = Path(element.log).read_text()
    assert "stream.triad" in log and "100000" in log  # the report's table at the end
    (record,) = [r for r in records.load(shared).records if r.size == [100000]]
    assert record.variant == "numpy" and record.correct
    assert sacct_states(local_slurm)[element.job_id] == ["COMPLETED", "0:0"]


def test_failed_element_is_named_and_the_others_records_kept(local_slurm, tmp_path, shared, profile_for):
    profile = profile_for(shared, sweep_sizes=["32768", "999999999999"])
    script = tmp_path / "sweep.sbatch"
    assert haiend("slurm", str(profile), "stream.triad", "--array", "--output", str(script)).returncode == 0
    elements = wait_for(local_slurm, submit(local_slurm, script, tmp_path))
    ok, bad = elements
    assert ok.state == "COMPLETED" and bad.state == "FAILED" and bad.exit_code == 2
    assert "too large" in Path(bad.log).read_text() or "memory" in Path(bad.log).read_text()
    shown = haiend("jobs", bad.array_job_id, env={**os.environ, **local_slurm.env})
    assert shown.returncode == 1
    first = shown.stdout.splitlines()[0]
    assert first == f"element 1 (job {bad.array_job_id}_1) FAILED with exit code 2: see {bad.log}", (
        shown.stdout
    )
    assert "1 completed, 1 failed" in shown.stdout
    assert [r.size for r in records.load(shared, kernel="stream.triad").records].count([32768]) == 1
    assert sacct_states(local_slurm)[bad.job_id] == ["FAILED", "2:0"]


def test_unknown_job_is_one_sentence(local_slurm):
    done = haiend("jobs", "987654", env={**os.environ, **local_slurm.env})
    assert done.returncode == 2 and "987654" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_unavailable_says_why_and_how(monkeypatch):
    monkeypatch.setattr(localslurm, "_which", lambda program: None if program == "slurmd" else "/bin/true")
    why = localslurm.unavailable()
    assert why.startswith("Slurm cannot start here: slurmd not installed") and "apt-get install" in why


def test_scontrol_lines_parse():
    line = (
        "JobId=3 ArrayJobId=1 ArrayTaskId=1 JobName=haiend-x UserId=root(0) JobState=FAILED Reason=NonZeroExitCode "
        "ExitCode=3:0 AllocNode:Sid=localhost:32045 StdErr=/tmp/a-1_1.out StdIn=/dev/null StdOut=/tmp/a-1_1.out"
    )
    (element,) = jobs.parse(line + "\n")
    assert (element.label, element.state, element.exit_code, element.log) == (
        "1_1",
        "FAILED",
        3,
        "/tmp/a-1_1.out",
    )
    assert element.describe() == "element 1 (job 1_1) FAILED with exit code 3: see /tmp/a-1_1.out"


def test_jobs_needs_a_job_id():
    done = haiend("jobs", "12;rm")
    assert done.returncode == 2 and "is not a Slurm job id" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout
