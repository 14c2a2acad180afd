"""The JSON Schemas of haiend's files, and checking a file against the one for its kind and version.

Three kinds of file, each with its own schema and its own version number
(``src/haiend/schemas/<kind>-v<N>.schema.json``, JSON Schema draft 2020-12):

``record``
    one measured variant of one kernel (``<machine id>/<kernel>/<stamp>_....json``);
``machine``
    a machine's fingerprint (``machine.json``);
``ceilings``
    a machine's measured roofs (``ceilings.json``).

Every earlier version's schema stays in the package, so a file is checked against the schema
of the version it claims before it is migrated, and against the current one after. Checking
is the ``jsonschema`` library's; this module only picks the schema and turns the first error
into one sentence.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

KINDS = ("record", "machine", "ceilings")
#: The version each kind is written in now.
CURRENT = {"record": 3, "machine": 2, "ceilings": 2}


class InvalidFile(ValueError):
    """A file that does not match the schema of its kind and version (the message is one clause)."""


def schema_name(kind: str, version: int) -> str:
    return f"{kind}-v{version}.schema.json"


@functools.cache
def schema(kind: str, version: int | None = None) -> dict[str, Any]:
    """The schema of ``kind`` at ``version`` (default: the current one), as shipped in the package."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of file {kind!r}")
    version = CURRENT[kind] if version is None else version
    try:
        text = resources.files("haiend").joinpath("schemas", schema_name(kind, version)).read_text()
    except FileNotFoundError:
        raise InvalidFile(f"there is no {kind} schema version {version}") from None
    return json.loads(text)


@functools.cache
def _validator(kind: str, version: int) -> Draft202012Validator:
    found = schema(kind, version)
    Draft202012Validator.check_schema(found)
    return Draft202012Validator(found)


def version_of(kind: str, data: Any) -> int:
    """The schema version a file claims; an error when it claims none or one this haiend cannot read."""
    if not isinstance(data, dict):
        raise InvalidFile("not a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidFile("it has no schema_version")
    if version > CURRENT[kind]:
        raise InvalidFile(
            f"its {kind} schema version {version} is newer than this haiend reads ({CURRENT[kind]}): upgrade haiend"
        )
    if version < 1:
        raise InvalidFile(f"unknown {kind} schema version {version}")
    return version


def validate(kind: str, data: Any, version: int | None = None) -> None:
    """Raise :class:`InvalidFile` naming the first place where ``data`` breaks its schema."""
    version = version_of(kind, data) if version is None else version
    error = best_match(_validator(kind, version).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise InvalidFile(
            f"it does not match the {kind} schema version {version} at {where}: {error.message}"
        )
