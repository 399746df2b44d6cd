"""The kite README's "Writing a kite" example runs as written (typed methods, a callback,
an argument error, `remote.methods()`, over a real 127.0.0.1 socket)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, f"no python block under {title!r}"
    return "\n".join(blocks)


def test_writing_a_kite_example_runs() -> None:
    code = _section_code("Writing a kite")
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    assert "main" in namespace
