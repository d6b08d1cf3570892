"""Individually optimised practice: recommendations per student, teacher overrides, practice assignments."""
