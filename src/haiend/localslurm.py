"""A real, single-node Slurm in a temporary folder: munged, slurmctld and slurmd, started and stopped.

``haiend slurm`` writes batch scripts for clusters; this module gives them a real scheduler to run
on, on one machine, without systemd and without touching ``/etc``: everything (the munge key and
socket, ``slurm.conf``, the state, spool, logs and the job-completion log) lives under one state
folder. The node's CPUs and memory are this machine's; the settings are the ones that work on a
machine without cgroups set up for Slurm (``proctrack/linuxproc``, ``task/none``), with the
scheduler's batch delay removed (Slurm's default starts about two jobs every three seconds) and
``jobcomp/filetxt`` so that ``sacct -c`` shows finished jobs without ``slurmdbd``.

It needs root (slurmd starts jobs as their users) and Debian's packages ``slurmctld slurmd
slurm-client munge`` (``./quickstart test`` installs them). :func:`unavailable` says in one sentence
why Slurm cannot start here, or returns None.

    cluster = localslurm.start(folder)      # returns once the node is idle
    subprocess.run(["sbatch", ...], env={**os.environ, **cluster.env})
    cluster.stop()                          # cancels the jobs, then stops the daemons by pid

Or from a shell (the daemons outlive the command; ``stop`` ends them)::

    python -m haiend.localslurm start /tmp/slurm     # prints: export SLURM_CONF=/tmp/slurm/slurm.conf
    python -m haiend.localslurm stop /tmp/slurm

A module rather than a shell script: the tests' fixture, the feedback loop and the CLI share one
implementation, and stopping by pid and process group with time-outs is clearer in Python.
The daemons are started by hand (``subprocess``) because no maintained Python package starts a
Slurm; pyslurm wraps the client library of one Slurm version and starts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from haiend import atomic
from haiend.errors import HaiendError

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "squeue", "scancel", "sacct")
PARTITION = "debug"
STATE_FILE = "cluster.json"
HOW = "run './quickstart test' as root, or: apt-get install --no-install-recommends " + " ".join(PACKAGES)


def unavailable() -> str | None:
    """Why a local Slurm cannot start here, in one sentence; None if it can."""
    if sys.platform != "linux":
        return "a local Slurm needs Linux."
    missing = [p for p in PROGRAMS if _which(p) is None]
    if missing:
        return f"Slurm cannot start here: {', '.join(missing)} not installed ({HOW})."
    if os.geteuid() != 0:
        return "Slurm cannot start here: slurmd must run as root to start jobs (run the tests as root)."
    return None


def _which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_resources() -> tuple[int, int]:
    """This machine's CPUs (those this process may use) and memory in MiB, less 5% for the system."""
    cpus = len(os.sched_getaffinity(0))
    mib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    return cpus, int(mib * 0.95)


def slurm_conf(state: Path, *, node: str, cpus: int, memory_mib: int, ports: tuple[int, int]) -> str:
    """The slurm.conf of a one-node cluster whose every file lives under ``state``."""
    return "\n".join(
        [
            "# Written by haiend.localslurm: a one-node Slurm in this folder.",
            "ClusterName=haiend",
            f"SlurmctldHost={node}(127.0.0.1)",
            f"SlurmctldPort={ports[0]}",
            f"SlurmdPort={ports[1]}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={state / 'munge.socket'}",
            f"StateSaveLocation={state / 'ctld'}",
            f"SlurmdSpoolDir={state / 'spool'}",
            f"SlurmctldPidFile={state / 'slurmctld.pid'}",
            f"SlurmdPidFile={state / 'slurmd.pid'}",
            f"SlurmctldLogFile={state / 'slurmctld.log'}",
            f"SlurmdLogFile={state / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",  # no cgroup set-up needed
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/filetxt",  # sacct -c reads this log; plain sacct would need slurmdbd
            f"JobCompLoc={state / 'jobcomp.log'}",
            "MpiDefault=none",
            "ReturnToService=2",
            "MinJobAge=600",  # finished jobs stay in scontrol's view for ten minutes
            "KillWait=5",
            "InactiveLimit=0",
            f"NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mib} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class Cluster:
    """A running local Slurm: its state folder, its slurm.conf and the daemons' pids."""

    state: Path
    node: str
    cpus: int
    memory_mib: int
    pids: dict[str, int] = field(default_factory=dict)
    _children: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @property
    def conf(self) -> Path:
        return self.state / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """What a client command (sbatch, squeue, sacct) needs to find this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    @property
    def jobcomp_log(self) -> Path:
        return self.state / "jobcomp.log"

    def command(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a Slurm client command against this cluster (output as text)."""
        return subprocess.run(
            [_which(args[0]) or args[0], *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.env},
        )

    def node_state(self) -> str:
        done = self.command("sinfo", "-h", "-N", "-o", "%T", timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    def save(self) -> None:
        data = {"node": self.node, "cpus": self.cpus, "memory_mib": self.memory_mib, "pids": self.pids}
        atomic.write_json(self.state / STATE_FILE, data)

    @classmethod
    def load(cls, state: str | os.PathLike[str]) -> Cluster:
        state = Path(state)
        try:
            data = json.loads((state / STATE_FILE).read_text())
            return cls(state, data["node"], data["cpus"], data["memory_mib"], dict(data["pids"]))
        except FileNotFoundError:
            raise HaiendError(
                f"{state} holds no local Slurm (no {STATE_FILE}): start one there first."
            ) from None
        except (ValueError, KeyError, TypeError):
            raise HaiendError(
                f"{state / STATE_FILE} is not a local Slurm's state file: delete the folder."
            ) from None

    def stop(self, timeout: float = 15) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged (by pid and process group)."""
        if self.pids.get("slurmctld") and _alive(self.pids["slurmctld"]):
            try:
                self.command("scancel", f"--partition={PARTITION}", timeout=10)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    queue = self.command("squeue", "-h", "-o", "%i", timeout=10)
                    if queue.returncode != 0 or not queue.stdout.strip():
                        break
                    time.sleep(0.2)
            except subprocess.TimeoutExpired:
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid:
                _terminate(pid, self._children.get(name), timeout)
        self.pids.clear()
        if (self.state / STATE_FILE).exists():
            (self.state / STATE_FILE).unlink()


def leftovers(state: str | os.PathLike[str]) -> list[str]:
    """Processes of the local Slurm in ``state`` still running: its daemons, job steps and jobs.

    Found in the process table: any ``slurmstepd``, and any process whose command line names the
    state folder or whose environment points ``SLURM_CONF`` at its slurm.conf (every job's
    processes inherit it). Zombies are left out: they have ended, and only wait to be reaped by
    their parent (where that is a container's init that does not reap, they stay listed).
    """
    state = Path(state).resolve()
    marker = f"SLURM_CONF={state / 'slurm.conf'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            name, fields = (entry / "stat").read_text().rsplit(")", 1)
            if fields.split()[0] == "Z":
                continue
            comm = name.split("(", 1)[1]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if comm == "slurmstepd" or str(state) in cmdline or marker in environ:
            found.append(f"{entry.name} {cmdline or comm}")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _terminate(pid: int, child: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM to the daemon's process group (it leads its own session), then SIGKILL after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                break
            if child is None and not _alive(pid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def _spawn(cluster: Cluster, name: str, argv: list[str]) -> None:
    log = open(cluster.state / f"{name}.out", "ab")
    with log:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    cluster._children[name] = child
    cluster.pids[name] = child.pid
    cluster.save()


def _wait(cluster: Cluster, what: str, ready, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for name, child in cluster._children.items():
            if child.poll() is not None:
                raise HaiendError(
                    f"{name} exited with status {child.returncode} while waiting for {what}: "
                    f"see {cluster.state / (name + '.out')} and {cluster.state / (name + '.log')}."
                )
        time.sleep(0.1)
    raise HaiendError(f"no {what} after {timeout:g} s: see the logs in {cluster.state}.")


def start(state: str | os.PathLike[str], *, timeout: float = 30) -> Cluster:
    """Configure and start munged, slurmctld and slurmd under ``state``; return once the node is idle.

    On any failure everything started so far is stopped and a HaiendError says why.
    """
    why = unavailable()
    if why:
        raise HaiendError(why)
    state = Path(state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    if (state / STATE_FILE).exists():
        raise HaiendError(
            f"{state} already holds a local Slurm: stop it first ('python -m haiend.localslurm stop {state}')."
        )
    state.chmod(0o755)  # munged wants its socket's folder searchable by everyone
    for sub in ("ctld", "spool"):
        (state / sub).mkdir(exist_ok=True)
    node = socket.gethostname().split(".")[0]
    cpus, memory = node_resources()
    cluster = Cluster(state, node, cpus, memory)
    key = state / "munge.key"
    key.write_bytes(secrets.token_bytes(128))
    key.chmod(0o400)
    atomic.write_text(
        cluster.conf,
        slurm_conf(state, node=node, cpus=cpus, memory_mib=memory, ports=(_free_port(), _free_port())),
    )
    try:
        _spawn(cluster, "munged", [
            _which("munged"), "-F", "--force", f"--key-file={key}", f"--socket={state / 'munge.socket'}",
            f"--pid-file={state / 'munged.pid'}", f"--log-file={state / 'munged.log'}",
            f"--seed-file={state / 'munged.seed'}",
        ])  # fmt: skip
        _wait(cluster, "munge socket", (state / "munge.socket").exists, timeout)
        _spawn(cluster, "slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(cluster.conf)])
        _spawn(cluster, "slurmd", [_which("slurmd"), "-D", "-f", str(cluster.conf), "-N", node])
        _wait(cluster, "idle Slurm node", lambda: cluster.node_state() == "idle", timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haiend.localslurm", description="Start or stop a one-node Slurm in a folder."
    )
    parser.add_argument("action", choices=("start", "stop", "check"))
    parser.add_argument("state", nargs="?", help="the folder of its configuration, state and logs")
    args = parser.parse_args(argv)
    try:
        if args.action == "check":
            why = unavailable()
            print(why or "a local Slurm can start here.")
            return 1 if why else 0
        if not args.state:
            raise HaiendError(f"'{args.action}' needs the state folder.")
        if args.action == "start":
            cluster = start(args.state)
            print(f"export SLURM_CONF={cluster.conf}")
            print(
                f"# node {cluster.node}: {cluster.cpus} CPUs, {cluster.memory_mib} MiB, idle", file=sys.stderr
            )
        else:
            Cluster.load(args.state).stop()
        return 0
    except HaiendError as exc:
        print(f"haiend.localslurm: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
