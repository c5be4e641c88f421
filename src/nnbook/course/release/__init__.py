"""Release: assignments generated from the chapters, the student kit and branch."""
