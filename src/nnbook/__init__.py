"""nnbook: the library behind the course. Import submodules directly (nnbook.engine, nnbook.value_nn, ...)."""

__version__ = "0.1.0"
