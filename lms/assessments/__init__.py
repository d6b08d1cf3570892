"""Reading tests in the classroom: assessments, assignments, attempts, responses, estimates, xAPI outbox."""
