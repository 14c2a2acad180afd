"""The ``haiend`` command, run as a learner runs it: in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

from haiend import machine, records, sizes
from haiend.errors import HaiendError


def haiend(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "haiend", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def written_files(folder):
    return sorted(str(p) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_machine():
    done = haiend("machine")
    assert done.returncode == 0, done.stderr
    assert machine.machine_id() in done.stdout
    assert "CPU" in done.stdout and "caches" in done.stdout


def test_machine_json():
    done = haiend("machine", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["machine_id"] == machine.machine_id()
    assert "caches" in info and "performance_environment" in info


def test_list():
    done = haiend("list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["kernel", "variant", "runs"]
    for operation in ("copy", "scale", "add", "triad"):
        assert any(line.split()[:3] == [f"stream.{operation}", "numpy", "yes"] for line in lines)


def test_bench_then_report(isolated_dirs):
    done = haiend("bench", "stream.triad", "--quick", "--variants", "numpy,numba,c", "--no-roof", "--json")
    assert done.returncode == 0, done.stderr
    outcomes = {o["variant"]: o for o in json.loads(done.stdout)}
    assert list(outcomes) == ["numpy", "numba", "c"]
    if outcomes["c"]["status"] == "skipped":
        pytest.skip(f"the c variant cannot run here: {outcomes['c']['reason']}")
    assert all(o["status"] == "measured" for o in outcomes.values())
    assert outcomes["c"]["baseline_ratio"] == 1.0  # the baseline against itself
    assert all(o["baseline_ratio"] > 0 for o in outcomes.values())
    assert all(o["record"]["correct"] and o["record"]["median_s"] > 0 for o in outcomes.values())

    saved = sorted(p.name for p in isolated_dirs.glob("*/stream.triad/*.json"))
    assert len(saved) == 3 and {n.split("_")[1] for n in saved} == {"numpy", "numba", "c"}
    assert len(list(isolated_dirs.glob("*/machine.json"))) == 1

    report = haiend("report")
    assert report.returncode == 0, report.stderr
    header, *lines = report.stdout.splitlines()
    notes = [line for line in lines if line.startswith(("mJ/call", "Energy not known"))]
    lines = [line for line in lines if line not in notes]
    assert len(notes) == 1  # how the energy column was found out, said once under the table
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    names = header.split()
    rows = [
        {n: line[a:b].strip() for n, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
        for line in lines
    ]
    assert sorted(row["variant"] for row in rows) == ["c", "numba", "numpy"]
    assert all(row["kernel"] == "stream.triad" and row["size"] == str(1 << 20) for row in rows)
    assert all(
        float(row["GB/s"]) > 0 and row["vs_baseline"] == "-" for row in rows
    )  # a record has no baseline
    assert report.stderr == ""

    as_json = haiend("report", "--json", "--kernel", "stream")
    assert as_json.returncode == 0, as_json.stderr
    assert sorted(r["variant"] for r in json.loads(as_json.stdout)) == ["c", "numba", "numpy"]


BAD_INPUT = {
    "unknown kernel": ["bench", "no-such-kernel", "--quick", "--no-roof"],
    "unknown variant": ["bench", "stream.triad", "--variants", "numpy,fortran", "--quick", "--no-roof"],
    "size zero": ["bench", "stream.triad", "--size", "0", "--no-roof"],
    "negative size": ["bench", "stream.triad", "--size", "-5", "--no-roof"],
    "size not a number": ["bench", "stream.triad", "--size", "abc", "--no-roof"],
    "size beyond free memory": ["bench", "stream.triad", "--size", str(10**13), "--no-roof"],
    "zero threads": ["bench", "stream.triad", "--quick", "--threads", "0", "--no-roof"],
    "zero repeats": ["bench", "stream.triad", "--quick", "--repeat", "0", "--no-roof"],
    "negative warm-up": ["bench", "stream.triad", "--quick", "--warmup", "-1", "--no-roof"],
    "unwritable results dir": ["bench", "stream.triad", "--quick", "--no-roof", "--results-dir", "{blocked}"],
    "missing kernel": ["bench"],
    "unknown subcommand": ["frobnicate"],
    "threads not a number": ["bench", "stream.triad", "--threads", "many"],
}
EXPECTED_WORDS = {
    "unknown kernel": "no-such-kernel",
    "unknown variant": "fortran",
    "size zero": "positive",
    "negative size": "positive",
    "size not a number": "not understood",
    "size beyond free memory": "free",
    "zero threads": "threads",
    "zero repeats": "repeat",
    "negative warm-up": "warmup",
    "unwritable results dir": "cannot be written",
    "missing kernel": "kernel",
    "unknown subcommand": "frobnicate",
    "threads not a number": "many",
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_status_2(case, tmp_path, isolated_dirs):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = [a.replace("{blocked}", str(blocker / "results")) for a in BAD_INPUT[case]]
    done = haiend(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("haiend")
    assert "error" in lines[0] and EXPECTED_WORDS[case] in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert written_files(isolated_dirs) == []
    assert blocker.read_text() == "not a folder" and not (tmp_path / "a-file" / "results").exists()


def test_report_names_a_corrupt_file_and_lists_the_good_ones(isolated_dirs):
    from test_records import make_record

    good = records.save(make_record(variant="numba"))
    corrupt = good.with_name("corrupt.json")
    corrupt.write_text('{"kernel": ')
    done = haiend("report")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("haiend: warning:")
    assert str(corrupt) in done.stderr and "not valid JSON" in done.stderr
    assert "numba" in done.stdout and "stream.triad" in done.stdout


def test_report_with_no_records():
    done = haiend("report")
    assert done.returncode == 0, done.stderr
    assert "No records" in done.stdout


def test_size_mode(monkeypatch):
    monkeypatch.delenv(sizes.ENV, raising=False)
    assert sizes.mode() == "quick" and sizes.quick()
    monkeypatch.setenv(sizes.ENV, " FULL ")
    assert sizes.mode() == "full" and not sizes.quick()
    monkeypatch.setenv(sizes.ENV, "bogus")
    with pytest.raises(HaiendError, match="HAIEND_SIZE='bogus'"):
        sizes.mode()


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`haiend ... | head -1`: the pipe closes while the command still writes; no traceback, status 0."""
    script = (
        "import sys\nfrom haiend import cli\n"
        "def flood(args):\n    for _ in range(200_000):\n        print('x' * 100)\n    return 0\n"
        "cli.cmd_list = flood\nsys.exit(cli.main(['list']))\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        process.stdout.readline()
        process.stdout.close()  # the reader goes away long before 20 MB are written
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
