"""What the `kite` command's arguments name: a kite (URL or Kontrol query) and call arguments.

* A TARGET containing `://` is a kite URL (`http://127.0.0.1:6000/kite`); anything else is a
  Kontrol query, `field=value` pairs separated by commas (`name=math,version=1.0.0`) over
  the query fields `username`, `environment`, `name`, `version`, `region`, `hostname`, `id`.
* A call ARG is JSON when it parses as JSON (`4`, `"4"`, `[1,2]`, `{"a":1}`, `true`),
  otherwise the string itself (`hello`); `@callback` is a function (see `_commands`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..protocol import STRING_ORDER, KontrolQuery
from ._errors import CLIError

__all__ = ["CALLBACK_ARG", "Target", "parse_arg", "parse_query", "parse_target"]

#: The call argument that stands for a function whose calls are printed.
CALLBACK_ARG = "@callback"


@dataclass(frozen=True, slots=True)
class Target:
    """A kite to call: by `url`, or the first kite Kontrol finds for `query`."""

    url: str = ""
    query: KontrolQuery | None = None


def parse_query(text: str) -> KontrolQuery:
    """`name=math,version=1.0.0` as a query.

    Raises:
        CLIError: an unknown field, a pair without `=`, or no field at all.
    """
    fields: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in STRING_ORDER:
            raise CLIError(
                f"bad query {text!r}: expected field=value pairs over {', '.join(STRING_ORDER)}"
            )
        fields[key] = value.strip()
    if not any(fields.values()):
        raise CLIError(f"bad query {text!r}: no field has a value")
    return KontrolQuery(**fields)


def parse_target(text: str) -> Target:
    """A kite URL or a Kontrol query (see module doc)."""
    if "://" in text:
        return Target(url=text)
    return Target(query=parse_query(text))


def parse_arg(text: str) -> Any:
    """A call argument: JSON when it parses, else the string (see module doc)."""
    try:
        return json.loads(text)
    except ValueError:
        return text
