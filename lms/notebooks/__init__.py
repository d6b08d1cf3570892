"""Notebook courses (JupyterHub + nbgrader): the LMS side — course flag, hub groups, grades, gradebook."""
