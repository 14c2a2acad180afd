"""Bringing a file of an earlier schema version up to the current one, one step at a time.

Each step takes a file that matches version N (checked first) and returns one of version N+1;
the result is checked against the current schema by the caller. Steps never invent a
measurement: what an old file did not record stays unknown (``None``), and what it stored but
the current version derives (median, GB/s...) is dropped, to be recomputed from the raw times.

Version 1 to 2, all kinds: the machine id now covers the CPU's family and model, caches and
vector extensions (``haiend.machine.machine_id``), because version 1 gave an AMD EPYC Zen 3 and
a Zen 4 the same id. A record and a fingerprint carry the fingerprint, so their new id is
computed from it; a ceilings file does not, so it takes the id of the fingerprint beside it.

Version 2 to 3, records: a record carries the energy its timed calls drew (``energy``). A run of
version 2 was not metered, so its energy is ``{}``: not known, never estimated after the fact.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from haiend import machine as machine_mod
from haiend.records import schemas
from haiend.records.schemas import InvalidFile

#: What version 1 stored that version 2 derives from the raw times when the file is read.
DERIVED_IN_V1 = ("median_s", "min_s", "gb_per_s", "gflop_per_s", "fraction_of_roof")


def _record_1_to_2(data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    for name in DERIVED_IN_V1:
        data.pop(name, None)
    fingerprint = dict(data["machine"])
    fingerprint["machine_id"] = data["machine_id"] = machine_mod.machine_id(fingerprint)
    data["machine"] = fingerprint
    data.setdefault("ranks", 1)
    data.setdefault("details", {})
    data.setdefault("timestamp", "")
    data.setdefault("haiend_version", "")
    data["extra_times"] = {}
    data["run"] = {
        "git_commit": None,
        "git_dirty": None,
        "load_average": None,
        "started": None,
        "command": None,
    }
    return data


def _record_2_to_3(data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    data["energy"] = {}
    return data


def _machine_1_to_2(data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    data["machine_id"] = machine_mod.machine_id(data)
    return data


def _ceilings_1_to_2(data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    fingerprint = context.get("machine")
    if fingerprint is None:
        raise InvalidFile("a version-1 ceilings file can only be migrated with its machine.json beside it")
    data["machine_id"] = machine_mod.machine_id(fingerprint)
    data.setdefault("measured_at", "")
    data.setdefault("quick", False)
    return data


Step = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
#: STEPS[kind][N] turns version N into version N + 1.
STEPS: dict[str, dict[int, Step]] = {
    "record": {1: _record_1_to_2, 2: _record_2_to_3},
    "machine": {1: _machine_1_to_2},
    "ceilings": {1: _ceilings_1_to_2},
}


def migrate(kind: str, data: Any, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """``data`` (a file's parsed JSON) as the current version of ``kind``, checked at every step.

    ``context`` gives what a step may need besides the file (``{"machine": fingerprint}`` for
    ceilings). The input is not modified. Raises :class:`InvalidFile` with one clause.
    """
    version = schemas.version_of(kind, data)
    schemas.validate(kind, data, version)
    current = schemas.CURRENT[kind]
    data = copy.deepcopy(data)
    while version < current:
        data = STEPS[kind][version](data, context or {})
        version += 1
        data["schema_version"] = version
    schemas.validate(kind, data, current)
    return data
