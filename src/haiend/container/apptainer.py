"""What a cluster with Apptainer needs: a definition file, and ``apptainer exec`` in the batch script.

A site profile's optional ``[container]`` table (``examples/site-profiles/generic.toml`` documents
it) names the image the jobs run in: ``image`` (the ``.sif`` file on the cluster, shell variables
expanded when the job runs), ``bootstrap`` and ``from`` (the base the definition file starts from:
``docker`` and ``debian:bookworm-slim`` by default, the same Debian as the image
:mod:`haiend.container.image` builds here), ``binds`` (more host folders for ``--bind``), ``nv``
(true on GPU partitions: ``--nv`` binds the host's NVIDIA driver and devices into the container)
and ``apptainer`` (the command: ``apptainer``, or ``singularity`` on older sites).

:func:`definition` renders the ``.def`` file (``templates/apptainer.def.j2``): Debian with Python
and gcc from apt, haiend's checkout copied in by ``%files`` and pip-installed at the pins of
``constraints.txt`` (with the ``mpi`` extra, and ``gpu`` when ``nv`` is set) into a virtual
environment on the ``PATH`` (``%environment``), so unlike the image built here, this one holds
haiend itself: on a cluster the image is the unit that is copied between file systems and kept
with the results. :func:`exec_prefix` is the command the
batch script puts before ``python -m haiend``. MPI runs in the hybrid model: the host's ``srun``
or ``mpiexec`` starts one container per rank, so the MPI library inside must be compatible with
the host's (the same MPICH ABI, or Open MPI of the same major version).

Untested here: Debian 12 has no Apptainer package. The tests check what these functions write
(the definition's sections, the script's ``apptainer exec`` lines), not that a cluster runs it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from haiend.errors import HaiendError
from haiend.profile import Profile

DEFAULTS = {
    "bootstrap": "docker",
    "from": "debian:bookworm-slim",
    "binds": [],
    "nv": False,
    "apptainer": "apptainer",
}
DEBIAN_PACKAGES = ("python3", "python3-venv", "gcc", "libc6-dev")
TEMPLATE = "apptainer.def.j2"


def settings(profile: Profile) -> dict:
    """The profile's ``[container]`` table with its defaults; HaiendError if it has none."""
    if not profile.container:
        raise HaiendError(
            f'site profile {profile.path} has no [container] table: add one with at least image = "..." '
            "(see examples/site-profiles/generic.toml)."
        )
    return {**DEFAULTS, **profile.container}


def exec_prefix(profile: Profile) -> str:
    """``apptainer exec [--nv] --bind ... IMAGE`` (no trailing space), for the batch script."""
    s = settings(profile)
    binds = ",".join(["$HAIEND_RESULTS_DIR", *s["binds"]])  # the schema keeps quotes and commas out
    nv = " --nv" if s["nv"] else ""
    return f'{s["apptainer"]} exec{nv} --bind "{binds}" "{s["image"]}"'


def project_root() -> Path:
    """The checkout haiend runs from (the folder with pyproject.toml), which ``%files`` copies in."""
    import haiend

    root = Path(haiend.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise HaiendError(
            "haiend is not running from a checkout (no pyproject.toml beside src/), so the definition "
            "file has nothing to copy in: run it from a clone of the repository."
        )
    return root


def definition(profile: Profile, def_name: str = "haiend.def") -> str:
    """The Apptainer definition file for the profile's ``[container]`` table."""
    import jinja2

    s = settings(profile)
    loader = jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates")
    template = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return template.get_template(TEMPLATE).render(
        profile_path=profile.path,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        project=project_root(),
        image_name=Path(s["image"]).name,
        def_name=def_name,
        bootstrap=s["bootstrap"],
        source=s["from"],
        recipe_note="haiend " + ("with --nv (GPU)" if s["nv"] else "CPU"),
        debian_packages=DEBIAN_PACKAGES,
        extras="[mpi,gpu]" if s["nv"] else "[mpi]",
    )
