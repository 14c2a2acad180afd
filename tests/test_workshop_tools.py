"""``haiend workshop links``, ``prepare`` and ``class``: an instructor's tools, on this checkout's labs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from haiend import cli, records
from haiend.student import SOLUTION_TAG
from haiend.workshop import labs

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "results-zen4-quick"


def _one_error(capsys, *words: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


# --- links ------------------------------------------------------------------------------------------
def test_labs_come_in_the_books_order() -> None:
    found = labs.lab_paths(ROOT)
    toc = (ROOT / "_toc.yml").read_text()
    assert found == sorted(found, key=lambda p: toc.index(p.removesuffix(".ipynb")))
    assert set(found) == {f"labs/{p.name}" for p in (ROOT / "labs").glob("*.ipynb")}


def test_links_print_one_nbgitpuller_link_per_lab(capsys) -> None:
    args = ["workshop", "links", "--hub", "https://hub.example.ac.uk/", "--book", str(ROOT)]
    assert cli.main([*args, "--repo", "https://github.com/o/hai-end-labs", "--branch", "day-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == labs.lab_paths(ROOT)
    for line in lines:
        lab, link = line.split()
        assert link.startswith("https://hub.example.ac.uk/hub/user-redirect/git-pull?")
        query = {k: v[0] for k, v in parse_qs(urlsplit(link).query, strict_parsing=True).items()}
        assert query == {
            "repo": "https://github.com/o/hai-end-labs",
            "branch": "day-1",
            "urlpath": f"lab/tree/hai-end-labs/{lab}",
        }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hub", "hub.example", "--repo", "https://g/r"], ("hub URL", "is not a URL")),
        (["--hub", "https://h", "--repo", "github.com/o/r"], ("repository URL",)),
    ],
)
def test_bad_urls_are_one_sentence(capsys, args: list[str], words: tuple[str, ...]) -> None:
    assert cli.main(["workshop", "links", *args, "--book", str(ROOT)]) == 2
    _one_error(capsys, *words)


def test_without_origin_or_toc_it_says_what_to_give(tmp_path: Path, capsys) -> None:
    assert cli.main(["workshop", "links", "--hub", "https://h", "--book", str(tmp_path)]) == 2
    _one_error(capsys, "--repo")
    assert (
        cli.main(
            ["workshop", "links", "--hub", "https://h", "--repo", "https://g/r", "--book", str(tmp_path)]
        )
        == 2
    )
    _one_error(capsys, "_toc.yml")


# --- prepare ----------------------------------------------------------------------------------------
def _solutions(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in cells)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A clone of this repository's HEAD, so that branches made by the tests stay out of it."""
    clone = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    return clone


def test_prepare_writes_a_repository_of_student_copies(checkout: Path, tmp_path: Path, capsys) -> None:
    (checkout / "labs" / "stream.ipynb").write_text("not committed")  # the working tree is not used
    out = tmp_path / "workshop"
    assert cli.main(["workshop", "prepare", str(out), "--book", str(checkout)]) == 0
    assert "solution cell(s) left out" in capsys.readouterr().out
    assert _git("status", "--porcelain", cwd=out) == ""
    assert _git("rev-parse", "--abbrev-ref", "HEAD", cwd=out).strip() == "main"
    committed = set(_git("ls-files", cwd=checkout).split())
    assert set(_git("ls-files", cwd=out).split()) == committed
    lab_files = labs.lab_paths(out)
    assert sorted(lab_files) == sorted(_git("ls-files", "labs/*.ipynb", cwd=checkout).split())  # every lab
    assert sum(_solutions(ROOT / p) for p in lab_files) > 0  # the labs themselves have solutions
    for lab in lab_files:
        notebook = json.loads((out / lab).read_text())
        assert _solutions(out / lab) == 0
        assert all(not c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code")
    assert (out / "README.md").read_bytes() == (checkout / "README.md").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_prepare_refuses_a_used_folder_and_writes_nothing(checkout: Path, tmp_path: Path, capsys) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert cli.main(["workshop", "prepare", str(used), "--book", str(checkout)]) == 2
    _one_error(capsys, "not an empty folder")
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    assert cli.main(["workshop", "prepare", str(checkout / "inside"), "--book", str(checkout)]) == 2
    _one_error(capsys, "inside the checkout")
    assert cli.main(["workshop", "prepare", "--book", str(checkout)]) == 2
    _one_error(capsys, "--branch")


def test_prepare_branch_leaves_the_working_tree_alone(checkout: Path, capsys) -> None:
    head = _git("rev-parse", "HEAD", cwd=checkout).strip()
    assert cli.main(["workshop", "prepare", "--branch", "students", "--book", str(checkout)]) == 0
    assert _git("status", "--porcelain", cwd=checkout) == ""
    assert _git("rev-parse", "HEAD", cwd=checkout).strip() == head
    assert _git("rev-parse", "students~1", cwd=checkout).strip() == head
    changed = _git("diff", "--name-only", "HEAD", "students", cwd=checkout).split()
    assert changed and all(p.startswith("labs/") for p in changed)
    shown = json.loads(_git("show", "students:labs/stream.ipynb", cwd=checkout))
    assert not any(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in shown["cells"])
    assert cli.main(["workshop", "prepare", "--branch", "students", "--book", str(checkout)]) == 2
    _one_error(capsys, "already exists", "--force")
    assert cli.main(["workshop", "prepare", "--branch", "students", "--force", "--book", str(checkout)]) == 0


# --- class ------------------------------------------------------------------------------------------
def _attendee(folder: Path, name: str, *, cpu_set: str | None = None, slower: float = 1.0) -> None:
    """An attendee's collected results: the fixture's records at the current schema, times scaled, CPU set set."""
    target = folder / name
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("*.md"))
    for path in target.rglob("*_*.json"):
        data = records.read_file(path)  # migrated to the current schema, whose runs carry the CPU set
        data["times"] = [t * slower for t in data["times"]]
        data["run"] = {**data["run"], "cpu_set": cpu_set, "load_average": [1.5, 1.0, 0.5]}
        path.write_text(json.dumps(data))


def test_class_shows_one_row_per_attendee_and_the_shared_machine(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "class"
    _attendee(folder, "ada", cpu_set="0-1")
    _attendee(folder, "bob", cpu_set="0-1", slower=2.0)
    (folder / "bob" / "amd-epyc-0fabb166" / "stream.triad" / "broken.json").write_text("{")
    assert cli.main(["workshop", "class", str(folder)]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0].startswith("stream.triad: each attendee's best run") and "2 of 2 attendees" in lines[0]
    header, first, second = lines[1].split(), lines[2].split(), lines[3].split()
    assert header[:2] == ["attendee", "variant"] and "CPU" in header and "GB/s" in header
    assert first[0] == "ada" and second[0] == "bob"
    assert "0-1" in first and "1.50" in first
    assert "ada ran 2.00x as fast as bob" in printed.out
    assert "Every attendee ran on the same machine (amd-epyc-96d43c45)" in printed.out
    assert "broken.json" in printed.err


def test_class_bad_input_is_one_sentence(tmp_path: Path, capsys) -> None:
    assert cli.main(["workshop", "class", str(tmp_path / "none")]) == 2
    _one_error(capsys, "is not a folder")
    (tmp_path / "empty").mkdir()
    assert cli.main(["workshop", "class", str(tmp_path / "empty")]) == 2
    _one_error(capsys, "no attendee's records")
    _attendee(tmp_path / "class", "ada")
    assert cli.main(["workshop", "class", str(tmp_path / "class"), "--kernel", "matmul"]) == 2
    _one_error(capsys, "no attendee ran 'matmul'", "stream.triad")
