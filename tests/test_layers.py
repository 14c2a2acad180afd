"""The package's import structure: no loop, and no module importing one from a layer above it.

Layers, lowest first. A module may import modules of its own layer or lower ones, at the top
of the file or inside a function alike; imports under ``if TYPE_CHECKING:`` are for annotations
only and do not count. A new module must be placed in a layer here.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "haiend"

LAYERS: list[tuple[str, ...]] = [
    ("haiend", "haiend.errors"),
    ("haiend.requirements", "haiend.atomic", "haiend.threads", "haiend.timing", "haiend.roofline", "haiend.asm",
     "haiend.container", "haiend.container.inside"),
    ("haiend.stats", "haiend.refine", "haiend.debug", "haiend.debug.tools", "haiend.debug.bounded",
     "haiend.container.recipe"),
    ("haiend.debug.stacks", "haiend.debug.dwarf", "haiend.debug.gdb_batch", "haiend.debug.races", "haiend.debug.prange_sums",
     "haiend.debug.mpi_exchange", "haiend.debug.mpi_eager", "haiend.debug.mpi_mistakes", "haiend.debug.cudasim_kernels",
     "haiend.debug.gpu", "haiend.debug.reports", "haiend.debug.numba_builds", "haiend.container.image", "haiend.container.enter"),
    ("haiend.microarch",),
    ("haiend.records.schemas", "haiend.records.anonymise"),
    ("haiend.machine", "haiend.cbuild", "haiend.mpi", "haiend.sizes", "haiend.tune", "haiend.profile", "haiend.localslurm", "haiend.jobs",
     "haiend.container.apptainer"),
    ("haiend.debug.programs",),
    ("haiend.debug.ptrace", "haiend.debug.kernel_debugger", "haiend.debug.mixed_stack", "haiend.debug.hung",
     "haiend.debug.sanitizers", "haiend.debug.memcheck"),
    ("haiend.debug.slowdown",),
    ("haiend.energy.rapl", "haiend.energy.nvml", "haiend.energy.estimate", "haiend.energy.carbon"),
    ("haiend.energy",),
    ("haiend.records.migrations",),
    ("haiend.records",),
    ("haiend.records.exchange",),
    ("haiend.io.layouts", "haiend.io.cache", "haiend.io.metadata"),
    ("haiend.io.syscalls",),
    ("haiend.io.reading",),
    ("haiend.io",),
    ("haiend.kernels.calls", "haiend.kernels.spec", "haiend.kernels.xp", "haiend.kernels.vector_width"),
    ("haiend.kernels._gpu", "haiend.kernels.kinds"),
    ("haiend.kernels.contract",),
    ("haiend.kernels.registry",),
    ("haiend.kernels",),
    ("haiend.kernels.*",),  # the kernel packages and their realisations
    ("haiend.debug.seeded", "haiend.debug.seeded.*"),  # the debugging lab's buggy realisations
    ("haiend.ceilings", "haiend.recompile", "haiend.sampler", "haiend.findings"),
    ("haiend.bench", "haiend.grading"),
    ("haiend.tables", "haiend.plotting", "haiend.student", "haiend.workshop", "haiend.workshop.links",
     "haiend.workshop.collect", "haiend.workshop.labs", "haiend.workshop.prepare"),
    ("haiend.slurm", "haiend.mpi_demos", "haiend.mpi_demos.*", "haiend.compare"),
    ("haiend.sweep", "haiend.container.measure"),
    ("haiend.catalogue",),
    ("haiend.workshop.classroom",),
    ("haiend.export", "haiend.export.toc", "haiend.export.ims_schemas", "haiend.export.pages"),
    ("haiend.export.summary",),
    ("haiend.export.cartridge",),
    ("haiend.export.content_package",),
    ("haiend.export.moodle",),
    ("haiend.lab.show",),
    ("haiend.lab.measure",),
    ("haiend.lab",),
    ("haiend.cli",),
    ("haiend.__main__",),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The haiend modules ``name`` imports (a ``from haiend import x`` of a submodule counts as x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "haiend")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                ).strip(".")
            if base.split(".")[0] != "haiend":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def layer_of(name: str) -> int:
    for level, members in enumerate(LAYERS):
        for member in members:
            if name == member or (member.endswith(".*") and name.startswith(member[:-1])):
                return level
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {Path(__file__).name}")


@functools.cache
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_one_above_it(name):
    above = sorted(m for m in graph()[name] if layer_of(m) > layer_of(name))
    assert above == [], f"{name} (layer {layer_of(name)}) imports {above} from higher layers"


def test_there_is_no_import_loop():
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for other in sorted(edges[node]):
            if state.get(other) == 1:
                loop = path[path.index(other) :] + [other]
                raise AssertionError("import loop: " + " -> ".join(loop))
            if other not in state:
                visit(other)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
