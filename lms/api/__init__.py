"""JSON API under /api/v1 (bearer tokens for programs; the browser session for pages' scripts)."""
