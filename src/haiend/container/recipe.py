"""What goes into the image, as data, and its hash: the key under which the built image is cached.

The image is Debian's ``bookworm`` at ``mmdebstrap --variant=minbase`` (essential packages and
apt, about 100 MB) with Debian's ``python3`` (the interpreter and its standard library) and
``gcc`` with ``libc6-dev`` (the ``c`` realisations compile inside, as :mod:`haiend.cbuild` does
outside), less documentation, manual pages and translations.

Python packages are installed into ``/opt/haiend/lib`` by ``pip install --target`` at exactly the
versions the environment that builds the image has (``importlib.metadata``), which are those of
``constraints.txt`` when the environment came from ``./quickstart``: the container then runs the
same NumPy as the native run it is compared with, so a difference between the two is the
container's, not another build of NumPy's. Only what ``haiend bench`` needs is installed (NumPy,
ml-dtypes, jsonschema and its dependencies, platformdirs, psutil, threadpoolctl, PyYAML): not
Numba, whose compiler would double the image. The wheels are chosen for the image's Python
(3.11, manylinux), not for the interpreter that builds it.

haiend's own source is not in the image: it is bound read-only at ``/opt/haiend/src`` when the
image is entered, as Apptainer users bind their code from ``$HOME``. So the image pins the
operating system (glibc, the kernel's user space, Python 3.11 and gcc 12 as the Debian mirror
had them when it was built: the hash does not cover the mirror's date, so two builds months
apart may differ in Debian's point releases, which the manifest beside the image lists) and the
Python packages (hashed), and it does not pin haiend, the kernel of the host, the CPU or the
drivers, which are the host's, as on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass

from haiend.errors import HaiendError

FORMAT = 1  # bump when the way an image is made changes, so old cached images are not reused
SUITE = "bookworm"
SUITE_PYTHON = {"bookworm": "3.11"}  # the python3 of each Debian suite, for choosing wheels
DEBIAN_PACKAGES = ("python3", "gcc", "libc6-dev")
PYTHON_PACKAGES = (
    "numpy",
    "ml-dtypes",
    "jsonschema",
    "attrs",
    "jsonschema-specifications",
    "referencing",
    "rpds-py",
    "typing-extensions",
    "platformdirs",
    "psutil",
    "threadpoolctl",
    "pyyaml",
)
EXCLUDED = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
COMPRESSION = ("-comp", "zstd", "-Xcompression-level", "3")  # level 3: 2.5 s for 400 MB, level 15: 60 s
# Mount points the image must hold: a read-only image cannot grow one when a bind needs it.
MOUNT_POINTS = ("/opt/haiend/src", "/opt/haiend/lib", "/haiend/results", "/haiend/cache")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the image's content; :meth:`key` hashes it."""

    suite: str
    architecture: str
    debian_packages: tuple[str, ...]
    python_version: str
    python_packages: tuple[tuple[str, str], ...]  # (name, version)
    excluded: tuple[str, ...] = EXCLUDED
    compression: tuple[str, ...] = COMPRESSION
    mount_points: tuple[str, ...] = MOUNT_POINTS
    format: int = FORMAT

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {**asdict(self), "key": self.key()}

    @property
    def requirements(self) -> list[str]:
        return [f"{name}=={version}" for name, version in self.python_packages]


def default(suite: str = SUITE) -> Recipe:
    """The recipe for this environment: its versions of :data:`PYTHON_PACKAGES`."""
    from importlib.metadata import PackageNotFoundError, version

    if suite not in SUITE_PYTHON:
        raise HaiendError(
            f"no image recipe for Debian {suite!r}: known suites are {', '.join(SUITE_PYTHON)}."
        )
    pinned = []
    for name in PYTHON_PACKAGES:
        try:
            pinned.append((name, version(name)))
        except PackageNotFoundError:
            raise HaiendError(
                f"{name} is not installed here, so its version for the image is not known: "
                "install the pinned set first (./quickstart test, or pip install -c constraints.txt -e .)."
            ) from None
    return Recipe(
        suite=suite,
        architecture=platform.machine(),
        debian_packages=DEBIAN_PACKAGES,
        python_version=SUITE_PYTHON[suite],
        python_packages=tuple(pinned),
    )
