"""The adversarial class of ``test_grading_trust.py`` graded again with kernels forked from
each worker's fork server (``grade --fork-server``): every promise holds in both kernel modes
(issue 24). Each test of that module runs here on this module's ``graded``.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_grading_trust as trust  # noqa: E402
from test_grading_trust import *  # noqa: E402,F401,F403  (the tests, collected again here)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    forked_cli = trust.gs.cli

    def cli(*args, **kwargs):
        if args and args[0] == "grade":
            args = (*args, "--fork-server")
        return forked_cli(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trust.gs, "cli", cli)
        yield trust.graded.__wrapped__(tmp_path_factory)


def test_every_kernel_ran_as_this_module_asked(graded):
    # replaces the default run's test of the same name: here every kernel is forked, with no
    # silent fallback to a new sandbox
    kinds = {student: trust.done(graded, student).get("kernel") for student in trust.EXPECTED}
    assert set(kinds.values()) == {"forked"}, kinds
