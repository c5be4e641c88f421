"""The grading fork server: kernels forked from a pre-imported zygote, each sandboxed alone.

Talks to a real zygote (in bubblewrap) through jupyter_client, as nbgrader does: what one
kernel leaves behind (files, processes) the next cannot see, no kernel can read another
process's memory, and killing the kernel's process kills everything in its sandbox.
"""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nnbook.course.grade import forkserver, sandbox

pytestmark = pytest.mark.skipif(not sandbox.bwrap_available(), reason="needs bubblewrap")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    folder = Path(__import__("tempfile").mkdtemp(prefix="nnz-t", dir=base))
    (folder / "gradebook.db").write_text("secret of the grading folder")
    src = str(Path(forkserver.__file__).resolve().parents[3])
    view = sandbox.SandboxSettings(hide=sorted({str(base), "/tmp", str(Path(src).parent)}),
                                   expose_ro=[src, sys.prefix], expose_rw=[str(folder)], log=str(folder / "zygote.log"))
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "MPLBACKEND": "Agg"}
    zygote = forkserver.ForkServer(folder, view, ["matplotlib.pyplot"], env, folder / "zygote.log")
    probe = folder / "probe"
    probe.mkdir()
    assert forkserver.probe(zygote, [str(probe)], [str(folder)], str(folder / "zygote.log"), [src, sys.prefix]), \
        (folder / "zygote.log").read_text()
    yield zygote
    zygote.stop()
    __import__("shutil").rmtree(folder, ignore_errors=True)


def _work(server, name):
    work = server.folder / name
    for sub in ("home", "runtime"):
        (work / sub).mkdir(parents=True)
    src = str(Path(forkserver.__file__).resolve().parents[3])
    settings = sandbox.SandboxSettings(expose_ro=[src, sys.prefix], expose_rw=[str(work / "home"), str(work / "runtime")], log=str(work / "kernel.log"),
                                       fork_server=str(server.socket), fork_server_folder=str(server.folder))
    return work, settings.write(work / "sandbox.json")


async def _run(server, name, cells, kill_relay=False):
    work, settings = _work(server, name)
    km = sandbox.SandboxedKernelManager(settings_file=str(settings), runtime_dir=str(work / "runtime"),
                                        kernel_env={"HOME": str(work / "home")})
    await km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    outputs = []
    for code in cells:
        msg_id = kc.execute(code)
        text = ""
        while True:
            msg = await kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                text += f"{msg['content']['ename']}: {msg['content']['evalue']}"
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        outputs.append(text.strip())
    kc.stop_channels()
    if kill_relay:
        os.kill(km.provisioner.process.pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
    await km.shutdown_kernel(now=True)
    return outputs


def _descendants(pid: int) -> set[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.add(child)
            todo.append(child)
    return out


def test_a_kernel_is_forked_preloaded_and_sees_only_its_own_folders(server):
    work = server.folder / "one"
    out = asyncio.run(_run(server, "one", [
        "import sys, os; print('numpy' in sys.modules, 'matplotlib.pyplot' in sys.modules)",
        "print(sorted(os.listdir('/tmp')), os.getcwd())",
        f"print(sorted(os.listdir({str(server.folder)!r})))",
        f"print(os.path.exists({str(server.folder / 'gradebook.db')!r}), os.path.exists('/work'))",
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
        # a module nobody preloaded: the package is there (read-only) even when it lives under /tmp
        "import nnbook.engine, os\ntry:\n    open(os.path.join(os.path.dirname(nnbook.engine.__file__), 'x'), 'w')\n"
        "except OSError as e:\n    print(type(e).__name__)",
    ]))
    assert out[0] == "True True"  # imported before the kernel started: it was forked
    assert out[1] == f"['{work.parent.parent.name}'] {work}" or out[1].endswith(str(work))
    assert out[2] == "['one']"  # this submission's folder only, not the zygote's or others'
    assert out[3].startswith("False")
    assert out[4] == "0000000000000000"  # no capability left
    assert out[5] in ("OSError", "PermissionError")  # read-only: EROFS


def test_nothing_a_kernel_leaves_behind_reaches_the_next(server):
    asyncio.run(_run(server, "first", [
        "import subprocess, os\nfor d in ('/tmp', '/dev/shm', os.environ['HOME']):\n"
        "    open(os.path.join(d, 'left-behind'), 'w').write('answers')",
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True); print(p.pid)",
    ]))
    out = asyncio.run(_run(server, "second", [
        "import os; print(os.listdir('/tmp'), os.listdir('/dev/shm'), os.listdir(os.environ['HOME']))",
        "print([open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()])",
        "bad = []\nfor p in os.listdir('/proc'):\n    if p.isdigit() and p != os.readlink('/proc/self'):\n"
        "        for what in ('environ', 'mem'):\n            try:\n                open(f'/proc/{p}/{what}', 'rb').read(1)\n"
        "                bad.append((p, what))\n            except OSError:\n                pass\nprint(bad)",
    ]))
    assert "left-behind" not in out[0]
    assert "sleep" not in out[1]  # killed with the first kernel's namespace
    assert out[2] == "[]"  # not the zygote's memory, nor any other process's


def test_a_user_namespace_of_its_own_cannot_lift_the_hiding_mounts(server):
    # a single-threaded child of the kernel makes a user namespace (where it has every
    # capability) and tries to unmount what hides the grading folder: the mounts are locked
    secret = server.folder / "gradebook.db"
    attack = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "print(libc.unshare(0x10000000 | 0x00020000))\n"
              "print([libc.umount2(t, 2) for t in (b'/tmp', b'/dev/shm', b'/')])\n"
              f"print(os.path.exists({str(secret)!r}))")
    out = asyncio.run(_run(server, "escape", [
        f"import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', {attack!r}], capture_output=True, "
        "text=True).stdout)"]))
    assert out[0].split("\n") == ["0", "[-1, -1, -1]", "False"]


def test_killing_the_relay_kills_the_kernel_and_all_it_started(server):
    zygote = server.process.pid
    before = _descendants(zygote)
    asyncio.run(_run(server, "killed", ["import subprocess; subprocess.Popen(['sleep', '300'])"], kill_relay=True))
    deadline = time.time() + 10
    while _descendants(zygote) - before and time.time() < deadline:
        time.sleep(0.1)
    assert not _descendants(zygote) - before


def test_a_garbled_request_does_not_stop_the_fork_server(server):
    import socket

    for garbage in (b"not json\n", b"[1, 2]\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(str(server.socket))
            conn.sendall(garbage)
            assert conn.recv(100) == b""  # dropped
    assert server.alive()
    assert asyncio.run(_run(server, "after-garbage", ["print(6 * 7)"])) == ["42"]


def test_preload_modules_are_the_instructor_cells_imports():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom nnbook.plots import OKABE_ITO\n%matplotlib inline"),
        nbformat.v4.new_code_cell("import torch", metadata={"nbgrader": {"solution": True}}),
        nbformat.v4.new_code_cell("from solutions.ch01 import x\nimport matplotlib.pyplot as plt"),
    ])
    assert forkserver.preload_modules(nb) == ["numpy", "nnbook.plots", "matplotlib.pyplot"]
