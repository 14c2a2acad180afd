"""Mount an image with ``squashfuse``, enter it with ``bwrap``, and unmount it: Apptainer's ``exec`` by hand.

    with mounted(image.path) as root:                       # squashfuse IMAGE MOUNTPOINT
        done = run_inside(root, ["python3", "-c", "..."], image=image.path, binds=[...])
    # fusermount -u MOUNTPOINT: the squashfuse process ends, the mount point is removed

:func:`mounted` runs ``squashfuse -f`` (in the foreground, so this module holds its pid rather
than a daemon's) in its own session and waits until the mount shows in ``/proc/self/mounts``;
on the way out it unmounts with ``fusermount -u`` and waits for the process to end (killing its
group if it does not), so nothing is left mounted or running, even after an error.

:func:`bwrap_argv` is the whole of "entering a container": a new mount namespace (and a user
namespace when not root: no daemon, no privilege) whose root is the mounted image, read-only,
with a fresh ``/proc`` and a minimal ``/dev``, a private ``/tmp``, the host's ``/sys`` read-only
(the machine fingerprint reads the caches there, as Apptainer binds it), and the binds, each
onto a mount point the image already has (:data:`haiend.container.recipe.MOUNT_POINTS`). Process
ids, network, users and the host name stay the host's, as under Apptainer's defaults. The
environment is the host's variables that configure a run (``HAIEND_``, ``OMP_``, ``NUMBA_``,
``OPENBLAS_``, ``MKL_``) plus what the image needs, and Apptainer's own ``APPTAINER_CONTAINER``
and ``APPTAINER_NAME``, which :mod:`haiend.container.inside` reads.

What it does not do that Apptainer does: GPU drivers (``--nv`` binds the host's NVIDIA libraries
from its ``nvliblist.conf`` and the device files), overlays, the SIF container format (a header
and signatures around the same SquashFS), and making the user's ``/etc/passwd`` entry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path

from haiend.container.inside import RUNTIME_VARIABLE
from haiend.debug import bounded
from haiend.errors import HaiendError

PACKAGES = ("squashfuse", "bubblewrap", "fuse3")
HOW = "run './quickstart test' as root, or: apt-get install --no-install-recommends " + " ".join(PACKAGES)
RUNTIME = "squashfuse+bwrap"
PASSED_PREFIXES = ("HAIEND_", "OMP_", "NUMBA_", "OPENBLAS_", "MKL_")
IMAGE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONPATH": "/opt/haiend/src:/opt/haiend/lib",
    "PYTHONDONTWRITEBYTECODE": "1",  # the source is bound read-only
    "HAIEND_CACHE_DIR": "/haiend/cache",
}
MOUNT_TIMEOUT_S = 10


def _fusermount() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")


@cache
def unavailable() -> str | None:
    """Why an image cannot be mounted and entered here, in one sentence; None if it can."""
    missing = [p for p in ("squashfuse", "bwrap") if shutil.which(p) is None]
    if _fusermount() is None:
        missing.append("fusermount")
    if missing:
        return f"a container image cannot be entered here: {', '.join(missing)} not installed ({HOW})."
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as exc:
        return f"a container image cannot be mounted here: /dev/fuse cannot be opened ({exc.strerror})."
    probe = bounded.run(["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"], 30)
    if probe.returncode != 0:
        first = (probe.stderr.strip().splitlines() or ["no message"])[0]
        return (
            f"bubblewrap cannot make a namespace here ({first}): unprivileged user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone=1), or this is a container that forbids them."
        )
    return None


def _mounted_at(point: Path) -> bool:
    target = str(point)
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)


@contextlib.contextmanager
def mounted(image: str | os.PathLike[str]) -> Iterator[Path]:
    """The image mounted read-only at a temporary folder, unmounted on the way out."""
    why = unavailable()
    if why:
        raise HaiendError(why)
    image = Path(image)
    if not image.is_file():
        raise HaiendError(f"the container image {image} does not exist.")
    point = Path(tempfile.mkdtemp(prefix="haiend-image-"))
    fuse = subprocess.Popen(
        ["squashfuse", "-f", str(image), str(point)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not _mounted_at(point):
            if fuse.poll() is not None:
                message = (fuse.stderr.read().strip().splitlines() or ["no message"])[-1]
                raise HaiendError(f"squashfuse could not mount {image}: {message}")
            if time.monotonic() > deadline:
                raise HaiendError(f"squashfuse did not mount {image} within {MOUNT_TIMEOUT_S} s.")
            time.sleep(0.02)
        yield point
    finally:
        _unmount(point, fuse)


def _unmount(point: Path, fuse: subprocess.Popen) -> None:
    fusermount = _fusermount()
    for _ in range(50):  # a process that just left the namespace may hold it for a moment
        if not _mounted_at(point) or fusermount is None:
            break
        if subprocess.run([fusermount, "-u", str(point)], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    try:
        fuse.wait(timeout=MOUNT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(fuse.pid, signal.SIGKILL)
        fuse.wait()
    if fuse.stderr is not None:
        fuse.stderr.close()
    if _mounted_at(point):  # squashfuse was killed: a lazy unmount releases the dead mount
        subprocess.run([fusermount or "umount", "-uz", str(point)], capture_output=True)
    with contextlib.suppress(OSError):
        point.rmdir()


def environment(image: str | os.PathLike[str], host: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a process inside sees: the run's settings from the host, the image's, Apptainer's."""
    host = os.environ if host is None else host
    env = {k: v for k, v in host.items() if k.startswith(PASSED_PREFIXES)}
    env.pop("HAIEND_KERNEL_PATH", None)  # a host folder: not in the image
    env.update(IMAGE_ENV)
    env["APPTAINER_CONTAINER"] = str(image)
    env["APPTAINER_NAME"] = Path(image).name
    env[RUNTIME_VARIABLE] = RUNTIME
    return env


def bwrap_argv(
    root: str | os.PathLike[str], argv: Sequence[str], binds: Sequence[tuple[str, str, bool]] = ()
) -> list[str]:
    """The bubblewrap command that runs ``argv`` with ``root`` as ``/``; ``binds`` are
    ``(host path, path inside, writable)``."""
    out = ["bwrap", "--ro-bind", str(root), "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    out += ["--ro-bind", "/sys", "/sys", "--die-with-parent", "--chdir", "/tmp"]
    for host, inside, writable in binds:
        out += ["--bind" if writable else "--ro-bind", str(host), inside]
    return out + ["--", *argv]


def run_inside(
    root: str | os.PathLike[str],
    argv: Sequence[str],
    *,
    image: str | os.PathLike[str],
    binds: Sequence[tuple[str, str, bool]] = (),
    timeout_s: float = 300,
) -> bounded.Finished:
    """Run ``argv`` in the mounted image at ``root`` (see :func:`bwrap_argv`), its whole process
    group killed after ``timeout_s``."""
    return bounded.run(bwrap_argv(root, argv, binds), timeout_s, env=environment(image))
