"""Slurm batch scripts generated from a site profile, so that a site edits one file, not the lessons.

A *site profile* (TOML on Python 3.11+, or JSON anywhere) says how jobs run on one cluster: the
partition and account, the shape of a job (nodes, tasks per node, CPUs per task, time limit), the
modules to load, the command that activates the Python environment, the MPI launcher and its
binding option, and the shared folder that collects the results. ``examples/site-profiles/``
documents every key. From it this module renders two scripts:

* :func:`batch_script`: measure the ceilings once (one task), then ``haiend bench KERNEL`` with
  the ``mpi`` variant on every task of the job, then the other CPU variants on one task with
  ``--threads`` set to the CPUs of that task;
* :func:`array_script`: the same benchmarks as a job array, one array task per value of a sweep
  (problem sizes, or thread counts), picked from a bash array by ``SLURM_ARRAY_TASK_ID``.

Thread counts follow ``cpus_per_task`` (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, with
``OMP_PLACES`` and ``OMP_PROC_BIND`` from the profile). ``srun`` is given ``--cpus-per-task``
explicitly: since Slurm 22.05 it no longer inherits the value from ``sbatch``.

A bad profile raises :class:`HaiendError` with one sentence naming the file and the key; nothing
is written. Every task writes its records to ``results_dir`` (one folder per machine id), so runs
on several nodes, or several clusters, merge by copying machine folders and ``haiend report``
reads them all.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from haiend.errors import HaiendError

LAUNCHERS = ("srun", "mpiexec")
SWEEPS = ("size", "threads")
# Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_TIME = re.compile(r"^(\d+-\d+(:\d+){0,2}|\d+(:\d+){0,2})$")
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.,:+=/@%-]+$")


@dataclass(frozen=True)
class Profile:
    """A validated site profile; ``path`` is where it was read from (for messages and the header)."""

    path: str
    partition: str
    account: str
    nodes: int
    tasks_per_node: int
    cpus_per_task: int
    time: str
    modules: tuple[str, ...]
    activate: str
    launcher: str
    results_dir: str
    cpu_bind: str = ""
    launcher_args: str = ""
    extra_sbatch: tuple[str, ...] = ()
    omp_places: str = "cores"
    omp_proc_bind: str = "close"
    python: str = "python"
    variants: tuple[str, ...] = ()
    sweep_sizes: tuple[str, ...] = ()
    sweep_threads: tuple[int, ...] = ()

    @property
    def tasks(self) -> int:
        return self.nodes * self.tasks_per_node


# key: (kind, required). Kinds: "str", "name" (non-empty, no spaces), "int" (>= 1), "list[str]", "list[int]".
_KEYS: dict[str, tuple[str, bool]] = {
    "partition": ("name", True),
    "account": ("str", True),
    "nodes": ("int", True),
    "tasks_per_node": ("int", True),
    "cpus_per_task": ("int", True),
    "time": ("time", True),
    "modules": ("list[str]", True),
    "activate": ("text", True),
    "launcher": ("launcher", True),
    "results_dir": ("text", True),
    "cpu_bind": ("str", False),
    "launcher_args": ("str", False),
    "extra_sbatch": ("list[str]", False),
    "omp_places": ("name", False),
    "omp_proc_bind": ("name", False),
    "python": ("text", False),
    "variants": ("list[str]", False),
    "sweep_sizes": ("list[str]", False),
    "sweep_threads": ("list[int]", False),
}


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """Read and validate a site profile (``.toml`` on Python 3.11+, or ``.json``)."""
    path = Path(path)
    raw = _load(path)
    return validate(raw, str(path))


def _load(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise HaiendError(f"site profile {path} must be a .toml or .json file.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HaiendError(f"site profile {path} cannot be read ({exc.strerror or exc}).") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HaiendError(f"site profile {path} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise HaiendError(
                f"site profile {path} is TOML, which needs Python 3.11 or later (tomllib): "
                "use a .json profile with the same keys instead."
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise HaiendError(f"site profile {path} is not valid TOML ({exc}).") from None
    if not isinstance(data, dict):
        raise HaiendError(f"site profile {path} must hold a table of keys, not a {type(data).__name__}.")
    return data


def validate(raw: dict[str, Any], where: str = "the site profile") -> Profile:
    """Check every key of a profile read from ``where``; the first problem raises HaiendError."""

    def bad(key: str, what: str) -> HaiendError:
        return HaiendError(f"site profile {where}: key {key!r} {what}.")

    raw = {k: v for k, v in raw.items() if not str(k).startswith("_")}  # "_comment" in JSON profiles
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise bad(unknown[0], f"is not a profile key (known keys: {', '.join(_KEYS)})")
    values: dict[str, Any] = {}
    for key, (kind, required) in _KEYS.items():
        if key not in raw:
            if required:
                raise bad(key, "is missing")
            continue
        value = raw[key]
        if kind in ("str", "name", "text", "time", "launcher"):
            if not isinstance(value, str):
                raise bad(key, f"must be a string, not {_type(value)}")
            if "\n" in value or "\r" in value:
                raise bad(key, "must be a single line")
            if kind == "name" and not _SAFE_WORD.match(value):
                raise bad(key, f"must be one word of letters, digits and _.,:+=/@%-, not {value!r}")
            if kind == "text" and not value.strip():
                raise bad(key, "must not be empty")
            if kind == "time" and not _TIME.match(value):
                raise bad(key, f"must be a Slurm time limit such as \"01:30:00\" or \"1-00:00:00\", not {value!r}")
            if kind == "launcher" and value not in LAUNCHERS:
                raise bad(key, f"must be one of {', '.join(LAUNCHERS)}, not {value!r}")
            if key == "account" and value and not _SAFE_WORD.match(value):
                raise bad(key, f"must be one word (or empty for none), not {value!r}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(key, f"must be a whole number, not {_type(value)}")
            if value < 1:
                raise bad(key, f"must be at least 1, not {value}")
        elif kind.startswith("list"):
            item = str if kind == "list[str]" else int
            if not isinstance(value, list) or any(
                isinstance(v, bool) or not isinstance(v, item) for v in value
            ):
                raise bad(key, f"must be a list of {'strings' if item is str else 'whole numbers'}")
            if item is str and any(not v.strip() or "\n" in v for v in value):
                raise bad(key, "must hold non-empty, single-line strings")
            if item is int and any(v < 1 for v in value):
                raise bad(key, "must hold whole numbers of at least 1")
            value = tuple(value)
        values[key] = value
    if any(c in values["results_dir"] for c in '"`\\'):
        raise bad("results_dir", "must not contain double quotes, backquotes or backslashes (it is expanded by the shell)")
    for line in values.get("extra_sbatch", ()):
        if not line.startswith("-"):
            raise bad("extra_sbatch", f"must hold sbatch options starting with '-', such as \"--exclusive\", not {line!r}")
    for n in values.get("sweep_threads", ()):
        if n > values["cpus_per_task"]:
            raise bad("sweep_threads", f"holds {n}, more than cpus_per_task ({values['cpus_per_task']})")
    return Profile(path=where, **values)


def _type(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


# --- rendering -------------------------------------------------------------------------------


def _kernel_variants(profile: Profile, kernel: str) -> tuple[list[str], bool]:
    """The non-MPI variants to run with --threads, and whether every kernel has an ``mpi`` variant."""
    from haiend import kernels

    chosen = kernels.group(kernel)  # an unknown kernel is an error here, before anything is written
    common = [name for name in chosen[0].variants if all(name in k.variants for k in chosen)]
    if profile.variants:
        unknown = [v for v in profile.variants if v not in common]
        if unknown:
            raise HaiendError(
                f"site profile {profile.path}: key 'variants' names {unknown[0]!r}, which {kernel} does not have "
                f"(it has {', '.join(common)})."
            )
        threaded = [v for v in profile.variants if v != "mpi"]
    else:
        threaded = [v for v in common if v != "mpi" and all(k.variants[v].device == "cpu" for k in chosen)]
    run_mpi = "mpi" in common and (not profile.variants or "mpi" in profile.variants)
    return threaded, run_mpi


def _header(profile: Profile, kernel: str, job_name: str, output: str, extra: Sequence[str] = ()) -> list[str]:
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --partition={profile.partition}",
    ]
    if profile.account:
        lines.append(f"#SBATCH --account={profile.account}")
    lines += [
        f"#SBATCH --nodes={profile.nodes}",
        f"#SBATCH --ntasks-per-node={profile.tasks_per_node}",
        f"#SBATCH --cpus-per-task={profile.cpus_per_task}",
        f"#SBATCH --time={profile.time}",
        f"#SBATCH --output={output}",
        *extra,
        *(f"#SBATCH {line}" for line in profile.extra_sbatch),
        "",
        f"# Generated by 'haiend slurm' from the site profile {profile.path}",
        f"# on {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}: change the profile and generate again,",
        "# rather than editing this file.",
        "set -eo pipefail  # not -u: some sites' module and activate scripts read unset variables",
        "",
    ]
    if profile.modules:
        lines += [f"module load {shlex.quote(m)}" for m in profile.modules]
    lines += [
        profile.activate,
        "",
        f"export OMP_NUM_THREADS={profile.cpus_per_task}",
        f"export NUMBA_NUM_THREADS={profile.cpus_per_task}",
        f"export OMP_PLACES={profile.omp_places}",
        f"export OMP_PROC_BIND={profile.omp_proc_bind}",
        f'export HAIEND_RESULTS_DIR="{profile.results_dir}"  # expanded when the job runs',
        'mkdir -p "$HAIEND_RESULTS_DIR"',
        "",
    ]
    return lines


def _launch(profile: Profile, *, tasks: int | None, cpus: int) -> str:
    """The launcher prefix: every task of the job (``tasks=None``) or one task on one node."""
    bind = f" {profile.cpu_bind}" if profile.cpu_bind else ""
    extra = f" {profile.launcher_args}" if profile.launcher_args else ""
    if profile.launcher == "srun":
        shape = (
            f"--nodes={profile.nodes} --ntasks-per-node={profile.tasks_per_node}"
            if tasks is None
            else f"--nodes=1 --ntasks={tasks}"
        )
        return f"srun {shape} --cpus-per-task={cpus}{bind}{extra}"
    return f"mpiexec -n {profile.tasks if tasks is None else tasks}{bind}{extra}"


def _haiend(profile: Profile) -> str:
    return f"{profile.python} -m haiend"


def _bench_lines(profile: Profile, kernel: str, size_arg: str, threads: str, mpi: bool = True) -> list[str]:
    threaded, run_mpi = _kernel_variants(profile, kernel)
    run_mpi = run_mpi and mpi
    results = '--results-dir "$HAIEND_RESULTS_DIR"'
    lines = [
        "# 1. This node's ceilings (memory bandwidth, FP64 peak), on one task; cached in the results folder.",
        f"{_launch(profile, tasks=1, cpus=profile.cpus_per_task)} {_haiend(profile)} roofline {results}",
        "",
    ]
    if run_mpi:
        lines += [
            f"# 2. The mpi variant on every task of the job ({profile.tasks} ranks, one thread each).",
            f"{_launch(profile, tasks=None, cpus=profile.cpus_per_task)} {_haiend(profile)} bench {kernel}"
            f" --variants mpi{size_arg} {results}",
            "",
        ]
    if threaded:
        lines += [
            "# 3. The other variants on one task, threaded variants with the CPUs of that task.",
            f"{_launch(profile, tasks=1, cpus=profile.cpus_per_task)} {_haiend(profile)} bench {kernel}"
            f" --variants {','.join(threaded)} --threads {threads}{size_arg} {results}",
            "",
        ]
    return lines


def batch_script(profile: Profile, kernel: str) -> str:
    """One job: ceilings, then the mpi variant on every task, then the other variants on one task."""
    lines = _header(profile, kernel, f"haiend-{kernel}", "haiend-%x-%j.out")
    lines += _bench_lines(profile, kernel, "", "$OMP_NUM_THREADS")
    lines.append(f"{_haiend(profile)} report --kernel {kernel} --results-dir \"$HAIEND_RESULTS_DIR\"")
    return "\n".join(lines) + "\n"


def sweep_values(profile: Profile, kernel: str, sweep: str, values: Sequence[str] | None) -> list[str]:
    """The array's values: ``values`` if given, else the profile's list for this sweep; validated."""
    from haiend import kernels

    if sweep not in SWEEPS:
        raise HaiendError(f"--sweep must be one of {', '.join(SWEEPS)}, not {sweep!r}.")
    chosen = values if values else (profile.sweep_sizes if sweep == "size" else profile.sweep_threads)
    if not chosen:
        key = "sweep_sizes" if sweep == "size" else "sweep_threads"
        raise HaiendError(f"the job array needs values: give them after --array, or set {key} in {profile.path}.")
    out = []
    for value in chosen:
        text = str(value).strip()
        if sweep == "size":
            for k in kernels.group(kernel):
                text = k.size_label(k.parse_size(text))
        else:
            if not text.isdigit() or int(text) < 1:
                raise HaiendError(f"thread count {value!r} in the array must be a whole number of at least 1.")
            if int(text) > profile.cpus_per_task:
                raise HaiendError(
                    f"thread count {text} in the array is more than cpus_per_task ({profile.cpus_per_task}) "
                    f"in {profile.path}."
                )
        out.append(text)
    return out


def array_script(profile: Profile, kernel: str, values: Sequence[str], sweep: str = "size") -> str:
    """A job array over ``values`` (sizes or thread counts), one array task each."""
    values = sweep_values(profile, kernel, sweep, values)
    lines = _header(
        profile,
        kernel,
        f"haiend-{kernel}-{sweep}",
        "haiend-%x-%A_%a.out",
        [f"#SBATCH --array=0-{len(values) - 1}"],
    )
    lines += [
        f"# The {sweep} of each array task, picked by SLURM_ARRAY_TASK_ID (0 .. {len(values) - 1}).",
        f"VALUES=({' '.join(shlex.quote(v) for v in values)})",
        ': "${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}"',
        'VALUE="${VALUES[$SLURM_ARRAY_TASK_ID]}"',
        'if [ -z "$VALUE" ]; then',
        f'    echo "array task $SLURM_ARRAY_TASK_ID has no value: this script has {len(values)}" >&2',
        "    exit 2",
        "fi",
    ]
    if sweep == "threads":
        lines += ['export OMP_NUM_THREADS="$VALUE" NUMBA_NUM_THREADS="$VALUE"', ""]
        lines += _bench_lines(profile, kernel, "", '"$VALUE"', mpi=False)  # mpi ranks run one thread each
    else:
        lines += [""]
        lines += _bench_lines(profile, kernel, ' --size "$VALUE"', "$OMP_NUM_THREADS")
    return "\n".join(lines) + "\n"


def render(
    profile_path: str | os.PathLike[str],
    kernel: str,
    array: Sequence[str] | None = None,
    sweep: str = "size",
) -> str:
    """The script for ``haiend slurm``: a batch script, or a job array when ``array`` is not None."""
    profile = read_profile(profile_path)
    if array is None:
        return batch_script(profile, kernel)
    return array_script(profile, kernel, array, sweep)


def write_atomic(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename, executable by its owner.

    An existing file is kept unless ``force``: a generated script may have been edited by hand.
    """
    path = Path(path)
    if path.exists() and not force:
        raise HaiendError(f"{path} exists already: choose another --output, or add --force to replace it.")
    if not path.parent.is_dir():
        raise HaiendError(f"the folder of {path} does not exist: create it first, or choose another --output.")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise HaiendError(f"{path.parent} cannot be written ({exc.strerror or exc}).") from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o755 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

