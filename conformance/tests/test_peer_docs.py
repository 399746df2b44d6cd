"""Every flag of every Go peer is documented in conformance/README.md (its flag tables), so a
scenario recorded with any of them can be understood and replayed by anyone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[1]
PEERS = sorted(p.parent.name for p in (CONFORMANCE / "go" / "cmd").glob("*/main.go"))
_FLAG = re.compile(r'flag\.(?:String|Int|Int64|Bool|Duration|Float64|Uint|Uint64)\("([^"]+)"')


def _section(readme: str, peer: str) -> str:
    start = readme.index(f"**{peer}**")
    end = readme.find("\n**", start + 1)
    return readme[start : end if end != -1 else len(readme)]


@pytest.mark.parametrize("peer", PEERS)
def test_every_flag_is_documented(peer: str) -> None:
    source = (CONFORMANCE / "go" / "cmd" / peer / "main.go").read_text()
    flags = _FLAG.findall(source)
    assert flags or "flag." not in source, f"{peer}: flags this test cannot read"
    section = _section((CONFORMANCE / "README.md").read_text(), peer)
    missing = [f for f in flags if not re.search(rf"`-{re.escape(f)}\b", section)]
    assert not missing, f"{peer}: flags not in conformance/README.md: {missing}"
