"""The instructor's pipeline: one source of truth (``chapters/``), many generated artefacts.
Everything that reads ``solutions/`` is here; the student kit ships without this package.

* ``build``   ``editions`` (student and instructor versions of a chapter), ``execute``
  (chapters executed once, through jupyter-cache), ``site`` (the book, by Jupyter Book),
  ``pdf``, ``sphinxext``;
* ``release`` ``assignments`` (nbgrader sources and releases, the student kit),
  ``student_branch`` (the released notebooks as a branch for Binder and Colab);
* ``grade``   ``collect`` (a class's submissions), ``grading`` (autograding them in
  parallel), ``sandbox`` and ``forkserver`` (the grading kernel), ``reference`` (the
  reference answers of ``solutions/``), ``hidden`` (hidden tests compared outside the
  kernel), ``integrity`` and ``preprocessors`` (graded names must be the student's:
  :mod:`nnbook.kit.ownership`, which the student's self-check applies too), ``outcome``, ``relay``;
* ``report``  ``feedback``, ``export``, ``similarity``, ``leaks``;
* ``kernels`` kernels on Unix sockets; ``paths``, ``state``; ``cli`` (``python -m
  nnbook.course`` / ``nnbook-course``).
"""
