"""An allow-list HTML sanitiser for nbgrader feedback (standard library only).

Keeps a few text-structure tags; drops every attribute except ``href`` (http/https/relative only) on links,
and drops the content of script, style and similar elements entirely.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "blockquote",
        "a",
        "span",
        "div",
    }
)
VOID_TAGS = frozenset({"br"})
DROP_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "svg", "math", "template", "head", "title", "noscript"}
)
MAX_LENGTH = 200_000


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        extra = ""
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://", "/", "#")) and not href.startswith("//"):
                extra = f' href="{escape(href, quote=True)}" rel="noopener noreferrer"'
        self.out.append(f"<{tag}{extra}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:  # close what was left open inside, so the markup stays balanced
            last = self.open.pop()
            self.out.append(f"</{last}>")
            if last == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))


def sanitise_html(value: str) -> str:
    """``value`` reduced to allowed, balanced tags with escaped text."""
    parser = _Sanitiser()
    parser.feed(value[:MAX_LENGTH])
    parser.close()
    parser.out.extend(f"</{tag}>" for tag in reversed(parser.open))
    return "".join(parser.out).strip()
