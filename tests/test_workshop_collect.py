"""``haiend workshop collect``: every attendee's results into one class folder, nothing lost silently."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from haiend import cli, records
from haiend.workshop import collect

FIXTURE = Path(__file__).parent / "fixtures" / "results-zen4-quick"


def _home(root: Path, name: str) -> Path:
    """A home whose per-user results folder holds the fixture's records."""
    results = root / name / collect.RESULTS_IN_HOME
    shutil.copytree(FIXTURE, results, ignore=shutil.ignore_patterns("*.md"))
    return results


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_collects_each_attendee_into_their_own_folder(tmp_path: Path, capsys) -> None:
    homes = tmp_path / "home"
    ada, bob = _home(homes, "ada"), _home(homes, "bob")
    (homes / "carol").mkdir()  # an attendee who ran nothing yet
    record = next(ada.rglob("*_numba_*.json"))
    record.write_text("{ not json")
    (ada / "amd-epyc-0fabb166" / "stream.triad" / "gone.json").symlink_to(tmp_path / "nowhere.json")
    before = _tree(homes)

    out = tmp_path / "class"
    assert cli.main(["workshop", "collect", str(homes / "*"), str(out)]) == 0
    printed = capsys.readouterr()
    assert "collected 7 record(s) of 2 attendee(s)" in printed.out
    assert str(record) in printed.err and "not valid JSON" in printed.err
    assert "gone.json" in printed.err
    assert _tree(homes) == before, "the attendees' side was written to"
    assert sorted(p.name for p in out.iterdir()) == ["ada", "bob"]
    for name, source in (("ada", ada), ("bob", bob)):
        copied = _tree(out / name)
        assert copied == {k: v for k, v in _tree(source).items() if k in copied}
        loaded = records.load(out / name)
        assert loaded.problems == [] and len(loaded.records) == (3 if name == "ada" else 4)


def test_a_folder_of_homes_works_like_a_glob(tmp_path: Path) -> None:
    _home(tmp_path / "home", "ada")
    done = collect.collect(str(tmp_path / "home"), tmp_path / "class")
    assert done.records == {"ada": 4} and done.problems == []


@pytest.mark.parametrize(
    ("where", "message"),
    [("{tmp}/nothing-*", "no folder matches"), ("{tmp}/missing", "is not a folder")],
)
def test_bad_homes_are_one_sentence(tmp_path: Path, capsys, where: str, message: str) -> None:
    out = tmp_path / "class"
    assert cli.main(["workshop", "collect", where.format(tmp=tmp_path), str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_class_folder_inside_a_home_is_refused(tmp_path: Path, capsys) -> None:
    _home(tmp_path / "home", "ada")
    assert (
        cli.main(["workshop", "collect", str(tmp_path / "home"), str(tmp_path / "home" / "ada" / "c")]) == 2
    )
    assert "inside an attendee's home" in capsys.readouterr().err


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root reads every folder, so this runs only when the tests are run as another user",
)
def test_an_unreadable_results_folder_is_named(tmp_path: Path) -> None:
    results = _home(tmp_path / "home", "ada")
    results.chmod(0)
    try:
        done = collect.collect(str(tmp_path / "home"), tmp_path / "class")
    finally:
        results.chmod(0o755)
    assert done.problems == [(results, "the folder cannot be read")]
