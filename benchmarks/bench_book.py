"""Book build speed: a cold build (every chapter executed) and a rebuild with nothing changed.

Goals (issue 7, on 2 cores): cold <= 6 minutes, warm <= 30 s and re-executing no notebook.
Runs on a snapshot of the repository in a temporary folder, so edits made meanwhile (or an
existing cache) do not disturb the measurement. Prints wall and CPU seconds of each build.

    .venv/bin/python benchmarks/bench_book.py [--chapter ch01 ...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = ("chapters", "pages", "_static", "solutions", "src", "docs", "_config.yml", "_toc.yml",
        "references.bib", "requirements.txt", "pyproject.toml", "nbgrader_config.py")
GOALS = {"cold": 360.0, "warm": 30.0}


def snapshot(dest: Path) -> None:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.is_file():
            shutil.copy2(src, dest / name)


def build(root: Path, chapters: list[str]) -> tuple[float, float, str]:
    cmd = [sys.executable, "-m", "nnbook.course", "site"] + [f"--chapter={c}" for c in chapters]
    env = dict(os.environ, NNBOOK_COURSE_ROOT=str(root), OMP_NUM_THREADS="1", PYTHONPATH=str(root / "src"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    executed = next((line for line in done.stdout.splitlines()
                     if line.startswith("[nnbook] executing") or "nothing to execute" in line), "?")
    return wall, cpu, executed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", default=[])
    parser.add_argument("--keep", action="store_true", help="keep the snapshot folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nnbook-bench-"))
    try:
        snapshot(folder)
        results = {}
        for label in ("cold", "warm"):
            wall, cpu, executed = build(folder, args.chapter)
            results[label] = wall
            print(f"{label:5s} build: {wall:6.1f} s wall, {cpu:6.1f} s CPU   ({executed.replace('[nnbook] ', '')})"
                  f"   goal <= {GOALS[label]:.0f} s", flush=True)
        print(f"warm / cold: {results['warm'] / results['cold']:.2f}")
    finally:
        if args.keep:
            print(f"snapshot kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
