"""The CPU set and cgroup quota a run had: how many threads it may use, and what its record says."""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import pytest

from haiend import records, threads
from haiend.records import schemas


def _cgroup(tmp_path: Path, limits: dict[str, str]) -> tuple[Path, list[Path]]:
    """A cgroup v2 tree with ``cpu.max`` files, and a /proc/self/cgroup naming its deepest folder."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory\n")
    for folder, limit in limits.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "cpu.max").write_text(limit + "\n")
    own = tmp_path / "proc-self-cgroup"
    own.write_text(f"0::/{max(limits, key=len)}\n")
    return own, [tmp_path / "absent", root]


@pytest.mark.parametrize(
    ("limits", "cores"),
    [
        ({"kubepods/pod1": "max 100000"}, None),
        ({"kubepods/pod1": "150000 100000"}, 1.5),
        ({"kubepods": "200000 100000", "kubepods/pod1": "max 100000"}, 2.0),
        ({"kubepods": "400000 100000", "kubepods/pod1": "50000 100000"}, 0.5),
        ({"kubepods/pod1": "not a limit"}, None),
    ],
)
def test_the_smallest_quota_on_the_way_up_counts(tmp_path: Path, limits: dict[str, str], cores) -> None:
    own, roots = _cgroup(tmp_path, limits)
    assert threads.cpu_quota(own, roots) == cores


def test_no_cgroup_v2_means_no_quota(tmp_path: Path) -> None:
    own = tmp_path / "cgroup"
    own.write_text("4:memory:/user.slice\n")  # cgroup v1 only
    assert threads.cpu_quota(own, [tmp_path]) is None
    assert threads.cpu_quota(tmp_path / "missing", [tmp_path]) is None


def test_a_quota_caps_the_threads_a_run_uses(monkeypatch) -> None:
    monkeypatch.setattr(threads, "cpu_set", lambda: list(range(64)))
    monkeypatch.setattr(threads, "cpu_quota", lambda: 2.5)
    assert threads.available() == 2
    monkeypatch.setattr(threads, "cpu_quota", lambda: 0.25)
    assert threads.available() == 1
    monkeypatch.setattr(threads, "cpu_quota", lambda: None)
    assert threads.available() == 64


@pytest.mark.parametrize(
    ("cpus", "text"), [([0], "0"), ([3, 0, 1, 2], "0-3"), ([0, 1, 2, 3, 8, 10, 11], "0-3,8,10-11"), ([], "")]
)
def test_cpu_list_is_the_kernels_format(cpus: list[int], text: str) -> None:
    assert threads.cpu_list(cpus) == text


def test_a_record_carries_its_cpu_set_and_it_validates() -> None:
    run = records.run_context("haiend bench stream")
    assert run["cpu_set"] == threads.cpu_list(os.sched_getaffinity(0))
    assert run["cpu_quota"] is None or run["cpu_quota"] > 0
    assert isinstance(run["runnable_at_start"], int) and run["runnable_at_start"] >= 0
    schema = schemas.schema("record", 3)["properties"]["run"]
    jsonschema.validate(run, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**run, "cpu_set": "zero to three"}, schema)
