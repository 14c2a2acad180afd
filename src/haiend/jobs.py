"""What became of a Slurm job or job array: each element's state, exit code and log, failures by name.

``haiend jobs JOBID`` (and :mod:`haiend.sweep`, which waits on its arrays with it) asks the
controller with ``scontrol show job --oneliner JOBID``: for an array it lists every element, with
``ArrayTaskId``, ``JobState``, ``ExitCode`` (status:signal) and ``StdOut``, the log the element
wrote. Finished jobs stay there for the cluster's ``MinJobAge`` (300 s by default); after that
only ``sacct`` knows them. An element that failed is reported as "element 2 (job 1_2) FAILED with
exit code 3: see <its log>", so nobody has to open every log to find the one that broke, and
the records of the other elements stay where they were written.

The ``key=value`` lines are parsed by hand: the only Python binding (pyslurm) is tied to one
Slurm release and needs its headers to build; ``scontrol --json`` needs a serializer plugin that
Debian's Slurm 22.05 packages do not install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from haiend.errors import HaiendError

#: States after which a job does not change any more (scontrol's names).
FINISHED = (
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
)
_FIELD = re.compile(r"(?:^|\s)([A-Za-z/:]+)=(\S*)")


@dataclass(frozen=True)
class Element:
    """One job, or one element of a job array, as the controller sees it."""

    job_id: str  # the element's own job id
    array_job_id: str  # the array's id ("" for a plain job)
    task: int | None  # SLURM_ARRAY_TASK_ID (None for a plain job)
    name: str
    state: str
    exit_code: int
    signal: int
    log: str
    reason: str = ""

    @property
    def label(self) -> str:
        """How Slurm's own tools name it: 12_3 for element 3 of array 12, else the job id."""
        return f"{self.array_job_id}_{self.task}" if self.task is not None else self.job_id

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def failed(self) -> bool:
        return self.finished and self.state != "COMPLETED"

    def describe(self) -> str:
        who = f"element {self.task} (job {self.label})" if self.task is not None else f"job {self.label}"
        if not self.finished:
            why = f", {self.reason}" if self.reason and self.reason != "None" else ""
            return f"{who} {self.state}{why}"
        if not self.failed:
            return f"{who} COMPLETED: log {self.log}"
        how = f"signal {self.signal}" if self.signal else f"exit code {self.exit_code}"
        return f"{who} {self.state} with {how}: see {self.log}"


def parse(text: str) -> list[Element]:
    """Elements from ``scontrol show job --oneliner`` output (one job per line), ordered by task."""
    elements = []
    for line in text.splitlines():
        fields = dict(_FIELD.findall(line))
        if "JobId" not in fields:
            continue
        code, _, sig = fields.get("ExitCode", "0:0").partition(":")
        task = fields.get("ArrayTaskId", "")
        elements.append(
            Element(
                job_id=fields["JobId"],
                array_job_id=fields.get("ArrayJobId", ""),
                task=int(task) if task.isdigit() else None,
                name=fields.get("JobName", ""),
                state=fields.get("JobState", "UNKNOWN"),
                exit_code=int(code) if code.isdigit() else 0,
                signal=int(sig) if sig.isdigit() else 0,
                log=fields.get("StdOut", ""),
                reason=fields.get("Reason", ""),
            )
        )
    return sorted(elements, key=lambda e: (e.task is None, e.task or 0, e.job_id))


def show(job_id: str, env: Mapping[str, str] | None = None) -> list[Element]:
    """The elements of job ``job_id`` (an array's id gives all its elements); HaiendError if unknown."""
    if not re.fullmatch(r"\d+(_\d+)?", job_id):
        raise HaiendError(f"{job_id!r} is not a Slurm job id (digits, or ARRAY_TASK such as 12_3).")
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        raise HaiendError("scontrol is not installed here: run this where Slurm's client commands are.")
    done = subprocess.run(
        [scontrol, "show", "job", "--oneliner", job_id],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )
    elements = parse(done.stdout) if done.returncode == 0 else []
    if not elements:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no such job"
        raise HaiendError(
            f"Slurm does not know job {job_id} ({why}): finished jobs are forgotten after MinJobAge;"
            " 'sacct' still lists them."
        )
    return elements


def summary(elements: list[Element]) -> str:
    """One line per element, failures first, then a count."""
    failed = [e for e in elements if e.failed]
    lines = [e.describe() for e in failed] + [e.describe() for e in elements if not e.failed]
    done = sum(e.finished for e in elements)
    lines.append(
        f"{len(elements)} element(s): {done - len(failed)} completed, {len(failed)} failed, {len(elements) - done} not finished."
    )
    return "\n".join(lines)
