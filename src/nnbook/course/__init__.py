"""The course pipeline: one source of truth (``chapters/``), many generated artefacts.

* ``editions``    student and instructor versions of a chapter notebook;
* ``execute``     executing chapters once, through jupyter-cache (``kernels``: on Unix sockets);
* ``site``        the book (student or instructor edition) built by Jupyter Book;
* ``assignments`` nbgrader sources and releases, the student kit;
* ``collect``, ``grading``, ``feedback``, ``export``, ``leaks``: a class's submissions, graded;
  ``sandbox`` (the grading kernel), ``hidden`` (hidden tests compared outside it),
  ``integrity`` and ``preprocessors`` (graded names must be the student's: ``nnbook.ownership``,
  which the student's self-check applies too);
* ``cli``         ``python -m nnbook.course`` / ``nnbook-course``.
"""
