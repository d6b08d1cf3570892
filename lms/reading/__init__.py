"""Reading tests, in the order a test lives: authoring, attempts, answers (the hot path), results.

Practice and calibration are subpackages; the pages students touch are in runner/.
"""
