"""Building C at first use: cached by source and flags, clear errors, and a clean skip without a compiler."""

import json
import os
import subprocess
import sys

import pytest

from haiend import bench, cbuild, requirements, tables
from haiend.errors import HaiendError
from haiend.kernels import stream

needs_cc = pytest.mark.skipif(
    requirements.c_compiler() is None, reason="no C compiler (cc, gcc or $CC): install gcc to test C builds"
)

SOURCE = "int add(int a, int b) { return a + b; }\n"


@pytest.fixture
def counted_compiles(monkeypatch):
    """Count the compiler runs (cache hits do not compile)."""
    runs = []
    original = cbuild._compile

    def compile_(command, target, name):
        runs.append(command)
        return original(command, target, name)

    monkeypatch.setattr(cbuild, "_compile", compile_)
    return runs


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "add.c"
    path.write_text(SOURCE)
    return path


@needs_cc
def test_build_loads_and_caches(source, counted_compiles, isolated_dirs):
    first = cbuild.build(source, ("-O1",))
    assert first.library.add(2, 3) == 5
    assert first.path.parent == cbuild.cache_dir()
    assert first.path.is_relative_to(isolated_dirs.parent / "cache")
    assert first.flags == ("-O1",) and "-O1" in first.command and str(source) in first.command_line
    assert len(counted_compiles) == 1
    built_at = first.path.stat().st_mtime_ns

    second = cbuild.build(source, ("-O1",))
    assert len(counted_compiles) == 1  # nothing compiled the second time
    assert second.path == first.path and second.path.stat().st_mtime_ns == built_at
    assert second.library.add(40, 2) == 42
    assert [p.name for p in cbuild.cache_dir().iterdir()] == [first.path.name]  # no temp files left


@needs_cc
def test_other_flags_or_source_build_another_library(source, counted_compiles):
    o1 = cbuild.build(source, ("-O1",))
    o2 = cbuild.build(source, ("-O2",))
    assert o2.path != o1.path
    assert len(counted_compiles) == 2
    assert o1.path.exists() and o2.path.exists()
    source.write_text(SOURCE.replace("a + b", "a + b + 1"))
    changed = cbuild.build(source, ("-O1",))
    assert changed.path != o1.path
    assert changed.library.add(2, 3) == 6
    assert len(counted_compiles) == 3


@needs_cc
def test_default_flags_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(cbuild.ENV_FLAGS, raising=False)
    assert cbuild.default_flags() == cbuild.DEFAULT_FLAGS
    monkeypatch.setenv(cbuild.ENV_FLAGS, "-O2 -funroll-loops")
    assert cbuild.default_flags() == ("-O2", "-funroll-loops")


@needs_cc
def test_compile_error_raises_with_the_compilers_message(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int broken(void) { return undefined_name; }\n")
    with pytest.raises(HaiendError) as raised:
        cbuild.build(bad, ("-O1",))
    message = str(raised.value)
    assert "compiling bad.c failed" in message
    assert "undefined_name" in message and "error:" in message
    assert "\n" not in message
    assert not cbuild.cache_dir().exists() or list(cbuild.cache_dir().iterdir()) == []  # no half-built file


@pytest.fixture
def fresh_probes():
    """Requirements are probed once per process: forget the answers before and after the test."""
    requirements._cached_probe.cache_clear()
    yield
    requirements._cached_probe.cache_clear()


def test_no_compiler_is_a_clean_skip_with_its_reason(monkeypatch, fresh_probes, source):
    monkeypatch.setenv("CC", "no-such-compiler-haiend")
    assert requirements.c_compiler() is None
    availability = stream.triad.variants["c"].available()
    assert not availability
    assert "CC=no-such-compiler-haiend" in availability.reason
    assert "was not found" in availability.reason
    with pytest.raises(HaiendError, match="no C compiler"):
        cbuild.build(source)

    outcomes = bench.run("stream.triad", variants=["c"], quick=True, save=False)
    assert [(o.variant, o.status) for o in outcomes] == [("c", "skipped")]
    assert outcomes[0].reason == availability.reason
    assert outcomes[0].record is None and outcomes[0].timing is None
    table = tables.results(outcomes)
    assert table.rows == [] and len(table.notes) == 1  # no row of blanks: one line under the table
    assert table.notes[0].startswith("Not run here: c:") and "CC=no-such-compiler-haiend" in table.notes[0]


def test_no_compiler_on_the_command_line(isolated_dirs):
    env = {**os.environ, "CC": "no-such-compiler-haiend"}
    done = subprocess.run(
        [sys.executable, "-m", "haiend", "bench", "stream.triad", "--variants", "c", "--quick", "--no-roof",
         "--json"],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (outcome,) = json.loads(done.stdout)
    assert outcome["status"] == "skipped"
    assert "CC=no-such-compiler-haiend" in outcome["reason"]
    assert "skipped: " in done.stderr
    assert not isolated_dirs.exists() or not list(isolated_dirs.glob("*/*/*.json"))  # nothing recorded
