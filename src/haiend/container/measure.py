"""One kernel measured outside the container, inside it, and outside again; the records compared.

    found = measure.inside_and_outside(folder, "stream.triad", ("c", "numpy"), threads=1)
    for row in found.rows: print(row.variant, row.comparison)    # ratio, interval, "noise" or not

Each run is ``haiend bench`` (the same command, the same haiend source, the same NumPy: the image
holds this environment's versions) writing its records through :mod:`haiend.records`: natively
into ``folder/native``, and in the image, entered with squashfuse and bubblewrap
(:mod:`haiend.container.enter`), into ``folder/container`` bound read-write at
``/haiend/results``; the C realisations compile inside with the image's gcc into a cache folder
of their own. Every record made inside carries ``run.container``.

The native runs come before and after the container's, so that the machine's drift over those
seconds is measured rather than assumed: :func:`haiend.stats.drift` of the two native runs is
the smallest difference that counts, and each variant's container run is compared with both
native runs pooled by :func:`haiend.compare.compare`. (Letting ``compare`` take the drift from the
two sides themselves would count the container's own difference as drift, and every verdict
would be "noise".)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import haiend
from haiend import compare, kernels, records, stats
from haiend.container import enter
from haiend.container.image import Image, cached
from haiend.debug import bounded
from haiend.errors import HaiendError

SOURCE = Path(haiend.__file__).resolve().parent.parent  # the folder that holds the haiend package


@dataclass(frozen=True)
class Found:
    """The records of the three runs and, per variant, the container compared with native."""

    native: tuple[records.Record, ...]
    inside: tuple[records.Record, ...]
    rows: tuple[compare.Row, ...]
    drift: stats.Drift
    seconds: dict[str, float]
    image: Image

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [row.to_dict() for row in self.rows],
            "drift": str(self.drift),
            "seconds": self.seconds,
            "image": str(self.image.path),
            "container": self.inside[0].run.get("container") if self.inside else None,
        }


def bench_arguments(
    kernel: str, variants: tuple[str, ...], *, size: str | None, threads: int, repeat: int, results: str
) -> list[str]:
    argv = ["-m", "haiend", "bench", kernel, "--variants", ",".join(variants), "--threads", str(threads)]
    argv += ["--repeat", str(repeat), "--no-roof", "--results-dir", results]
    return argv + (["--size", size] if size else [])


def _checked(done: bounded.Finished, where: str) -> float:
    if done.timed_out or done.returncode != 0:
        how = "timed out" if done.timed_out else f"failed (exit {done.returncode})"
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise HaiendError(f"haiend bench {where} {how}: {tail}")
    return round(done.seconds, 2)


def inside_and_outside(
    folder: str | os.PathLike[str],
    kernel: str = "stream.triad",
    variants: tuple[str, ...] = ("c", "numpy"),
    *,
    size: str | None = None,
    threads: int = 1,
    repeat: int = 20,
    image: Image | None = None,
    timeout_s: float = 300,
) -> Found:
    """Run ``haiend bench`` natively, in the image, natively again; compare (see the module docstring).

    ``image`` defaults to the cached image of this environment's recipe; without one this raises
    HaiendError saying how to build it (this function never builds: that takes a minute).
    """
    for k in kernels.group(kernel):  # an unknown kernel or variant is one sentence before any run
        unknown = [v for v in variants if v not in k.variants]
        if unknown or not variants:
            raise HaiendError(f"{k.name} has no variant {unknown[0]!r} (it has {', '.join(k.variants)}).")
    why = enter.unavailable()
    if why:
        raise HaiendError(why)
    image = image or cached()
    if image is None:
        raise HaiendError(
            "no container image is built for this environment yet: run 'haiend container build' first."
        )
    folder = Path(folder)
    native_dir, inside_dir, cache = folder / "native", folder / "container", folder / "container-cache"
    for path in (native_dir, inside_dir, cache):
        path.mkdir(parents=True, exist_ok=True)
    native_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")]),
    }
    native_argv = [
        sys.executable,
        *bench_arguments(
            kernel, variants, size=size, threads=threads, repeat=repeat, results=str(native_dir)
        ),
    ]
    inside_argv = [
        "python3",
        *bench_arguments(
            kernel, variants, size=size, threads=threads, repeat=repeat, results="/haiend/results"
        ),
    ]
    binds = [
        (str(SOURCE), "/opt/haiend/src", False),
        (str(inside_dir), "/haiend/results", True),
        (str(cache), "/haiend/cache", True),
    ]
    seconds = {"native, before": _checked(bounded.run(native_argv, timeout_s, env=native_env), "natively")}
    with enter.mounted(image.path) as root:
        done = enter.run_inside(root, inside_argv, image=image.path, binds=binds, timeout_s=timeout_s)
        seconds["in the container"] = _checked(done, "in the container")
    seconds["native, after"] = _checked(bounded.run(native_argv, timeout_s, env=native_env), "natively")
    return _compared(native_dir, inside_dir, variants, seconds, image)


def _loaded(directory: Path) -> list[records.Record]:
    found = records.load(directory)
    found.raise_if_problems()
    return found.records


def _compared(
    native_dir: Path, inside_dir: Path, variants: tuple[str, ...], seconds: dict[str, float], image: Image
) -> Found:
    native, inside = _loaded(native_dir), _loaded(inside_dir)
    by_variant = {v: [r for r in native if r.variant == v] for v in variants}
    drift = stats.drift([[r.times for r in runs] for runs in by_variant.values()])
    rows = []
    for variant in variants:
        here = [r for r in inside if r.variant == variant]
        if not here or len(by_variant[variant]) < 2:
            raise HaiendError(
                f"the runs of {variant} left no record in {inside_dir if not here else native_dir}."
            )
        a = compare.Side(f"{variant} in the container", tuple(here), "variant")
        b = compare.Side(f"{variant} native", tuple(by_variant[variant]), "variant")
        rows.extend(compare.compare(a, b, min_effect=drift.min_effect))
    return Found(tuple(native), tuple(inside), tuple(rows), drift, seconds, image)
