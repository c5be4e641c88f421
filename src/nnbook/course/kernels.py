"""Kernels that talk to their client over Unix sockets (ZMQ's ``ipc`` transport), not TCP.

Every kernel the course starts — executing chapters for the book, grading a submission —
uses :class:`IPCKernelManager` (``kernel_manager_class`` of nbclient's ``NotebookClient``
and of nbgrader's ``Execute``). Two reasons:

* the sandboxed grading kernel has a network namespace of its own (no network at all, see
  :mod:`nnbook.course.grade.sandbox`), so TCP on loopback cannot reach it; a Unix socket in the
  runtime folder, which both sides see, can;
* nothing listens on a port, and ipykernel has nothing to warn about ("Kernel is running
  over TCP without encryption", once per kernel).

jupyter_client's own ``transport = "ipc"`` is not enough on its own: without a connection
file the socket path defaults to ``kernel-ipc`` *relative to each process's working
directory*, and the kernel runs in the notebook's folder while its client does not. Here
the connection file and the sockets live in the Jupyter runtime folder, by absolute path.

Three waits of jupyter_client are shortened here, because grading pays them once per
submission (measured on ch01: 0.35 s of a 1.5 s grading, with the CPU idle). Each goes
through a public extension point of jupyter_client, and ``tests/test_third_party_hooks.py``
fails if an upgrade stops calling it:

* :meth:`ReadyKernelClient.wait_for_ready` (jupyter_client has no hook inside it, so the
  public method is replaced whole): jupyter_client's ends by reading iopub until it has been
  quiet for 0.2 s. Here the client is ready once the kernel has answered ``kernel_info``
  and iopub has delivered a message; what is already queued is drained without waiting.
  A startup message that arrives later is harmless: nbclient keeps only the iopub messages
  whose parent is the cell it is running.
* :meth:`ReadyKernelClient.start_channels`: the sockets connect before the kernel has bound
  its own, and ZMQ retries a connection after 0.1 s; here after 5 ms (doubling up to 0.2 s).
* :class:`PromptProvisioner` (jupyter_client's kernel provisioner, the extension point for
  launching and killing kernels): after ``SIGKILL``, jupyter_client checks every 0.1 s
  whether the process is gone; the provisioner's ``kill`` waits for it in 2 ms steps. It
  also adds :attr:`IPCKernelManager.kernel_env` to the kernel's environment.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from queue import Empty

import zmq
from jupyter_client import protocol_version_info
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Dict, Unicode, default

from nnbook.kit.kernel_sockets import UnixSocketKernelManager

# A Unix socket path has at most 107 bytes: <runtime>/kernel-<uuid>-ipc-<port>
MAX_SOCKET_PATH = 107
SOCKET_SUFFIX = len("/kernel--ipc-99") + len(str(uuid.UUID(int=0)))
KILL_POLL_SECONDS = 0.002  # how often a killed kernel is checked for being gone
KILL_WAIT_SECONDS = 5  # jupyter_client's own bound on that wait


class SocketPathTooLong(ValueError):
    """The runtime folder is too deep for a Unix socket path."""


class ReadyKernelClient(AsyncKernelClient):
    """An ``AsyncKernelClient`` that is ready as soon as the kernel is (see the module docstring)."""

    def start_channels(self, *args, **kwargs) -> None:
        # context options apply to the sockets created after them: the channels' sockets
        self.context.setsockopt(zmq.RECONNECT_IVL, 5)
        self.context.setsockopt(zmq.RECONNECT_IVL_MAX, 200)
        super().start_channels(*args, **kwargs)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            # any reply will do: a slow kernel answers an earlier request after the next is sent
            if reply and reply["msg_type"] == "kernel_info_reply":
                try:  # iopub is connected once it delivers anything (ipykernel sends a welcome)
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._adapt_to(reply)
                    break
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what the kernel sent while starting, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return

    def _adapt_to(self, reply: dict) -> None:
        """Speak the kernel's major protocol version, as jupyter_client's own wait does."""
        major = int(reply["content"]["protocol_version"].split(".")[0])
        if major != protocol_version_info[0]:
            self.session.adapt_version = major


class PromptProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the manager's ``kernel_env`` added to the
    kernel's environment and a ``kill`` that returns once the process is gone (2 ms steps),
    so that the manager's own 0.1 s polling finds it gone at once."""

    async def pre_launch(self, **kwargs):
        extra = getattr(self.parent, "kernel_env", None)
        if extra:
            kwargs["env"] = {**kwargs.get("env", os.environ), **extra}
        return await super().pre_launch(**kwargs)

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart=restart)
        stop = time.monotonic() + KILL_WAIT_SECONDS
        while await self.poll() is None and time.monotonic() < stop:
            await asyncio.sleep(KILL_POLL_SECONDS)


class IPCKernelManager(UnixSocketKernelManager):
    """A :class:`~nnbook.kit.kernel_sockets.UnixSocketKernelManager` with its sockets in the runtime
    folder, started and killed by a :class:`PromptProvisioner`."""

    @default("client_factory")
    def _ready_client(self):
        return ReadyKernelClient

    runtime_dir = Unicode("", help="folder of the connection file and sockets (default: Jupyter's "
                                   "runtime folder)").tag(config=True)
    kernel_env = Dict(help="variables added to the kernel's environment").tag(config=True)

    def runtime_folder(self) -> str:
        runtime = self.runtime_dir or jupyter_runtime_dir()
        if len(runtime) + SOCKET_SUFFIX > MAX_SOCKET_PATH:
            raise SocketPathTooLong(f"the Jupyter runtime folder {runtime} is too long for the kernel's Unix "
                                    f"sockets (at most {MAX_SOCKET_PATH - SOCKET_SUFFIX} characters); choose "
                                    "a shorter folder")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        return runtime

    async def start_kernel(self, **kw) -> None:
        # jupyter_client makes a provisioner only when the manager has none (KernelManager.provisioner)
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = PromptProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        await super().start_kernel(**kw)
