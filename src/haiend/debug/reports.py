"""What a correctness tool reported, reduced to what a reader needs: the kind of error and where.

ASan, UBSan and valgrind each print pages: the error, a stack of frames (most inside the C
library, ffi or the interpreter), the allocation's stack, a legend of shadow bytes. A
:class:`Finding` keeps one error's kind, its frames as (function, file, line), and the few lines
of the report that name it; :class:`Report` holds a run's findings with the run itself, or the
one sentence saying why the tool could not run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from haiend.debug.bounded import Finished


@dataclass(frozen=True)
class Frame:
    function: str
    file: str | None = None
    line: int | None = None

    def at(self, file: str | Path, line: int | None = None) -> bool:
        """Whether this frame is in ``file`` (compared by name) and, if given, at ``line``."""
        return self.file is not None and Path(self.file).name == Path(file).name and line in (None, self.line)


@dataclass(frozen=True)
class Finding:
    """One error: its kind as the tool names it, what it says, its frames, the lines that show it."""

    tool: str
    kind: str
    what: str
    frames: tuple[Frame, ...] = ()
    lines: tuple[str, ...] = ()

    def at(self, file: str | Path, line: int | None = None) -> bool:
        return any(frame.at(file, line) for frame in self.frames)


@dataclass(frozen=True)
class Report:
    """A tool's run: its findings, or why it did not run (``missing``, one sentence)."""

    tool: str
    findings: tuple[Finding, ...] = ()
    run: Finished | None = None
    missing: str | None = None
    command: tuple[str, ...] = field(default=())

    @property
    def ran(self) -> bool:
        return self.missing is None

    def at(self, file: str | Path, line: int | None = None) -> tuple[Finding, ...]:
        """The findings with a frame in ``file`` (at ``line``): ours, not the interpreter's."""
        return tuple(f for f in self.findings if f.at(file, line))

    def kinds_at(self, file: str | Path, line: int | None = None) -> set[str]:
        return {f.kind for f in self.at(file, line)}

    def trimmed(self, file: str | Path | None = None) -> str:
        """The lines naming each finding (those in ``file`` only, when given), or why none ran."""
        if self.missing is not None:
            return self.missing
        chosen = self.findings if file is None else self.at(file)
        if not chosen:
            return f"{self.tool}: no error reported" + (f" in {Path(file).name}." if file else ".")
        return "\n".join("\n".join(f.lines) for f in chosen)
