"""Report: feedback, the CSV export, the report and the leak scanner."""
