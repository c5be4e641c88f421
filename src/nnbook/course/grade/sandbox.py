"""The grading kernel: ipykernel inside a bubblewrap sandbox, with resource limits.

While ``nnbook-course grade`` grades a submission, nbgrader's ``Execute`` starts the kernel
through :class:`SandboxedKernelManager` (set in the grading config, in code). Its command
line is ``python -m nnbook.course.grade.sandbox SETTINGS CONNECTION_FILE [KERNEL ARGS]``: ``SETTINGS`` is the
submission's :class:`SandboxSettings` file, written by the grader before execution, which
says what to hide (the course repository with ``solutions/`` and ``chapters/``, the grading
root with the gradebook and the source notebooks, ``/tmp`` with the other submissions), what
the kernel needs (the notebook's folder, its runtime folder, the installed ``nnbook``
package) and the resource limits. No environment variable carries any of it. This launcher
sets the limits, then replaces itself with::

    bwrap --ro-bind / / --tmpfs <hidden>... --ro-bind <repo>/src ... --bind <cwd> <cwd>
          --bind <runtime> <runtime> --dev /dev --proc /proc --unshare-pid --unshare-ipc
          --unshare-net --die-with-parent python -m ipykernel_launcher -f <connection file>

The kernel has a network namespace of its own (``--unshare-net``: no interface but an
unconfigured loopback, so no connection to the host or beyond). It talks to nbgrader over
ZMQ's ``ipc`` transport: Unix sockets in the submission's runtime folder, the one folder
both sides see (:class:`nnbook.course.kernels.IPCKernelManager`).
Without ``bwrap`` (not Linux, or no user namespaces) the kernel runs with the
resource limits only, and a loud warning says that file access is then only *detected*
(by the static scan in :mod:`nnbook.course.grade.integrity`), not prevented.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from traitlets import Unicode

from nnbook.course.grade.limits import DEFAULT_FILE_MB, DEFAULT_MEMORY_MB
from nnbook.course.kernels import IPCKernelManager



@dataclass
class SandboxSettings:
    """What one grading kernel may see and use; one JSON file per submission."""

    mode: str = "bwrap"  # bwrap | limits
    memory_mb: int = DEFAULT_MEMORY_MB
    file_mb: int = DEFAULT_FILE_MB
    hide: list[str] = field(default_factory=list)  # folders replaced by an empty tmpfs
    expose_ro: list[str] = field(default_factory=list)  # ... and read-only paths inside them
    expose_rw: list[str] = field(default_factory=list)  # ... and writable ones
    log: str = ""  # where the kernel process's own stdout/stderr go
    fork_server: str = ""  # the worker's fork server socket (nnbook.course.grade.forkserver), if any
    fork_server_folder: str = ""  # the worker's grading folder, which the fork server sees

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> "SandboxSettings":
        data = json.loads(Path(path).read_text())
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown sandbox settings {sorted(unknown)}")
        return cls(**data)


class SandboxedKernelManager(IPCKernelManager):
    """Starts the kernel through this module's launcher, with the submission's settings."""

    settings_file = Unicode(help="the submission's SandboxSettings JSON file").tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        if not self.settings_file:
            raise ValueError("SandboxedKernelManager.settings_file is not set")
        settings = SandboxSettings.read(self.settings_file)
        if settings.fork_server and os.path.exists(settings.fork_server):
            relay = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py")
            return [sys.executable, "-I", "-S", relay, settings.fork_server, self.settings_file,
                    os.path.realpath(self.connection_file), *(extra_arguments or [])]
        return [sys.executable, "-m", "nnbook.course.grade.sandbox", self.settings_file,
                os.path.realpath(self.connection_file), *(extra_arguments or [])]


def bwrap_available() -> bool:
    """True when bubblewrap exists and can create a sandbox here (tried once)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    import subprocess

    try:
        done = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-pid", "--die-with-parent", "true"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def set_limits(memory_mb: int, file_mb: int) -> None:
    """RLIMIT_AS turns a memory bomb into a MemoryError in the student's cell; RLIMIT_FSIZE
    stops a disk-filling loop; no core dumps of student processes (0: leave that limit)."""
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 2**20), (resource.RLIMIT_FSIZE, file_mb * 2**20),
                         (resource.RLIMIT_CORE, 0)):
        if value == 0 and limit != resource.RLIMIT_CORE:
            continue
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def _die_with_parent() -> None:
    """Linux: the kernel is killed when the grading process dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass


def bwrap_argv(kernel_argv: list[str], cwd: str, settings: SandboxSettings, zygote: bool = False) -> list[str]:
    """The bubblewrap command line that runs ``kernel_argv`` with the course hidden.

    ``zygote``: for a fork server, whose children share this view; the hidden folders and
    ``/dev`` are then read-only too, so no kernel can leave a file there for the next one
    (each child mounts fresh scratch folders of its own: :mod:`nnbook.course.grade.forkserver`).
    """
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
    # hide parents before children so that nested re-exposures survive
    for path in sorted(set(settings.hide), key=len):
        if os.path.isdir(path):
            argv += ["--tmpfs", path]
    for path in sorted(set(settings.expose_ro), key=len):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for path in sorted(set(settings.expose_rw) | {cwd}, key=len):
        if os.path.exists(path):
            argv += ["--bind", path, path]
    if zygote:
        for path in ["/dev", *sorted(set(settings.hide), key=len)]:
            if os.path.isdir(path):
                argv += ["--remount-ro", path]
    if not zygote:
        # bubblewrap started by root keeps every capability for what it runs: a kernel could
        # unmount what hides the course. The zygote needs them to build its children's sandboxes.
        argv += ["--cap-drop", "ALL"]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent",
             "--chdir", cwd, "--unsetenv", "JPY_PARENT_PID"]
    return argv + ["--", *kernel_argv]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit("usage: python -m nnbook.course.grade.sandbox SETTINGS_FILE CONNECTION_FILE [KERNEL ARGS...]")
    settings = SandboxSettings.read(argv[0])
    connection_file = os.path.abspath(argv[1])
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *argv[2:]]
    set_limits(settings.memory_mb, settings.file_mb)
    _die_with_parent()
    if settings.log:  # the kernel's own chatter (not the student's output, which goes over ZMQ)
        fd = os.open(settings.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    if settings.mode == "bwrap" and shutil.which("bwrap"):
        # the connection file may live in a hidden folder: bind just that file
        settings.expose_ro = [*settings.expose_ro, connection_file]
        cmd = bwrap_argv(kernel, os.getcwd(), settings)
        os.execvp(cmd[0], cmd)
    if settings.mode == "bwrap":
        print("nnbook: WARNING: bwrap not found: the grading kernel is NOT sandboxed", file=sys.stderr)
    os.execv(kernel[0], kernel)


if __name__ == "__main__":
    main()
