"""A real JupyterHub on 127.0.0.1 for the workshop test, and a client that drives it as attendees do.

The hub is pip's ``jupyterhub`` with its proxy, npm's ``configurable-http-proxy`` (installed into
``hub/node_modules`` by ``./quickstart test`` from ``hub/package-lock.json``), the dummy
authenticator (any password) and the simple local process spawner, which gives each user a home
folder of their own under the test's folder. A service token with the admin scopes drives the
hub's REST API; attendees log in through the login form and keep their cookies, as a browser does.

Everything the hub starts carries the test's folder in its command line (the hub's config file,
the proxy and single-user server started through links in that folder, each kernel's connection
file in its user's home), so ``pgrep -f FOLDER`` finds all of it, and :meth:`Hub.stop` ends it all.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests
import websocket
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session

ROOT = Path(__file__).resolve().parents[1]
PROXY = ROOT / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
SINGLEUSER = Path(sys.executable).parent / "jupyterhub-singleuser"
SERVICE = "workshop-test"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(folder: Path, port: int, token: str, environment: dict[str, str]) -> str:
    """The hub's ``jupyterhub_config.py``: everything on 127.0.0.1, every file in ``folder``."""
    bin_dir = folder / "bin"
    settings = {
        "bind_url": f"http://127.0.0.1:{port}",
        "hub_port": free_port(),
        "proxy_api": f"http://127.0.0.1:{free_port()}",
        "proxy": str(bin_dir / "configurable-http-proxy"),
        "singleuser": str(bin_dir / "jupyterhub-singleuser"),
        "homes": str(folder / "homes" / "{username}"),
        "db": f"sqlite:///{folder / 'jupyterhub.sqlite'}",
        "secret": str(folder / "cookie_secret"),
        "pid": str(folder / "jupyterhub.pid"),
        "args": ["--allow-root"] if os.geteuid() == 0 else [],
        "token": token,
        "service": SERVICE,
        "environment": environment,
    }
    return f"""# Written by tests/hub.py for one test run.
s = {settings!r}
c.JupyterHub.bind_url = s["bind_url"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = s["hub_port"]
c.ConfigurableHTTPProxy.api_url = s["proxy_api"]
c.ConfigurableHTTPProxy.command = [s["proxy"]]
c.JupyterHub.db_url = s["db"]
c.JupyterHub.cookie_secret_file = s["secret"]
c.JupyterHub.pid_file = s["pid"]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = s["homes"]
c.Spawner.cmd = [s["singleuser"]]
c.Spawner.args = s["args"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
# Each user's results go under their own home, never into the repository they pulled.
results = lambda spawner: spawner.home_dir + "/.local/share/haiend/results"
c.Spawner.environment = {{**s["environment"], "HAIEND_RESULTS_DIR": results}}
c.JupyterHub.services = [{{"name": s["service"], "api_token": s["token"]}}]
c.JupyterHub.load_roles = [
    {{
        "name": s["service"],
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
        "services": [s["service"]],
    }}
]
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
"""


@dataclass
class Hub:
    """A running hub: its URL, the service token, its folder and its process."""

    url: str
    token: str
    folder: Path
    process: subprocess.Popen[bytes]
    log: Path
    seen: dict[int, float] = field(default_factory=dict)  # pid -> create time of everything it started
    started_in: float = 0.0  # seconds from the command to the first answer of its API

    # --- the REST API, as the service ---------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, **kwargs)

    def home(self, user: str) -> Path:
        return self.folder / "homes" / user

    def start_servers(self, *users: str) -> None:
        """Create the users and start their single-user servers at once; returns when all answer."""
        for user in users:
            self.api("POST", f"/hub/api/users/{user}").raise_for_status()
            started = self.api("POST", f"/hub/api/users/{user}/server")
            if started.status_code not in (201, 202):
                raise RuntimeError(
                    f"the hub did not start {user}'s server: {started.status_code} {started.text}"
                )
        waiting, deadline = set(users), time.monotonic() + START_TIMEOUT_S
        while waiting and time.monotonic() < deadline:
            for user in sorted(waiting):
                if (
                    self.api("GET", f"/hub/api/users/{user}")
                    .json()
                    .get("servers", {})
                    .get("", {})
                    .get("ready")
                ):
                    waiting.discard(user)
            time.sleep(0.2)
        self.remember()
        if waiting:
            raise RuntimeError(
                f"the servers of {', '.join(sorted(waiting))} were not ready within {START_TIMEOUT_S} s"
            )

    def login(self, user: str) -> requests.Session:
        """A browser-like session of ``user``, logged in through the hub's login form."""
        browser = requests.Session()
        browser.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        form = {"username": user, "password": "workshop", "_xsrf": browser.cookies.get("_xsrf", "")}
        done = browser.post(f"{self.url}/hub/login", data=form, timeout=30)
        done.raise_for_status()
        if not any(c.name.startswith("jupyterhub-session") for c in browser.cookies):
            raise RuntimeError(f"the hub did not log {user} in (status {done.status_code})")
        return browser

    # --- processes ----------------------------------------------------------------------------------
    def remember(self) -> None:
        """Note every process the hub has started so far (servers and kernels included)."""
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self.seen[child.pid] = child.create_time()
        except psutil.NoSuchProcess:
            pass

    def left(self) -> list[str]:
        """Processes still alive that this hub started, as ``pid command`` lines (from ``pgrep``)."""
        found = subprocess.run(
            ["pgrep", "-a", "-f", str(self.folder)], capture_output=True, text=True, check=False
        ).stdout.splitlines()
        mine = [line for line in found if int(line.split()[0]) != os.getpid()]
        for pid, created in self.seen.items():
            try:
                process = psutil.Process(pid)
                if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                    mine.append(f"{pid} {' '.join(process.cmdline())}")
            except psutil.NoSuchProcess:
                continue
        return sorted(set(mine))

    def stop(self) -> list[str]:
        """Stop every server, then the hub and its proxy; kill what is left; returns what had to be killed."""
        self.remember()
        for user in self._users():
            try:
                self.api("DELETE", f"/hub/api/users/{user}/server", timeout=10)
            except requests.RequestException:
                break  # the hub is gone: what it left is killed below
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.left() and time.monotonic() < deadline:
            time.sleep(0.2)
        killed = self.left()
        for line in killed:
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        return killed

    def _users(self) -> list[str]:
        try:
            listed = self.api("GET", "/hub/api/users", timeout=10)
            return [u["name"] for u in listed.json()] if listed.ok else []
        except (requests.RequestException, ValueError):
            return []


def start(folder: Path, environment: dict[str, str]) -> Hub:
    """Start a hub whose files are all in ``folder``; RuntimeError in one sentence if it cannot."""
    if not PROXY.exists():
        raise FileNotFoundError(PROXY)
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "configurable-http-proxy").symlink_to(PROXY)
    (bin_dir / "jupyterhub-singleuser").symlink_to(SINGLEUSER)
    port, token = free_port(), secrets.token_hex(32)
    (folder / "jupyterhub_config.py").write_text(config(folder, port, token, environment))
    log = folder / "jupyterhub.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which stop() ends
        )
    hub = Hub(f"http://127.0.0.1:{port}", token, folder, process, log)
    began = time.monotonic()
    deadline = began + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            hub.stop()
            raise RuntimeError(f"the hub exited with status {process.returncode}: {last_error(log)}")
        try:
            if hub.api("GET", "/hub/api/", timeout=2).ok:
                hub.started_in = time.monotonic() - began
                hub.remember()
                return hub
        except requests.RequestException:
            pass
        time.sleep(0.2)
    hub.stop()
    raise RuntimeError(f"the hub did not answer within {START_TIMEOUT_S} s: {last_error(log)}")


def last_error(log: Path) -> str:
    """The last error line of the hub's log (or its last line), for a one-sentence failure."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"\[(E|C) |Error|error", line)]
    return (errors or lines or ["its log is empty"])[-1].strip()


# --- nbgitpuller ----------------------------------------------------------------------------------------
def pull(browser: requests.Session, link: str) -> list[dict[str, Any]]:
    """Follow an nbgitpuller launch link as a browser does, then run the pull its page starts.

    The link redirects through the hub to the user's server (``/user/NAME/git-pull?...``), whose
    page opens an event stream at ``git-pull/api`` with the same query; the events are returned.
    """
    page = browser.get(link, timeout=60)
    page.raise_for_status()
    landed = urlsplit(page.url)
    if not landed.path.endswith("/git-pull"):
        raise RuntimeError(f"the launch link led to {page.url}, not to nbgitpuller's page")
    events = []
    with browser.get(f"{page.url.split('?')[0]}/api?{landed.query}", stream=True, timeout=120) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                events.append(json.loads(line[5:]))
    return events


# --- kernels --------------------------------------------------------------------------------------------
class CellFailed(AssertionError):
    """A cell executed through the hub raised; the message names the cell and the error."""


@dataclass
class Kernel:
    """A kernel of a notebook session on a user's server, driven over its websocket."""

    hub: Hub
    user: str
    session_id: str
    kernel_id: str
    socket: websocket.WebSocket
    client: Session

    @classmethod
    def for_notebook(cls, hub: Hub, user: str, path: str) -> Kernel:
        """Start a kernel for the notebook at ``path`` (relative to the user's home), as opening it does:
        a session, so the kernel's working directory is the notebook's folder."""
        body = {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}}
        made = hub.api("POST", f"/user/{user}/api/sessions", json=body)
        made.raise_for_status()
        model = made.json()
        ws_url = (
            hub.url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{model['kernel']['id']}/channels"
        )
        sock = websocket.create_connection(
            f"{ws_url}?session_id={uuid.uuid4().hex}",
            header=[f"Authorization: token {hub.token}"],
            timeout=30,
        )
        hub.remember()
        return cls(hub, user, model["id"], model["kernel"]["id"], sock, Session(username=user))

    def run(self, code: str, timeout: float = 300) -> str:
        """Execute ``code``; returns its stream output, raises :class:`CellFailed` when it raised."""
        request = self.client.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        request["channel"] = "shell"
        self.socket.send(json.dumps(request, default=json_default))
        msg_id, text, error, replied, idle = request["header"]["msg_id"], [], None, False, False
        deadline = time.monotonic() + timeout
        while not (replied and idle):
            self.socket.settimeout(max(1.0, deadline - time.monotonic()))
            frame = self.socket.recv()
            if time.monotonic() > deadline:
                raise CellFailed(f"a cell ran for more than {timeout} s:\n{code[:200]}")
            if not isinstance(frame, str):
                continue  # binary frames carry buffers (widgets), which no cell here uses
            message = json.loads(frame)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
                if content["status"] != "ok":
                    error = error or f"{content.get('ename')}: {content.get('evalue')}"
        if error:
            raise CellFailed(f"{error}\nin the cell:\n{code[:400]}")
        return "".join(text)

    def run_notebook(self, notebook: dict[str, Any], timeout: float = 300) -> int:
        """Execute every code cell of ``notebook`` in order; returns how many ran."""
        cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        for cell in cells:
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            self.run(source, timeout)
        return len(cells)

    def close(self) -> None:
        self.socket.close()
        self.hub.api("DELETE", f"/user/{self.user}/api/sessions/{self.session_id}")
