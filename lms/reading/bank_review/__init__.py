"""A second person's review of draft items in the LMS (issue 17): the reviewer's checklist page, the stored
decisions, and `giga items apply-reviews`, which writes approved decisions into the bank's YAML files (the
bank in git stays the source of truth; delivery reads only the files)."""
