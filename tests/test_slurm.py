"""Grading on a real Slurm: a job array of ``grade --shard`` and a dependent ``merge``.

A one-node cluster is started for the test (Debian's slurm-wlm and munge; no systemd):
munged as user munge on a socket of its own, slurmctld and slurmd in the foreground with a
configuration written here (SlurmUser=root, proctrack/linuxproc, task/none, the machine's
cores). A small class of chapter 1 is collected twice; one copy is graded by one process on
this machine, the other by ``tools/slurm/grade-shard.sh`` as an array of 3 and
``tools/slurm/merge.sh`` chained with ``--dependency=afterany`` (the recipe of
docs/INSTRUCTORS.md, which shows these very files). The gradebooks and the exported CSVs
must be equal. The daemons are stopped by their PIDs.

Marked ``slurm``. Slurm is installed when missing (``tools/system-deps.sh --slurm``, as
root); where it cannot be, the test fails and says why. To leave it out on purpose, set
``NNBOOK_SKIP_SLURM`` to the reason: the test is then skipped with that reason printed.
"""

from __future__ import annotations

import csv
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from nnbook.course.paths import chapters, repo_root
from test_roundtrip import student_notebook

ROOT = repo_root()
CHAPTER = next(c for c in chapters(ROOT) if c.assignment == "ch01")
SCRIPTS = ROOT / "tools" / "slurm"
SHARDS = 3
# reference answers twice, one half-done, the untouched release, every answer emptied
CLASS = {"ada": "reference", "ben": "reference", "cy": "partial", "dee": "pristine", "eve": "emptied"}

pytestmark = pytest.mark.slurm


def _opted_out() -> None:
    reason = os.environ.get("NNBOOK_SKIP_SLURM")
    if reason:
        print(f"\n[test_slurm] SKIPPED on purpose (NNBOOK_SKIP_SLURM): {reason}", file=sys.stderr, flush=True)
        pytest.skip(f"NNBOOK_SKIP_SLURM: {reason}")


def _install() -> None:
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")):
        return
    done = subprocess.run([str(ROOT / "tools" / "system-deps.sh"), "--slurm"], capture_output=True, text=True)
    if done.returncode != 0 or not shutil.which("slurmctld"):
        pytest.fail("Slurm is not installed and could not be (tools/system-deps.sh --slurm needs root and "
                    f"Debian's apt); set NNBOOK_SKIP_SLURM=<reason> to leave this test out:\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return int(kb / 1024 * 0.9)


def slurm_conf(folder: Path, host: str, cpus: int, munge_socket: Path) -> str:
    return "\n".join([
        "ClusterName=nnbook-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        "SlurmUser=root",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'slurmd.log'}",
        # no cgroups and no systemd in a test machine or a container
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "MpiDefault=none",
        "SchedulerType=sched/builtin",  # starts a job as soon as cores are free
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        "SlurmdTimeout=60",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_memory_mb()} State=UNKNOWN",
        f"PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        ""])


class Cluster:
    """munged, slurmctld and slurmd of a one-node cluster; stopped by their PIDs."""

    def __init__(self, folder: Path):
        self.folder, self.procs = folder, []
        self.host = socket.gethostname().split(".")[0]
        munge = pwd.getpwnam("munge")
        munge_dir = folder / "munge"
        munge_dir.mkdir()
        munge_dir.chmod(0o755)  # munged wants its socket folder open to every client
        os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
        key = munge_dir / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o400)
        os.chown(key, munge.pw_uid, munge.pw_gid)
        self.munge_socket = munge_dir / "munge.socket"
        for name in ("state", "spool"):
            (folder / name).mkdir()
        self.conf = folder / "slurm.conf"
        self.conf.write_text(slurm_conf(folder, self.host, os.cpu_count() or 1, self.munge_socket))
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def _start(self, cmd: list[str], log: str, **kwargs) -> None:
        with open(self.folder / log, "w") as out:
            self.procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, **kwargs))

    def start(self) -> None:
        munge_dir = self.munge_socket.parent
        self._start(["munged", "--foreground", f"--socket={self.munge_socket}", f"--key-file={munge_dir / 'munge.key'}",
                     f"--pid-file={munge_dir / 'munged.pid'}", f"--log-file={munge_dir / 'munged.log'}",
                     f"--seed-file={munge_dir / 'munged.seed'}"],
                    "munged.out", user="munge", group="munge", extra_groups=[])
        self._wait(lambda: self.munge_socket.exists(), "munged's socket", "munge/munged.log")
        self._start(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld.out")
        self._wait(lambda: self._ok(["scontrol", "ping"], "UP"), "slurmctld answers", "slurmctld.log")
        self._start(["slurmd", "-D", "-N", self.host, "-f", str(self.conf)], "slurmd.out")
        self._wait(lambda: self._ok(["sinfo", "-h", "-o", "%T"], "idle"), "the node is idle", "slurmd.log")

    def _ok(self, cmd, wanted: str) -> bool:
        done = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        return done.returncode == 0 and wanted in done.stdout

    def _wait(self, condition, what: str, log: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead:
                break
            time.sleep(0.3)
        pytest.fail(f"Slurm test cluster: waiting for {what} failed (exited: {dead or 'none'}):\n{self.logs(log)}")

    def logs(self, *names: str) -> str:
        return "\n".join(f"--- {n}\n{(self.folder / n).read_text(errors='replace')[-3000:]}"
                         for n in names + ("slurmctld.out", "slurmd.out", "munged.out") if (self.folder / n).is_file())

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture(scope="module")
def cluster():
    _opted_out()
    _install()
    # munged runs as user munge: its folder cannot be under pytest's root-only tmp_path
    folder = Path(tempfile.mkdtemp(prefix="nnbook-slurm-"))
    folder.chmod(0o755)
    cluster = Cluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _env(**extra) -> dict:
    venv_bin = str(Path(sys.executable).parent)
    return dict(os.environ, NNBOOK_COURSE_ROOT=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                PATH=f"{venv_bin}:{os.environ.get('PATH', '')}", **extra)


def _cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nnbook.course", *args], env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"nnbook-course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _collected_class(folder: Path) -> Path:
    """A course folder with the chapter-1 class collected, not graded."""
    course = folder / "course"
    _cli("release", "--chapter", CHAPTER.assignment, "--course", str(course))
    released = course / "release" / CHAPTER.assignment / CHAPTER.path.name
    inbox = folder / "inbox"
    inbox.mkdir()
    reference = student_notebook(released, CHAPTER.path, "reference")
    for student, kind in CLASS.items():
        if kind == "partial":  # the first half of the answers typed in, the rest untouched
            nb = nbformat.read(released, as_version=4)
            answer_cells = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]
            for i in answer_cells[: len(answer_cells) // 2]:
                nb.cells[i].source = reference.cells[i].source
        else:
            nb = student_notebook(released, CHAPTER.path, kind)
        nbformat.write(nb, inbox / f"{student}.ipynb")
    _cli("collect", CHAPTER.assignment, str(inbox), "--course", str(course))
    return course


def _gradebook(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, nb.name, g.name): (g.auto_score, g.max_score)
                for s in gb.assignment_submissions(CHAPTER.assignment) for nb in s.notebooks for g in nb.grades}


def _export(course: Path) -> list[dict]:
    out = course / "grades.csv"
    _cli("export", CHAPTER.assignment, "--course", str(course), "-o", str(out))
    with open(out) as fh:
        return sorted(csv.DictReader(fh), key=lambda row: row["student"])


def _sbatch(cluster: Cluster, course: Path, *args: str) -> str:
    done = subprocess.run(["sbatch", "--parsable", *args], cwd=course, capture_output=True, text=True,
                          env=_env(SLURM_CONF=str(cluster.conf)))
    assert done.returncode == 0, f"sbatch {' '.join(args)}: {done.stderr}\n{cluster.logs('slurmctld.log')}"
    return done.stdout.strip().split(";")[0]


def _finished(cluster: Cluster, job: str, timeout: float = 900) -> tuple[str, str]:
    """``(JobState, ExitCode)`` of ``job`` once it has ended."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True, env=cluster.env).stdout
        state = re.search(r"JobState=(\w+)", shown)
        if state and state.group(1) not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING"):
            return state.group(1), re.search(r"ExitCode=(\S+)", shown).group(1)
        time.sleep(0.5)
    pytest.fail(f"job {job} still not finished after {timeout:g} s:\n{cluster.logs('slurmctld.log')}")


def test_a_slurm_array_and_a_dependent_merge_grade_as_one_machine_does(cluster, tmp_path):
    base = _collected_class(tmp_path / "base")
    one = shutil.copytree(base, tmp_path / "one")
    array = shutil.copytree(base, tmp_path / "array")

    start = time.perf_counter()
    _cli("grade", CHAPTER.assignment, "--course", str(one), "--workers", str(os.cpu_count() or 1))
    single_seconds = time.perf_counter() - start

    # docs/INSTRUCTORS.md: sbatch --array=1-N --cpus-per-task=C grade-shard.sh, then merge.sh afterany
    start = time.perf_counter()
    job = _sbatch(cluster, array, f"--array=1-{SHARDS}", "--cpus-per-task=1",
                  str(SCRIPTS / "grade-shard.sh"), CHAPTER.assignment, "--course", str(array))
    merge = _sbatch(cluster, array, f"--dependency=afterany:{job}",
                    str(SCRIPTS / "merge.sh"), CHAPTER.assignment, str(SHARDS), "--course", str(array))
    state = _finished(cluster, merge)  # polled: sbatch --wait's own polling adds up to half a minute
    array_seconds = time.perf_counter() - start
    outputs = "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(array.glob("slurm-*.out")))
    assert state == ("COMPLETED", "0:0"), f"the merge job ended {state}\n{outputs}\n{cluster.logs('slurmctld.log')}"
    shard_times = [m for p in sorted(array.glob(f"slurm-*_*.out")) for m in re.findall(r"in ([\d.]+) s", p.read_text())]
    print(f"\n[test_slurm] {len(CLASS)} submissions of {CHAPTER.assignment}: one process with "
          f"{os.cpu_count()} workers {single_seconds:.1f} s; array of {SHARDS} + merge {array_seconds:.1f} s "
          f"(grading inside the shards: {', '.join(shard_times)} s)")

    timeline = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i %j %T %S %e"], capture_output=True,
                              text=True, env=cluster.env).stdout
    print(f"[test_slurm] submitted at {time.strftime('%H:%M:%S', time.localtime(time.time() - array_seconds))}; "
          f"job, name, state, start, end:\n{timeline}")
    shard_logs = sorted(array.glob(f"slurm-{job}_*.out"))
    assert len(shard_logs) == SHARDS, outputs
    assert f"merged {len(CLASS)} result(s)" in outputs, outputs
    folders = sorted((array / ".grading" / CHAPTER.assignment).glob(f"shard-*-of-{SHARDS}"))
    assert len(folders) == SHARDS
    graded = _gradebook(one)
    assert {k[0] for k in graded} == set(CLASS)
    assert _gradebook(array) == graded
    assert _export(array) == _export(one)
    scores = {row["student"]: float(row["score"]) for row in _export(one)}
    assert scores["ada"] == scores["ben"] > scores["cy"] > 0 == scores["dee"] == scores["eve"], scores


def test_the_instructor_guide_shows_the_scripts_the_test_submits():
    guide = (ROOT / "docs" / "INSTRUCTORS.md").read_text()
    for script in ("grade-shard.sh", "merge.sh"):
        body = (SCRIPTS / script).read_text().strip()
        assert body in guide, f"docs/INSTRUCTORS.md does not show tools/slurm/{script} as it is"
    assert "--dependency=afterany:" in guide and "${SLURM_ARRAY_TASK_COUNT}" in guide
    assert "shared" in guide.split("## Grading on many machines")[1].split("\n## ")[0]
