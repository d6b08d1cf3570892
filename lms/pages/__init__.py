"""Server-rendered Japanese pages (Jinja2): sign-in, home per role, class roster, admin tools."""
