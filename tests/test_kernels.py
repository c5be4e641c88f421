"""The course's kernel manager and client (nnbook.course.kernels), against real kernels."""

from __future__ import annotations

import shutil
import sys
import tempfile

import pytest
from jupyter_core.utils import run_sync

from nnbook.course.kernels import IPCKernelManager, ReadyKernelClient


class SlowKernelManager(IPCKernelManager):
    """A kernel that takes 2.5 s to start: longer than one kernel_info round (1 s)."""

    def format_kernel_cmd(self, extra_arguments=None):
        return ["sh", "-c", f"sleep 2.5; exec {sys.executable} -m ipykernel_launcher -f {self.connection_file}"]


def _run(km, code: str) -> str:
    client = km.client()
    assert isinstance(client, ReadyKernelClient)
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=30)
        reply = run_sync(client.execute_interactive)(code, timeout=30, output_hook=lambda msg: None)
        return reply["content"]["status"]
    finally:
        client.stop_channels()


@pytest.fixture
def runtime():
    folder = tempfile.mkdtemp(prefix="nnk-")  # short: Unix socket paths have a limit
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_slow_kernel_is_ready_once_it_answers(runtime):
    # requests sent while it starts are answered late, one behind: any reply means ready
    km = SlowKernelManager(runtime_dir=runtime)
    run_sync(km.start_kernel)()
    try:
        assert _run(km, "x = 1 + 1") == "ok"
    finally:
        run_sync(km.shutdown_kernel)(now=True)
    assert not run_sync(km.is_alive)()


def test_an_immediate_shutdown_leaves_no_process(runtime):
    km = IPCKernelManager(runtime_dir=runtime)
    run_sync(km.start_kernel)()
    process = km.provisioner.process
    assert _run(km, "import time") == "ok"
    run_sync(km.shutdown_kernel)(now=True)
    assert process.poll() is not None and not km.has_kernel
