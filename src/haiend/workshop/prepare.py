"""Student copies of every lab (solution cells out, outputs cleared), as something a hub pulls.

Two forms, both git repositories because nbgitpuller pulls git:

* :func:`prepare_folder`: a new folder holding the checkout's committed files (``git archive
  HEAD``) with each lab replaced by its student copy, made a repository with one commit on
  ``main``, ready to push where the hub's launch links point. It is built beside OUT and renamed
  into place, so OUT is either absent or whole.
* :func:`prepare_branch`: a branch of the checkout itself whose one commit (on top of HEAD) swaps
  the labs for their student copies, written with git's plumbing (``hash-object``,
  ``update-index`` on a private index, ``write-tree``, ``commit-tree``), so the working tree and
  the real index are never touched; push it and point the links at it with ``--branch``.

git does the work (the ``git`` command, which every hub image and checkout has); the copies are
:func:`haiend.student.student_text`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from haiend.errors import HaiendError
from haiend.student import BadInput, read_notebook, student_text
from haiend.workshop.labs import lab_paths

MESSAGE = "Student copies of the labs: solution cells left out, outputs cleared (haiend workshop prepare)"
IDENTITY = {"GIT_AUTHOR_NAME": "haiend workshop", "GIT_AUTHOR_EMAIL": "haiend-workshop@localhost"}


@dataclass(frozen=True)
class Prepared:
    where: str  # the folder, or the branch
    labs: int
    solutions_left_out: int
    commit: str

    def summary(self) -> str:
        return (
            f"wrote {self.where}: {self.labs} lab(s) as student copies, {self.solutions_left_out} solution "
            f"cell(s) left out (commit {self.commit[:12]})"
        )


def _git(root: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=data,
            capture_output=True,
            timeout=120,
            env={**os.environ, **(env or {})},
        )
    except FileNotFoundError:
        raise HaiendError("git is not installed: install it (Debian: apt-get install git).") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise HaiendError(f"git {args[0]} failed in {root} ({why[-1] if why else 'no message'}).")
    return done.stdout


def _identity(root: Path) -> dict[str, str]:
    """Who commits: the user's git identity where one is set, else a workshop one."""
    try:
        _git(root, "config", "user.email")
        return {}
    except HaiendError:
        return {
            **IDENTITY,
            "GIT_COMMITTER_NAME": IDENTITY["GIT_AUTHOR_NAME"],
            "GIT_COMMITTER_EMAIL": IDENTITY["GIT_AUTHOR_EMAIL"],
        }


def student_copies(root: Path) -> tuple[dict[str, str], int]:
    """Each lab's student copy (path -> text) and how many solution cells were left out in all."""
    copies, dropped = {}, 0
    for lab in lab_paths(root):
        try:
            text, n = student_text(read_notebook(root / lab))
        except BadInput as exc:
            raise HaiendError(str(exc)) from None
        copies[lab], dropped = text, dropped + n
    return copies, dropped


def _extract_head(repo: Path, folder: Path) -> None:
    """The committed files of HEAD into ``folder`` (the labs are taken from there, not the working tree)."""
    with tarfile.open(fileobj=io.BytesIO(_git(repo, "archive", "--format=tar", "HEAD"))) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: refuse links and paths out of the folder
            tar.extractall(folder, filter="data")
        else:  # pragma: no cover - older patch releases; the archive is git's own
            tar.extractall(folder)


def _checkout(root: str | Path) -> Path:
    root = Path(root).resolve()
    top = _git(root, "rev-parse", "--show-toplevel").decode().strip()
    return Path(top)


def prepare_folder(out: str | os.PathLike[str], root: str | Path = ".") -> Prepared:
    """A new git repository at ``out``: the checkout's HEAD with student copies of the labs."""
    target = Path(out).expanduser().absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise HaiendError(f"{target} already exists and is not an empty folder: choose a new one.")
    repo = _checkout(root)
    if target == repo or repo in target.parents:
        raise HaiendError(f"{target} lies inside the checkout {repo}: choose a folder outside it.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as exc:
        raise HaiendError(f"{target.parent} cannot be written ({exc.strerror or exc}).") from None
    try:
        _extract_head(repo, build)
        copies, dropped = student_copies(build)
        for lab, text in copies.items():
            (build / lab).write_text(text, encoding="utf-8")
        _git(build, "init", "--quiet", "--initial-branch=main")
        _git(build, "add", "--all")
        _git(build, "commit", "--quiet", "-m", MESSAGE, env=_identity(repo))
        commit = _git(build, "rev-parse", "HEAD").decode().strip()
        if target.exists():
            target.rmdir()
        build.rename(target)
    except OSError as exc:
        raise HaiendError(f"{target} cannot be written ({exc.strerror or exc}).") from None
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return Prepared(str(target), len(copies), dropped, commit)


def prepare_branch(branch: str, root: str | Path = ".", *, force: bool = False) -> Prepared:
    """A branch of the checkout at ``root``: HEAD plus one commit swapping the labs for student copies."""
    repo = _checkout(root)
    ref = f"refs/heads/{branch}"
    _git(repo, "check-ref-format", ref)
    exists = subprocess.run(["git", "-C", str(repo), "show-ref", "--verify", "--quiet", ref]).returncode == 0
    if exists and not force:
        raise HaiendError(
            f"the branch {branch!r} already exists: choose another name, or --force to replace it."
        )
    with tempfile.TemporaryDirectory() as scratch:
        _extract_head(repo, Path(scratch) / "head")
        copies, dropped = student_copies(Path(scratch) / "head")
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(repo, "read-tree", "HEAD", env=index)
        for lab, text in copies.items():
            blob = _git(repo, "hash-object", "-w", "--stdin", data=text.encode()).decode().strip()
            _git(repo, "update-index", "--cacheinfo", f"100644,{blob},{lab}", env=index)
        tree = _git(repo, "write-tree", env=index).decode().strip()
    commit = (
        _git(repo, "commit-tree", tree, "-p", "HEAD", "-m", MESSAGE, env=_identity(repo)).decode().strip()
    )
    _git(repo, "update-ref", ref, commit)
    return Prepared(f"branch {branch}", len(copies), dropped, commit)
