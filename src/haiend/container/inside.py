"""Whether this process runs inside a container, and which: read from what the runtime leaves behind.

Apptainer sets ``APPTAINER_CONTAINER`` (the image's path) and ``APPTAINER_NAME`` (its file name)
in every process it starts; Singularity and Apptainer's compatibility mode set the
``SINGULARITY_`` pair; Podman, systemd-nspawn and LXC set ``container`` (systemd's Container
Interface). Files such as ``/.dockerenv`` are not trusted: a virtual machine whose disk was made
from a Docker image keeps one (the machine these lessons were written on does), and a record
would then claim a container that is not there.
:mod:`haiend.container.enter` sets Apptainer's pair too, plus ``HAIEND_CONTAINER_RUNTIME`` to say
the image was entered with squashfuse and bubblewrap, so a record made there and one made under
a real Apptainer on a cluster are marked the same way (``run.container`` in every record).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RUNTIME_VARIABLE = "HAIEND_CONTAINER_RUNTIME"


def detect(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """``{"runtime", "image"}`` when this process runs in a container, else None."""
    environ = os.environ if environ is None else environ
    for prefix, runtime in (("APPTAINER", "apptainer"), ("SINGULARITY", "singularity")):
        image = environ.get(f"{prefix}_CONTAINER")
        if image:
            return {
                "runtime": environ.get(RUNTIME_VARIABLE) or runtime,
                "image": environ.get(f"{prefix}_NAME") or Path(image).name,
            }
    if environ.get("container"):
        return {"runtime": environ["container"], "image": None}
    return None
