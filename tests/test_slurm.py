"""``haiend slurm``: scripts from a site profile are valid shell, carry the profile, and run.

There is no Slurm here: scripts are checked with ``bash -n``, by content, and by running them with
``srun``, ``mpiexec``, ``module`` and ``python`` replaced by stubs that log their arguments.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from haiend import slurm
from haiend.errors import HaiendError

PROFILE = {
    "partition": "short",
    "account": "proj42",
    "nodes": 2,
    "tasks_per_node": 3,
    "cpus_per_task": 4,
    "time": "01:15:00",
    "modules": ["gcc/13.2", "python/3.11"],
    "activate": "source {tmp}/venv/activate",
    "launcher": "srun",
    "results_dir": "{tmp}/shared results",
    "cpu_bind": "--cpu-bind=cores",
    "extra_sbatch": ["--exclusive", "--mem=0"],
    "sweep_sizes": ["100x100x4", "200x200x4", "300x300x8"],
}
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")


def haiend(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "haiend", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def write_profile(tmp_path, suffix=".json", **changes):
    data = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in PROFILE.items()}
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / f"site{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in data.items()) + "\n")
    return path


@pytest.fixture
def stubs(tmp_path):
    """A PATH whose srun, mpiexec, module and python log their arguments to calls.log, and a venv."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("srun", "mpiexec", "module", "python"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $* [OMP_NUM_THREADS=$OMP_NUM_THREADS]" >> "{log}"\n')
        stub.chmod(0o755)
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "activate").write_text(f'echo "activated" >> "{log}"\n')
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def run_script(script, env, **extra):
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("BASH_FUNC_", "SLURM_"))
    }  # no real module()
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=30, env={**clean, **env, **extra}
    )


def sbatch_lines(text):
    return [line for line in text.splitlines() if line.startswith("#SBATCH")]


@needs_bash
@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_batch_script_carries_the_profile(tmp_path, suffix, stubs):
    if suffix == ".toml" and sys.version_info < (3, 11):
        pytest.skip("TOML profiles need Python 3.11+ (tomllib); the .json case covers 3.10")
    profile = write_profile(tmp_path, suffix)
    done = haiend("slurm", str(profile), "stencil2d")
    assert done.returncode == 0, done.stderr
    script = tmp_path / "job.sh"
    script.write_text(done.stdout)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert sbatch_lines(done.stdout)[:7] == [
        "#SBATCH --job-name=haiend-stencil2d",
        "#SBATCH --partition=short",
        "#SBATCH --account=proj42",
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=3",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --time=01:15:00",
    ]
    assert "#SBATCH --exclusive" in done.stdout and "#SBATCH --mem=0" in done.stdout
    assert "module load gcc/13.2\nmodule load python/3.11\n" in done.stdout
    assert f"source {tmp_path}/venv/activate" in done.stdout
    for line in ("OMP_NUM_THREADS=4", "NUMBA_NUM_THREADS=4", "OMP_PLACES=cores", "OMP_PROC_BIND=close"):
        assert f"export {line}\n" in done.stdout

    ran = run_script(script, stubs[0])
    assert ran.returncode == 0, ran.stderr
    calls = stubs[1].read_text().splitlines()
    assert calls[:3] == [
        "module load gcc/13.2 [OMP_NUM_THREADS=]",
        "module load python/3.11 [OMP_NUM_THREADS=]",
        "activated",
    ]
    launches = [c for c in calls if c.startswith("srun")]
    assert len(launches) == 3 and all("--cpu-bind=cores --cpus-per-task" not in c for c in launches)
    assert all("--cpus-per-task=4 --cpu-bind=cores" in c and "[OMP_NUM_THREADS=4]" in c for c in launches)
    roofline, mpi, threaded = launches
    assert "--nodes=1 --ntasks=1" in roofline and "-m haiend roofline" in roofline
    assert "--nodes=2 --ntasks-per-node=3" in mpi and "bench stencil2d --variants mpi " in mpi
    assert "--variants numpy,numba,numba_blocked,numba_parallel,c --threads 4" in threaded
    assert all(f"--results-dir {tmp_path}/shared results" in c for c in launches)
    assert calls[-1].startswith("python -m haiend report --kernel stencil2d")
    assert (tmp_path / "shared results").is_dir()


@needs_bash
def test_array_picks_the_value_of_each_task(tmp_path, stubs):
    profile = write_profile(tmp_path)
    out = tmp_path / "sweep.sbatch"
    done = haiend("slurm", str(profile), "stencil2d", "--array", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("#!/bin/bash") and os.access(out, os.X_OK)
    text = out.read_text()
    assert "#SBATCH --array=0-2" in sbatch_lines(text)
    assert subprocess.run(["bash", "-n", str(out)]).returncode == 0
    for task, size in enumerate(PROFILE["sweep_sizes"]):
        stubs[1].unlink(missing_ok=True)
        ran = run_script(out, stubs[0], SLURM_ARRAY_TASK_ID=str(task))
        assert ran.returncode == 0, ran.stderr
        benches = [c for c in stubs[1].read_text().splitlines() if " bench " in c]
        assert len(benches) == 2 and all(f"--size {size} " in c for c in benches), benches
    ran = run_script(out, stubs[0], SLURM_ARRAY_TASK_ID="3")
    assert ran.returncode == 2 and "has no value" in ran.stderr
    ran = run_script(out, stubs[0])
    assert ran.returncode != 0 and "job array" in ran.stderr


@needs_bash
def test_array_over_thread_counts_from_the_command_line(tmp_path, stubs):
    profile = write_profile(tmp_path, launcher="mpiexec", cpu_bind="-bind-to core")
    done = haiend("slurm", str(profile), "stencil2d", "--array", "1", "2", "4", "--sweep", "threads")
    assert done.returncode == 0, done.stderr
    script = tmp_path / "threads.sh"
    script.write_text(done.stdout)
    assert "#SBATCH --array=0-2" in done.stdout
    ran = run_script(script, stubs[0], SLURM_ARRAY_TASK_ID="1")
    assert ran.returncode == 0, ran.stderr
    calls = [c for c in stubs[1].read_text().splitlines() if c.startswith("mpiexec")]
    assert all(c.startswith("mpiexec -n 1 -bind-to core python -m haiend") for c in calls)
    assert "--threads 2 " in calls[-1] and "[OMP_NUM_THREADS=2]" in calls[-1]
    assert not any("--variants mpi" in c for c in calls)  # mpi ranks run one thread: no thread sweep


def test_mpiexec_launcher_runs_every_task(tmp_path):
    profile = slurm.read_profile(write_profile(tmp_path, launcher="mpiexec", cpu_bind="-bind-to core"))
    script = slurm.batch_script(profile, "stencil2d")
    assert "mpiexec -n 6 -bind-to core python -m haiend bench stencil2d --variants mpi" in script


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"nodes": None}, "nodes"),
        ({"cpus_per_task": "4"}, "cpus_per_task"),
        ({"cpus_per_task": 0}, "cpus_per_task"),
        ({"modules": "gcc"}, "modules"),
        ({"launcher": "aprun"}, "launcher"),
        ({"time": "an hour"}, "time"),
        ({"partition": "a b"}, "partition"),
        ({"extra_sbatch": ["exclusive"]}, "extra_sbatch"),
        ({"partiton": "short"}, "partiton"),
        ({"results_dir": 'a"b'}, "results_dir"),
    ],
)
def test_bad_profile_is_one_sentence_and_writes_nothing(tmp_path, changes, key):
    profile = write_profile(tmp_path, **changes)
    out = tmp_path / "out" / "job.sh"
    out.parent.mkdir()
    done = haiend("slurm", str(profile), "stencil2d", "--output", str(out))
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and message.endswith("."), message
    assert str(profile) in message and repr(key) in message
    assert list(out.parent.iterdir()) == []


def test_bad_array_values_and_kernel(tmp_path):
    profile = write_profile(tmp_path)
    for args, words in [
        (["stencil2d", "--array", "100x100"], "ny"),
        (["stencil2d", "--array", "8", "--sweep", "threads"], "cpus_per_task"),
        (["nosuchkernel"], "unknown kernel"),
    ]:
        done = haiend("slurm", str(profile), *args)
        assert done.returncode == 2 and words in done.stderr and not done.stdout, done.stderr
    no_sweep = write_profile(tmp_path, sweep_sizes=None)
    done = haiend("slurm", str(no_sweep), "stencil2d", "--array")
    assert done.returncode == 2 and "sweep_sizes" in done.stderr


def test_existing_output_is_kept_unless_forced(tmp_path):
    profile = write_profile(tmp_path)
    out = tmp_path / "job.sh"
    out.write_text("edited by hand\n")
    done = haiend("slurm", str(profile), "stencil2d", "--output", str(out))
    assert done.returncode == 2 and "--force" in done.stderr
    assert out.read_text() == "edited by hand\n"
    done = haiend("slurm", str(profile), "stencil2d", "--output", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("#!/bin/bash")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_toml_on_python_310_says_use_json(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as if tomllib did not exist
    path = tmp_path / "site.toml"
    path.write_text('partition = "x"\n')
    with pytest.raises(HaiendError, match=r"Python 3\.11.*\.json"):
        slurm.read_profile(path)


@pytest.mark.parametrize("name", ["generic.toml", "generic.json"])
def test_example_profiles_are_valid_and_agree(name):
    if name.endswith(".toml") and sys.version_info < (3, 11):
        pytest.skip("TOML profiles need Python 3.11+ (tomllib)")
    folder = os.path.join(os.path.dirname(__file__), "..", "examples", "site-profiles")
    profile = slurm.read_profile(os.path.join(folder, name))
    other = slurm.read_profile(os.path.join(folder, "generic.json"))
    assert {**vars(profile), "path": ""} == {**vars(other), "path": ""}
    assert slurm.array_script(profile, "stencil2d", ()).count("#SBATCH --array=0-2") == 1
    assert textwrap.dedent(slurm.batch_script(profile, "stream")).count("--variants mpi") == 1


@needs_bash
def test_array_over_c_flags_for_one_task_runs_without_a_launcher(tmp_path, stubs):
    """A job of one task runs its commands in the batch step (the same script runs outside Slurm);
    a sweep over C flags sets $HAIEND_CFLAGS per element and, without roof, measures no ceilings."""
    profile = slurm.read_profile(write_profile(tmp_path, nodes=1, tasks_per_node=1))
    flags = ["-O3 -DNB=64", "-O3 -DNB=128"]
    script = tmp_path / "flags.sh"
    script.write_text(
        slurm.array_script(profile, "matmul.float64", flags, sweep="cflags", size="8x16x32", roof=False)
    )
    assert "#SBATCH --array=0-1" in script.read_text() and "roofline" not in script.read_text()
    ran = run_script(script, stubs[0], SLURM_ARRAY_TASK_ID="1")
    assert ran.returncode == 0, ran.stderr
    calls = [c for c in stubs[1].read_text().splitlines() if c.startswith(("srun", "python"))]
    assert calls == [
        f"python -m haiend bench matmul.float64 --variants c --threads 4 --size 8x16x32 --no-roof"
        f" --results-dir {tmp_path}/shared results [OMP_NUM_THREADS=4]"
    ]
    assert 'export HAIEND_CFLAGS="$VALUE"' in script.read_text()
    with pytest.raises(HaiendError, match="values"):
        slurm.array_script(profile, "matmul.float64", [], sweep="cflags")
    with pytest.raises(HaiendError, match="not of a sweep over sizes"):
        slurm.array_script(profile, "stencil2d", ["100x100x4"], size="100x100x4")


@needs_bash
def test_array_measures_the_ceilings_under_flock(tmp_path, stubs):
    profile = slurm.read_profile(write_profile(tmp_path))
    text = slurm.array_script(profile, "stencil2d", ())
    assert 'flock "$HAIEND_RESULTS_DIR/.roofline.lock" srun --nodes=1 --ntasks=1' in text
    assert "#SBATCH --output=%x-%A_%a.out" in text
