"""The grading kernel: ipykernel inside a bubblewrap sandbox, with resource limits.

``nnbook-course grade`` writes a kernelspec ``nnbook-grading`` whose argv is
``python -m nnbook.course.sandbox {connection_file}``. This launcher runs in the grading
worker's environment, where it knows what to hide (``NNBOOK_SANDBOX_HIDE``: the course
repository with ``solutions/`` and ``chapters/``, the grading root with the gradebook and
the source notebooks, ``/tmp`` with the other submissions) and what the kernel needs
(the notebook's folder, the connection file, the installed ``nnbook`` package). It sets
the resource limits, then replaces itself with::

    bwrap --ro-bind / / --tmpfs <hidden>... --ro-bind <repo>/src ... --bind <cwd> <cwd>
          --bind <runtime> <runtime> --dev /dev --proc /proc --unshare-pid --unshare-ipc
          --unshare-net --die-with-parent python -m ipykernel_launcher -f <connection file>

The kernel has a network namespace of its own (``--unshare-net``: no interface but an
unconfigured loopback, so no connection to the host or beyond). It talks to nbgrader over
ZMQ's ``ipc`` transport: Unix sockets in the grading root's runtime folder, the one
folder both sides see (``c.KernelManager.transport = "ipc"`` in nbgrader_config.py).
Without ``bwrap`` (not Linux, or no user namespaces) the kernel runs with the
resource limits only, and a loud warning says that file access is then only *detected*
(by the static scan in :mod:`nnbook.course.integrity`), not prevented.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "nnbook-grading"
# Address space, not resident memory: importing torch (its CUDA build reserves large
# mappings) peaks at about 3.3 GB of address space before a chapter computes anything.
DEFAULT_MEMORY_MB = 6144
DEFAULT_FILE_MB = 256


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


def write_kernelspec(folder: Path) -> Path:
    """Write ``<folder>/kernels/nnbook-grading/kernel.json``; put ``folder`` on JUPYTER_PATH."""
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "nnbook.course.sandbox", "{connection_file}"],
        "display_name": "nnbook grading (sandboxed)",
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def _set_limits() -> None:
    memory = int(os.environ.get("NNBOOK_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB)) * 2**20
    files = int(os.environ.get("NNBOOK_SANDBOX_FILE_MB", DEFAULT_FILE_MB)) * 2**20
    # RLIMIT_AS turns a memory bomb into a MemoryError in the student's cell; RLIMIT_FSIZE
    # stops a disk-filling loop; no core dumps of student processes.
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, files), (resource.RLIMIT_CORE, 0)):
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


def bwrap_argv(kernel_argv: list[str], cwd: str, env: dict[str, str]) -> list[str]:
    """The bubblewrap command line that runs ``kernel_argv`` with the course hidden."""
    hide = [p for p in env.get("NNBOOK_SANDBOX_HIDE", "").split(os.pathsep) if p]
    expose_ro = [p for p in env.get("NNBOOK_SANDBOX_EXPOSE_RO", "").split(os.pathsep) if p]
    expose_rw = [p for p in env.get("NNBOOK_SANDBOX_EXPOSE_RW", "").split(os.pathsep) if p]
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
    # hide parents before children so that nested re-exposures survive
    for path in sorted(set(hide), key=len):
        if os.path.isdir(path):
            argv += ["--tmpfs", path]
    for path in sorted(set(expose_ro), key=len):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for path in sorted(set(expose_rw) | {cwd}, key=len):
        if os.path.exists(path):
            argv += ["--bind", path, path]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent",
             "--chdir", cwd, "--unsetenv", "JPY_PARENT_PID"]
    for name in ("NNBOOK_SANDBOX_HIDE", "NNBOOK_SANDBOX_EXPOSE_RO", "NNBOOK_SANDBOX_EXPOSE_RW",
                 "NNBOOK_GRADING_ROOT", "NNBOOK_COURSE_ROOT"):
        argv += ["--unsetenv", name]
    return argv + ["--", *kernel_argv]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m nnbook.course.sandbox CONNECTION_FILE")
    connection_file = os.path.abspath(argv[0])
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    home = os.environ.get("NNBOOK_SANDBOX_HOME")
    if home:
        os.makedirs(home, exist_ok=True)
        os.environ.update(HOME=home, IPYTHONDIR=os.path.join(home, ".ipython"),
                          MPLCONFIGDIR=os.path.join(home, ".matplotlib"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    _set_limits()
    _die_with_parent()
    log = os.environ.get("NNBOOK_SANDBOX_LOG")
    if log:  # the kernel's own chatter (not the student's output, which goes over ZMQ)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    mode = os.environ.get("NNBOOK_SANDBOX", "bwrap")
    if mode == "bwrap" and shutil.which("bwrap"):
        env = dict(os.environ)
        # the connection file may live in /tmp, which the sandbox hides: bind just that file
        env["NNBOOK_SANDBOX_EXPOSE_RO"] = os.pathsep.join([env.get("NNBOOK_SANDBOX_EXPOSE_RO", ""), connection_file])
        cmd = bwrap_argv(kernel, os.getcwd(), env)
        os.execvp(cmd[0], cmd)
    if mode == "bwrap":
        print("nnbook: WARNING: bwrap not found: the grading kernel is NOT sandboxed", file=sys.stderr)
    for name in ("NNBOOK_SANDBOX_HIDE", "NNBOOK_SANDBOX_EXPOSE_RO", "NNBOOK_SANDBOX_EXPOSE_RW",
                 "NNBOOK_GRADING_ROOT", "NNBOOK_COURSE_ROOT"):
        os.environ.pop(name, None)
    os.execv(kernel[0], kernel)


if __name__ == "__main__":
    main()
