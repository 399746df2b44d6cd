"""The repository documents its wire protocol in `docs/protocol.md`, and every reference to a
section of it (`§4.6`, `docs/protocol.md §2.1`) in code, tests and READMEs names a heading
that exists there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "protocol.md"
SKIP_DIRS = {".venv", ".tools", "node_modules", ".git", "bin", "results", "__pycache__"}
SUFFIXES = {".py", ".go", ".md", ".toml", ".sh"}
HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)
REFERENCE = re.compile(r"§(\d+(?:\.\d+)*)")
#: A section of another document: `RFC 6455 §5.2`, `draft-ietf-hybi-... §1.3`.
OTHER_DOCUMENT = re.compile(r"(?:RFC ?\d+|draft-[\w.-]+) $")


def references(text: str) -> list[re.Match[str]]:
    """The section references to docs/protocol.md in `text`."""
    return [
        m
        for m in REFERENCE.finditer(text)
        if not OTHER_DOCUMENT.search(text[max(0, m.start() - 40) : m.start()])
    ]


def sections() -> set[str]:
    return set(HEADING.findall(DOC.read_text()))


def source_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if path.suffix in SUFFIXES and path.is_file() and not parts & SKIP_DIRS:
            found.append(path)
    return sorted(found)


def test_the_doc_has_numbered_sections() -> None:
    assert {"1", "2.6", "4.1", "4.6", "5.5", "6.5", "8", "9"} <= sections()


def test_every_section_reference_resolves() -> None:
    known = sections()
    dangling = [
        f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}: §{m.group(1)}"
        for path in source_files()
        for text in [path.read_text(errors="replace")]
        for m in references(text)
        if m.group(1) not in known
    ]
    assert dangling == []


def test_nothing_points_at_a_protocol_file_outside_the_repository() -> None:
    name = "PROTOCOL" + ".md"  # spelled apart, so this file does not name it
    assert [p for p in source_files() if name in p.read_text(errors="replace")] == []


def test_the_checker_finds_a_dangling_reference() -> None:
    text = "see \u00a74.6 and \u00a799.1, not RFC 6455 \u00a799.2"
    assert [m.group(1) for m in references(text) if m.group(1) not in sections()] == ["99.1"]
