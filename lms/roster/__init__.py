"""School roster: orgs, sessions, classes, users, enrollments; OneRoster import and the yearly roll-over."""
