"""``haiend slurm`` with a site profile's ``[container]`` table: the Apptainer definition file it
writes, and every haiend command of the batch script going through ``apptainer exec``.

Debian 12 has no Apptainer, so what a cluster would do with these files is not tested here: the
definition is checked for its sections, and the script is run with ``apptainer``, ``srun`` and
``module`` replaced by stubs that log their arguments (the shell's quoting and expansion are real).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from haiend import cli, slurm
from haiend import profile as profiles
from haiend.container import apptainer
from haiend.errors import HaiendError

PROFILE = {
    "partition": "gpu",
    "account": "",
    "nodes": 1,
    "tasks_per_node": 2,
    "cpus_per_task": 2,
    "time": "00:20:00",
    "modules": ["apptainer"],
    "activate": "true",
    "launcher": "srun",
    "results_dir": "{tmp}/shared results",
    "variants": ["numpy", "c"],
}
CONTAINER = {"image": "$IMAGES/haiend.sif", "binds": ["/scratch", "$DATA:/data:ro"], "nv": True}


def write_profile(tmp_path, container=CONTAINER, suffix=".json", **changes):
    data = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in PROFILE.items()}
    data.update(changes)
    if container is not None:
        data["container"] = container
    path = tmp_path / f"site{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if k != "container"]
        lines += ["[container]"] + [f"{k} = {json.dumps(v)}" for k, v in (container or {}).items()]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def haiend(capsys):
    """The command line, run in this process (a subprocess would spend seconds importing)."""

    def run(*args):
        status = cli.main([str(a) for a in args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out.out, out.err)

    return run


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_definition_file_has_the_sections_apptainer_reads(tmp_path, suffix):
    if suffix == ".toml" and sys.version_info < (3, 11):
        pytest.skip("TOML site profiles need Python 3.11 (tomllib); the .json case covers the rest.")
    text = slurm.apptainer_definition(write_profile(tmp_path, suffix=suffix), "haiend.def")
    header = [line for line in text.splitlines() if line and not line.startswith("#")][:2]
    assert header == ["Bootstrap: docker", "From: debian:bookworm-slim"]
    sections = re.findall(r"^%(\w+)", text, flags=re.MULTILINE)
    assert {"files", "post", "environment", "runscript", "test"} <= set(sections), sections
    post = text.split("%post", 1)[1].split("\n%", 1)[0]
    assert "apt-get install" in post and "python3-venv" in post and "gcc" in post
    assert "-c /opt/haiend/project/constraints.txt /opt/haiend/project[mpi,gpu]" in post  # nv: the GPU extra
    files = text.split("%files", 1)[1].split("\n%", 1)[0].split("\n")
    sources = [line.split()[0] for line in files if line.strip()]
    assert sources and all(os.path.exists(s) for s in sources), sources  # the checkout's own files
    environment = text.split("%environment", 1)[1].split("\n%", 1)[0]
    assert "export PATH=/opt/haiend/venv/bin:$PATH" in environment
    assert "Untested" in text  # the file says it was not built here


def test_a_cpu_profile_and_another_base(tmp_path):
    path = write_profile(
        tmp_path, container={"image": "/images/h.sif", "bootstrap": "localimage", "from": "base.sif"}
    )
    text = slurm.apptainer_definition(path)
    assert "Bootstrap: localimage\nFrom: base.sif\n" in text and "[mpi]" in text and "gpu" not in text
    assert (
        slurm.render(path, "stream.triad").count(
            'apptainer exec --bind "$HAIEND_RESULTS_DIR" "/images/h.sif"'
        )
        == 4
    )  # roofline (flock or not), bench, report


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")
def test_every_haiend_command_runs_through_apptainer_exec(tmp_path, haiend):
    """The script, run with stubs: apptainer gets --nv, the binds expanded, the image, then python -m haiend."""
    script = tmp_path / "job.sh"
    done = haiend("slurm", str(write_profile(tmp_path)), "stream.triad", "--output", str(script))
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    haiend_lines = [line for line in text.splitlines() if "-m haiend" in line and not line.startswith("#")]
    assert haiend_lines and all("apptainer exec --nv --bind" in line for line in haiend_lines), haiend_lines
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    then = {"srun": 'while [[ "$1" == -* ]]; do shift; done; exec "$@"'}  # srun runs what follows its options
    for name in ("apptainer", "srun", "module"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $*" >> "{log}"\n{then.get(name, "")}\n')
        stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASH_FUNC_", "SLURM_"))}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", IMAGES="/site/images", DATA="/site/data")
    ran = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, env=env)
    assert ran.returncode == 0, ran.stderr
    calls = [c for c in log.read_text().splitlines() if c.startswith("apptainer ")]
    results = str(tmp_path / "shared results")
    expected = f"apptainer exec --nv --bind {results},/scratch,/site/data:/data:ro /site/images/haiend.sif python -m haiend "
    assert len(calls) == 3 and all(c.startswith(expected) for c in calls), calls  # roofline, bench, report
    assert any(" bench stream.triad --variants numpy,c " in c for c in calls), calls


def test_without_a_container_table_nothing_changes(tmp_path, haiend):
    script = slurm.render(write_profile(tmp_path, container=None), "stream.triad")
    assert "apptainer exec" not in script and "\npython -m haiend report" in script
    with pytest.raises(HaiendError, match=r"no \[container\] table"):
        slurm.apptainer_definition(write_profile(tmp_path, container=None))
    done = haiend(
        "slurm", str(tmp_path / "site.json"), "stream.triad", "--apptainer-def", str(tmp_path / "h.def")
    )
    assert done.returncode == 2 and "[container]" in done.stderr and not done.stdout
    assert not (tmp_path / "h.def").exists()


@pytest.mark.parametrize(
    "container",
    [
        {"binds": ["/scratch"]},  # no image
        {"image": 'a"b.sif'},
        {"image": "h.sif", "binds": ["/a,/b"]},
        {"image": "h.sif", "binds": ["/a b"]},
        {"image": "h.sif", "nv": "yes"},
        {"image": "h.sif", "bootstrap": "ftp"},
        {"image": "h.sif", "apptainer": "docker"},
        {"image": "h.sif", "gpus": 4},
        "h.sif",
    ],
)
def test_bad_container_table_is_one_sentence(tmp_path, container):
    path = write_profile(tmp_path, container=container)
    with pytest.raises(HaiendError) as error:
        profiles.read_profile(path)
    message = str(error.value)
    assert len(message.splitlines()) == 1 and message.endswith("."), message
    assert "'container'" in message and str(path) in message and "must be a table with image" in message


def test_bad_container_table_exits_2_and_writes_nothing(tmp_path, haiend):
    path = write_profile(tmp_path, container={"image": "h.sif", "nv": "yes"})
    out = tmp_path / "out"
    out.mkdir()
    done = haiend(
        "slurm",
        str(path),
        "stream.triad",
        "--output",
        str(out / "job.sh"),
        "--apptainer-def",
        str(out / "h.def"),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "'container'" in done.stderr
    assert list(out.iterdir()) == [] and not done.stdout


def test_exec_prefix_quotes_for_the_shell():
    profile = profiles.validate(
        {**PROFILE, "results_dir": "/r", "container": {"image": "$HOME/i.sif"}}, "p.json"
    )
    assert apptainer.exec_prefix(profile) == 'apptainer exec --bind "$HAIEND_RESULTS_DIR" "$HOME/i.sif"'
    profile = profiles.validate(
        {**PROFILE, "results_dir": "/r", "container": {"image": "i.sif", "apptainer": "singularity"}}
    )
    assert apptainer.exec_prefix(profile).startswith("singularity exec --bind")


def test_example_apptainer_profile():
    if sys.version_info < (3, 11):
        pytest.skip("TOML site profiles need Python 3.11 (tomllib).")
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "site-profiles", "apptainer.toml")
    script = slurm.render(path, "stream")
    assert (
        'apptainer exec --nv --bind "$HAIEND_RESULTS_DIR,/scratch" "$HOME/images/haiend.sif" python -m haiend bench'
        in script
    )
    assert "%post" in slurm.apptainer_definition(path)
