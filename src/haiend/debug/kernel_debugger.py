"""The JupyterLab debugger, driven from code: a breakpoint in a notebook cell, and the locals read there.

JupyterLab's visual debugger is a client of the Debug Adapter Protocol (DAP). It does not talk
to debugpy directly: it wraps each DAP request in a ``debug_request`` message on the kernel's
*control* channel (answered by ``debug_reply``; the control channel is served by its own thread,
so it answers while the shell is busy running the cell), and the kernel (ipykernel) forwards it to
debugpy, which runs inside the kernel's process and stops the cell's thread with a trace function.
DAP events (``stopped``, ``thread``, ``output``) come back as ``debug_event`` messages on IOPub.
The sequence JupyterLab uses, and this module replays:

1. ``initialize`` (what the client supports), ``attach`` (ipykernel starts debugpy and connects
   it), ``debugInfo`` (where the kernel keeps cell sources: ``tmpFilePrefix``, hash method);
2. ``dumpCell`` with the cell's code: the kernel writes it to a file named by the hash of the code
   and answers its ``sourcePath``; the same code, executed later, is compiled under that name, so a
   breakpoint on that path and line is a breakpoint in the cell;
3. ``setBreakpoints`` on that path, ``configurationDone``;
4. an ordinary ``execute_request`` on the shell channel; when the breakpoint is reached, a
   ``stopped`` event arrives with the thread's id;
5. ``stackTrace`` (frames), ``scopes`` (Locals, Globals of a frame), ``variables`` (the names,
   values and types in a scope);
6. ``continue``, and at the end ``disconnect``; the kernel is then shut down.

jupyter_client does the messaging (signing, channels); the DAP sequence above is not in any
library meant for use outside JupyterLab's TypeScript front end, so it is written here.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from haiend.errors import HaiendError


def missing() -> str | None:
    """None when a Python kernel with a debugger can be started here; else what to install."""
    for module, package in (("jupyter_client", "jupyter-client"), ("ipykernel", "ipykernel"), ("debugpy", "debugpy")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed, so no kernel debugger can be started: pip install {package}."
    return None


@dataclass(frozen=True)
class Stop:
    """One stop in a cell: why, where (function and line of the cell) and the locals there."""

    reason: str
    function: str
    line: int
    locals: dict[str, str]
    types: dict[str, str]


@dataclass
class KernelDebugger:
    """A Python kernel with its debugger attached; use as a context manager so the kernel always ends."""

    kernel_name: str = "python3"
    timeout_s: float = 60
    transcript: list[tuple[str, bool, str]] = field(default_factory=list)  # (command, success, summary)
    kernel_pids: list[int] = field(default_factory=list)

    def __enter__(self) -> KernelDebugger:
        from jupyter_client.manager import KernelManager

        self._folder = tempfile.mkdtemp(prefix="haiend-kernel-debug-")
        self._seq = 0
        self._configured = False
        self._manager = KernelManager(kernel_name=self.kernel_name)
        try:
            # the kernel writes each dumped cell under its temporary folder: ours, removed at the end;
            # its log (a warning about TCP without encryption, tracebacks) goes to a file there too
            self._log = open(os.path.join(self._folder, "kernel.log"), "w")
            self._manager.start_kernel(env={**os.environ, "TMPDIR": self._folder}, stderr=self._log)
            self.kernel_pids = [self._manager.provisioner.pid]
            self._client = self._manager.client()
            self._client.start_channels()
            self._client.wait_for_ready(timeout=self.timeout_s)
            self.request(
                "initialize",
                clientID="haiend",
                clientName="haiend.debug.kernel_debugger",
                adapterID="python",
                pathFormat="path",
                linesStartAt1=True,
                columnsStartAt1=True,
                supportsVariableType=True,
                supportsVariablePaging=True,
                supportsRunInTerminalRequest=False,
                locale="en",
            )
            self.request("attach")
            self.info = self.request("debugInfo")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send one DAP request over the control channel and return the body of its response."""
        self._seq += 1
        content = {"type": "request", "seq": self._seq, "command": command, "arguments": arguments}
        message = self._client.session.msg("debug_request", content)
        self._client.control_channel.send(message)
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                reply = self._client.control_channel.get_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise HaiendError(f"the kernel did not answer the debugger's {command} within {self.timeout_s:g} s.") from None
            if reply["parent_header"].get("msg_id") == message["header"]["msg_id"]:
                break
        response = reply["content"]
        body = response.get("body") or {}
        self.transcript.append((command, bool(response.get("success")), ", ".join(sorted(body))))
        if not response.get("success"):
            raise HaiendError(f"the kernel's debugger refused {command}: {response.get('message', 'no reason given')}.")
        return body

    def run_cell(self, code: str, lines: list[int], max_stops: int = 1) -> tuple[list[Stop], dict[str, Any]]:
        """Execute ``code`` as a cell with breakpoints on ``lines``; read the locals at each stop.

        After ``max_stops`` stops the breakpoints are cleared and the cell runs to its end.
        Returns the stops and the ``execute_reply``'s content.
        """
        path = self.request("dumpCell", code=code)["sourcePath"]
        self.request("setBreakpoints", source={"path": path}, breakpoints=[{"line": n} for n in lines], sourceModified=False)
        if not self._configured:
            self.request("configurationDone")
            self._configured = True
        execution = self._client.execute(code, silent=False, store_history=False)
        stops: list[Stop] = []
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            reply = self._shell_reply(execution)
            if reply is not None:
                return stops, reply
            event = self._stopped_event()
            if event is None:
                continue
            stops.append(self._read_stop(event))
            if len(stops) >= max_stops:
                self.request("setBreakpoints", source={"path": path}, breakpoints=[], sourceModified=False)
            self.request("continue", threadId=event["threadId"])
        raise HaiendError(f"the cell did not finish within {self.timeout_s:g} s under the debugger.")

    def _shell_reply(self, msg_id: str) -> dict[str, Any] | None:
        try:
            reply = self._client.shell_channel.get_msg(timeout=0)
        except queue.Empty:
            return None
        return reply["content"] if reply["parent_header"].get("msg_id") == msg_id else None

    def _stopped_event(self) -> dict[str, Any] | None:
        try:
            message = self._client.iopub_channel.get_msg(timeout=0.05)
        except queue.Empty:
            return None
        content = message["content"]
        if message["msg_type"] == "debug_event" and content.get("event") == "stopped":
            return content["body"]
        return None

    def _read_stop(self, event: dict[str, Any]) -> Stop:
        frame = self.request("stackTrace", threadId=event["threadId"])["stackFrames"][0]
        scopes = self.request("scopes", frameId=frame["id"])["scopes"]
        local = next(scope for scope in scopes if scope["name"] == "Locals")
        variables = self.request("variables", variablesReference=local["variablesReference"])["variables"]
        # debugpy adds groups ("special variables", "function variables") and dunder names: not locals
        shown = [v for v in variables if not v["name"].startswith("__") and " " not in v["name"]]
        return Stop(
            event.get("reason", "?"),
            frame["name"],
            frame["line"],
            {v["name"]: v["value"] for v in shown},
            {v["name"]: v.get("type", "") for v in shown},
        )

    def close(self) -> None:
        """Detach the debugger, shut the kernel down (killing it if it does not go), remove its files."""
        client = getattr(self, "_client", None)
        manager = getattr(self, "_manager", None)
        if client is not None and manager is not None and manager.is_alive():
            try:
                self.request("disconnect", restart=False, terminateDebuggee=False)
            except HaiendError:
                pass  # the kernel is going anyway
        if client is not None:
            client.stop_channels()
        if manager is not None and manager.has_kernel:
            try:
                manager.shutdown_kernel(now=False)
            except Exception:  # a kernel that does not answer its shutdown request is killed
                manager.shutdown_kernel(now=True)
        if getattr(self, "_log", None):
            self._log.close()
        if getattr(self, "_folder", None):
            shutil.rmtree(self._folder, ignore_errors=True)
