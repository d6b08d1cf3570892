"""The teacher side of reading tests: assigning, the live view, the class report and its exports."""
