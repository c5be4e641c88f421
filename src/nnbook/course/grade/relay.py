"""The process jupyter_client starts as a grading kernel when a fork server runs.

    python -I -S relay.py SOCKET SETTINGS CONNECTION_FILE [KERNEL ARGS...]

Standard library only (it starts in a few milliseconds): it asks the worker's fork server
(:mod:`nnbook.course.grade.forkserver`) for a kernel on ``CONNECTION_FILE`` in the current
folder, with this process's environment and the sandbox ``SETTINGS`` file, forwards
interrupts and terminations to it, and exits with the kernel's exit code. When this process
dies, however it dies, the fork server sees its connection close and kills the kernel.
"""

import json
import os
import signal
import socket
import sys


def main(argv: list) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    server, settings_file, connection_file, *args = argv
    with open(settings_file) as f:
        settings = json.load(f)
    message = {"start": {"connection_file": os.path.abspath(connection_file), "args": args, "cwd": os.getcwd(),
                         "env": dict(os.environ), "keep": sorted({*settings["expose_rw"], os.getcwd()}),
                         "read_only": settings["expose_ro"],
                         "hide": [settings["fork_server_folder"]], "log": settings["log"],
                         "memory_mb": settings["memory_mb"], "file_mb": settings["file_mb"]}}
    return request(server, message, forward_signals=True)


def request(server: str, message: dict, forward_signals: bool = False, timeout: float | None = None) -> int:
    """Send ``message`` to the fork server and wait for the kernel's exit code (the protocol:
    one JSON line each way; ``{"signal": n}`` lines forward signals; EOF kills the kernel)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    conn.connect(server)
    conn.sendall(json.dumps(message).encode() + b"\n")

    def forward(signum, _frame):
        conn.sendall(json.dumps({"signal": signum}).encode() + b"\n")

    if forward_signals:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, forward)
    reply = b""
    while b"\n" not in reply:
        chunk = conn.recv(4096)
        if not chunk:
            return 1
        reply += chunk
    code = json.loads(reply.split(b"\n", 1)[0])["exit"]
    return code if code >= 0 else 128 - code

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
