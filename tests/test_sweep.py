"""The feedback sweep: its decision rule (pure, exact), then whole loops run locally and on Slurm."""

import json
import os

import pytest

from haiend import records, refine, sweep
from haiend.errors import HaiendError

# --- the rule --------------------------------------------------------------------------------


def test_initial_grid_spans_a_factor_of_16_around_the_derived_value():
    assert refine.initial_grid(2048, 8, 4096) == [128, 512, 2048]
    assert refine.initial_grid(2048, 8, 1024) == [64, 256, 1024]  # from the matrix's width down
    # snapped to multiples of 8, at least lo; repeats merge
    assert refine.initial_grid(40, 8, 1024) == [8, 40]
    with pytest.raises(ValueError, match="lo <= hi"):
        refine.initial_grid(64, 16, 8)


def test_next_values_bisect_towards_the_minimum_on_a_log_scale():
    # best in the middle: geometric midpoints to both neighbours
    assert refine.next_values({128: 3.0, 512: 1.0, 2048: 2.0}, 8, 4096) == [256, 1024]
    # best at the lower edge: look below it (half), and towards the next one up
    assert refine.next_values({128: 1.0, 512: 2.0, 2048: 3.0}, 8, 4096) == [64, 256]
    # best at the upper edge of the grid but below hi: twice it
    assert refine.next_values({128: 3.0, 512: 2.0, 1024: 1.0}, 8, 4096) == [728, 2048]
    # at the bound nothing lies beyond: only the inner midpoint
    assert refine.next_values({512: 2.0, 1024: 1.0}, 8, 1024) == [728]
    # ties go to the smaller value
    assert refine.best({64: 1.0, 32: 1.0, 128: 2.0}) == 32


def test_next_values_converge_when_nothing_untried_lies_between():
    assert refine.next_values({8: 2.0, 16: 1.0, 24: 3.0}, 8, 1024) == []
    assert refine.next_values({8: 1.0, 16: 2.0}, 8, 16) == []


def test_a_unimodal_response_is_found_with_fewer_evaluations_than_the_grid():
    def cost(nb):  # one minimum at 192, on a log scale
        import math

        return (math.log2(nb) - math.log2(192)) ** 2

    measured = {v: cost(v) for v in refine.initial_grid(2048, 8, 4096)}
    for _ in range(10):
        proposed = refine.next_values(measured, 8, 4096)
        if not proposed:
            break
        measured.update({v: cost(v) for v in proposed})
    assert refine.best(measured) == 192
    assert len(measured) < len(range(8, 4097, 8)) // 20  # the grid at the final spacing: 512 values


# --- whole loops -----------------------------------------------------------------------------


def check_finished(result, workdir, size):
    state = result.state
    assert result.finished and result.failed == []
    first = state["rounds_run"][0]["values"]
    assert first == refine.initial_grid(sweep.derived_block(), sweep.STEP, size[2], sweep.STEP)
    measured = {int(v): t for v, t in state["measured_s"].items()}
    for before, after in zip(state["rounds_run"], state["rounds_run"][1:], strict=False):
        seen = {v: measured[v] for r in state["rounds_run"][: before["round"]] for v in r["values"]}
        assert after["values"] == refine.next_values(seen, sweep.STEP, size[2], sweep.STEP)
    assert state["best"]["value"] == refine.best(measured)
    # one record per element, each naming its block in its flags
    loaded = records.load(workdir / "results", kernel="matmul.float64")
    assert loaded.problems == []
    assert sorted(int(r.details["cflags"].rsplit("-DNB=", 1)[1]) for r in loaded.records) == sorted(measured)
    assert all(r.size == list(size) and r.variant == "c" for r in loaded.records)


@pytest.mark.slow
def test_local_sweep_runs_rounds_of_real_benches(tmp_path, slurm_profile):
    workdir, size = tmp_path / "sweep", (32, 256, 512)
    result = sweep.run(
        slurm_profile(tmp_path / "unused"), workdir, executor="local", size="32x256x512", rounds=2
    )
    check_finished(result, workdir, size)
    assert len(result.state["rounds_run"]) in (1, 2)
    assert (workdir / "round-1.sbatch").read_text().count("-DNB=") == len(
        result.state["rounds_run"][0]["values"]
    )
    assert "best NB = " in result.summary()


@pytest.mark.slow
def test_a_failed_element_stops_the_local_sweep_and_is_named(tmp_path, slurm_profile):
    profile = slurm_profile(tmp_path / "unused")
    data = json.loads(profile.read_text())
    data["activate"] = '[ "$SLURM_ARRAY_TASK_ID" != 1 ] || exit 7; ' + data["activate"]
    profile.write_text(json.dumps(data))
    result = sweep.run(profile, tmp_path / "w", executor="local", size="16x64x512", rounds=3)
    assert not result.finished and len(result.state["rounds_run"]) == 1
    (failed,) = result.failed
    assert (failed.task, failed.exit_code) == (1, 7)
    assert "element 1 (job 1_1) FAILED with exit code 7: see " in result.summary()
    kept = records.load(tmp_path / "w" / "results", kernel="matmul.float64").records
    assert len(kept) == len(result.state["rounds_run"][0]["values"]) - 1


def test_bad_input_is_one_sentence(tmp_path, slurm_profile):
    with pytest.raises(HaiendError, match="executor must be slurm or local"):
        sweep.run(slurm_profile(tmp_path / "unused"), tmp_path / "w", executor="cloud")
    assert not (tmp_path / "w").exists()  # nothing written
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / sweep.STATE).write_text("{}")
    with pytest.raises(HaiendError, match="holds a sweep already"):
        sweep.run(slurm_profile(tmp_path / "unused"), tmp_path / "w", executor="local")


@pytest.mark.slow
def test_slurm_sweep_chains_dependent_arrays(local_slurm, tmp_path, slurm_profile):
    workdir, size = tmp_path / "sweep", (32, 256, 512)
    result = sweep.run(
        slurm_profile(tmp_path / "unused"),
        workdir,
        executor="slurm",
        size="32x256x512",
        rounds=2,
        env=local_slurm.env,
        timeout=240,
    )
    check_finished(result, workdir, size)
    rounds = result.state["rounds_run"]
    # every round after the first was submitted by the decide job of the one before (afterok)
    for r in rounds:
        decide = local_slurm.command("scontrol", "show", "job", "--oneliner", r["decide_job"]).stdout
        assert "JobName=haiend-sweep-decide" in decide and "JobState=COMPLETED" in decide
    logs = sorted(workdir.glob("decide-*.out"))
    assert len(logs) == len(rounds)
    states = local_slurm.command("sacct", "-c", "-n", "-P", "--format=JobName,State").stdout
    assert states.count("haiend-sweep-decide|COMPLETED") >= len(rounds)


@pytest.mark.slow
def test_slurm_cancels_the_next_step_after_a_failed_element(local_slurm, tmp_path, slurm_profile):
    profile = slurm_profile(tmp_path / "unused")
    data = json.loads(profile.read_text())
    data["activate"] = '[ "$SLURM_ARRAY_TASK_ID" != 0 ] || exit 5; ' + data["activate"]
    profile.write_text(json.dumps(data))
    result = sweep.run(
        profile,
        tmp_path / "w",
        executor="slurm",
        size="16x64x512",
        rounds=3,
        env=local_slurm.env,
        timeout=120,
    )
    assert not result.finished
    (failed,) = result.failed
    assert (failed.task, failed.state, failed.exit_code) == (0, "FAILED", 5)
    decide = local_slurm.command(
        "scontrol", "show", "job", "--oneliner", result.state["rounds_run"][0]["decide_job"]
    ).stdout
    assert "JobState=CANCELLED" in decide
    kept = records.load(tmp_path / "w" / "results", kernel="matmul.float64").records
    assert len(kept) == len(result.state["rounds_run"][0]["values"]) - 1
    assert os.path.exists(failed.log)


@pytest.mark.slow
def test_cli_runs_one_round_locally_and_rejects_bad_input(tmp_path, slurm_profile):
    import subprocess
    import sys

    profile = slurm_profile(tmp_path / "unused")

    def haiend(*args):
        return subprocess.run(
            [sys.executable, "-m", "haiend", "sweep", str(profile), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = haiend(
        "--executor",
        "local",
        "--workdir",
        str(tmp_path / "w"),
        "--size",
        "16x64x32",
        "--rounds",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["rounds_run"][0]["values"] == [8, 32] and state["failed"] == []
    assert state["best"]["value"] in (8, 32) and len(state["rounds_run"]) == 1
    for args, words in [(["--rounds", "0"], "--rounds must be positive"), (["--size", "0x1x1"], "size")]:
        bad = haiend("--executor", "local", "--workdir", str(tmp_path / "x"), *args)
        assert bad.returncode == 2 and words in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, (
            bad.stderr
        )
    assert not (tmp_path / "x").exists()
