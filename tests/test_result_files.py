"""Schemas, migrations, anonymisation, and results travelling between sites (validate, export, import).

The fixtures in ``tests/fixtures/files-v1/`` are real version-1 files: ``zen3`` from the shared
records of an AMD EPYC Zen 3 (another site's), ``zen4`` from an AMD EPYC Zen 4 this project ran
on. Version 1 gave both machines the same id; version 2 tells them apart.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from haiend.records import Record, exchange, migrations, schemas
from haiend.records import anonymise as anon

FIXTURES = Path(__file__).parent / "fixtures" / "files-v1"
OLD_ID = "amd-epyc-0fabb166"


def haiend(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "haiend", *args], capture_output=True, text=True, cwd=cwd)


def tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def fixed_salt(monkeypatch):
    monkeypatch.setenv(anon.SALT_ENV, "test-salt")


# -- the schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", schemas.KINDS)
def test_every_version_of_every_schema_is_a_valid_draft_2020_12_schema(kind):
    for version in range(1, schemas.CURRENT[kind] + 1):
        found = schemas.schema(kind, version)
        assert found["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(found)


def test_an_unknown_version_and_a_future_version_are_named():
    with pytest.raises(schemas.InvalidFile, match="newer than this haiend reads"):
        schemas.version_of("record", {"schema_version": schemas.CURRENT["record"] + 1})
    with pytest.raises(schemas.InvalidFile, match="unknown record schema version 0"):
        schemas.version_of("record", {"schema_version": 0})
    with pytest.raises(schemas.InvalidFile, match="no schema_version"):
        schemas.version_of("machine", {"machine_id": "x"})


# -- migrations from version 1 -------------------------------------------------------------------


@pytest.mark.parametrize("site", ["zen3", "zen4"])
def test_version_1_files_of_each_kind_migrate_and_validate(site):
    folder = FIXTURES / site / OLD_ID
    fingerprint = migrations.migrate("machine", json.loads((folder / "machine.json").read_text()))
    assert fingerprint["schema_version"] == 2 and fingerprint["machine_id"] != OLD_ID
    ceilings = migrations.migrate(
        "ceilings", json.loads((folder / "ceilings.json").read_text()), {"machine": fingerprint}
    )
    assert ceilings["machine_id"] == fingerprint["machine_id"] and ceilings["roofs"]["1"]["bandwidth"] > 0
    for path in (folder / "stream.triad").glob("*.json"):
        old = json.loads(path.read_text())
        record = Record.from_dict(old)
        assert record.machine_id == fingerprint["machine_id"] == record.machine["machine_id"]
        assert record.times == old["times"]  # the raw samples are kept as they were
        assert record.median_s == pytest.approx(old["median_s"])  # and the statistics recomputed from them
        assert record.gb_per_s == pytest.approx(old["gb_per_s"])
        assert record.run["git_commit"] is None  # version 1 did not record it: unknown, not invented
        schemas.validate("record", record.to_dict(), schemas.CURRENT["record"])
        assert record.energy == {}  # not metered then: unknown, not estimated after the fact


def test_two_machines_that_version_1_confused_get_two_ids():
    ids = {
        migrations.migrate("machine", json.loads((FIXTURES / site / OLD_ID / "machine.json").read_text()))[
            "machine_id"
        ]
        for site in ("zen3", "zen4")
    }
    assert len(ids) == 2


def test_version_1_statistics_are_not_trusted():
    path = next((FIXTURES / "zen3" / OLD_ID / "stream.triad").glob("*numba*"))
    old = json.loads(path.read_text())
    tampered = old | {"median_s": 1.0, "gb_per_s": 1e6, "fraction_of_roof": 42.0}
    record = Record.from_dict(tampered)
    assert record.gb_per_s == pytest.approx(old["gb_per_s"]) and record.fraction_of_roof < 2


def test_version_1_ceilings_without_their_fingerprint_cannot_be_placed():
    data = json.loads((FIXTURES / "zen3" / OLD_ID / "ceilings.json").read_text())
    with pytest.raises(schemas.InvalidFile, match="machine.json"):
        migrations.migrate("ceilings", data)


# -- anonymisation -------------------------------------------------------------------------------


def test_anonymising_hashes_host_and_home_folders_and_keeps_what_compares():
    info = {
        "machine_id": "x-1",
        "hostname": "node042.example.org",
        "python_executable": "/home/alice/venv/bin/python",
        "cpu_model": "AMD EPYC",
        "caches": {"L2": 1},
    }
    out = anon.fingerprint(info, "salt")
    assert "hostname" not in out and anon.ANON.match(out["host"])
    assert "alice" not in json.dumps(out) and out["python_executable"].startswith("/home/anon-")
    assert out["cpu_model"] == "AMD EPYC" and out["caches"] == {"L2": 1}
    assert anon.fingerprint(info, "salt") == out  # stable: one host keeps one hash
    assert anon.fingerprint(info, "other")["host"] != out["host"]  # and the salt matters
    assert anon.is_anonymous("machine", out) and not anon.is_anonymous("machine", info)
    assert anon.fingerprint(out, "salt") == out  # anonymising twice changes nothing


# -- validate, export, import --------------------------------------------------------------------


def test_validate_accepts_the_fixtures_and_names_a_corrupt_file(tmp_path):
    assert haiend("results", "validate", str(FIXTURES / "zen3")).returncode == 0
    shutil.copytree(FIXTURES / "zen3", tmp_path / "site")
    bad = next((tmp_path / "site" / OLD_ID / "stream.triad").glob("*.json"))
    bad.write_text(bad.read_text()[:100])
    done = haiend("results", "validate", str(tmp_path / "site"))
    assert done.returncode == 2
    assert bad.name in done.stderr and "not valid JSON" in done.stderr
    assert "1 file(s) valid" not in done.stdout and "3 file(s) valid, 1 not" in done.stdout


def test_export_then_import_files_everything_under_site_and_new_machine_id(tmp_path):
    results = tmp_path / "mine"
    shutil.copytree(FIXTURES / "zen4", results)
    out = tmp_path / "send.zip"
    done = haiend(
        "results", "export", "--anonymise", "--site", "lab-b", "--results-dir", str(results), str(out)
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        assert (
            manifest["anonymised"]
            and manifest["site"] == "lab-b"
            and set(manifest["files"]) == set(names) - {"manifest.json"}
        )
        assert all(OLD_ID not in name for name in names)  # migrated: the new id
        assert all("hostname" not in archive.read(n).decode() for n in names)
    catalogue = tmp_path / "catalogue"
    done = haiend("results", "import", str(out), "--catalogue", str(catalogue))
    assert done.returncode == 0, done.stderr
    assert "added 1 record(s) for site lab-b" in done.stdout
    files = tree(catalogue)
    assert len(files) == 3 and all(name.startswith("lab-b/amd-epyc-") for name in files)
    assert exchange.validate(catalogue).problems == []


def test_import_of_a_folder_with_a_site_then_of_another_machine(tmp_path):
    catalogue = tmp_path / "catalogue"
    assert (
        haiend(
            "results", "import", str(FIXTURES / "zen3"), "--site", "site-a", "--catalogue", str(catalogue)
        ).returncode
        == 0
    )
    assert (
        haiend(
            "results", "import", str(FIXTURES / "zen4"), "--site", "site-b", "--catalogue", str(catalogue)
        ).returncode
        == 0
    )
    machines = {p.parent.name for p in catalogue.rglob("machine.json")}
    assert len(machines) == 2


@pytest.mark.parametrize("problem", ["corrupt", "duplicate", "future", "no-site"])
def test_a_bad_import_is_one_sentence_exit_2_and_changes_nothing(tmp_path, problem):
    catalogue = tmp_path / "catalogue"
    assert (
        haiend(
            "results", "import", str(FIXTURES / "zen3"), "--site", "site-a", "--catalogue", str(catalogue)
        ).returncode
        == 0
    )
    before = tree(catalogue)
    source = tmp_path / "incoming"
    shutil.copytree(FIXTURES / ("zen3" if problem == "duplicate" else "zen4"), source)
    triad = source / OLD_ID / "stream.triad"
    record = next(triad.glob("*.json"))
    if problem == "corrupt":
        (triad / "broken.json").write_text('{"kernel": "stream.triad", "times": [0.1, ')
    elif problem == "future":
        (triad / "future.json").write_text(
            json.dumps(json.loads(record.read_text()) | {"schema_version": 99})
        )
    site = [] if problem == "no-site" else ["--site", "site-b"]
    done = haiend("results", "import", str(source), *site, "--catalogue", str(catalogue))
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "nothing was imported" in done.stderr
    expected = {
        "corrupt": "broken.json",
        "duplicate": "already in the catalogue",
        "future": "newer than this haiend reads",
        "no-site": "--site",
    }[problem]
    assert expected in done.stderr
    assert tree(catalogue) == before


def test_export_of_an_empty_folder_and_to_a_non_zip_name_are_errors(tmp_path):
    done = haiend("results", "export", str(tmp_path / "x.zip"), "--results-dir", str(tmp_path / "none"))
    assert done.returncode == 2 and "no readable results" in done.stderr
    done = haiend("results", "export", str(tmp_path / "x.tar"), "--results-dir", str(FIXTURES / "zen3"))
    assert done.returncode == 2 and "must end in .zip" in done.stderr
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.tar").exists()


def test_a_zip_whose_file_does_not_match_its_manifest_is_refused(tmp_path):
    out = tmp_path / "send.zip"
    assert haiend("results", "export", "--results-dir", str(FIXTURES / "zen3"), str(out)).returncode == 0
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name.endswith("ceilings.json"):
                content = content.replace(b'"quick": false', b'"quick": true')
            target.writestr(name, content)
    done = haiend("results", "validate", str(tampered))
    assert done.returncode == 2 and "does not match the manifest" in done.stderr


# -- migrations from version 2 -------------------------------------------------------------------


def test_a_version_2_record_migrates_to_3_with_its_energy_unknown():
    path = FIXTURES.parent / "files-v2" / "stream-triad-c.json"  # a record of this catalogue as filed in v2
    old = json.loads(path.read_text())
    assert old["schema_version"] == 2 and "energy" not in old
    record = Record.from_dict(old)
    assert record.schema_version == schemas.CURRENT["record"] == 3
    assert record.energy == {} and record.joules_per_call is None and record.carbon_g_per_call is None
    assert record.times == old["times"] and record.run == old["run"]
    schemas.validate("record", record.to_dict(), 3)
