"""The LMS as a minimal OAuth2 provider (authorization code + PKCE S256) for first-party
clients (JupyterHub)."""
