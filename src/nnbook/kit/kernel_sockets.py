"""A kernel that listens on Unix sockets (ZMQ's ``ipc`` transport), not on TCP ports.

Nothing listens on a port, so ipykernel has nothing to warn about ("Kernel is running over
TCP without encryption"). The student's self-check runs its kernel this way, as grading
does; the instructor pipeline's kernels (:class:`nnbook.course.kernels.IPCKernelManager`)
build on this class and choose the folder. It lives in the kit because the student kit
ships without ``nnbook.course``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager


class UnixSocketKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose connection file and sockets live in :meth:`runtime_folder`,
    by absolute path (jupyter_client's own ``ipc`` default is relative to each process's working
    directory, and the kernel and its client do not share one)."""

    def runtime_folder(self) -> str:
        """A short private folder, removed at exit: a Unix socket's path may not exceed ~100 characters."""
        folder = tempfile.mkdtemp(prefix="nnbook-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return folder

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.connection_file = os.path.join(self.runtime_folder(), f"kernel-{uuid.uuid4()}.json")
        self.ip = os.path.splitext(self.connection_file)[0] + "-ipc"
