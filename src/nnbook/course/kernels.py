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
"""

from __future__ import annotations

import os
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import Dict, Unicode

# A Unix socket path has at most 107 bytes: <runtime>/kernel-<uuid>-ipc-<port>
MAX_SOCKET_PATH = 107
SOCKET_SUFFIX = len("/kernel--ipc-99") + len(str(uuid.UUID(int=0)))


class SocketPathTooLong(ValueError):
    """The runtime folder is too deep for a Unix socket path."""


class IPCKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel listens on Unix sockets in the runtime folder."""

    runtime_dir = Unicode("", help="folder of the connection file and sockets (default: Jupyter's "
                                   "runtime folder)").tag(config=True)
    kernel_env = Dict(help="variables added to the kernel's environment").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        runtime = self.runtime_dir or jupyter_runtime_dir()
        if len(runtime) + SOCKET_SUFFIX > MAX_SOCKET_PATH:
            raise SocketPathTooLong(f"the Jupyter runtime folder {runtime} is too long for the kernel's Unix "
                                    f"sockets (at most {MAX_SOCKET_PATH - SOCKET_SUFFIX} characters); choose "
                                    "a shorter folder")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        self.transport = "ipc"
        self.connection_file = os.path.join(runtime, f"kernel-{uuid.uuid4()}.json")
        self.ip = os.path.splitext(self.connection_file)[0] + "-ipc"

    async def _async_pre_start_kernel(self, **kw):
        if self.kernel_env:
            kw["env"] = {**kw.get("env", os.environ), **self.kernel_env}
        return await super()._async_pre_start_kernel(**kw)
