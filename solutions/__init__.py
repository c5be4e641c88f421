"""Reference solutions for the hidden tests. Instructor-only: never released, never on the
student site. Each module defines ``CASES = {name: (reference_fn, make_inputs)}``; see
``nnbook.course.grade.reference.reference_cases``."""
