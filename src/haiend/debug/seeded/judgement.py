"""What a seeded bug's checker found on a candidate fix: could it run, and if so, what is still wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Judgement:
    """``not_run`` is the one sentence saying why the tool could not run here (None when it ran);
    ``problems`` what the tool or the correctness check still finds (empty when the fix holds);
    ``evidence`` the trimmed output that shows it."""

    not_run: str | None = None
    problems: tuple[str, ...] = ()
    evidence: str = ""

    @property
    def holds(self) -> bool:
        return self.not_run is None and not self.problems
