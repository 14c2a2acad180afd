"""Gathering a workshop's results: every attendee's result files into one class results folder.

On a shared JupyterHub each attendee's server runs in their own home, and their records go to
their per-user results folder (``~/.local/share/haiend/results``, which is where
``haiend.records`` puts them when ``$HAIEND_RESULTS_DIR`` is not set, and where a hub's
deployment notes point that variable). :func:`collect` reads those folders and writes

    OUT/<attendee>/<machine id>/machine.json, ceilings.json, <kernel>/<record>.json

one subfolder per attendee, named after the home folder. It only reads on the attendees' side.
Every file is checked (read, validated and migrated by :func:`haiend.records.read_file`) before
it is copied; a file that cannot be read or does not validate is skipped and named, never
silently dropped. Each copy is written atomically and holds the file's bytes unchanged, so a
record keeps the schema version it was written with.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from haiend import atomic, records
from haiend.errors import HaiendError

#: Where an attendee's results are, relative to their home: haiend's per-user default on Linux.
RESULTS_IN_HOME = Path(".local/share/haiend/results")
GLOB_CHARACTERS = frozenset("*?[")


@dataclass
class Collected:
    """What :func:`collect` copied (files per attendee) and every file it skipped, with why."""

    out: Path
    files: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        kept = sum(self.records.values())
        who = len([name for name, n in self.files.items() if n])
        skipped = f"; {len(self.problems)} file(s) skipped" if self.problems else ""
        return f"collected {kept} record(s) of {who} attendee(s) into {self.out}{skipped}"


def homes(where: str) -> list[Path]:
    """The attendees' home folders: the matches of a glob (``/home/*``), or the subfolders of a folder."""
    if GLOB_CHARACTERS & set(where):
        found = sorted(Path(p) for p in glob.glob(os.path.expanduser(where)) if Path(p).is_dir())
        if not found:
            raise HaiendError(f"no folder matches {where!r}: give the attendees' homes, e.g. '/home/*'.")
        return found
    root = Path(where).expanduser()
    if not root.is_dir():
        raise HaiendError(f"{root} is not a folder: give the folder of the attendees' homes, or a glob.")
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise HaiendError(f"{root} cannot be listed ({exc.strerror or exc}).") from None


def attendee_name(home: Path) -> str:
    """The attendee's folder name in the class folder: the home folder's name, made safe."""
    return records.slug(home.name) or "attendee"


def collect(where: str, out: str | os.PathLike[str], *, results_in_home: Path = RESULTS_IN_HOME) -> Collected:
    """Copy every readable result file of every home under ``where`` into ``out``/<attendee>/."""
    found = homes(where)
    names: dict[str, Path] = {}
    for home in found:
        name = attendee_name(home)
        if name in names:
            raise HaiendError(
                f"{names[name]} and {home} would both be attendee {name!r}: collect them separately."
            )
        names[name] = home
    target = Path(out).expanduser()
    if target.resolve() in {h.resolve() for h in found} or any(
        target.resolve().is_relative_to(h.resolve()) for h in found
    ):
        raise HaiendError(f"the class folder {target} lies inside an attendee's home: choose another.")
    records.ensure_writable(target)
    done = Collected(target)
    for name, home in names.items():
        source = home / results_in_home
        done.files[name] = done.records[name] = 0
        if not source.exists():
            continue
        if not os.access(source, os.R_OK | os.X_OK):
            done.problems.append((source, "the folder cannot be read"))
            continue
        for path in _files(source, done.problems):
            try:
                content = path.read_bytes()
                records.read_file(path)
            except (ValueError, TypeError, OSError) as exc:
                done.problems.append((path, getattr(exc, "strerror", None) or str(exc)))
                continue
            copy = target / name / path.relative_to(source)
            with atomic.replacing(copy) as tmp:
                tmp.write_bytes(content)
            done.files[name] += 1
            done.records[name] += records.kind_of(path) == "record"
    return done


def _files(source: Path, problems: list[tuple[Path, str]]) -> list[Path]:
    """Every result file under ``source``; a subfolder that cannot be listed is named in ``problems``."""
    found: list[Path] = []

    def unreadable(error: OSError) -> None:
        problems.append((Path(error.filename or source), "the folder cannot be read"))

    for folder, subfolders, files in os.walk(source, onerror=unreadable):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith(".json") and not f.startswith(".")]
    return found
