"""nnbook: the library behind the course. Import submodules directly (nnbook.engine, nnbook.nn, ...)."""

__version__ = "0.1.0"
