"""The sandbox a grading worker gives each submission's kernel, and the worker's fork server.

What a kernel sees (:func:`kernel_sandbox`): the course, the repository and the temporary
folders hidden; the installed package and the virtualenv read-only; its home and runtime
folders writable. With bubblewrap, a worker starts one fork server (:mod:`.forkserver`) per
assignment on first use and forks each kernel from it; when the fork server cannot start or
cannot build a kernel's sandbox here, every kernel gets a new sandbox instead (and a
one-line note says so). The launcher itself is :mod:`.sandbox`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from nnbook.course.grade import sandbox

if TYPE_CHECKING:
    from nnbook.course.grade.forkserver import ForkServer
    from nnbook.course.grade.worker import Settings

# one fork server per grading worker process (and per assignment it grades); None: not usable here
_FORK_SERVERS: dict[tuple[str, str], "ForkServer | None"] = {}


def hidden_folders(settings: Settings, work: Path) -> list[str]:
    """What no kernel may see: the repository (with solutions/), the course, the temporary folders."""
    import nnbook

    package_repo = Path(nnbook.__file__).resolve().parents[2]
    hide = {str(settings.root), str(settings.course), str(work), tempfile.gettempdir(), "/tmp", "/var/tmp"}
    if (package_repo / "solutions").is_dir() or (package_repo / "chapters").is_dir():
        hide.add(str(package_repo))
    return sorted(hide)


def kernel_env(settings: Settings, work: Path) -> dict[str, str]:
    """What the kernel adds to its environment: a home of its own, one thread per library."""
    home = work / "home"
    env = {"HOME": str(home), "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if not settings.render_figures:
        # figures are drawn but not rendered to PNG: ch01 runs in 3 s instead of 5 s, and no
        # graded cell looks at a rendered figure (`grade --figures` renders them)
        env["MPLBACKEND"] = "Agg"
    return env


def _view(settings: Settings, hide: list[str], writable: list[str], log: Path, **extra) -> sandbox.SandboxSettings:
    """A sandbox that hides ``hide``, shows the installed package and virtualenv read-only
    and ``writable`` writable: a kernel's, or a fork server's."""
    import nnbook

    src_dir = str(Path(nnbook.__file__).resolve().parent.parent)
    return sandbox.SandboxSettings(
        mode="bwrap" if settings.sandbox == "bwrap" else "limits", memory_mb=settings.memory_mb, hide=hide,
        expose_ro=[src_dir, sys.prefix], expose_rw=writable, log=str(log), **extra)


def kernel_sandbox(settings: Settings, work: Path) -> sandbox.SandboxSettings:
    """The sandbox of the kernel that grades the submission in ``work``."""
    # rendering figures needs the kernel's own matplotlib backend, chosen as it starts: not forked
    forked = settings.sandbox == "bwrap" and settings.fork_server and not settings.render_figures
    server = fork_server(settings, work.parent) if forked else None
    # the kernel binds its ipc sockets in the runtime folder: writable
    return _view(settings, hidden_folders(settings, work), [str(work / "home"), str(work / "runtime")],
                 work / "kernel.log", fork_server=str(server.socket) if server else "",
                 fork_server_folder=str(work.parent) if server else "")


def kernel_kind(settings: Settings, work: Path) -> str:
    """How this submission's kernel ran: ``forked`` (from the worker's fork server, in a
    sandbox of its own), ``bwrap`` (a new Python in a new sandbox), ``limits`` or ``none``."""
    if settings.sandbox != "bwrap":
        return settings.sandbox
    view = work / "sandbox.json"
    return "forked" if view.is_file() and sandbox.SandboxSettings.read(view).fork_server else "bwrap"


def fork_server(settings: Settings, folder: Path) -> ForkServer | None:
    """This worker's zygote for ``settings.assignment`` (started and probed on first use)."""
    key = (settings.assignment, str(folder))
    server = _FORK_SERVERS.get(key)
    if server is not None and server.alive():
        return server
    if key in _FORK_SERVERS and server is None:
        return None
    _FORK_SERVERS[key] = _start_fork_server(settings, folder)
    return _FORK_SERVERS[key]


def _start_fork_server(settings: Settings, folder: Path) -> ForkServer | None:
    """A fork server that preloads what the assignment imports, probed once; None (and a
    note on stderr) when it cannot serve here."""
    from nnbook.course.grade import forkserver

    source = sorted((settings.course / "source" / settings.assignment).glob("*.ipynb"))
    preload = [m for nb in source for m in forkserver.preload_modules(nbformat.read(nb, as_version=4))]
    log = folder / "zygote.log"
    # the zygote's own sandbox: the worker folder writable, hidden folders read-only (bwrap_argv)
    view = _view(settings, [h for h in hidden_folders(settings, folder) if h != str(folder)], [str(folder)], log)
    env = {**os.environ, **kernel_env(settings, folder / "zygote")}
    try:
        server = forkserver.ForkServer(folder, view, list(dict.fromkeys(preload)), env, log)
        scratch = folder / "probe"
        scratch.mkdir(exist_ok=True)
        ok = forkserver.probe(server, [str(scratch)], [str(folder)], str(log), view.expose_ro)
    except (OSError, RuntimeError) as exc:
        print(f"nnbook: the grading fork server did not start ({exc}); a new sandbox per kernel instead",
              file=sys.stderr, flush=True)
        return None
    if not ok:
        print(f"nnbook: the grading fork server cannot build a kernel's sandbox here (see {log}); "
              "a new sandbox per kernel instead", file=sys.stderr, flush=True)
        server.stop()
        return None
    return server
