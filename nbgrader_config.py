"""nbgrader configuration for nnbook.

Assignments are generated from ``chapters/`` by ``nnbook-course release`` (see
src/nnbook/course/assignments.py), which writes ``source/<id>/`` with hidden tests baked;
nothing is copied by hand. The grading root is this folder unless NNBOOK_GRADING_ROOT
names another (the tests grade in temporary folders).
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

root = Path(os.environ.get("NNBOOK_GRADING_ROOT") or Path(__file__).resolve().parent)
c.CourseDirectory.root = str(root)
c.CourseDirectory.course_id = "nnbook"
c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Generated assignments are listed in the gradebook as they are made.
c.GenerateAssignment.create_assignment = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: a cell may run for 120 s; a hung kernel is interrupted, not waited on forever.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Restore deleted grade cells (students sometimes delete a test cell).
c.OverwriteCells.add_missing_cells = True
