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
  (problem sizes, thread counts, or the C flags of the ``c`` variants, ``$HAIEND_CFLAGS``, which is
  how :mod:`haiend.sweep` varies a block size), picked from a bash array by ``SLURM_ARRAY_TASK_ID``.

What a real scheduler taught (the scripts first ran on one in :mod:`haiend.localslurm`): array
tasks on one node measured the ceilings all at once, each disturbing the others' bandwidth, so
the measurement runs under ``flock`` on a lock file in the results folder (the first task
measures, the others wait and read its cache); a job of one task runs its commands in the batch
step itself, since ``srun`` would only add a step (and the same script then runs outside Slurm,
as :mod:`haiend.sweep`'s local executor runs it); log names no longer repeat "haiend-".

With a ``[container]`` table in the profile, every haiend command runs as ``apptainer exec
[--nv] --bind ... IMAGE python -m haiend ...`` (:mod:`haiend.container.apptainer`), and
:func:`apptainer_definition` writes the definition file to build the image from; neither has run
on a real Apptainer here (Debian 12 has none).

Thread counts follow ``cpus_per_task`` (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, with
``OMP_PLACES`` and ``OMP_PROC_BIND`` from the profile). ``srun`` is given ``--cpus-per-task``
explicitly: since Slurm 22.05 it no longer inherits the value from ``sbatch``.

The profile is read and checked by :mod:`haiend.profile`: a bad profile raises
:class:`HaiendError` with one sentence naming the file, the key and the rule the schema states
for it; nothing is written. The scripts are rendered from
``templates/slurm-job.sh.j2`` (Jinja2); this module only decides what goes into them. Every task writes its records to ``results_dir`` (one folder per machine id), so runs
on several nodes, or several clusters, merge by copying machine folders and ``haiend report``
reads them all.
"""

from __future__ import annotations

import functools
import os
import shlex
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from haiend import atomic
from haiend.errors import HaiendError
from haiend.profile import Profile, read_profile, validate  # noqa: F401 - haiend.slurm's names since it began

SWEEPS = ("size", "threads", "cflags")
HERE = Path(__file__).parent
TEMPLATE = "slurm-job.sh.j2"


# --- rendering -------------------------------------------------------------------------------


def _kernel_variants(profile: Profile, kernel: str) -> tuple[list[str], list[str]]:
    """The variants to run with --threads on one task, and those spread over the job's ranks."""
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
    wanted = list(profile.variants) or common

    def over_ranks(name: str) -> bool:
        return all(k.variants[name].spreads == "ranks" for k in chosen)

    def on_cpu(name: str) -> bool:
        return all(k.variants[name].device == "cpu" for k in chosen)

    on_ranks = [v for v in wanted if over_ranks(v)]
    threaded = [v for v in wanted if not over_ranks(v) and (profile.variants or on_cpu(v))]
    return threaded, on_ranks


def _launch(profile: Profile, *, tasks: int | None, cpus: int) -> str:
    """The launcher prefix (ending in a space): every task of the job (``tasks=None``) or one task
    on one node; none in a job of one task, whose batch step is that task."""
    if profile.nodes * profile.tasks_per_node == 1:
        return ""
    bind = f" {profile.cpu_bind}" if profile.cpu_bind else ""
    extra = f" {profile.launcher_args}" if profile.launcher_args else ""
    if profile.launcher == "srun":
        shape = (
            f"--nodes={profile.nodes} --ntasks-per-node={profile.tasks_per_node}"
            if tasks is None
            else f"--nodes=1 --ntasks={tasks}"
        )
        return f"srun {shape} --cpus-per-task={cpus}{bind}{extra} "
    return f"mpiexec -n {profile.tasks if tasks is None else tasks}{bind}{extra} "


@functools.cache
def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # a shell script, not HTML: values are quoted for the shell where needed
    )
    environment.filters["shell_quote"] = shlex.quote
    return environment


def _render(
    profile: Profile,
    kernel: str,
    *,
    values: Sequence[str] = (),
    sweep: str = "size",
    size: str | None = None,
    roof: bool = True,
) -> str:
    threaded, on_ranks = _kernel_variants(profile, kernel)
    if values and sweep == "threads":
        on_ranks = []  # MPI ranks run one thread each: there is nothing to sweep
    if values and sweep == "cflags":
        threaded = [v for v in threaded if v == "c"]
        on_ranks = []
        if not threaded:
            raise HaiendError(
                f"a sweep over C flags needs the c variant, which the site profile {profile.path} leaves out."
            )
    if size is not None and values and sweep == "size":
        raise HaiendError(
            "--size fixes the size of a sweep over threads or C flags, not of a sweep over sizes."
        )
    size_arg = f" --size {shlex.quote(_size_label(kernel, size))}" if size is not None else ""
    suffix = f"-{sweep}" if values else ""
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            p=profile,
            kernel=kernel,
            job_name=f"haiend-{kernel}{suffix}",
            output="%x-%A_%a.out" if values else "%x-%j.out",
            generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            profile_file=str(Path(profile.path).resolve()),
            values=list(values),
            sweep=sweep,
            one_task=_launch(profile, tasks=1, cpus=profile.cpus_per_task),
            every_task=_launch(profile, tasks=None, cpus=profile.cpus_per_task),
            haiend=_haiend(profile),
            container=profile.container.get("image") if profile.container else None,
            results='--results-dir "$HAIEND_RESULTS_DIR"',
            run_mpi=bool(on_ranks),
            mpi_variants=on_ranks,
            threaded=threaded,
            threads='"$VALUE"' if values and sweep == "threads" else "$OMP_NUM_THREADS",
            size_arg=' --size "$VALUE"' if values and sweep == "size" else size_arg,
            roof=roof,
            no_roof="" if roof else " --no-roof",
        )
    )


def _haiend(profile: Profile) -> str:
    """How the script runs haiend: the profile's python, or python in its Apptainer image."""
    if not profile.container:
        return f"{profile.python} -m haiend"
    from haiend.container import apptainer

    return f"{apptainer.exec_prefix(profile)} python -m haiend"


def apptainer_definition(profile_path: str | os.PathLike[str], def_name: str = "haiend.def") -> str:
    """The Apptainer definition file for the profile's ``[container]`` table (:mod:`haiend.container.apptainer`)."""
    from haiend.container import apptainer

    return apptainer.definition(read_profile(profile_path), def_name)


def _size_label(kernel: str, text: str) -> str:
    from haiend import kernels

    for k in kernels.group(kernel):
        text = k.size_label(k.parse_size(str(text).strip()))
    return text


def batch_script(profile: Profile, kernel: str, size: str | None = None) -> str:
    """One job: ceilings, then the MPI variants on every task, then the other variants on one task."""
    return _render(profile, kernel, size=size)


def sweep_values(profile: Profile, kernel: str, sweep: str, values: Sequence[str] | None) -> list[str]:
    """The array's values: ``values`` if given, else the profile's list for this sweep; validated."""
    from haiend import kernels

    if sweep not in SWEEPS:
        raise HaiendError(f"--sweep must be one of {', '.join(SWEEPS)}, not {sweep!r}.")
    if sweep == "cflags" and not values:
        raise HaiendError("a job array over C flags needs its values: give them after --array.")
    chosen = values if values else (profile.sweep_sizes if sweep == "size" else profile.sweep_threads)
    if not chosen:
        key = "sweep_sizes" if sweep == "size" else "sweep_threads"
        raise HaiendError(
            f"the job array needs values: give them after --array, or set {key} in {profile.path}."
        )
    out = []
    for value in chosen:
        text = str(value).strip()
        if sweep == "cflags":
            if not text or "\n" in text or "\r" in text:
                raise HaiendError(f"C flags {value!r} in the array must be one non-empty line.")
        elif sweep == "size":
            for k in kernels.group(kernel):
                text = k.size_label(k.parse_size(text))
        else:
            if not text.isdigit() or int(text) < 1:
                raise HaiendError(
                    f"thread count {value!r} in the array must be a whole number of at least 1."
                )
            if int(text) > profile.cpus_per_task:
                raise HaiendError(
                    f"thread count {text} in the array is more than cpus_per_task ({profile.cpus_per_task}) "
                    f"in {profile.path}."
                )
        out.append(text)
    return out


def array_script(
    profile: Profile,
    kernel: str,
    values: Sequence[str],
    sweep: str = "size",
    size: str | None = None,
    *,
    roof: bool = True,
) -> str:
    """A job array over ``values`` (sizes, thread counts or C flags), one array task each; ``size``
    fixes the problem size of a sweep over threads or flags. Without ``roof`` the ceilings are not
    measured and bench runs with --no-roof: a sweep over C flags changes the environment the
    ceilings are cached for (``$HAIEND_CFLAGS``), so every element would measure them again."""
    return _render(
        profile,
        kernel,
        values=sweep_values(profile, kernel, sweep, values),
        sweep=sweep,
        size=size,
        roof=roof,
    )


def render(
    profile_path: str | os.PathLike[str],
    kernel: str,
    array: Sequence[str] | None = None,
    sweep: str = "size",
    size: str | None = None,
) -> str:
    """The script for ``haiend slurm``: a batch script, or a job array when ``array`` is not None."""
    profile = read_profile(profile_path)
    if array is None:
        return batch_script(profile, kernel, size)
    return array_script(profile, kernel, array, sweep, size)


def write_atomic(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (:mod:`haiend.atomic`), executable by its owner.

    An existing file is kept unless ``force``: a generated script may have been edited by hand.
    """
    path = Path(path)
    if path.exists() and not force:
        raise HaiendError(f"{path} exists already: choose another --output, or add --force to replace it.")
    if not path.parent.is_dir():
        raise HaiendError(
            f"the folder of {path} does not exist: create it first, or choose another --output."
        )
    try:
        return atomic.write_text(path, text, mode=0o777)
    except OSError as exc:
        raise HaiendError(f"{path} cannot be written ({exc.strerror or exc}).") from None
