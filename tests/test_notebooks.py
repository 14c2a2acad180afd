"""Every notebook is executed by a test, none is committed with outputs, and the book's table of
contents names only files that exist.

* ``test_notebook_runs``: each ``.ipynb`` under ``labs/`` and ``notebooks/`` is executed once,
  at ``HAIEND_SIZE=quick``, with the session's results folder under pytest's temporary directory,
  and any error in any cell fails it (hidden ``test`` cells are where pages assert what their prose
  says). A notebook the book's table of contents names is executed by the book build the session
  makes anyway (``built_site`` in conftest.py: ``jupyter-book build -W`` with myst-nb's
  ``raise_on_error``); the test passes when that build succeeded and its log says it executed this
  notebook. Executing each one a second time under nbval only doubled CI's time. A notebook outside
  the book runs under nbval (``--nbval-lax``) in its own pytest process. Executable MyST/jupytext
  Markdown pages (front matter with a ``kernelspec``) are executed with ``jupytext --execute``.
* ``test_every_toc_notebook_is_tested``: the guard that no page executed by the book goes
  untested (in the spirit of pyperf, which fails when an example is not run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("labs", "notebooks")  # every .ipynb here is run by nbval
MARKDOWN_DIRS = ("book", "labs", "notebooks")  # executable .md pages may live here
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")
NOTEBOOK_TIMEOUT_S = 1800


def _skip_dir(path: Path) -> bool:
    return any(part.startswith(".") or part in ("_build", "__pycache__") for part in path.parts)


def front_matter(path: Path) -> dict:
    """The YAML front matter of a Markdown file ({} when there is none)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read front matter: pip install pyyaml")
    return yaml.safe_load(text[3:end]) or {}


def is_executable_markdown(path: Path) -> bool:
    """A .md page that myst-nb executes: its front matter names a kernel (jupytext or mystnb)."""
    return path.suffix == ".md" and "kernelspec" in front_matter(path)


def executable_documents() -> list[Path]:
    """Every document a test executes, relative to the repository root."""
    found: set[Path] = set()
    for folder in NOTEBOOK_DIRS:
        found.update(p for p in (ROOT / folder).rglob("*.ipynb") if not _skip_dir(p.relative_to(ROOT)))
    for folder in MARKDOWN_DIRS:
        found.update(
            p
            for p in (ROOT / folder).rglob("*.md")
            if not _skip_dir(p.relative_to(ROOT)) and is_executable_markdown(p)
        )
    return sorted(p.relative_to(ROOT) for p in found)


def toc_entries() -> list[str]:
    """Every file named in _toc.yml (root, chapters, sections), as written there."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read _toc.yml: pip install pyyaml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                entries.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return entries


def resolve_toc_entry(entry: str) -> Path | None:
    """The source file a _toc.yml entry names (entries may omit the suffix), or None."""
    candidates = [ROOT / entry] if Path(entry).suffix in SOURCE_SUFFIXES else []
    candidates += [ROOT / f"{entry}{suffix}" for suffix in SOURCE_SUFFIXES]
    return next((c for c in candidates if c.is_file()), None)


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def book_notebooks() -> set[Path]:
    """The notebooks (relative paths) the book build executes: those its table of contents names."""
    found = (resolve_toc_entry(entry) for entry in toc_entries())
    return {path.relative_to(ROOT) for path in found if path is not None and path.suffix == ".ipynb"}


def executed_by_book(log: str, document: Path) -> bool:
    """True when myst-nb's log of the book build says it executed ``document`` to the end.

    myst-nb logs ``PATH: Executed notebook in T seconds [mystnb]`` after a run without error
    (``Executing notebook failed`` otherwise, which ``raise_on_error`` turns into a failed build).
    """
    suffix = f"/{document.as_posix()}: Executed notebook in "
    return any(suffix in line for line in log.splitlines())


def book_failure(log: str, document: Path, most: int = 6000) -> str:
    """The book build's report of ``document``'s failed execution (myst-nb's warning and traceback), or ""."""
    marker = f"/{document.as_posix()}: WARNING: Executing notebook failed"
    start = log.find(marker)
    return "" if start < 0 else log[start : start + most]


@pytest.mark.slow
@pytest.mark.parametrize("document", executable_documents(), ids=str)
def test_notebook_runs(document: Path, results_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if document in book_notebooks():
        site = request.getfixturevalue("built_site")
        if not executed_by_book(site["log"], document):
            failure = book_failure(site["log"], document)
            pytest.fail(
                f"{document} failed in the book build:\n{failure}"
                if failure
                else f"the book build (exit status {site['returncode']}) did not execute {document}:\n{site['output']}"
            )
        return
    env = {**os.environ, "HAIEND_SIZE": "quick", "HAIEND_RESULTS_DIR": str(results_dir)}
    if document.suffix == ".ipynb":
        if not _has_module("nbval"):
            pytest.fail("nbval is not installed, so no notebook is tested: pip install nbval ([test] extra)")
        command = [
            sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
            f"--nbval-cell-timeout={NOTEBOOK_TIMEOUT_S}", "-p", "no:cacheprovider", "-q", str(document),
        ]  # fmt: skip
    else:
        if not _has_module("jupytext"):
            pytest.skip("jupytext is needed to execute Markdown notebooks: pip install jupytext")
        command = [
            sys.executable, "-m", "jupytext", "--to", "ipynb", "--execute",
            "--run-path", str(ROOT / document.parent), "-o", str(tmp_path / f"{document.stem}.ipynb"),
            str(document),
        ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{document} did not finish within {NOTEBOOK_TIMEOUT_S} s at HAIEND_SIZE=quick.")
    output = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"{document} failed (exit status {done.returncode}):\n{output}"


def test_every_toc_notebook_is_tested() -> None:
    executed = set(executable_documents())
    untested = []
    for entry in toc_entries():
        path = resolve_toc_entry(entry)
        if path is None:
            continue  # test_toc_files_exist reports it
        relative = path.relative_to(ROOT)
        runs_in_book = path.suffix == ".ipynb" or is_executable_markdown(path)
        if runs_in_book and relative not in executed:
            untested.append(str(relative))
    assert not untested, (
        "these pages are executed by the book but by no test; put notebooks under "
        f"{' or '.join(NOTEBOOK_DIRS)}/ (run by nbval): {untested}"
    )


def committed_notebooks() -> list[Path]:
    """Notebooks git tracks or would add (untracked, not ignored); every .ipynb without git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.ipynb"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        return sorted(ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file())
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout: look at the files
        return sorted(p for p in ROOT.rglob("*.ipynb") if not _skip_dir(p.relative_to(ROOT)))


def test_notebooks_are_committed_without_outputs() -> None:
    dirty = []
    for path in committed_notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(notebook.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count") is not None:
                dirty.append(f"{path.relative_to(ROOT)} cell {index}")
    assert not dirty, (
        "notebooks must be committed without outputs or execution counts "
        f"(jupyter nbconvert --clear-output --inplace FILE): {dirty}"
    )


def test_toc_files_exist() -> None:
    missing = [entry for entry in toc_entries() if resolve_toc_entry(entry) is None]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_toc_names_each_file_once() -> None:
    entries = [str(resolve_toc_entry(e) or e) for e in toc_entries()]
    repeated = sorted({e for e in entries if entries.count(e) > 1})
    assert not repeated, f"_toc.yml names these files more than once: {repeated}"


def test_the_book_log_tells_an_executed_notebook_from_a_failed_one() -> None:
    log = (
        "/ci/notebooks/a.ipynb: Executing notebook using local CWD [mystnb]\n"
        "/ci/notebooks/a.ipynb: Executed notebook in 1.25 seconds [mystnb]\n"
        "/ci/notebooks/b.ipynb: Executing notebook using local CWD [mystnb]\n"
        "\x1b[91m/ci/notebooks/b.ipynb: WARNING: Executing notebook failed: CellExecutionError\n"
        "AssertionError: seeded\n"
    )
    a, b = Path("notebooks/a.ipynb"), Path("notebooks/b.ipynb")
    assert executed_by_book(log, a) and not executed_by_book(log, b)
    assert "AssertionError: seeded" in book_failure(log, b) and book_failure(log, a) == ""
