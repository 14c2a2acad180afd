"""``haiend export moodle``: the cartridge and, when asked for, the content package, written together.

Both are assembled and checked in memory first; then each zip is written to a temporary file beside
its target and renamed only when both are complete (:mod:`haiend.atomic`), so a failure leaves
neither file behind, and an existing file is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from haiend.errors import HaiendError
from haiend.export import cartridge, content_package
from haiend.export.cartridge import Hub


@dataclass(frozen=True)
class Written:
    cartridge: Path
    built: cartridge.Built
    content_package: Path | None = None
    content_files: int = 0


def export(
    out: str | Path,
    *,
    source_dir: str | Path = ".",
    html_dir: str | Path | None = None,
    base_url: str | None = None,
    hub: Hub | None = None,
    content_package_out: str | Path | None = None,
) -> Written:
    """Write the cartridge to ``out`` (and the content package to ``content_package_out``)."""
    from haiend import atomic

    source_dir = Path(source_dir)
    html_dir = Path(html_dir) if html_dir is not None else source_dir / "_build" / "html"
    out = Path(out)
    targets = [out] + ([Path(content_package_out)] if content_package_out is not None else [])
    for target in targets:
        if target.is_dir():
            raise HaiendError(
                f"cannot write {target}: it is a folder; give a file name such as course.imscc."
            )
        above = next(folder for folder in target.absolute().parents if folder.exists())
        if not above.is_dir():
            raise HaiendError(f"cannot write {target}: {above} is a file, not a folder.")
    if len(targets) == 2 and targets[0].resolve() == targets[1].resolve():
        raise HaiendError("the cartridge and the content package must go to two different files.")
    built = cartridge.build(source_dir, html_dir, base_url=base_url, hub=hub)
    package = content_package.build(source_dir, html_dir) if content_package_out is not None else None
    target = out
    try:
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic.replacing(out))
            built.package.write(tmp, built.manifest)
            if package is not None:
                target = Path(content_package_out)
                tmp = stack.enter_context(atomic.replacing(target))
                manifest, files = package
                files.write(tmp, manifest)
    except OSError as exc:
        raise HaiendError(f"cannot write {target}: {exc.strerror or exc}; nothing was written.") from None
    return Written(
        out,
        built,
        Path(content_package_out) if package is not None else None,
        len(package[1].files) if package is not None else 0,
    )
