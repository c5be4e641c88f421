"""The course pipeline: one source of truth (``chapters/``), many generated artefacts.

* ``editions``    student and instructor versions of a chapter notebook;
* ``execute``     executing chapters once, through jupyter-cache;
* ``site``        the book (student or instructor edition) built by Jupyter Book;
* ``assignments`` nbgrader sources with baked hidden tests, and releases;
* ``cli``         ``python -m nnbook.course`` / ``nnbook-course``.
"""
