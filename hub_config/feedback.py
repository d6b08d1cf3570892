"""What students see in released feedback: their work and scores, never the hidden tests; hints in Japanese.

Stock ``nbgrader generate_feedback`` renders the *autograded* notebook, in which every test cell was
overwritten with the teacher's version — hidden tests included — and whose error outputs quote the failing
hidden line. Hidden tests exist so that an answer cannot be hard-coded or copied; shown in feedback, they
are the answer key for the next class (and the next year). Here, before the HTML is made:

- in every test cell with hidden tests, each ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region
  becomes one comment line, and the cell's outputs become one sentence (passed cells: none; failed: 「このテ
  ストは合格していません」) — the traceback would show the hidden line and its values;
- every remaining error output whose message is a 全角 mistake gets the Japanese hint of
  :mod:`hub_config.zenkaku` as an extra output.

Scores are untouched: they come from the gradebook, not from these cells.
"""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import Bool, Unicode

from hub_config.zenkaku import hint

HIDDEN_PLACEHOLDER = "# （ここに先生だけが見られるテストがあります）"
FAILED_HIDDEN = (
    "このテストは合格していません。問題文をもう一度読んで、ちがう数でも正しく動くか確かめましょう。"
)


class HideHiddenTests(Preprocessor):  # type: ignore[misc]
    enabled = Bool(True).tag(config=True)  # nbconvert runs a preprocessor only when enabled
    begin = Unicode("### BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("### END HIDDEN TESTS").tag(config=True)

    def _strip(self, source: str) -> tuple[str, bool]:
        lines, kept, hiding, found = source.splitlines(), [], False, False
        for line in lines:
            if line.strip() == self.begin:
                hiding, found = True, True
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + HIDDEN_PLACEHOLDER)
            elif line.strip() == self.end:
                hiding = False
            elif not hiding:
                kept.append(line)
        return "\n".join(kept), found

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type != "code" or self.begin not in cell.source:
            return cell, resources
        cell.source, _ = self._strip(cell.source)
        failed = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
        cell.outputs = [new_output("stream", name="stderr", text=FAILED_HIDDEN + "\n")] if failed else []
        return cell, resources


class ZenkakuHints(Preprocessor):  # type: ignore[misc]
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type != "code":
            return cell, resources
        hints = [
            text
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
            and (text := hint(f"{output.get('ename', '')}: {output.get('evalue', '')}"))
        ]
        cell.outputs = [*cell.outputs, *(new_output("stream", name="stdout", text=h + "\n") for h in hints)]
        return cell, resources


def feedback_preprocessors(stock: list[Any]) -> list[Any]:
    """nbgrader's feedback pipeline with the two steps above before the HTML export."""
    return [*stock, HideHiddenTests, ZenkakuHints]
