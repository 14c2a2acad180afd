"""Build the image once per recipe: ``mmdebstrap`` makes the root file system, ``mksquashfs`` packs it.

    image = build()           # or cached(): the image for this environment's recipe, or None
    image.path                # ~/.cache/haiend/containers/<key>.sqfs
    image.manifest            # the recipe, the Debian packages inside, how long each step took

The image lives in the user cache folder (:func:`cache_dir`), named by the hash of its recipe
(:mod:`haiend.container.recipe`), beside a manifest. Making one takes about a minute here (``mmdebstrap`` about 40 s through apt's configured mirror, the wheels a few seconds
from pip's cache, ``mksquashfs`` a few seconds at zstd level 3), so it is built once and reused
by the tests, the chapter and every later run: CI pays for it once per fresh machine, and a
change to the recipe (another NumPy, another package) makes a new key rather than reusing a
stale image. A lock file serialises builds of the same key (the test session and the book may
both ask for it); the image is written under a temporary name and renamed into place, so a
half-built image is never found (and the work folder of a build that was killed is removed by
the next one).

Building needs root: mmdebstrap's root mode writes a root-owned file system (its unshare mode,
for other users, needs subordinate ids and leaves files the user cannot delete). Mounting and
entering the built image do not (:mod:`haiend.container.enter`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haiend import atomic
from haiend.container import recipe as recipes
from haiend.debug import bounded
from haiend.errors import HaiendError

PACKAGES = ("mmdebstrap", "squashfs-tools")
HOW = "run './quickstart test' as root, or: apt-get install --no-install-recommends " + " ".join(PACKAGES)
STEP_TIMEOUT_S = 600
IMAGE_DIR_VARIABLE = "HAIEND_IMAGE_DIR"


@dataclass(frozen=True)
class Image:
    """A built image: the SquashFS file and what is known of how it was made."""

    path: Path
    manifest: dict[str, Any]

    @property
    def key(self) -> str:
        return self.manifest["recipe"]["key"]


def cache_dir() -> Path:
    """Where images are kept: ``$HAIEND_IMAGE_DIR``, else ``containers`` in the user cache folder.

    Not under ``$HAIEND_CACHE_DIR``, which the tests point at a fresh folder for every test: an
    image is content-addressed (named by its recipe's hash, never changed once written), so the
    test session, the book build and the reader's own runs can share one without harm, and a
    fresh machine builds it once rather than once per test and again for the book.
    """
    if os.environ.get(IMAGE_DIR_VARIABLE):
        return Path(os.environ[IMAGE_DIR_VARIABLE]).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("haiend") / "containers"


def build_unavailable() -> str | None:
    """Why an image cannot be built here, in one sentence; None if it can."""
    if sys.platform != "linux":
        return "building a container image needs Linux."
    missing = [p for p in ("mmdebstrap", "mksquashfs") if shutil.which(p) is None]
    if missing:
        return f"a container image cannot be built here: {', '.join(missing)} not installed ({HOW})."
    if os.geteuid() != 0:
        return (
            "a container image can only be built as root here (mmdebstrap writes a root-owned file system): "
            "build it once as root and share its folder, or point HAIEND_IMAGE_DIR at one that holds it."
        )
    return None


def _paths(recipe: recipes.Recipe, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or cache_dir()
    return folder / f"{recipe.key()}.sqfs", folder / f"{recipe.key()}.json"


def cached(recipe: recipes.Recipe | None = None) -> Image | None:
    """The built image for ``recipe`` (default: this environment's), or None if it was never built."""
    recipe = recipe or recipes.default()
    path, manifest = _paths(recipe)
    if not (path.is_file() and manifest.is_file()):
        return None
    try:
        return Image(path, json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise HaiendError(
            f"the image manifest {manifest} cannot be read ({exc}): delete it to build again."
        ) from None


def _step(argv: list[str], what: str, *, env: dict[str, str] | None = None) -> float:
    done = bounded.run(argv, STEP_TIMEOUT_S, env=env)
    if done.timed_out or done.returncode != 0:
        how = f"took more than {STEP_TIMEOUT_S} s" if done.timed_out else f"failed (exit {done.returncode})"
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise HaiendError(f"{what} {how}: {tail}")
    return round(done.seconds, 1)


def _wheels(recipe: recipes.Recipe, target: Path) -> list[str]:
    """``pip install --target`` of the recipe's packages, as wheels for the image's Python."""
    arch = recipe.architecture
    platforms = [f"manylinux_2_{minor}_{arch}" for minor in range(17, 37)] + [f"manylinux2014_{arch}"]
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    argv += ["--no-deps", "--only-binary=:all:", "--target", str(target)]
    argv += ["--python-version", recipe.python_version, "--implementation", "cp"]
    argv += ["--abi", "cp" + recipe.python_version.replace(".", "")]
    for name in platforms:
        argv += ["--platform", name]
    return argv + recipe.requirements


def _mmdebstrap(recipe: recipes.Recipe, rootfs: Path, wheels: Path, packages_list: Path) -> list[str]:
    argv = ["mmdebstrap", "--quiet", "--mode=root", "--variant=minbase"]
    argv.append("--include=" + ",".join(recipe.debian_packages))
    argv += [f"--dpkgopt=path-exclude={pattern}" for pattern in recipe.excluded]
    points = " ".join(f'"$1{p}"' for p in recipe.mount_points)  # constant paths: nothing to quote
    argv.append(f"--customize-hook=mkdir -p {points}")
    argv.append(f'--customize-hook=cp -a {shlex.quote(str(wheels))}/. "$1/opt/haiend/lib/"')
    query = shlex.quote("${Package} ${Version}\n")
    argv.append(f'--customize-hook=chroot "$1" dpkg-query -W -f={query} > {shlex.quote(str(packages_list))}')
    return argv + [recipe.suite, str(rootfs)]


@contextlib.contextmanager
def _locked(folder: Path, key: str):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(recipe: recipes.Recipe | None = None, *, log=None) -> Image:
    """The image for ``recipe`` (default: this environment's): the cached one, else built now.

    ``log`` (a callable taking a sentence) hears of each step. Raises HaiendError in one sentence
    when the tools are missing or a step fails; nothing half-built is left in the cache.
    """
    recipe = recipe or recipes.default()
    say = log or (lambda _text: None)
    folder = cache_dir()
    path, manifest_path = _paths(recipe, folder)
    with _locked(folder, recipe.key()):
        found = cached(recipe)
        if found is not None:
            return found
        why = build_unavailable()
        if why:
            raise HaiendError(why)
        for orphan in folder.glob(".build-*"):  # left by a build that was killed: the lock is ours
            shutil.rmtree(orphan, ignore_errors=True)
        seconds: dict[str, float] = {}
        with tempfile.TemporaryDirectory(prefix=".build-", dir=folder) as work_dir:
            work = Path(work_dir)
            wheels, rootfs, listing = work / "python", work / "rootfs", work / "debian-packages.txt"
            say(
                f"installing {len(recipe.python_packages)} Python packages for Python {recipe.python_version}"
            )
            seconds["pip"] = _step(
                _wheels(recipe, wheels), "pip install --target (the image's Python packages)"
            )
            say(f"making the root file system: mmdebstrap --variant=minbase {recipe.suite}")
            seconds["mmdebstrap"] = _step(_mmdebstrap(recipe, rootfs, wheels, listing), "mmdebstrap")
            say("packing it: mksquashfs")
            packed = work / "image.sqfs"
            argv = [
                "mksquashfs",
                str(rootfs),
                str(packed),
                *recipe.compression,
                "-noappend",
                "-quiet",
                "-no-progress",
            ]
            seconds["mksquashfs"] = _step(argv, "mksquashfs")
            manifest = {
                "recipe": recipe.to_dict(),
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": seconds,
                "bytes": packed.stat().st_size,
                "debian_packages": dict(
                    line.split(" ", 1) for line in listing.read_text().splitlines() if " " in line
                ),
            }
            os.replace(packed, path)
            atomic.write_text(manifest_path, json.dumps(manifest, indent=1) + "\n")
        say(f"built {path} ({manifest['bytes'] / 2**20:.0f} MiB)")
        return Image(path, manifest)
