"""haiend.container: an Apptainer-style image built (mmdebstrap, mksquashfs), mounted (squashfuse),
entered (bubblewrap), and the same kernel run inside and outside, the records compared.

The slow test builds the image once per machine (about a minute; later runs and the book reuse
it from the cache) and is skipped, with why, where the tools are missing (``./quickstart test``
installs them as root) or where the image cannot be built (not root) and none is cached.
Afterwards nothing of it may be mounted or running: /proc/mounts and the process table are checked.
"""

import psutil
import pytest

from haiend import cli, records
from haiend.container import enter, image, inside, measure, recipe
from haiend.errors import HaiendError


def test_detect_reads_what_the_runtimes_set():
    assert inside.detect({}) is None
    assert inside.detect({"APPTAINER_CONTAINER": "/x/h.sif", "APPTAINER_NAME": "h.sif"}) == {
        "runtime": "apptainer",
        "image": "h.sif",
    }
    assert inside.detect({"SINGULARITY_CONTAINER": "/x/old.simg"}) == {
        "runtime": "singularity",
        "image": "old.simg",
    }
    assert inside.detect({"container": "podman"}) == {"runtime": "podman", "image": None}
    ours = enter.environment(
        "/cache/k.sqfs", host={"OMP_NUM_THREADS": "1", "SECRET": "x", "HAIEND_KERNEL_PATH": "/k"}
    )
    assert inside.detect(ours) == {"runtime": "squashfuse+bwrap", "image": "k.sqfs"}
    assert ours["OMP_NUM_THREADS"] == "1" and "SECRET" not in ours and "HAIEND_KERNEL_PATH" not in ours


def test_every_record_says_whether_it_ran_in_a_container(monkeypatch):
    monkeypatch.delenv("APPTAINER_CONTAINER", raising=False)
    monkeypatch.delenv("SINGULARITY_CONTAINER", raising=False)
    monkeypatch.delenv("container", raising=False)
    assert records.run_context()["container"] is None
    monkeypatch.setenv("APPTAINER_CONTAINER", "/images/haiend.sif")
    assert records.run_context()["container"] == {"runtime": "apptainer", "image": "haiend.sif"}


def test_recipe_key_follows_what_goes_in():
    a = recipe.default()
    assert a.key() == recipe.default().key() and len(a.key()) == 16
    assert dict(a.python_packages)["numpy"] == __import__("numpy").__version__
    other = recipe.Recipe(**{**a.__dict__, "python_packages": (("numpy", "0.0"),)})
    assert other.key() != a.key()
    with pytest.raises(HaiendError, match="no image recipe"):
        recipe.default("trixie-or-whatever")


def test_bwrap_enters_the_image_read_only_with_the_binds():
    argv = enter.bwrap_argv(
        "/mnt/img", ["python3", "-V"], [("/src", "/opt/haiend/src", False), ("/r", "/haiend/results", True)]
    )
    assert argv[:4] == ["bwrap", "--ro-bind", "/mnt/img", "/"]
    assert argv[argv.index("--proc") + 1] == "/proc" and argv[argv.index("--tmpfs") + 1] == "/tmp"
    assert ["--ro-bind", "/src", "/opt/haiend/src"] == argv[argv.index("/src") - 1 : argv.index("/src") + 2]
    assert ["--bind", "/r", "/haiend/results"] == argv[argv.index("/r") - 1 : argv.index("/r") + 2]
    assert argv[-3:] == ["--", "python3", "-V"]
    assert all(point in recipe.MOUNT_POINTS for point in ("/opt/haiend/src", "/haiend/results"))


def test_a_missing_image_is_one_sentence(tmp_path):
    if enter.unavailable():
        pytest.skip(enter.unavailable())
    with pytest.raises(HaiendError, match="does not exist"):
        with enter.mounted(tmp_path / "none.sqfs"):
            pass


# --- the real thing -------------------------------------------------------------------------


def _ours() -> list[str]:
    """Mounts and processes of an image: none may outlive a test."""
    with open("/proc/mounts") as mounts:
        left = [line.split()[1] for line in mounts if "haiend-image-" in line]
    for p in psutil.process_iter(["name", "cmdline"]):
        with_image = any(
            "haiend-image-" in part or part.endswith(".sqfs") for part in p.info["cmdline"] or ()
        )
        if p.info["name"] in ("squashfuse", "bwrap") and with_image:
            left.append(f"{p.info['name']} (pid {p.pid})")
    return left


@pytest.fixture(scope="module")
def built():
    """The image of this environment's recipe: the cached one, else built now (about a minute)."""
    why = enter.unavailable()
    if why:
        pytest.skip(why)
    found = image.cached()
    if found is None:
        why = image.build_unavailable()
        if why:
            pytest.skip(f"no image is cached and {why[0].lower()}{why[1:]}")
        found = image.build()
    yield found
    assert _ours() == []


@pytest.mark.slow
def test_image_is_a_squashfs_entered_without_a_daemon(built, tmp_path):
    assert built.path.read_bytes()[:4] == b"hsqs"  # SquashFS's magic number
    assert built.manifest["recipe"]["key"] == recipe.default().key()
    assert "python3" in built.manifest["debian_packages"] and "gcc" in built.manifest["debian_packages"]
    assert _ours() == []
    with pytest.raises(RuntimeError, match="on purpose"):
        with enter.mounted(built.path) as root:
            assert (root / "usr/bin/python3").exists() and (root / "opt/haiend/lib/numpy").is_dir()
            probe = "import os, sys, numpy; print(sys.version.split()[0], numpy.__version__, os.access('/usr', os.W_OK))"
            done = enter.run_inside(root, ["python3", "-c", probe], image=built.path)
            assert done.returncode == 0, done.stderr
            python, numpy, writable = done.stdout.split()
            assert python.startswith(recipe.SUITE_PYTHON[recipe.SUITE] + ".") and writable == "False"
            assert numpy == dict(built.manifest["recipe"]["python_packages"])["numpy"]
            failed = enter.run_inside(root, ["sh", "-c", "exit 3"], image=built.path)
            assert failed.returncode == 3
            assert len(_ours()) >= 2  # mounted and squashfuse running: the check sees them
            raise RuntimeError("on purpose: the image is unmounted even so")
    assert _ours() == []


@pytest.mark.slow
def test_the_container_does_not_change_the_figures(built, tmp_path):
    found = measure.inside_and_outside(
        tmp_path, "stream.triad", ("c", "numpy"), size="2097152", threads=1, repeat=10, image=built
    )
    assert (
        len(found.native) == 4 and len(found.inside) == 2
    )  # two native runs and one inside, two variants each
    assert all(
        (r.run or {}).get("container") == {"runtime": "squashfuse+bwrap", "image": built.path.name}
        for r in found.inside
    )
    assert all((r.run or {}).get("container") != found.inside[0].run["container"] for r in found.native)
    assert {r.machine_id for r in (*found.native, *found.inside)} == {found.native[0].machine_id}
    for row in found.rows:
        assert row.comparison.verdict == "noise", f"{row.variant}: {row.comparison}"
    assert all(p.suffix == ".json" for p in (tmp_path / "container").rglob("stream.triad/*"))
    assert _ours() == []


def test_container_commands_answer_in_one_sentence(tmp_path, capsys):
    """What a reader types: ``check`` says whether it can work here; bad input is one sentence, exit 2,
    before anything runs."""
    status = cli.main(["container", "check"])
    out = capsys.readouterr().out.strip()
    assert (status == 0) == (out == "an image can be built and entered here.") and len(out.splitlines()) == 1
    status = cli.main(
        ["container", "compare", "stream.triad", "--variants", "nosuch", "--folder", str(tmp_path)]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "no variant 'nosuch'" in err, err
    assert list(tmp_path.iterdir()) == []
