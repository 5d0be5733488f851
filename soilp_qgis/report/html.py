"""A small writer for the report's self-contained HTML page: sections, tables, figures, notes.
Everything given as text is escaped; ``Html`` marks a fragment that is already HTML."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STYLE = """
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1180px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
h3 { margin-top: 1.4em; }
.meta { color: #666; font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.missing { color: #8a6d3b; background: #fcf8e3; padding: 4px 8px; border-left: 3px solid #e0c36c; }
.warning { color: #a94442; background: #f2dede; padding: 4px 8px; border-left: 3px solid #d9534f; }
.check { color: #3c763d; }
.side { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.side > figure { flex: 1 1 520px; }
.legends { flex: 0 1 440px; } .legends img { max-width: 440px; }
.legends.wide { flex: 1 1 100%; display: flex; flex-wrap: wrap; gap: 0 1em; }
.legends.wide > * { flex: 1 1 45%; margin: 0; }
code, .path { font-family: Consolas, monospace; font-size: 0.9em; word-break: break-all; }
details { margin: 0.5em 0 1em; } summary { cursor: pointer; color: #2c5d8a; }
"""


class Html(str):
    """A fragment of HTML, inserted as it is."""


class Missing(Html):
    """The one line of a section (or part of one) whose files are not in the folder."""


def text(value: object) -> Html:
    """``value`` as escaped HTML text (Html passes through)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value)))


def tag(name: str, content: object = "", **attributes: object) -> Html:
    """``<name attr="…">content</name>``; ``class_`` gives ``class``."""
    attrs = "".join(f' {key.rstrip("_").replace("_", "-")}="{html.escape(str(value))}"'
                    for key, value in attributes.items() if value is not None)
    return Html(f"<{name}{attrs}>{text(content)}</{name}>")


def join(parts: Iterable[object]) -> Html:
    return Html("\n".join(text(part) for part in parts))


def paragraph(content: object, class_: str | None = None) -> Html:
    return tag("p", content, class_=class_)


def missing(what: str) -> Missing:
    """The one line a section shows when its files are not in the folder."""
    return Missing(paragraph(what, class_="missing"))


def warning(what: str) -> Html:
    return paragraph(what, class_="warning")


def table(headers: Sequence[object], rows: Sequence[Sequence[object]],
          numeric: Sequence[bool] = (), caption: str | None = None,
          id_: str | None = None) -> Html:
    """A table; a column whose ``numeric`` flag is set is right-aligned. Cells may be Html."""
    head = tag("tr", join(tag("th", h) for h in headers))
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            is_numeric = i < len(numeric) and numeric[i]
            cells.append(tag("td", value, class_="num" if is_numeric else None))
        body.append(tag("tr", join(cells)))
    parts = ([tag("caption", caption)] if caption else []) + [tag("thead", head),
                                                              tag("tbody", join(body))]
    return tag("table", join(parts), id=id_)


def details(summary: str, content: object) -> Html:
    return tag("details", join([tag("summary", summary), content]))


@dataclass
class Document:
    """The page: a title, a line under it, and sections (anchor, heading, content)."""

    title: str
    subtitle: str = ""
    sections: list[tuple[str, str, Html]] = field(default_factory=list)

    def add(self, anchor: str, heading: str, content: object) -> None:
        self.sections.append((anchor, heading, text(content)))

    def render(self) -> str:
        contents = tag("ol", join(tag("li", tag("a", heading, href=f"#{anchor}"))
                                  for anchor, heading, _ in self.sections))
        body = [tag("h1", self.title), paragraph(self.subtitle, class_="meta"),
                tag("nav", join([tag("h2", "Contents"), contents]))]
        for anchor, heading, content in self.sections:
            body.append(tag("section", join([tag("h2", heading), content]), id=anchor))
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                f"<title>{html.escape(self.title)}</title>\n<style>{STYLE}</style>\n</head>\n"
                f"<body>\n{join(body)}\n</body>\n</html>\n")

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(self.render(), encoding="utf-8")
        os.replace(tmp, path)
        return path


def figure(source: str, caption: object, alt: str = "") -> Html:
    """An image (``source`` relative to the page) with its caption."""
    return tag("figure", join([Html(f'<img src="{html.escape(source)}" '
                                    f'alt="{html.escape(alt or str(caption))}">'),
                               tag("figcaption", caption)]))
