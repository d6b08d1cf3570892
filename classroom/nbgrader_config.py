"""nbgrader configuration for a course directory made from classroom/ (copy it next to ``source/``).

The global settings (exchange, JupyterHub auth plugin, the autograde sandbox) live in
hub_config/nbgrader_config.py; this file only holds what belongs to the course content: Japanese stubs
in the student version.
"""

c = get_config()  # noqa: F821

c.ClearSolutions.code_stub = {"python": "# ここにコードを書こう\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ここに答えを書こう"
c.ClearSolutions.enforce_metadata = True
