"""Results that travel between sites: check a folder or zip, export one, import one into a catalogue.

A site measures into its results folder, exports it (``haiend results export --anonymise
OUT.zip``: every readable file at the current schema version, host and user names hashed, and a
``manifest.json`` listing each file's SHA-256), and sends the zip as a change to the repository's
``results/`` catalogue, where ``haiend results import`` files it under ``<site>/<machine id>/``.

Import is all or nothing: every file is read, checked against its schema (migrated from an
earlier version where needed) and compared with what the catalogue holds before anything is
written. A file that cannot be read, is of a version this haiend does not know, or holds a
measurement the catalogue already has (same content hash) stops the import with one sentence,
and the catalogue is left as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from haiend import __version__, atomic
from haiend.errors import HaiendError
from haiend.records import (
    CEILINGS_FILE,
    MACHINE_FILE,
    Record,
    all_files,
    kind_of,
    now_stamp,
    read_file,
    record_name,
    results_dir,
    slug,
)
from haiend.records import anonymise as anon
from haiend.records.migrations import migrate

MANIFEST = "manifest.json"
SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass
class Entry:
    """One file of a results folder or zip: where it came from, its kind, and its current-version data."""

    origin: str  # the path shown in messages
    kind: str
    machine_id: str
    data: dict[str, Any]

    @property
    def content_hash(self) -> str:
        return content_hash(self.kind, self.data)


@dataclass
class Bundle:
    """The files of one source, read and checked; ``problems`` names each file that could not be."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def content_hash(kind: str, data: dict[str, Any]) -> str:
    """SHA-256 of what a file measured, independent of anonymisation and of the machine id's version.

    For a record: everything but the fingerprint and the machine id (the raw times and time
    stamp make it unique); for a fingerprint or ceilings file: everything but host and id.
    """
    ignore = {"machine", "machine_id", "hostname", "host", "schema_version"}
    kept = {k: v for k, v in data.items() if k not in ignore}
    text = json.dumps([kind, kept], sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


# -- reading a source: a results folder, a catalogue, or a zip -------------------------------------


def _machine_folder(parts: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """The parts of a file's path up to and including its machine folder."""
    return parts[:-2] if kind == "record" else parts[:-1]


def _read_members(members: dict[str, bytes], origin: str) -> Bundle:
    """Check every JSON member (path -> bytes); fingerprints first, so ceilings can be migrated."""
    bundle = Bundle()
    fingerprints: dict[tuple[str, ...], dict[str, Any]] = {}
    if MANIFEST in members:
        try:
            bundle.manifest = json.loads(members.pop(MANIFEST).decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            bundle.problems.append((f"{origin}/{MANIFEST}", "the manifest is not valid JSON"))
    listed = bundle.manifest.get("files") if isinstance(bundle.manifest, dict) else None
    ordered = sorted(members, key=lambda name: (kind_of(Path(name)) != "machine", name))
    for name in ordered:
        path = PurePosixPath(name)
        shown = f"{origin}/{name}" if origin else name
        if isinstance(listed, dict):
            if name not in listed:
                bundle.problems.append((shown, "it is not listed in the manifest"))
                continue
            if hashlib.sha256(members[name]).hexdigest() != listed[name]:
                bundle.problems.append((shown, "its content does not match the manifest's SHA-256"))
                continue
        kind = kind_of(Path(name))
        try:
            try:
                raw = json.loads(members[name].decode("utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
            except UnicodeDecodeError:
                raise ValueError("not UTF-8 text") from None
            folder = _machine_folder(path.parts, kind)
            if kind == "record":
                data = Record.from_dict(raw).to_dict()
            elif kind == "ceilings":
                if folder not in fingerprints:
                    raise ValueError("its machine.json is missing or unreadable, so it cannot be placed")
                data = migrate("ceilings", raw, {"machine": fingerprints[folder]})
            else:
                data = migrate("machine", raw)
                fingerprints[folder] = data
        except (ValueError, TypeError, KeyError) as exc:
            bundle.problems.append((shown, str(exc)))
            continue
        bundle.entries.append(Entry(shown, kind, data["machine_id"], data))
    return bundle


def read_source(source: str | Path) -> Bundle:
    """Every file of a results folder, catalogue, single file or zip, checked; problems named."""
    source = Path(source)
    if not source.exists():
        raise HaiendError(f"{source} does not exist: give a results folder, a .json file or a .zip.")
    if source.is_file() and zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as archive:
                members = {
                    info.filename: archive.read(info)
                    for info in archive.infolist()
                    if not info.is_dir() and info.filename.endswith(".json")
                }
        except (zipfile.BadZipFile, OSError) as exc:
            raise HaiendError(f"{source} is not a readable zip file ({exc}).") from None
        return _read_members(members, str(source))
    if source.is_file():
        members = {source.name: source.read_bytes()}
        beside = source.parent / MACHINE_FILE
        if kind_of(source) == "ceilings" and beside.exists():
            members[MACHINE_FILE] = beside.read_bytes()
        return _read_members(members, str(source.parent))
    members = {p.relative_to(source).as_posix(): p.read_bytes() for p in all_files(source)}
    return _read_members(members, str(source))


# -- export ----------------------------------------------------------------------------------------


def export(
    out: str | Path,
    *,
    directory: str | Path | None = None,
    anonymise: bool = False,
    site: str | None = None,
) -> tuple[Path, Bundle]:
    """Write every readable file of the results folder into ``out`` (a zip), at the current schema
    versions, anonymised if asked; returns the zip's path and what was read (with its problems).

    The zip is laid out ``<machine id>/...`` as a results folder is, with ``manifest.json``.
    """
    out = Path(out)
    if out.suffix != ".zip":
        raise HaiendError(f"{out} must end in .zip.")
    if site is not None and not SITE_NAME.match(site):
        raise HaiendError(f"site name {site!r} must be lower-case letters, digits and hyphens.")
    root = results_dir(directory)
    bundle = read_source(root) if root.exists() else Bundle()
    if not bundle.entries:
        raise HaiendError(f"there are no readable results under {root} to export: run 'haiend bench' first.")
    salt = anon.salt() if anonymise else ""
    files: dict[str, bytes] = {}
    for entry in bundle.entries:
        data = anon.anonymise(entry.kind, entry.data, salt) if anonymise else entry.data
        files[_place(entry.kind, entry.machine_id, data)] = _json_bytes(data)
    manifest = {
        "haiend_version": __version__,
        "exported_at": now_stamp(),
        "anonymised": anonymise,
        "site": site,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, _json_bytes(manifest))
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    with atomic.replacing(out) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return out, bundle


def _place(kind: str, machine_id: str, data: dict[str, Any]) -> str:
    if kind == "record":
        record = Record.from_dict(data)
        return f"{machine_id}/{slug(record.kernel)}/{record_name(record)}"
    return f"{machine_id}/{MACHINE_FILE if kind == 'machine' else CEILINGS_FILE}"


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n").encode()


# -- import ----------------------------------------------------------------------------------------


@dataclass
class Imported:
    """What an import wrote, for which machines, and what it left because the catalogue had it."""

    written: list[Path]
    unchanged: list[str]
    site: str
    machines: list[str]

    def summary(self) -> str:
        records = [p for p in self.written if p.name not in (MACHINE_FILE, CEILINGS_FILE)]
        return (
            f"added {len(records)} record(s) for site {self.site}, machine(s) {', '.join(self.machines)}"
            f" ({len(self.written) - len(records)} fingerprint or ceilings file(s) written,"
            f" {len(self.unchanged)} already present and kept)"
        )


def import_(source: str | Path, catalogue: str | Path, *, site: str | None = None) -> Imported:
    """File a site's results into ``catalogue/<site>/<machine id>/``: everything checked first,
    host and user names hashed, duplicates refused; nothing written unless all of it can be."""
    bundle = read_source(source)
    if bundle.problems:
        where, why = bundle.problems[0]
        more = f" (and {len(bundle.problems) - 1} more)" if len(bundle.problems) > 1 else ""
        raise HaiendError(f"{where} cannot be imported: {why}{more}; nothing was imported.")
    site = site or bundle.manifest.get("site")
    if not site:
        raise HaiendError("say which site these results come from with --site NAME; nothing was imported.")
    if not SITE_NAME.match(site):
        raise HaiendError(
            f"site name {site!r} must be lower-case letters, digits and hyphens; nothing was imported."
        )
    records_in = [e for e in bundle.entries if e.kind == "record"]
    if not records_in:
        raise HaiendError(f"{source} holds no records; nothing was imported.")
    catalogue = Path(catalogue)
    have = _hashes(catalogue)
    seen: dict[str, str] = {}
    for entry in records_in:
        digest = entry.content_hash
        if digest in have:
            raise HaiendError(
                f"{entry.origin} is already in the catalogue as {have[digest]}; nothing was imported."
            )
        if digest in seen:
            raise HaiendError(
                f"{entry.origin} is the same measurement as {seen[digest]}; nothing was imported."
            )
        seen[digest] = entry.origin
    salt = anon.salt()
    plan: dict[Path, bytes] = {}
    unchanged: list[str] = []
    for entry in bundle.entries:
        data = anon.anonymise(entry.kind, entry.data, salt)
        target = catalogue / site / _place(entry.kind, entry.machine_id, data)
        if entry.kind != "record" and target.exists():
            existing = read_file(target, entry.kind)
            if entry.kind == "machine" or existing.get("measured_at", "") >= data.get("measured_at", ""):
                unchanged.append(entry.origin)
                continue  # a machine's fingerprint, or ceilings no newer than those filed
        if target.exists():
            raise HaiendError(f"{target} exists already with other content; nothing was imported.")
        plan[target] = _json_bytes(data)
    written = []
    for target, content in sorted(plan.items()):
        with atomic.replacing(target) as tmp:
            tmp.write_bytes(content)
        written.append(target)
    return Imported(written, unchanged, site, sorted({e.machine_id for e in bundle.entries}))


def _hashes(catalogue: Path) -> dict[str, str]:
    """Content hash -> path of every record the catalogue holds; an unreadable one stops the import."""
    found = {}
    for path in all_files(catalogue):
        if kind_of(path) != "record":
            continue
        try:
            data = read_file(path, "record")
        except (ValueError, OSError) as exc:
            raise HaiendError(
                f"the catalogue's {path} cannot be read ({exc}); fix it before importing."
            ) from None
        found[content_hash("record", data)] = str(path)
    return found


# -- validate --------------------------------------------------------------------------------------


def validate(source: str | Path) -> Bundle:
    """Check every file of a folder, catalogue, file or zip; the bundle names each problem."""
    return read_source(source)
