"""A feedback sweep: job arrays whose next block sizes are chosen from the records of the last.

What it tunes: ``NB``, the column block of the ``c`` matmul (``kernels/matmul/matmul.c``): the
length of the row of C that stays in L1 while KB rank-1 updates add into it. The first array
measures the value ``haiend.tune`` derives from this machine's L1 (half of L1d in doubles,
``fits_l1_bytes / 8``) and that value over 4 and over 16; every later array measures the
values :func:`haiend.refine.next_values` picks around the best so far, until it picks none
(converged) or ``rounds`` arrays have run. Each value is one array element: the script is
``haiend slurm``'s, an array over ``--sweep cflags`` with ``-DNB=<value>`` added to the c
variant's flags, so each element compiles and measures its own program; the records name the
flags (``details.cflags``), and that is how the next decision finds the value of each record.

How it chains: round *r*'s array is submitted together with a *decide* job that depends on it
(``--dependency=afterok:ARRAY --kill-on-invalid-dep=yes``). The decide job runs
``python -m haiend.sweep step WORKDIR``: it reads the records, applies the rule, writes and
submits round *r + 1* (with its own decide job), or writes ``result.json``. So the loop runs in
the scheduler and survives the submitting shell; if an element fails, Slurm cancels the decide
job (the dependency can never be met), the loop stops, the failed element is named
(:mod:`haiend.jobs`) and the records of the others stay in ``WORKDIR/results``.

Without Slurm, the *local* executor runs the same scripts and the same ``step``: each element
as a subprocess (``bash SCRIPT`` with ``SLURM_ARRAY_TASK_ID`` set, one after another, its log
where Slurm would have written it), then the decide step once the whole array succeeded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from haiend import atomic, cbuild, jobs, records, refine, slurm, tune
from haiend.errors import HaiendError

KERNEL = "matmul.float64"
PARAMETER = "NB"
STEP = 8  # a cache line of doubles
STATE = "sweep.json"
RESULT = "result.json"
_DEFINE = re.compile(rf"-D{PARAMETER}=(\d+)\b")


def derived_block(tuning: tune.Tuning | None = None) -> int:
    """The starting NB from the fingerprint: half of L1d, in doubles (haiend.tune's fits_l1_bytes)."""
    fits = (tuning or tune.this_machine())["fits_l1_bytes"]
    return max(STEP, int(fits) // 8) if fits else 512


def cflags_for(value: int) -> str:
    """The c variant's flags (``$HAIEND_CFLAGS`` or haiend's defaults) with ``-DNB=value`` added."""
    base = [f for f in cbuild.default_flags() if not f.startswith(f"-D{PARAMETER}=")]
    return " ".join([*base, f"-D{PARAMETER}={value}"])


def measured(results: Path, size: Sequence[int]) -> dict[int, float]:
    """Median seconds per NB from the c matmul records of ``size`` under ``results`` (newest wins)."""
    loaded = records.load(results, kernel=KERNEL)
    loaded.raise_if_problems()  # a corrupt record is named, never skipped
    times: dict[int, float] = {}
    for record in loaded.records:
        found = _DEFINE.search(str(record.details.get("cflags", "")))
        if record.variant == "c" and found and list(record.size) == list(size) and record.correct:
            times[int(found.group(1))] = record.median_s
    return times


# --- executors: where an array and its decide step run ------------------------------------------


class LocalExecutor:
    """Runs each element as a subprocess here, in order, then the decide step: no scheduler needed."""

    name = "local"

    def __init__(self) -> None:
        self._queue: list[tuple[str, Callable[[], None]]] = []
        self._results: dict[str, list[jobs.Element]] = {}
        self._count = 0
        self._deadline = float("inf")

    def submit_array(self, script: Path, count: int, workdir: Path) -> str:
        self._count += 1
        job_id = str(self._count)
        name = _job_name(script)

        def run() -> None:
            elements = []
            for task in range(count):
                log = workdir / f"{name}-{job_id}_{task}.out"
                env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_JOB_ID": job_id}
                code, state = self._element(script, workdir, env, log)
                elements.append(
                    jobs.Element(f"{job_id}.{task}", job_id, task, name, state, code, 0, str(log))
                )
            self._results[job_id] = elements

        self._queue.append((job_id, run))
        return job_id

    def _element(self, script: Path, workdir: Path, env: dict[str, str], log: Path) -> tuple[int, str]:
        """Run one element in its own session; past the sweep's deadline its process group is killed."""
        with open(log, "wb") as out:
            child = subprocess.Popen(
                ["bash", str(script)],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = child.wait(timeout=max(1.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return child.returncode, "TIMEOUT"
        return code, "COMPLETED" if code == 0 else "FAILED"

    def submit_decide(self, workdir: Path, after: str) -> str:
        def run() -> None:
            if not any(e.failed for e in self._results[after]):
                step(workdir, executor=self)

        self._queue.append((f"decide-{after}", run))
        return f"decide-{after}"

    def elements(self, job_id: str) -> list[jobs.Element]:
        return self._results[job_id]

    def wait(self, workdir: Path, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout
        while self._queue:
            _, run = self._queue.pop(0)
            run()


class SlurmExecutor:
    """Submits with sbatch; the decide step is a job that depends on the array (afterok)."""

    name = "slurm"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = {**os.environ, **(env or {})}
        if shutil.which("sbatch") is None:
            raise HaiendError(
                "sbatch is not installed here: run the sweep with --executor local, or on a cluster."
            )

    def _sbatch(self, args: list[str], cwd: Path) -> str:
        done = subprocess.run(
            ["sbatch", "--parsable", *args], capture_output=True, text=True, cwd=cwd, env=self.env, timeout=60
        )
        if done.returncode != 0:
            raise HaiendError(
                f"sbatch refused the job: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}."
            )
        return done.stdout.strip().split(";")[0]

    def submit_array(self, script: Path, count: int, workdir: Path) -> str:
        return self._sbatch([str(script)], workdir)

    def submit_decide(self, workdir: Path, after: str) -> str:
        command = f"{sys.executable} -m haiend.sweep step {workdir}"
        return self._sbatch(
            [
                f"--dependency=afterok:{after}",
                "--kill-on-invalid-dep=yes",
                "--job-name=haiend-sweep-decide",
                "--ntasks=1",
                "--time=00:05:00",
                f"--output={workdir}/decide-%j.out",
                f"--wrap={command}",
            ],
            workdir,
        )

    def elements(self, job_id: str) -> list[jobs.Element]:
        return jobs.show(job_id, self.env)

    def wait(self, workdir: Path, timeout: float) -> None:
        """Until the result is written, or the newest decide job ended without submitting another round."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = _read_state(workdir)
            decide = state["rounds_run"][-1]["decide_job"]
            if (workdir / RESULT).exists():  # written by the last decide job: let it end first
                if jobs.show(decide, self.env)[0].finished:
                    return
                time.sleep(0.2)
                continue
            # A decide job writes the next round into the state before it ends: if it has ended
            # and the state still shows its round as the last, the loop stopped there.
            if decide and jobs.show(decide, self.env)[0].finished:
                if (workdir / RESULT).exists() or len(_read_state(workdir)["rounds_run"]) == len(
                    state["rounds_run"]
                ):
                    return
            time.sleep(0.5)
        raise HaiendError(
            f"the sweep in {workdir} did not finish within {timeout:g} s: see 'squeue' and its logs."
        )


def _job_name(script: Path) -> str:
    for line in script.read_text().splitlines():
        if line.startswith("#SBATCH --job-name="):
            return line.split("=", 1)[1]
    return script.stem


def executor_named(name: str, env: Mapping[str, str] | None = None):
    if name == "local":
        return LocalExecutor()
    if name == "slurm":
        return SlurmExecutor(env)
    raise HaiendError(f"the executor must be slurm or local, not {name!r}.")


# --- the loop ------------------------------------------------------------------------------------


def _read_state(workdir: Path) -> dict[str, Any]:
    try:
        return json.loads((workdir / STATE).read_text())
    except (OSError, ValueError) as exc:
        raise HaiendError(f"{workdir / STATE} cannot be read ({exc}): it is not a sweep's folder.") from None


def _profile(state: Mapping[str, Any]) -> slurm.Profile:
    """The site profile, narrowed to one task running the c variant, its records in the sweep's folder."""
    profile = slurm.read_profile(state["profile"])
    return dataclasses.replace(
        profile,
        nodes=1,
        tasks_per_node=1,
        variants=("c",),
        results_dir=str(Path(state["workdir"]) / "results"),
    )


def _submit_round(workdir: Path, state: dict[str, Any], values: list[int], executor) -> None:
    index = len(state["rounds_run"]) + 1
    script = workdir / f"round-{index}.sbatch"
    text = slurm.array_script(
        _profile(state),
        KERNEL,
        [cflags_for(v) for v in values],
        sweep="cflags",
        size=state["size_label"],
        roof=False,
    )
    text = text.replace(
        "#SBATCH --job-name=haiend-matmul.float64-cflags", f"#SBATCH --job-name=haiend-sweep-{index}", 1
    )
    slurm.write_atomic(script, text, force=True)
    array = executor.submit_array(script, len(values), workdir)
    state["rounds_run"].append({"round": index, "values": values, "job_id": array, "decide_job": None})
    atomic.write_json(workdir / STATE, state)
    state["rounds_run"][-1]["decide_job"] = executor.submit_decide(workdir, array)
    atomic.write_json(workdir / STATE, state)


def step(workdir: str | os.PathLike[str], *, executor=None) -> None:
    """After a round: read its records, decide, then submit the next round or write the result."""
    workdir = Path(workdir).resolve()
    state = _read_state(workdir)
    executor = executor or executor_named(state["executor"])
    times = measured(workdir / "results", state["size"])
    last = state["rounds_run"][-1]
    missing = [v for v in last["values"] if v not in times]
    if missing:
        raise HaiendError(
            f"round {last['round']} left no record for NB = {', '.join(map(str, missing))}: see its logs in {workdir}."
        )
    last["times_s"] = {str(v): times[v] for v in last["values"]}
    proposed = refine.next_values(times, state["lo"], state["hi"], STEP)
    if proposed and len(state["rounds_run"]) < state["rounds"]:
        _submit_round(workdir, state, proposed, executor)
        return
    top = refine.best(times)
    state["best"] = {"value": top, "median_s": times[top], "converged": not proposed}
    state["measured_s"] = {str(v): times[v] for v in sorted(times)}
    atomic.write_json(workdir / STATE, state)
    atomic.write_json(workdir / RESULT, state)


@dataclasses.dataclass
class SweepResult:
    """What a finished (or stopped) sweep measured, round by round."""

    state: dict[str, Any]
    failed: list[jobs.Element]

    @property
    def finished(self) -> bool:
        return "best" in self.state

    def to_dict(self) -> dict[str, Any]:
        return {**self.state, "failed": [e.describe() for e in self.failed]}

    def summary(self) -> str:
        lines = [
            f"matmul c, size {self.state['size_label']}: NB from the fingerprint {self.state['derived']} (L1d / 2 in doubles)"
        ]
        for r in self.state["rounds_run"]:
            times = r.get("times_s") or {}
            shown = ", ".join(
                f"{v}: {times[str(v)] * 1e3:.2f} ms" if str(v) in times else f"{v}: -" for v in r["values"]
            )
            lines.append(f"  round {r['round']} (job {r['job_id']}): {shown}")
        for element in self.failed:
            lines.append(f"  {element.describe()}")
        if self.finished:
            best = self.state["best"]
            how = (
                "converged" if best["converged"] else f"stopped after {len(self.state['rounds_run'])} rounds"
            )
            count = len(self.state["measured_s"])
            lines.append(
                f"best NB = {best['value']} ({best['median_s'] * 1e3:.2f} ms), {how}, {count} values measured"
            )
        return "\n".join(lines)


def run(
    profile: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    *,
    executor: str = "slurm",
    size: str = "96x1024x1024",
    rounds: int = 3,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Start a sweep in ``workdir`` and wait for its end (the result, or a failure).

    ``workdir`` must not hold a sweep already; its ``results`` folder may hold this machine's
    ceilings (``haiend roofline --results-dir WORKDIR/results``), which the elements then reuse.
    """
    from haiend import kernels

    slurm.read_profile(profile)  # a bad profile is one sentence here, before anything is written
    kernel = kernels.get(KERNEL)
    shape = kernel.parse_size(size)
    workdir = Path(workdir).resolve()
    if (workdir / STATE).exists():
        raise HaiendError(f"{workdir} holds a sweep already: choose a new folder.")
    runner = executor_named(executor, env)
    workdir.mkdir(parents=True, exist_ok=True)
    hi = int(shape[2])
    derived = derived_block()
    state: dict[str, Any] = {
        "profile": str(Path(profile).resolve()),
        "workdir": str(workdir),
        "executor": executor,
        "kernel": KERNEL,
        "parameter": PARAMETER,
        "size": list(shape),
        "size_label": kernel.size_label(shape),
        "rounds": rounds,
        "derived": derived,
        "lo": STEP,
        "hi": hi,
        "rounds_run": [],
    }
    grid = refine.initial_grid(derived, STEP, hi, STEP)
    if progress:
        progress(f"sweep of NB for the c matmul at {state['size_label']}: first round {grid} ({runner.name})")
    _submit_round(workdir, state, grid, runner)
    runner.wait(workdir, timeout)
    state = _read_state(workdir)
    failed = [e for r in state["rounds_run"] for e in runner.elements(r["job_id"]) if e.failed]
    if not (workdir / RESULT).exists() and not failed:
        raise HaiendError(f"the sweep in {workdir} stopped without a result: see decide-*.out there.")
    return SweepResult(state, failed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haiend.sweep", description="A sweep's decide step (run by its jobs)."
    )
    parser.add_argument("action", choices=("step",))
    parser.add_argument("workdir")
    args = parser.parse_args(argv)
    try:
        step(args.workdir)
    except HaiendError as exc:
        print(f"haiend.sweep: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
