"""The typed-methods example of the kite reference (docs/reference/kite.md) runs as written
(typed methods, a callback, an argument error, `remote.methods()`, over a real 127.0.0.1
socket). tests/test_docs.py runs it too, with every other docs example, as a program."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "docs" / "reference" / "kite.md"


def _section_code(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, f"no python block under {title!r}"
    return "\n".join(blocks)


def test_writing_a_kite_example_runs() -> None:
    code = _section_code("Typed methods (`Kite.method`)")
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    assert "main" in namespace
