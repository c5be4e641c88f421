"""Where the course changes what a third-party library does, through its public extension
points or, where it has none, by replacing a public method whole (issue 24).

Each hook is proved to run on real kernels, and each replaced name to still exist with the
signature the replacement assumes: an upgrade of jupyter_client, nbclient or jupyter-cache
that stops calling one fails here instead of silently turning it off.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile

import nbformat
import pytest
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from nbclient import NotebookClient
from traitlets.config import Config

from nnbook.course.kernels import IPCKernelManager, PromptProvisioner, ReadyKernelClient


@pytest.fixture
def runtime():
    folder = tempfile.mkdtemp(prefix="nnh-")  # short: Unix socket paths have a limit
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize("owner, name, parameters", [
    # replaced whole (jupyter_client has no hook inside it); nbclient calls it with timeout=
    (AsyncKernelClient, "wait_for_ready", ["self", "timeout"]),
    (AsyncKernelClient, "start_channels", ["self", "shell", "iopub", "stdin", "hb", "control"]),
    # the kernel provisioner: jupyter_client's extension point for launching and killing kernels
    (LocalProvisioner, "pre_launch", ["self", "kwargs"]),
    (LocalProvisioner, "kill", ["self", "restart"]),
    (LocalProvisioner, "poll", ["self"]),
    (AsyncKernelManager, "start_kernel", ["self", "kw"]),
    # the grader's output cap (nnbook.course.grade.preprocessors.SafeExecute.output): nbclient
    # calls it for every output message of a cell
    (NotebookClient, "output", ["self", "outs", "msg", "display_id", "cell_index"]),
])
def test_each_replaced_name_still_exists_with_the_signature_its_replacement_assumes(owner, name, parameters):
    assert _parameters(getattr(owner, name)) == parameters


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                    metadata={"kernelspec": {"name": "python3", "language": "python",
                                                             "display_name": "Python 3"}})


def _spy(monkeypatch, owner, name, calls: list, after=None):
    original = getattr(owner, name)

    if inspect.iscoroutinefunction(original):
        async def spy(self, *args, **kwargs):
            result = await original(self, *args, **kwargs)
            calls.append(after(self) if after else name)
            return result
    else:
        def spy(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            calls.append(after(self) if after else name)
            return result

    monkeypatch.setattr(owner, name, spy)


def test_every_hook_runs_when_nbclient_executes_a_notebook(monkeypatch, runtime):
    # as the book's chapters are executed and nbgrader's Execute grades: nbclient drives the manager
    calls: list = []
    _spy(monkeypatch, ReadyKernelClient, "wait_for_ready", calls)
    # the channels' sockets retry connecting after 5 ms, not ZMQ's 0.1 s
    _spy(monkeypatch, ReadyKernelClient, "start_channels", calls,
         after=lambda c: ("start_channels", c.context.getsockopt(zmq.RECONNECT_IVL)))
    _spy(monkeypatch, PromptProvisioner, "pre_launch", calls)
    # the provisioner's kill returns once the process is gone
    _spy(monkeypatch, PromptProvisioner, "kill", calls, after=lambda p: ("kill", p.process.poll() is not None))
    config = Config()
    config.IPCKernelManager.runtime_dir = runtime
    config.IPCKernelManager.kernel_env = {"NNBOOK_HOOK": "reached the kernel"}
    nb = _notebook("import os; print(os.environ['NNBOOK_HOOK'])",
                   "import json, ipykernel; print(json.loads(ipykernel.get_connection_info())['transport'])")
    client = NotebookClient(nb, kernel_manager_class=IPCKernelManager, config=config, shutdown_kernel="immediate",
                            timeout=60, resources={"metadata": {"path": runtime}})
    client.execute()
    assert [c.outputs[0]["text"] for c in nb.cells] == ["reached the kernel\n", "ipc\n"]
    assert sorted(map(str, calls)) == sorted(map(str, ["pre_launch", ("start_channels", 5), "wait_for_ready",
                                                       ("kill", True)])), calls


def test_the_grader_cuts_a_graded_cell_that_prints_more_than_the_cap(runtime):
    from nnbook.course.grade.preprocessors import TRUNCATED, SafeExecute

    cap = 5_000
    grade = nbformat.v4.new_code_cell("for i in range(2000):\n    print('x' * 50)\nassert True",
                                      metadata={"nbgrader": {"grade": True, "grade_id": "t-tests", "locked": True,
                                                             "points": 1, "schema_version": 3, "solution": False,
                                                             "task": False}})
    nb = _notebook("print('before')")
    nb.cells.append(grade)
    config = Config()
    config.IPCKernelManager.runtime_dir = runtime
    execute = SafeExecute(config=config, kernel_manager_class=IPCKernelManager, max_output_chars=cap, timeout=60)
    nb, _ = execute.preprocess(nb, {"metadata": {"path": runtime}})
    text = "".join(out.get("text", "") for out in nb.cells[1].outputs)
    # what fits is kept, the message that crosses the cap becomes the notice, the rest is dropped
    assert text.endswith(TRUNCATED) and text.count(TRUNCATED) == 1, text[-200:]
    assert len(text) <= cap + len(TRUNCATED)
    assert nb.cells[0].outputs[0]["text"] == "before\n"


def test_executed_chapters_run_on_unix_sockets_and_are_cached(tmp_path, capsys):
    from nnbook.course.build.execute import executed_notebooks
    from nnbook.course.paths import Chapter, CourseError

    (tmp_path / "chapters").mkdir()
    good = tmp_path / "chapters" / "ch01_good.ipynb"
    nbformat.write(_notebook("import json, ipykernel\n"
                             "print(json.loads(ipykernel.get_connection_info())['transport'])"), good)
    out = executed_notebooks(tmp_path, [Chapter(good)], timeout=60)
    assert out[good].cells[0].outputs[0]["text"] == "ipc\n"
    assert "executing 1 chapter" in capsys.readouterr().out
    assert executed_notebooks(tmp_path, [Chapter(good)], timeout=60)[good].cells[0].outputs[0]["text"] == "ipc\n"
    assert "nothing to execute" in capsys.readouterr().out
    bad = tmp_path / "chapters" / "ch02_bad.ipynb"
    nbformat.write(_notebook("raise ValueError('a chapter that fails')"), bad)
    with pytest.raises(CourseError, match="(?s)ch02_bad.*a chapter that fails"):
        executed_notebooks(tmp_path, [Chapter(good), Chapter(bad)], timeout=60)

