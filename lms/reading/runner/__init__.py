"""What students touch: the test runner page, the results page and the student's list of tests."""
