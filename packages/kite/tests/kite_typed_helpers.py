"""A kite of typed methods (`Kite.method`) covering the binding rules, shared by the tests."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable
from typing import Any, NewType, NotRequired, TypedDict

from kite import Config, Kite, Request


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0
    label: str = dataclasses.field(default="", metadata={"dnode": "name"})


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


UserId = NewType("UserId", int)


def typed_kite(**config: Any) -> Kite:
    k = Kite("typed", "1.0.0", Config(disable_authentication=True).replace(**config))

    @k.method()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @k.method("greet")
    async def greet(name: str, times: int = 1) -> list[str]:
        """Greet someone, `times` times."""
        return [f"hello, {name}"] * times

    @k.method()
    async def progress(steps: int, report: Callable[[int], Awaitable[object]]) -> str:
        """Count to `steps`, reporting each step to the caller."""
        for i in range(1, steps + 1):
            await report(i)
        return "done"

    @k.method()
    def move(p: Point, by: tuple[float, float] = (1.0, 0.0), *, color: Color = Color.RED) -> Any:
        return {"p": dataclasses.replace(p, x=p.x + by[0], y=p.y + by[1]), "color": color}

    @k.method()
    def scale(n: float, *, factor: float = 2, unit: Color = Color.RED) -> float:
        return n * factor

    @k.method()
    def whoami(request: Request, suffix: str = "") -> str:
        return request.client.kite.name + suffix

    @k.method()
    def total(*values: int) -> int:
        return sum(values)

    @k.method()
    def countdown(from_: int, cb: Callable[..., Any]) -> int:
        return from_

    @k.method()
    def anything(value: Any = None) -> Any:
        return value

    return k


__all__ = ["Color", "Level", "Movie", "Point", "UserId", "typed_kite"]
