"""The committed results catalogue (``results/``): every file valid, anonymous, in its place, once.

This is what CI checks of a site's contribution: the files are validated with the plain
``jsonschema`` library against the current schema shipped in the package (committed files are
never of an older version: ``haiend results import`` migrates them), and with haiend's own reader.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest

from haiend import records
from haiend.records import anonymise, exchange, schemas

CATALOGUE = Path(__file__).resolve().parents[1] / "results"
FILES = records.all_files(CATALOGUE)


def _id(path: Path) -> str:
    return path.relative_to(CATALOGUE).as_posix()


def test_the_catalogue_holds_files():
    assert FILES, f"no result files under {CATALOGUE}"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_each_file_matches_the_current_schema_of_its_kind(path):
    kind = records.kind_of(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, schemas.schema(kind), cls=jsonschema.Draft202012Validator)
    assert data["schema_version"] == schemas.CURRENT[kind]
    assert anonymise.is_anonymous(kind, data), f"{_id(path)} names a host or a home folder"


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_each_file_sits_under_its_site_and_machine(path):
    parts = path.relative_to(CATALOGUE).parts
    kind = records.kind_of(path)
    assert len(parts) == (4 if kind == "record" else 3), "expected <site>/<machine id>/[<kernel>/]<file>"
    site, machine_id = parts[0], parts[1]
    assert exchange.SITE_NAME.match(site)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["machine_id"] == machine_id
    assert (CATALOGUE / site / machine_id / records.MACHINE_FILE).is_file()
    if kind == "record":
        assert parts[2] == records.slug(data["kernel"])


def test_haiend_reads_every_file_and_no_measurement_is_there_twice():
    bundle = exchange.validate(CATALOGUE)
    assert bundle.problems == []
    seen = defaultdict(list)
    for entry in bundle.entries:
        if entry.kind == "record":
            seen[entry.content_hash].append(entry.origin)
    assert [paths for paths in seen.values() if len(paths) > 1] == []


def test_all_four_kernels_from_at_least_two_machines():
    loaded = records.load(CATALOGUE)
    families = defaultdict(set)
    for record in loaded.records:
        families[record.machine_id].add(record.kernel.split(".")[0])
    complete = [m for m, found in families.items() if {"stream", "matmul", "stencil2d", "nbody"} <= found]
    assert len(complete) >= 2, dict(families)
