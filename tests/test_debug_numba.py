"""Numba's checks: the seeded out-of-bounds read is silent without boundscheck, an IndexError with
it (naming the index with NUMBA_FULL_TRACEBACKS), and a debug build checks bounds too."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from haiend.debug import bounded, numba_builds
from helpers import live_children

pytest.importorskip("numba", reason="Numba is not installed: pip install numba (the [all] extra has it)")


@pytest.fixture(autouse=True)
def nothing_left_running():
    yield
    assert live_children() == [], "a child process outlived its test"


def run_module(*args: str, **env: str):
    return bounded.run(
        [sys.executable, "-m", "haiend.debug.numba_builds", *args], 120, env={**os.environ, **env}
    )


def test_without_boundscheck_the_read_past_the_end_takes_the_neighbours_value() -> None:
    row, neighbour = numba_builds.row_and_neighbour(8)
    out = numba_builds.compiled(numba_builds.smooth_one_too_far, "normal")(row, np.zeros(8))
    assert (
        out[-1] == (row[-2] + row[-1] + neighbour[0]) / 3.0
    )  # no error: the neighbour's first value was read


def test_boundscheck_raises_index_error_and_the_fixed_kernel_passes_it() -> None:
    row, _ = numba_builds.row_and_neighbour(8)
    with pytest.raises(IndexError, match="index is out of bounds"):
        numba_builds.compiled(numba_builds.smooth_one_too_far, "boundscheck")(row, np.zeros(8))
    fixed = numba_builds.compiled(numba_builds.smooth, "boundscheck")(row, np.zeros(8))
    np.testing.assert_allclose(fixed[1:-1], (row[:-2] + row[1:-1] + row[2:]) / 3.0)


def test_a_debug_build_alone_does_not_check_bounds() -> None:
    row, neighbour = numba_builds.row_and_neighbour(8)
    out = numba_builds.compiled(numba_builds.smooth_one_too_far, "debug")(row, np.zeros(8))
    assert out[-1] == (row[-2] + row[-1] + neighbour[0]) / 3.0


def test_the_environment_switches_it_on_for_every_function_and_names_the_index() -> None:
    checked = run_module("seeded", NUMBA_BOUNDSCHECK="1", NUMBA_FULL_TRACEBACKS="1")
    assert checked.returncode == 1 and "IndexError: index is out of bounds" in checked.stderr, checked.output[
        -2000:
    ]
    assert "index 8 is out of bounds for axis 0 with size 8" in checked.stdout


def test_a_timed_debug_build_runs_with_the_settings_it_was_given() -> None:
    done = run_module("debug", "1000", "2", NUMBA_OPT="0", NUMBA_EXTEND_VARIABLE_LIFETIMES="1")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["best"] > 0 and result["settings"] == {
        "NUMBA_OPT": 0,
        "NUMBA_EXTEND_VARIABLE_LIFETIMES": True,
    }


def test_bad_arguments_get_the_usage_and_status_2() -> None:
    done = run_module("fast", "10")
    assert done.returncode == 2 and done.stderr.startswith("usage:") and "Traceback" not in done.stderr
