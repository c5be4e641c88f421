"""The student's grading kit: what runs in the student's kernel and in the self-check.

Shipped in the student kit beside the teaching library (``nnbook`` without ``nnbook.course``):

* ``checks``         the asserts and ``compare_with_reference`` as the kernel sees them, the
  output records hidden tests display while graded;
* ``cells``          cell roles (answer, grade, hidden tests, locked) and cell parsing, once;
* ``ownership``      a graded name must be the student's own;
* ``dependencies``   the names cells bind and read (which demonstrations may be skipped);
* ``selfcheck``      ``python -m nnbook.kit.selfcheck chNN_name.ipynb``;
* ``kernel_sockets`` a kernel on Unix sockets, for the self-check and the grader alike.

Nothing here reads ``solutions/``: the reference answers live with the instructor's
pipeline (:mod:`nnbook.course.grade.reference`).
"""
