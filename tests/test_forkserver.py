"""The grading fork server: kernels forked from a pre-imported zygote, each sandboxed alone.

Talks to a real zygote (in bubblewrap) through jupyter_client, as nbgrader does: what one
kernel leaves behind (files, processes) the next cannot see, two kernels running side by side
cannot see each other's files, processes, sockets or IPC objects, no kernel can leave its
namespaces or read another process's memory, and killing the kernel's process kills everything
in its sandbox (the security review: docs/INSTRUCTORS.md, threat model).
"""

import asyncio
import json
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


async def _start(server, name):
    work, settings = _work(server, name)
    km = sandbox.SandboxedKernelManager(settings_file=str(settings), runtime_dir=str(work / "runtime"),
                                        kernel_env={"HOME": str(work / "home")})
    await km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    return km, kc


async def _execute(kc, code: str) -> str:
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
            return text.strip()


async def _run(server, name, cells, kill_relay=False):
    km, kc = await _start(server, name)
    outputs = [await _execute(kc, code) for code in cells]
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


# What a hostile kernel plants while its sibling runs: files in every writable place, a
# process, a Unix socket (abstract and by path), a System V shared memory segment.
PLANT = r"""
import ctypes, json, os, socket, subprocess
for folder in ('/tmp', '/dev/shm', os.environ['HOME'], os.getcwd()):
    open(os.path.join(folder, 'planted-by-a'), 'w').write('answers')
planted = subprocess.Popen(['sleep', '3017'])
abstract = socket.socket(socket.AF_UNIX); abstract.bind('\0nnbook-planted'); abstract.listen()
by_path = socket.socket(socket.AF_UNIX); by_path.bind('/tmp/planted.sock'); by_path.listen()
libc = ctypes.CDLL(None, use_errno=True)
print(json.dumps({'shm': libc.shmget(0x4E4E4E, 4096, 0o1000 | 0o666), 'home': os.environ['HOME'], 'cwd': os.getcwd()}))
"""

# What its sibling then tries, and what any kernel tries to leave its namespaces.
PROBE = r"""
import ctypes, errno, json, os, socket, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
other = json.loads(OTHER)
seen = {}
seen['files'] = [p for folder in ('/tmp', '/dev/shm', os.environ['HOME'], os.getcwd(), other['home'], other['cwd'])
                 if os.path.isdir(folder) for p in os.listdir(folder) if 'planted' in p]
seen['other_folders'] = [p for p in (other['home'], other['cwd'], '/proc/1/root' + other['cwd'], FORK_SERVER_SOCKET,
                                     '/proc/1/root' + FORK_SERVER_SOCKET) if os.path.exists(p)]
seen['processes'] = []  # the other kernel's process, and what of it can be reached through /proc
for p in os.listdir('/proc'):
    try:
        if not p.isdigit() or '3017' not in open(f'/proc/{p}/cmdline').read():
            continue
    except OSError:
        continue
    reached = []
    for what in ('cwd', 'root', 'environ', 'mem'):
        try:
            os.listdir(f'/proc/{p}/{what}') if what in ('cwd', 'root') else open(f'/proc/{p}/{what}', 'rb').read(1)
            reached.append(what)
        except OSError:
            pass
    seen['processes'].append(reached)
seen['unix_sockets'] = [line for line in open('/proc/net/unix') if 'planted' in line or 'zygote' in line]
connected = []
for address in ('\0nnbook-planted', '/tmp/planted.sock', FORK_SERVER_SOCKET):
    try:
        socket.socket(socket.AF_UNIX).connect(address)
        connected.append(address)
    except OSError:
        pass
seen['connected'] = connected
seen['shm'] = libc.shmget(0x4E4E4E, 0, 0)
seen['fds'] = [os.readlink(f'/proc/self/fd/{fd}') for fd in os.listdir('/proc/self/fd')
               if os.path.exists(f'/proc/self/fd/{fd}')]
seen['fds'] = [t for t in seen['fds'] if 'zygote' in t or (t.startswith('/') and 'planted' in t)]
NS = ('mnt', 'pid', 'net', 'ipc', 'uts', 'user')
seen['namespaces'] = {ns: os.readlink(f'/proc/self/ns/{ns}') for ns in NS}

def attempt(action):
    try:
        result = action()
    except OSError as exc:
        return errno.errorcode[exc.errno]
    return errno.errorcode[ctypes.get_errno()] if result == -1 else result

def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return libc.setns(fd, 0)
    finally:
        os.close(fd)

# pid 1 of its namespaces is a fork of the fork server: the nearest way out, if any
seen['pid1_ns'] = [attempt(lambda: os.readlink(f'/proc/1/ns/{ns}')) for ns in NS]
seen['setns_pid1'] = [attempt(lambda: setns(f'/proc/1/ns/{ns}')) for ns in NS]
seen['pid1_root'] = attempt(lambda: os.listdir('/proc/1/root'))
seen['namespaces_after'] = {ns: os.readlink(f'/proc/self/ns/{ns}') for ns in NS}
# any process in sight whose namespaces are not this kernel's, and can be named for setns
foreign = []
for p in os.listdir('/proc'):
    for ns in NS:
        try:
            if p.isdigit() and os.readlink(f'/proc/{p}/ns/{ns}') != seen['namespaces'][ns]:
                os.close(os.open(f'/proc/{p}/ns/{ns}', os.O_RDONLY))
                foreign.append((p, ns))
        except OSError:
            pass
seen['foreign_namespaces'] = foreign
seen['ptrace_pid1'] = attempt(lambda: libc.ptrace(16, 1, None, None))  # PTRACE_ATTACH
pid1 = dict(line.split(':', 1) for line in open('/proc/1/status') if ':' in line)
seen['pid1_caps'] = [pid1[k].strip() for k in ('CapEff', 'CapPrm')]  # what controlling it would give
seen['unshare_mount'] = attempt(lambda: libc.unshare(0x00020000))  # CLONE_NEWNS: needs a capability
seen['umount'] = attempt(lambda: libc.umount2(b'/tmp', 2))  # lift what hides the grading folders
status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
seen['caps'] = [status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd')] + [status['NoNewPrivs'].strip()]
# a child makes a user namespace of its own (where it has every capability), then tries to go
# back into the namespaces it came from with those capabilities: they are not valid there
ESCAPE = '''
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
fds = [os.open(f'/proc/self/ns/{ns}', os.O_RDONLY) for ns in ('mnt', 'net', 'ipc', 'uts')]
out = [libc.unshare(0x10000000 | 0x00020000 | 0x40000000 | 0x08000000 | 0x04000000)]
out += [libc.setns(fd, 0) for fd in fds]
print(json.dumps(out))
'''
seen['userns_setns'] = json.loads(subprocess.run([sys.executable, '-c', ESCAPE], capture_output=True, text=True).stdout)
print(json.dumps(seen))
"""


async def _start_new_sandbox(server, name):
    """A kernel as ``grade`` starts it by default: a new Python in a new bubblewrap sandbox."""
    work, _ = _work(server, name)
    src = str(Path(forkserver.__file__).resolve().parents[3])
    base = str(Path(os.environ.get("TMPDIR", "/tmp")))
    settings = sandbox.SandboxSettings(hide=sorted({base, "/tmp", str(Path(src).parent)}), expose_ro=[src, sys.prefix],
                                       expose_rw=[str(work / "home"), str(work / "runtime")], log=str(work / "kernel.log"))
    km = sandbox.SandboxedKernelManager(settings_file=str(settings.write(work / "sandbox.json")),
                                        runtime_dir=str(work / "runtime"), kernel_env={"HOME": str(work / "home")})
    await km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    return km, kc


@pytest.mark.parametrize("mode", ["forked", "new sandbox"])
def test_sibling_kernels_cannot_reach_each_other_nor_leave_their_namespaces(server, mode):
    start = _start if mode == "forked" else _start_new_sandbox

    async def both():
        a_km, a_kc = await start(server, f"{mode[:3]}-a")
        b_km, b_kc = await start(server, f"{mode[:3]}-b")
        try:
            planted = await _execute(a_kc, PLANT)
            assert json.loads(planted)["shm"] >= 0, planted
            probes = []
            b_folder = server.folder / f"{mode[:3]}-b"
            for kc, other in ((b_kc, planted), (a_kc, json.dumps({"home": str(b_folder / "home"),
                                                                   "cwd": str(b_folder)}))):
                code = f"OTHER = {other!r}\nFORK_SERVER_SOCKET = {str(server.socket)!r}\n{PROBE}"
                probes.append(await _execute(kc, code))
            return probes
        finally:
            for km, kc in ((a_km, a_kc), (b_km, b_kc)):
                kc.stop_channels()
                await km.shutdown_kernel(now=True)

    b_probe, a_probe = asyncio.run(both())
    b, a = json.loads(b_probe), json.loads(a_probe)  # b probed while a ran; a probed b's folders
    assert b["files"] == [] and b["other_folders"] == [] and a["other_folders"] == [], (a, b)
    assert b["unix_sockets"] == [] and b["connected"] == [], b
    assert b["shm"] == -1, b  # another IPC namespace: a's segment does not exist here
    assert b["fds"] == [], b  # nothing inherited that names the fork server or a sibling
    # bubblewrap run by root makes no user namespace (it drops root's capabilities instead)
    separate = ("mnt", "pid", "net", "ipc", "uts") + (("user",) if mode == "forked" or os.getuid() else ())
    assert all(a["namespaces"][ns] != b["namespaces"][ns] for ns in separate), (a, b)
    if mode == "forked":
        # /proc is the fork server's (no fresh one can be mounted inside its bubblewrap sandbox):
        # a kernel sees the process list of a sibling running at the same time, its command
        # lines included, but reaches nothing of it (docs/INSTRUCTORS.md, threat model)
        assert b["processes"] == [[]], b
    else:
        assert b["processes"] == [], b
    for probe in (a, b):
        assert probe["namespaces_after"] == probe["namespaces"] and probe["foreign_namespaces"] == [], probe
        assert probe["unshare_mount"] == "EPERM" and probe["umount"] == "EPERM", probe
        assert probe["pid1_caps"] == ["0000000000000000"] * 2, probe
        assert probe["caps"][:2] + probe["caps"][3:] == ["0000000000000000"] * 2 + ["1"], probe
        assert probe["userns_setns"] == [0, -1, -1, -1, -1], probe
        if mode == "forked":  # pid 1 is a fork of the fork server, not dumpable (a new sandbox's is bwrap, as powerless)
            assert set(probe["pid1_ns"]) == {"EACCES"} and probe["pid1_root"] == "EACCES", probe
            assert set(probe["setns_pid1"]) == {"EACCES"}, probe
            assert probe["ptrace_pid1"] == "EPERM", probe
            assert probe["caps"][2] == "0000000000000000", probe  # the bounding set too
