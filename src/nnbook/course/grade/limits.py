"""What one submission may use while it is graded: the one definition of each limit.

Read by the command line (its defaults), the grading configuration (``nbgrader_config.py``,
:func:`nnbook.course.grade.worker.grading_config`), the preprocessors and the sandbox.
"""

# seconds a cell may run before its kernel is interrupted (``grade --timeout``)
CELL_TIMEOUT_S = 120

# output kept per cell while it runs, in characters (SafeExecute drops the rest)
MAX_CELL_OUTPUT_CHARS = 200_000
# one stream or text output in the graded notebook, in characters (FinalizeGrading cuts it)
MAX_OUTPUT_TEXT_CHARS = 20_000
# nbgrader's LimitOutput: lines per stream output, lines per traceback
MAX_OUTPUT_LINES = 500
MAX_TRACEBACK_LINES = 100
# a test's message in a student's feedback page, in characters
MAX_FEEDBACK_MESSAGE_CHARS = 2000
# what a cut output ends with
TRUNCATED = "\n[... output truncated by the grader ...]\n"

# Address space, not resident memory: importing torch (its CUDA build reserves large
# mappings) peaks at about 3.3 GB of address space before a chapter computes anything.
DEFAULT_MEMORY_MB = 6144
DEFAULT_FILE_MB = 256
