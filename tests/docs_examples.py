"""Code blocks of the READMEs and of `docs/`, read the way the tests run them.

Rules for writers (docs/contributing.md says the same):

* A fenced block says what it holds. ```` ```python ```` is a program: the tests run it (each
  block on its own, as `python -c`, in a scratch directory) and it must exit 0. Everything else
  is shown, never run: `sh`/`console` (shell commands), `text` (output, trees, tables), `json`,
  `js`, `html`, `go`, `toml`. A block without a language fails the tests.
* An HTML comment on the line just before the fence gives a python block what it needs:
  `<!-- example: kontrol -->` (a running Kontrol; `KITE_HOME` holds a kite.key for it, so
  `kite.Config.from_env()` finds it), `postgres` (`KONTROL_POSTGRES_DSN`, a PostgreSQL
  database; skipped where there is none), `gomath` (`GOMATH_URL`, the Go `math` kite;
  skipped without Go), `background` (started and left running, e.g. a server, while the next
  blocks of the page run; it must print a line once it is ready). Several are comma-separated.
* `<!-- output -->` before a `text` block: that is exactly what the python block before it
  prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN_ONLY = {"sh", "console", "text", "json", "js", "html", "go", "toml"}
NEEDS = {"kontrol", "postgres", "gomath", "background"}

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
_DIRECTIVE = re.compile(
    r"^\s*<!--\s*(?P<word>example|output)\s*(?::\s*(?P<args>[^>]*?))?\s*-->\s*$"
)


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    needs: set[str] = field(default_factory=set)
    expected_output: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def markdown_files() -> list[Path]:
    """Every README and docs page the tests check."""
    files = [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted((ROOT / "examples").rglob("README.md"))
    files += sorted(p for p in ROOT.glob("*/README.md") if not p.parent.name.startswith("."))
    return [f for f in dict.fromkeys(files) if f.is_file()]


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of one page, in order, with their directives applied.

    Raises:
        ValueError: an unlabelled or unknown fence, an unknown directive, a stray `output`.
    """
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, indent, lang = i, match["indent"], match["lang"]
        where = f"{path.relative_to(ROOT)}:{start + 1}"
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{where}: fence never closed")
        code = "\n".join(line.removeprefix(indent) for line in lines[start + 1 : end]) + "\n"
        block = Block(path, start + 1, lang, code)
        if not lang:
            raise ValueError(f"{where}: say what the block holds (```python, ```sh, ```text...)")
        if lang != "python" and lang not in SHOWN_ONLY:
            raise ValueError(f"{where}: unknown block language {lang!r}")
        directive = _DIRECTIVE.match(lines[start - 1]) if start > 0 else None
        if directive and directive["word"] == "example":
            if lang != "python":
                raise ValueError(f"{where}: `example:` applies to python blocks only")
            block.needs = {a.strip() for a in (directive["args"] or "").split(",") if a.strip()}
            if block.needs - NEEDS:
                raise ValueError(f"{where}: unknown needs {block.needs - NEEDS}")
        elif directive and directive["word"] == "output":
            previous = blocks[-1] if blocks else None
            if lang != "text" or previous is None or previous.lang != "python":
                raise ValueError(f"{where}: `output` must mark a text block after a python one")
            previous.expected_output = code
        blocks.append(block)
        i = end + 1
    return blocks
