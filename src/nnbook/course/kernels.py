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
submission (measured on ch01: 0.35 s of a 1.5 s grading, with the CPU idle):

* :class:`ReadyKernelClient`: ``wait_for_ready`` ends by reading iopub until it has been
  quiet for 0.2 s. Here the client is ready once the kernel has answered ``kernel_info``
  and iopub has delivered a message; what is already queued is drained without waiting.
  A startup message that arrives later is harmless: nbclient keeps only the iopub messages
  whose parent is the cell it is running.
* Its sockets connect before the kernel has bound its own, and ZMQ retries a connection
  after 0.1 s; here after 5 ms (doubling up to 0.2 s).
* :meth:`IPCKernelManager._async_kill_kernel`: after ``SIGKILL``, jupyter_client checks every
  0.1 s whether the process is gone; here every 2 ms.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Dict, Unicode, default

from nnbook.kit.kernel_sockets import UnixSocketKernelManager

# A Unix socket path has at most 107 bytes: <runtime>/kernel-<uuid>-ipc-<port>
MAX_SOCKET_PATH = 107
SOCKET_SUFFIX = len("/kernel--ipc-99") + len(str(uuid.UUID(int=0)))


class SocketPathTooLong(ValueError):
    """The runtime folder is too deep for a Unix socket path."""


class ReadyKernelClient(AsyncKernelClient):
    """An ``AsyncKernelClient`` that is ready as soon as the kernel is (see the module docstring)."""

    @default("context")
    def _reconnecting_context(self) -> zmq.asyncio.Context:
        self._created_context = True  # so that the client closes it
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, 5)
        context.setsockopt(zmq.RECONNECT_IVL_MAX, 200)
        return context

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
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
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what the kernel sent while starting, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return

    wait_for_ready = _async_wait_for_ready  # AsyncKernelClient binds the name to jupyter_client's


class IPCKernelManager(UnixSocketKernelManager):
    """A :class:`~nnbook.kit.kernel_sockets.UnixSocketKernelManager` with its sockets in the runtime folder."""

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

    async def _async_pre_start_kernel(self, **kw):
        if self.kernel_env:
            kw["env"] = {**kw.get("env", os.environ), **self.kernel_env}
        return await super()._async_pre_start_kernel(**kw)

    async def _async_kill_kernel(self, restart: bool = False) -> None:
        """jupyter_client's, waiting for the killed process in 2 ms steps rather than 0.1 s."""
        if not self.has_kernel:
            return
        await self.provisioner.kill(restart=restart)
        stop = time.monotonic() + 5
        while await self.provisioner.poll() is None:
            if time.monotonic() > stop:
                self.log.warning("Wait for final termination of kernel timed out - continuing...")
                return
            await asyncio.sleep(0.002)
        await self.provisioner.wait()
