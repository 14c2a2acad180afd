"""Which kernels exist: found by looking, not listed by hand.

Every sub-package of ``haiend.kernels`` that defines ``KERNELS`` (a tuple of
:class:`haiend.kernels.Kernel`) is a kernel package; adding one is adding its folder. Folders
named in ``$HAIEND_KERNEL_PATH`` (separated like ``PATH``) are searched too, as if they were part
of ``haiend.kernels``: a site or a test adds a kernel there without touching this package.

Names on the command line: each kernel's own name (``stream.triad``, ``stencil2d``); a package
with several kernels is also a *group* under the package's name (``stream``: copy, scale, add,
triad), and ``get`` of the group's name gives its ``DEFAULT`` kernel (the first one unless the
package says otherwise: ``stream`` is the triad, the figure STREAM users quote).

A kernel package that cannot be imported, or holds no kernels, raises :class:`HaiendError`
naming it: a broken kernel is never silently left out of a list.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from dataclasses import dataclass

from haiend.errors import HaiendError
from haiend.kernels.contract import Kernel

ENV_KERNEL_PATH = "HAIEND_KERNEL_PATH"
PACKAGE = "haiend.kernels"


@dataclass(frozen=True)
class Catalogue:
    """Every kernel found, by name, with the groups and the short names the command line accepts."""

    kernels: dict[str, Kernel]
    groups: dict[str, tuple[str, ...]]
    defaults: dict[str, str]


_found: dict[tuple[str, ...], Catalogue] = {}


def _search_path() -> tuple[str, ...]:
    """The folders holding kernel packages: haiend.kernels' own, then $HAIEND_KERNEL_PATH's."""
    package = sys.modules[PACKAGE]  # always imported before this module, as its parent
    extra = [p for p in os.environ.get(ENV_KERNEL_PATH, "").split(os.pathsep) if p]
    for folder in extra:
        if not os.path.isdir(folder):
            raise HaiendError(f"{ENV_KERNEL_PATH} names {folder}, which is not a folder.")
        if folder not in package.__path__:
            package.__path__.append(folder)  # the folder's packages import as haiend.kernels.<name>
    return tuple(package.__path__)


def catalogue() -> Catalogue:
    """The kernels found on the search path (looked for once per search path)."""
    path = _search_path()
    if path not in _found:
        _found[path] = _discover(path)
    return _found[path]


def _discover(path: tuple[str, ...]) -> Catalogue:
    kernels: dict[str, Kernel] = {}
    groups: dict[str, tuple[str, ...]] = {}
    defaults: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda m: m.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module_name = f"{PACKAGE}.{info.name}"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise HaiendError(f"the kernel package {module_name} cannot be imported: {exc}") from exc
        listed = getattr(module, "KERNELS", None)
        if listed is None:
            continue  # a helper package, not a kernel
        if not listed or not all(isinstance(k, Kernel) for k in listed):
            raise HaiendError(
                f"the kernel package {module_name}: KERNELS must be a non-empty tuple of Kernel."
            )
        for kernel in listed:
            if kernel.name in kernels:
                raise HaiendError(f"two kernel packages define a kernel called {kernel.name!r}.")
            kernels[kernel.name] = kernel
        names = tuple(k.name for k in listed)
        if names != (info.name,):
            groups[info.name] = names
            defaults[info.name] = getattr(module, "DEFAULT", listed[0]).name
    return Catalogue(kernels, groups, defaults)


def names() -> list[str]:
    """Every kernel name, plus the group and short names the command line accepts."""
    found = catalogue()
    return sorted({*found.kernels, *found.groups})


def kernel_names() -> list[str]:
    """Every kernel's own name (no groups)."""
    return sorted(catalogue().kernels)


def get(name: str) -> Kernel:
    """The kernel called ``name``; a group's name gives its default kernel (``"stream"``: the triad)."""
    found = catalogue()
    resolved = found.defaults.get(name, name)
    if resolved not in found.kernels:
        raise HaiendError(f"unknown kernel {name!r}: choose one of {', '.join(names())}.")
    return found.kernels[resolved]


def group(name: str) -> list[Kernel]:
    """The kernels a command-line name stands for: a group's members, or the one kernel."""
    found = catalogue()
    if name in found.groups:
        return [found.kernels[member] for member in found.groups[name]]
    return [get(name)]
