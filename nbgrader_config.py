"""nbgrader configuration for nnbook.

Assignments are generated from ``chapters/`` by ``nnbook-course release`` (see
src/nnbook/course/release/assignments.py), which writes ``source/<id>/`` with hidden tests baked;
nothing is copied by hand. The grading root is this folder; ``nnbook-course`` names
another on nbgrader's command line (release) or in the config object it builds from this
file (grade: src/nnbook/course/grade/worker.py), never through the environment.
"""

from pathlib import Path

from nnbook.course.grade import gradebook, limits

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

root = Path(__file__).resolve().parent
c.CourseDirectory.root = str(root)
c.CourseDirectory.course_id = "nnbook"
c.CourseDirectory.db_url = gradebook.db_url(root)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Generated assignments are listed in the gradebook as they are made.
c.GenerateAssignment.create_assignment = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: a cell may run for limits.CELL_TIMEOUT_S (120 s); a hung kernel is interrupted,
# not waited on forever.
c.ExecutePreprocessor.timeout = c.Execute.timeout = limits.CELL_TIMEOUT_S
c.Execute.interrupt_on_timeout = True
# Kernels talk to nbgrader over Unix sockets, not TCP on loopback: the sandboxed grading
# kernel has no network at all (src/nnbook/course/grade/sandbox.py), and nothing listens on a port.
c.Execute.kernel_manager_class = "nnbook.course.kernels.IPCKernelManager"
# Restore deleted grade cells (students sometimes delete a test cell).
c.OverwriteCells.add_missing_cells = True

# ---------------------------------------------------------------------------------------
# Trustworthy autograding (src/nnbook/course/grade/preprocessors.py; docs/INSTRUCTORS.md).
# The gradebook is the authority on nbgrader metadata; heavy demos are skipped; an integrity
# sentinel reports at the start of each grade cell; a test that uses a graded name the submission does
# not define itself (src/nnbook/kit/ownership.py) scores 0; a dead kernel stops execution without ever
# scoring the tests that did not run as passing; huge outputs are capped.
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern,
    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402

from nnbook.course.grade.hidden import CompareHiddenOutputs, GiveHiddenInputs  # noqa: E402
from nnbook.course.grade.preprocessors import (  # noqa: E402
    CheckOwnAnswers, FinalizeGrading, InsertSentinels, NormalizeMetadata, SafeExecute, SkipHeavyCells,
)

c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, NormalizeMetadata, OverwriteCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    SkipHeavyCells, CheckOwnAnswers, GiveHiddenInputs, InsertSentinels, SafeExecute, CompareHiddenOutputs,
    IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, FinalizeGrading, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
# Hidden tests: the grader draws each submission's inputs and keeps the expected outputs
# (src/nnbook/course/grade/hidden.py); the references come from this repository's solutions/.
c.GiveHiddenInputs.course_root = str(Path(__file__).resolve().parent)
c.LimitOutput.max_lines = limits.MAX_OUTPUT_LINES
c.LimitOutput.max_traceback = limits.MAX_TRACEBACK_LINES
# `nnbook-course grade` runs each submission with the sandboxed kernel manager
# (src/nnbook/course/grade/sandbox.py), set in its config object; a plain `nbgrader autograde`
# keeps the notebook's own kernel (no sandbox: see the threat model in docs/INSTRUCTORS.md).
