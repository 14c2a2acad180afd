"""A workshop on a real JupyterHub, end to end: two attendees pull the labs with an nbgitpuller link,
one runs a lab through the hub's kernel API, each one's records land in their own results folder,
``haiend workshop collect`` gathers them, and nothing the hub started is left running.

The repository the attendees pull is a bare copy of this one, served as ``file://``. The lab is
``labs/energy.ipynb`` at the quick size, the fastest lab (about 15 s here, against 25 s for
labs/precision and 50 s for labs/stream). The time to pull and the time to run the lab through the
hub are printed at the end of the run (pytest's summary), for the workshop notes to quote.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import hub as hubs
from haiend import cli, records, threads
from haiend.workshop.collect import RESULTS_IN_HOME
from haiend.workshop.links import clone_folder, launch_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LAB = "labs/energy.ipynb"
USERS = ("ada", "bob")


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Workshop Test", "-c", "user.email=test@localhost", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


class Served:
    """A bare copy of this repository's HEAD as branch ``main``, served as ``file://``."""

    def __init__(self, folder: Path) -> None:
        self.bare = folder / "haiend-labs"
        git("init", "--bare", "--quiet", "--initial-branch=main", str(self.bare))
        git("push", "--quiet", str(self.bare), "HEAD:refs/heads/main", cwd=ROOT)
        self.url = self.bare.as_uri()
        self.work = folder / "instructor"

    def head(self) -> str:
        return git("rev-parse", "main", cwd=self.bare)

    def change(self, name: str, text: str) -> None:
        """The instructor adds a file upstream, between the attendees' visits."""
        if not self.work.exists():
            git("clone", "--quiet", "--branch", "main", self.url, str(self.work))
        (self.work / name).write_text(text)
        git("add", name, cwd=self.work)
        git("commit", "--quiet", "-m", f"Add {name}", cwd=self.work)
        git("push", "--quiet", "origin", "main", cwd=self.work)


@pytest.fixture
def served(tmp_path: Path) -> Served:
    return Served(tmp_path / "served")


@pytest.fixture
def hub(tmp_path: Path):
    if not hubs.PROXY.exists():
        pytest.skip(
            f"configurable-http-proxy is not installed at {hubs.PROXY}: run ./quickstart test, which installs it."
        )
    environment = {"HAIEND_SIZE": "quick"}
    try:
        running = hubs.start(tmp_path / "hub", environment)
    except RuntimeError as exc:
        pytest.fail(f"JupyterHub could not start here ({exc}).")
    try:
        yield running
    finally:
        killed = running.stop()  # a second stop after the test's own is harmless
        assert not killed, f"processes of the hub were still running after it stopped: {killed}"
        assert running.left() == []


def _untracked_or_changed(clone: Path) -> set[str]:
    return set(git("status", "--porcelain", "--untracked-files=all", cwd=clone).splitlines())


def test_two_attendees_pull_run_a_lab_and_are_collected(
    hub, served, tmp_path: Path, closing_note, capsys
) -> None:
    start = time.perf_counter()
    hub.start_servers(*USERS)
    took = {"servers": time.perf_counter() - start}
    browsers = {user: hub.login(user) for user in USERS}
    link = launch_url(hub.url, served.url, LAB)
    folder = clone_folder(served.url)
    clones = {user: hub.home(user) / folder for user in USERS}

    # First visit: nbgitpuller clones the repository into each attendee's home.
    for user in USERS:
        start = time.perf_counter()
        events = hubs.pull(browsers[user], link)
        took.setdefault("pull", time.perf_counter() - start)
        assert events and events[-1].get("phase") == "finished", events[-3:]
        assert (clones[user] / LAB).is_file()
        assert git("rev-parse", "HEAD", cwd=clones[user]) == served.head()

    # Second visit, after an attendee's edit and an instructor's change: merged, the edit kept.
    readme = clones["ada"] / "README.md"
    readme.write_text(readme.read_text() + "\nAda's own note.\n")
    served.change("WORKSHOP.md", "Day two starts at 9:30.\n")
    start = time.perf_counter()
    events = hubs.pull(browsers["ada"], link)
    took["merge"] = time.perf_counter() - start
    assert events[-1].get("phase") == "finished", events[-3:]
    assert (clones["ada"] / "WORKSHOP.md").read_text() == "Day two starts at 9:30.\n"
    assert readme.read_text().endswith("\nAda's own note.\n")

    # Ada runs the lab through the hub; its kernel starts in the notebook's folder, as opening it would.
    kernel = hubs.Kernel.for_notebook(hub, "ada", f"{folder}/{LAB}")
    try:
        assert kernel.run("import os; print(os.getcwd())").strip() == str(clones["ada"] / "labs")
        content = hub.api("GET", f"/user/ada/api/contents/{folder}/{LAB}").json()["content"]
        start = time.perf_counter()
        cells = kernel.run_notebook(content)
        took["lab"] = time.perf_counter() - start
    finally:
        kernel.close()
    # Bob measures one realisation from his own kernel.
    start = time.perf_counter()
    kernel = hubs.Kernel.for_notebook(hub, "bob", f"{folder}/{LAB}")
    try:
        kernel.run("from haiend import lab\nlab.measure('stream.triad', variants=['numpy'])", timeout=120)
    finally:
        kernel.close()
    took["bob"] = time.perf_counter() - start

    # Each attendee's records are in their own results folder, valid; none in the pulled repository.
    made = {}
    for user in USERS:
        loaded = records.load(hub.home(user) / RESULTS_IN_HOME)
        assert loaded.problems == []
        made[user] = len(loaded.records)
        assert made[user] >= 1 and {r.kernel for r in loaded.records} == {"stream.triad"}
    assert made["ada"] > made["bob"] == 1
    for user in USERS:  # (nbgitpuller committed Ada's edit when it merged, so a clean clone has none)
        assert _untracked_or_changed(clones[user]) == set()

    # The instructor collects both, checks the files and shows the class its spread.
    start = time.perf_counter()
    out = tmp_path / "class"
    homes = str(hub.folder / "homes" / "*")
    assert cli.main(["workshop", "collect", homes, str(out)]) == 0
    assert capsys.readouterr().err == ""
    for user in USERS:
        collected = records.load(out / user)
        assert collected.problems == [] and len(collected.records) == made[user]
        assert all(r.run["cpu_set"] == threads.cpu_list(os.sched_getaffinity(0)) for r in collected.records)
    assert cli.main(["results", "validate", str(out / "ada"), str(out / "bob")]) == 0
    capsys.readouterr()
    assert cli.main(["workshop", "class", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "(2 of 2 attendees)" in shown and "Every attendee ran on the same machine" in shown
    took["collect"] = time.perf_counter() - start

    # The hub stops cleanly: no hub, proxy, server or kernel is left (pgrep finds none).
    start = time.perf_counter()
    killed = hub.stop()
    took["stop"] = time.perf_counter() - start
    assert killed == [], f"had to kill: {killed}"
    assert hub.left() == []
    figures = {
        "hub_start_s": round(hub.started_in, 2),
        "two_servers_s": round(took["servers"], 2),
        "pull_first_s": round(took["pull"], 2),
        "pull_merge_s": round(took["merge"], 2),
        "lab_through_hub_s": round(took["lab"], 1),
        "lab": LAB,
        "one_bench_s": round(took["bob"], 1),
        "collect_and_validate_s": round(took["collect"], 1),
        "stop_s": round(took["stop"], 1),
        "cells": cells,
        "records": made,
    }
    closing_note.append(f"workshop on a JupyterHub: {json.dumps(figures)}")


def test_a_hub_that_cannot_start_says_why_in_one_sentence(tmp_path: Path, monkeypatch) -> None:
    broken = tmp_path / "broken-proxy"
    broken.write_text("#!/bin/sh\necho 'this proxy cannot start' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(hubs, "PROXY", broken)
    with pytest.raises(RuntimeError) as failed:
        hubs.start(tmp_path / "hub", {})
    message = str(failed.value)
    assert message.startswith("the hub exited with status") and "\n" not in message, message
    left = subprocess.run(["pgrep", "-a", "-f", str(tmp_path / "hub")], capture_output=True, text=True)
    assert left.stdout == "", left.stdout
