"""A Markdown document as sections of blocks, read with markdown-it-py (CommonMark + tables).

This layer knows Markdown, not the guide: it yields sections (title, anchor, level, line),
and inside each section its list items, tables and fenced code blocks, each with the 1-based
line it starts on. :mod:`runbook_lib.guide.model` turns these into the typed guide model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from runbook_lib.guide.reading import Traced


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    level: int
    line: int
    path: tuple[str, ...]  # titles from the top-level section down to this one


@dataclass(frozen=True)
class Item:
    """One list item: ``**Label**: text`` gives label and text; plain items have no label."""

    label: str | None
    text: str
    line: int
    ordinal: int | None  # 1, 2, ... in an ordered list
    depth: int  # 0 for a top-level list
    links: tuple[str, ...] = ()  # href of every link in the item's text


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_lines: tuple[int, ...]
    line: int


@dataclass(frozen=True)
class Command(Traced):
    """One command (continuation lines joined) or SQL statement of a code block."""

    text: str
    comment: str | None  # the comment line right above it, if any
    line: int


@dataclass(frozen=True)
class CodeBlock:
    section: str
    language: str
    text: str
    line: int  # line of the first line of code (after the ``` fence)
    caption: str | None  # label of the list item the block sits in ("Database Recovery")

    def commands(self) -> tuple[Command, ...]:
        """Commands (shell) or statements (SQL), each with the comment above it."""
        if self.language == "sql":
            return _sql_statements(self.text, self.line)
        if self.language in ("bash", "sh", "shell", "console"):
            return _shell_commands(self.text, self.line)
        return ()

    def comments(self) -> tuple[tuple[str, int], ...]:
        marker = "--" if self.language == "sql" else "#"
        return tuple(
            (raw.strip()[len(marker) :].strip(), self.line + offset)
            for offset, raw in enumerate(self.text.splitlines())
            if raw.strip().startswith(marker)
        )


@dataclass(frozen=True)
class DocumentItem:
    """One thing the guide states, on its line: a list item, a table row, a line of code
    (a command or statement), or a paragraph. Per-item coverage counts these."""

    line: int
    section: Section
    kind: str  # "list item", "table row", "code", "paragraph"
    text: str


@dataclass
class _SectionContent:
    section: Section
    items: list[Item] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    code_blocks: list[CodeBlock] = field(default_factory=list)
    paragraphs: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    sections: tuple[Section, ...]
    _content: dict[str, _SectionContent]

    def find(self, *path: str) -> Section | None:
        """The section titled ``path[-1]`` whose ancestors include ``path[:-1]`` (in order)."""
        for section in self.sections:
            if section.title == path[-1] and _is_subsequence(path[:-1], section.path[:-1]):
                return section
        return None

    def items(self, section: Section) -> tuple[Item, ...]:
        return tuple(self._content[section.anchor].items)

    def tables(self, section: Section) -> tuple[Table, ...]:
        return tuple(self._content[section.anchor].tables)

    def code_blocks(self, section: Section) -> tuple[CodeBlock, ...]:
        return tuple(self._content[section.anchor].code_blocks)

    def all_code_blocks(self) -> tuple[CodeBlock, ...]:
        return tuple(block for c in self._content.values() for block in c.code_blocks)

    def every_item(self) -> tuple[DocumentItem, ...]:
        """Every list item, table row, line of code and paragraph, in the guide's order."""
        found: dict[int, DocumentItem] = {}
        for content in self._content.values():
            section = content.section
            for item in content.items:
                if item.text:  # a label alone ("1. **Database Recovery**") captions a block
                    found.setdefault(
                        item.line, DocumentItem(item.line, section, "list item", item.text)
                    )
            for table in content.tables:
                for row, line in zip(table.rows, table.row_lines, strict=True):
                    found.setdefault(
                        line, DocumentItem(line, section, "table row", " | ".join(row))
                    )
            for block in content.code_blocks:
                continued = False  # a line after "\" (shell) or before ";" (SQL) continues
                for offset, raw in enumerate(block.text.splitlines()):
                    code = raw.strip()
                    if code.startswith(("#", "--")):
                        continue
                    if code and not continued:
                        line = block.line + offset
                        found.setdefault(line, DocumentItem(line, section, "code", code))
                    continued = code.endswith("\\") or (
                        block.language == "sql" and bool(code) and not code.endswith(";")
                    )
            for text, line in content.paragraphs:
                found.setdefault(line, DocumentItem(line, section, "paragraph", text))
        return tuple(found[line] for line in sorted(found) if found[line].section.anchor)


def slugify(title: str) -> str:
    """GitHub's heading anchor: "Backup & Recovery" -> "backup--recovery"."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def parse_document(text: str) -> Document:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    sections: list[Section] = []
    content: dict[str, _SectionContent] = {}
    current = _SectionContent(Section("(preamble)", "", 0, 1, ()))
    content[""] = current
    stack: list[Section] = []
    list_stack: list[list[int]] = []  # per open list: [next ordinal or 0 for bullets]
    caption_stack: list[str | None] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            title = _plain(tokens[index + 1])
            level = int(token.tag[1:])
            while stack and stack[-1].level >= level:
                stack.pop()
            anchor = _unique_anchor(slugify(title), content)
            path = (*(s.title for s in stack), title)
            section = Section(title, anchor, level, _line(token), path)
            stack.append(section)
            sections.append(section)
            current = _SectionContent(section)
            content[anchor] = current
            index += 3
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            start = int(str(token.attrGet("start") or 1))
            list_stack.append([start if token.type == "ordered_list_open" else 0])
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
        elif token.type == "list_item_open":
            ordinal = list_stack[-1][0] or None
            if ordinal:
                list_stack[-1][0] += 1
            inline = _first_inline(tokens, index)
            label, body = _label_and_text(inline) if inline else (None, "")
            children = (inline.children or []) if inline else []
            links = tuple(str(c.attrGet("href")) for c in children if c.type == "link_open")
            current.items.append(
                Item(label, body, _line(token), ordinal, len(list_stack) - 1, links)
            )
            caption_stack.append(label)
        elif token.type == "list_item_close":
            caption_stack.pop()
        elif token.type == "fence":
            caption = next((c for c in reversed(caption_stack) if c), None)
            language = (token.info or "").strip().split(" ")[0].lower()
            block = CodeBlock(
                current.section.title, language, token.content, _line(token) + 1, caption
            )
            current.code_blocks.append(block)
        elif token.type == "table_open":
            table, index = _read_table(tokens, index)
            current.tables.append(table)
            continue
        elif token.type == "paragraph_open" and not list_stack:
            current.paragraphs.append((_plain(tokens[index + 1]), _line(token)))
        index += 1
    return Document(tuple(sections), content)


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def _unique_anchor(anchor: str, taken: dict[str, _SectionContent]) -> str:
    candidate, n = anchor, 0
    while candidate in taken:
        n += 1
        candidate = f"{anchor}-{n}"
    return candidate


def _is_subsequence(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    remaining = iter(haystack)
    return all(any(title == h for h in remaining) for title in needle)


def _first_inline(tokens: list[Token], index: int) -> Token | None:
    """The inline token of the list item's own first paragraph (not of a nested list)."""
    depth = 0
    for token in tokens[index + 1 :]:
        if token.type == "list_item_close" and depth == 0:
            return None
        if token.type in ("bullet_list_open", "ordered_list_open"):
            return None
        if token.type == "inline":
            return token
        depth += token.nesting if token.type != "list_item_open" else 0
    return None


def _plain(inline: Token) -> str:
    return "".join(_child_texts(inline.children or [])).strip()


def _child_texts(children: list[Token]) -> Iterator[str]:
    for child in children:
        if child.type in ("text", "code_inline"):
            yield child.content
        elif child.type in ("softbreak", "hardbreak"):
            yield " "


def _label_and_text(inline: Token) -> tuple[str | None, str]:
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content)]
    if len(children) >= 3 and children[0].type == "strong_open":
        closing = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
        if closing is not None:
            label = "".join(_child_texts(children[1:closing])).strip()
            rest = "".join(_child_texts(children[closing + 1 :])).strip()
            return label, rest.removeprefix(":").strip()
    return None, _plain(inline)


def _read_table(tokens: list[Token], index: int) -> tuple[Table, int]:
    line = _line(tokens[index])
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    cells: list[str] = []
    row_line = line
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "tr_open":
            cells, row_line = [], _line(token)
        elif token.type == "inline":
            cells.append(_plain(token))
        elif token.type == "tr_close":
            rows.append(tuple(cells))
            lines.append(row_line)
        index += 1
    header = rows[0] if rows else ()
    return Table(header, tuple(rows[1:]), tuple(lines[1:]), line), index + 1


def _shell_commands(text: str, first_line: int) -> tuple[Command, ...]:
    commands: list[Command] = []
    comment: str | None = None
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            comment = stripped.lstrip("#").strip() or comment if stripped else None
            continue
        if not pending:
            start = first_line + offset
        pending.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            commands.append(Command(" ".join(pending), comment, start))
            pending, comment = [], None
    if pending:
        commands.append(Command(" ".join(pending), comment, start))
    return tuple(commands)


def _sql_statements(text: str, first_line: int) -> tuple[Command, ...]:
    statements: list[Command] = []
    comment: str | None = None
    pending: list[str] = []
    start = first_line
    for offset, raw in enumerate(text.splitlines()):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("--")):
            comment = stripped.removeprefix("--").strip() or comment if stripped else comment
            continue
        if not pending:
            start = first_line + offset
        pending.append(raw.rstrip())
        if stripped.endswith(";"):
            statements.append(Command("\n".join(pending), comment, start))
            pending = []
    if pending:
        statements.append(Command("\n".join(pending), comment, start))
    return tuple(statements)
