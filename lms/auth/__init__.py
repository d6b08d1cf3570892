"""Sign-in, sessions, CSRF, second factor, API tokens and OpenID Connect for the LMS."""
