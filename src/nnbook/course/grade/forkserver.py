"""A fork server for grading kernels: one pre-imported Python per grading worker, and a
fresh, sandboxed child of it for each submission.

Starting a kernel the ordinary way costs about 1.5 s of CPU before a submission's first
line runs: a new Python imports ipykernel, IPython, numpy and matplotlib. On two cores that
alone caps a class at about 40 submissions a minute. Here each grading worker starts, once,
a *zygote* in the same bubblewrap sandbox a kernel gets (course, grading roots and ``/tmp``
hidden, everything else read-only, no network; see :mod:`nnbook.course.grade.sandbox`),
with those hidden folders remounted read-only as well. The zygote imports what the
chapter's own cells import (:func:`preload_modules`), runs no notebook code, and waits.
For each submission it forks a child which, before any student code runs:

* enters new user, mount, pid, network, IPC and UTS namespaces: no network, no sight of the
  zygote or of any other process, and everything the kernel starts dies with it;
* mounts fresh tmpfs on ``/tmp``, ``/dev/shm`` and the worker's grading folder, then binds
  back only this submission's notebook folder, home and runtime folder (and, read-only, the
  package and the virtualenv, in case they live under ``/tmp``): nothing another submission
  or an earlier kernel wrote is visible, and the grading files are not;
* drops every capability and sets ``no_new_privs`` (the hiding mounts are locked: even a
  process that makes a user namespace of its own cannot unmount them to see what they hide);
* runs ipykernel on the connection file, as ``python -m ipykernel_launcher -f`` does.

The zygote is not dumpable (``PR_SET_DUMPABLE``), so no child can read or write its memory
through ``/proc``; it is killed with the grading worker (``--die-with-parent``).

jupyter_client still starts and manages an ordinary process: :mod:`nnbook.course.grade.relay`,
a few lines of standard library that ask the zygote for a kernel, forward interrupts and
terminations to it, and exit with the kernel's status. When the relay is killed, the
zygote kills its kernel.

Why this is written here rather than taken from a library: bubblewrap (which still builds
the zygote's sandbox) always ends in ``execve`` and would throw the pre-imported
interpreter away; Python 3.11 has no ``os.unshare`` (3.12 does); and the handful of system
calls needed (``unshare``, ``mount``, ``prctl``, ``capset``) are called through ctypes.
:func:`probe` runs the whole child setup once when a zygote starts; if this machine does
not allow it (no unprivileged user namespaces), grading falls back to a new bubblewrap
sandbox per kernel.
"""

from __future__ import annotations

import ast
import ctypes
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nnbook.kit import cells
from nnbook.course.grade import relay
from nnbook.course.grade.sandbox import bwrap_argv, set_limits

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# what every kernel imports while it starts (ipykernel imports its debugger lazily: 0.2 s)
ALWAYS_PRELOADED = ["numpy", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                    "nnbook.kit.checks"]
SCRATCH = ["/tmp", "/dev/shm"]  # writable in every kernel, fresh for each one


# ------------------------------------------------------------------ system calls
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _prctl(option: int, value: int) -> int:
    return _libc.prctl(option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


def _drop_capabilities() -> None:
    for cap in range(64):  # the bounding set first (EINVAL past the last capability)
        if _prctl(PR_CAPBSET_DROP, cap) != 0:
            break
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "prctl(PR_SET_NO_NEW_PRIVS)")
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(_CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), data), "capset")


# ------------------------------------------------------------------- the child
def _enter_namespaces() -> None:
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS),
           "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _private_view(keep: list[str], hide: list[str], read_only: list[str]) -> None:
    """Fresh tmpfs on ``SCRATCH`` and ``hide``; only ``keep`` bound back (writable), and
    ``read_only`` (the package and the virtualenv, which may live under ``/tmp``) read-only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # reachable through these after they are hidden
    held = [(path, os.open(path, os.O_PATH), False) for path in read_only if os.path.exists(path)]
    held += [(path, os.open(path, os.O_PATH), True) for path in keep]
    for target in [*SCRATCH, *hide]:
        if os.path.isdir(target):
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for path, fd, writable in sorted(held, key=lambda h: len(h[0])):  # parents before children
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                open(path, "w").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        flags = os.statvfs(path).f_flag
        if not writable and not flags & os.ST_RDONLY:
            # a remount must keep the flags the mount has (a user namespace cannot drop them)
            kept = flags & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME | os.ST_NODIRATIME)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept
                   | (MS_RELATIME if flags & os.ST_RELATIME else 0))
        os.close(fd)


def _forward_signals_to(pid: int) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda n, _f: os.kill(pid, n))


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _init(request: dict) -> None:
    """pid 1 of the kernel's namespaces: builds the view, then waits for the kernel (pid 2).

    The kernel is not pid 1 itself: pid 1 ignores every signal it has no handler for, and
    when it exits, everything in its namespace is killed (what the kernel left running too).
    """
    code = 1
    try:
        _private_view(request["keep"], request["hide"], request.get("read_only", []))
        os.chdir(request["cwd"])
        _drop_capabilities()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if request.get("probe"):
            os._exit(0)
        kernel = os.fork()
        if kernel == 0:
            _kernel(request)
        _forward_signals_to(kernel)
        while True:  # pid 1 also reaps whatever the kernel orphans
            pid, status = os.waitpid(-1, 0)
            if pid == kernel:
                code = _exit_code(status)
                break
    except BaseException as exc:
        print(f"nnbook fork server: the kernel's sandbox failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stderr.flush()
        os._exit(code)


def _kernel(request: dict) -> None:
    """The kernel: ipykernel on the connection file, as ``python -m ipykernel_launcher``."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        os.environ.clear()
        os.environ.update(request["env"])
        if "numpy" in sys.modules:  # as random as a new process's
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp

        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], *request.get("args", [])]
        kernelapp.launch_new_instance(argv=sys.argv[1:])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:
        print(f"nnbook fork server: the kernel failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _child(request: dict, report_fd: int) -> None:
    """The forked child: limits and namespaces, then waits for their pid 1 (:func:`_init`)."""
    code = 1
    try:
        os.setsid()
        if request.get("log"):
            fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        set_limits(request["memory_mb"], request["file_mb"])
        _enter_namespaces()
        init = os.fork()
        if init == 0:
            os.close(report_fd)
            _init(request)
        os.write(report_fd, f"{init}\n".encode())
        os.close(report_fd)
        _forward_signals_to(init)
        _, status = os.waitpid(init, 0)
        code = _exit_code(status)
    except BaseException as exc:
        print(f"nnbook fork server: sandbox setup failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        os._exit(code)


# ------------------------------------------------------------------- the zygote
class _Zygote:
    """The server loop: one connection per kernel; EOF on it kills that kernel."""

    def __init__(self, path: str):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # the socket file appears at bind(), before listen(): a client waiting for the file could
        # be refused, so it is bound under another name and renamed once it listens
        self.server.bind(path + ".new")
        self.server.listen(16)
        os.rename(path + ".new", path)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.server, selectors.EVENT_READ)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.buffers: dict[socket.socket, bytes] = {}
        self.kernels: dict[socket.socket, tuple[int, int]] = {}  # conn -> (child, kernel) pids

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.server:
                    conn, _ = self.server.accept()
                    self.buffers[conn] = b""
                    self.selector.register(conn, selectors.EVENT_READ)
                elif key.fileobj == self.wake_r:
                    while True:
                        try:
                            if not os.read(self.wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                    self._reap()
                else:
                    self._read(key.fileobj)

    def _read(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:  # the relay is gone: so is its kernel
            self._kill(conn, signal.SIGKILL)
            self._close(conn)
            return
        self.buffers[conn] += data
        while b"\n" in self.buffers.get(conn, b""):
            line, self.buffers[conn] = self.buffers[conn].split(b"\n", 1)
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ValueError(line)
            except ValueError:  # not a relay: drop the connection, keep serving
                self._kill(conn, signal.SIGKILL)
                self._close(conn)
                return
            if "signal" in message:
                self._kill(conn, int(message["signal"]))
            elif "start" in message and conn not in self.kernels:
                self._start(conn, message["start"])

    def _start(self, conn: socket.socket, request: dict) -> None:
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(report_r)
            self.selector.close()
            for other in [self.server, *self.buffers]:
                other.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(request, report_w)
        os.close(report_w)
        with os.fdopen(report_r) as report:
            line = report.readline().strip()
        self.kernels[conn] = (pid, int(line) if line.isdigit() else 0)

    def _kill(self, conn: socket.socket, signum: int) -> None:
        child, kernel = self.kernels.get(conn, (0, 0))
        for pid in ((kernel, child) if signum == signal.SIGKILL else (child,)):
            if pid:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for conn, (child, _) in list(self.kernels.items()):
                if child == pid:
                    try:
                        conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
                    except OSError:
                        pass
                    self._close(conn)

    def _close(self, conn: socket.socket) -> None:
        self.kernels.pop(conn, None)
        self.buffers.pop(conn, None)
        try:
            self.selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit("usage: python -m nnbook.course.grade.forkserver SOCKET [MODULE...]")
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    import importlib

    for name in [*ALWAYS_PRELOADED, *argv[1:]]:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a chapter's import that fails here fails in the kernel too
            print(f"nnbook fork server: not preloaded: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if "matplotlib" in sys.modules:
        import matplotlib.font_manager  # noqa: F401  (the font list, built once per worker)
    if "torch" in sys.modules:
        # torch imports it (and sympy: 0.5 s) at the first backward given a gradient tensor
        import torch.fx.experimental.symbolic_shapes  # noqa: F401
    _Zygote(argv[0]).serve()


# ------------------------------------------------------------- the worker's side
def preload_modules(notebook) -> list[str]:
    """The modules the instructor's cells of ``notebook`` import at top level."""
    names: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or cells.nbgrader(cell).get("solution"):
            continue
        tree = cells.parse(cell.source)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return [n for n in dict.fromkeys(names) if n.split(".")[0] not in {"solutions", "nbgrader"}]


class ForkServer:
    """A running zygote (started by a grading worker, in the worker's grading folder)."""

    def __init__(self, folder: Path, sandbox, preload: list[str], env: dict[str, str], log: Path):
        self.folder = folder
        self.socket = folder / "zygote.sock"
        Path(env["HOME"]).mkdir(parents=True, exist_ok=True)  # the zygote's own (kernels get theirs)
        command = [sys.executable, "-m", "nnbook.course.grade.forkserver", str(self.socket), *preload]
        argv = bwrap_argv(command, str(folder), sandbox, zygote=True)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                            start_new_session=True)
        deadline = time.time() + 120
        while not self.socket.exists():
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"the fork server did not start (see {log})")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def probe(server: ForkServer, keep: list[str], hide: list[str], log: str, read_only: list[str] = ()) -> bool:
    """Whether a child can build its sandbox here (namespaces, mounts, no capabilities)."""
    message = {"probe": True, "keep": keep, "hide": hide, "read_only": list(read_only), "cwd": keep[0],
               "env": {}, "log": log, "memory_mb": 0, "file_mb": 0}
    try:
        return relay.request(str(server.socket), {"start": message}, timeout=60) == 0
    except (OSError, ValueError, KeyError):
        return False


if __name__ == "__main__":
    main()
