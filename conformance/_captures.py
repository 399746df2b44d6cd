"""Typed loader for the recorded Go-kite traffic in ``conformance/captures/``.

How this works: every scenario ``NAME`` has three files (see ``captures/FORMAT.md``):
``NAME.meta.json`` (what was run), ``NAME.jsonl`` (decoded events, one JSON object a line) and
``NAME.raw.jsonl`` (the TCP chunks as they crossed the recording proxy). `load_scenario` turns the
first two into a frozen `Scenario` of frozen `Event` values; `load_raw` turns the third into
`RawChunk`/`RawMarker` values, and `Scenario.stream` joins the chunks of one connection direction
back into the exact bytes that crossed the wire. Loading is cached per scenario (``big-payload``
alone is 7 MB of JSON).

The iterators at the bottom are what other tests feed to our codecs: `server_frames` (every SockJS
frame a Go server wrote, with its raw text), `client_payloads` (every SockJS payload a client sent),
`dnode_messages` (every dnode message, both directions) and `http_exchanges` (request/response
pairs in connection order).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

__all__ = [
    "CAPTURES_DIR",
    "ClientPayload",
    "DnodeMessage",
    "Event",
    "HttpExchange",
    "RawChunk",
    "RawMarker",
    "Scenario",
    "ServerFrame",
    "SockJSInfo",
    "all_scenarios",
    "client_payloads",
    "dnode_messages",
    "http_exchanges",
    "load_raw",
    "load_scenario",
    "scenario_names",
    "server_frames",
]

#: The folder holding the recorded scenarios.
CAPTURES_DIR: Path = Path(__file__).resolve().parent / "captures"

Direction = Literal["c2s", "s2c"]
Transport = Literal["websocket", "xhr"]

_WS_KINDS = frozenset(
    {"ws-text", "ws-binary", "ws-continuation", "ws-close", "ws-ping", "ws-pong", "ws-message"}
)


@dataclass(frozen=True, slots=True)
class SockJSInfo:
    """The decoder's reading of a payload as SockJS.

    Attributes:
        frame: server frame type (``o``, ``h``, ``a``, ``c``); None for client payloads.
        messages: the SockJS messages (JSON strings) the frame or payload carries.
        dnode: those messages parsed as JSON (None for a message that is not JSON).
        close: ``(code, reason)`` of a ``c`` frame.
        error: why a client payload is not SockJS (e.g. ``not a sockjs client frame``).
    """

    frame: str | None = None
    messages: tuple[str, ...] | None = None
    dnode: tuple[Any, ...] | None = None
    close: tuple[int, str] | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> SockJSInfo:
        """Build from the ``sockjs`` object of a decoded event."""
        messages = obj.get("messages")
        dnode = obj.get("dnode")
        close = obj.get("close")
        return cls(
            frame=obj.get("frame"),
            messages=None if messages is None else tuple(messages),
            dnode=None if dnode is None else tuple(dnode),
            close=None if close is None else (int(close[0]), str(close[1])),
            error=obj.get("error"),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One decoded event of ``NAME.jsonl``; fields that do not apply to its kind are None.

    ``sockjs`` is None both when the decoder did not look at the payload and when it found no
    SockJS in it; ``sockjs_null`` is True only in the second case (e.g. the empty text frame a
    Go server writes before closing a WebSocket).
    """

    index: int
    kind: str
    t: float
    conn: int
    dir: Direction
    t_end: float | None = None
    # tcp-open
    link: str | None = None
    client: str | None = None
    listen: str | None = None
    upstream: str | None = None
    # http-request / http-response / http-body-chunk
    method: str | None = None
    target: str | None = None
    version: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    status: int | None = None
    reason: str | None = None  # HTTP reason phrase, or the WebSocket close reason
    request: str | None = None
    # WebSocket frames
    fin: bool | None = None
    rsv: int | None = None
    masked: bool | None = None
    mask: str | None = None
    payload_len: int | None = None
    data: str | None = None
    data_b64: str | None = None
    code: int | None = None
    opcode: str | None = None
    frames: int | None = None
    # SockJS reading of the payload
    sockjs: SockJSInfo | None = None
    sockjs_null: bool = False

    @classmethod
    def from_json(cls, index: int, obj: Mapping[str, Any]) -> Event:
        """Build from one line of ``NAME.jsonl``."""
        raw_sockjs = obj.get("sockjs")
        headers = obj.get("headers") or ()
        return cls(
            index=index,
            kind=obj["kind"],
            t=float(obj["t"]),
            conn=int(obj["conn"]),
            dir=cast(Direction, obj["dir"]),
            t_end=obj.get("t_end"),
            link=obj.get("link"),
            client=obj.get("client"),
            listen=obj.get("listen"),
            upstream=obj.get("upstream"),
            method=obj.get("method"),
            target=obj.get("target"),
            version=obj.get("version"),
            headers=tuple((str(name), str(value)) for name, value in headers),
            body=obj.get("body"),
            status=obj.get("status"),
            reason=obj.get("reason"),
            request=obj.get("request"),
            fin=obj.get("fin"),
            rsv=obj.get("rsv"),
            masked=obj.get("masked"),
            mask=obj.get("mask"),
            payload_len=obj.get("payload_len"),
            data=obj.get("data"),
            data_b64=obj.get("data_b64"),
            code=obj.get("code"),
            opcode=obj.get("opcode"),
            frames=obj.get("frames"),
            sockjs=None if raw_sockjs is None else SockJSInfo.from_json(raw_sockjs),
            sockjs_null="sockjs" in obj and raw_sockjs is None,
        )

    @property
    def is_ws(self) -> bool:
        """True for WebSocket frame events (and the reassembled ``ws-message``)."""
        return self.kind in _WS_KINDS

    @property
    def payload(self) -> bytes:
        """The frame's unmasked payload bytes (``data`` as UTF-8, or ``data_b64`` decoded)."""
        if self.data_b64 is not None:
            return base64.b64decode(self.data_b64)
        return (self.data or "").encode()

    def header(self, name: str) -> str | None:
        """The first value of an HTTP header, matched case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class RawChunk:
    """One TCP chunk of ``NAME.raw.jsonl``; its boundaries are accidental."""

    conn: int
    dir: Direction
    data: bytes
    t: float


@dataclass(frozen=True, slots=True)
class RawMarker:
    """A non-data line of ``NAME.raw.jsonl``: proxy ``start``/``stop``, conn ``open``/``close``."""

    event: str
    t: float
    conn: int | None = None
    dir: Direction | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """One recorded scenario: its metadata and its decoded events, in order."""

    name: str
    meta: Mapping[str, Any]
    events: tuple[Event, ...]

    @property
    def description(self) -> str:
        """What the scenario does."""
        return str(self.meta.get("description", ""))

    @property
    def steps(self) -> tuple[Mapping[str, Any], ...]:
        """The exact commands that produced the traffic."""
        return tuple(self.meta.get("steps", ()))

    @property
    def client_outputs(self) -> tuple[Mapping[str, Any], ...]:
        """What each client program printed, with its exit code."""
        return tuple(self.meta.get("client_outputs", ()))

    @property
    def notes(self) -> tuple[str, ...]:
        """Surprising behaviour the recorder wrote down."""
        return tuple(self.meta.get("notes", ()))

    @property
    def nondeterministic(self) -> tuple[str, ...]:
        """Which values change from run to run."""
        return tuple(self.meta.get("nondeterministic", ()))

    @property
    def connections(self) -> tuple[int, ...]:
        """The connection numbers, in order of appearance."""
        return tuple(dict.fromkeys(e.conn for e in self.events))

    def of_kind(self, *kinds: str) -> Iterator[Event]:
        """The events of the given kinds, in order."""
        return (e for e in self.events if e.kind in kinds)

    def raw(self) -> tuple[RawChunk | RawMarker, ...]:
        """The lines of ``NAME.raw.jsonl`` (cached)."""
        return load_raw(self.name)

    def stream(self, conn: int, direction: Direction) -> bytes:
        """Every byte one side of one connection sent, joined from the raw chunks."""
        return b"".join(
            r.data
            for r in self.raw()
            if isinstance(r, RawChunk) and r.conn == conn and r.dir == direction
        )

    def transport(self, event: Event) -> Transport | None:
        """``websocket`` or ``xhr`` for an event of a SockJS exchange, else None."""
        if event.is_ws:
            return "websocket"
        target = event.target if event.kind == "http-request" else event.request
        if target is not None and "/xhr" in target:
            return "xhr"
        return None


def scenario_names() -> list[str]:
    """Names of every recorded scenario, sorted."""
    return sorted(p.name.removesuffix(".meta.json") for p in CAPTURES_DIR.glob("*.meta.json"))


@functools.cache
def load_scenario(name: str) -> Scenario:
    """Load ``NAME.meta.json`` and ``NAME.jsonl`` (cached per name)."""
    meta = json.loads((CAPTURES_DIR / f"{name}.meta.json").read_text(encoding="utf-8"))
    with (CAPTURES_DIR / f"{name}.jsonl").open(encoding="utf-8") as fh:
        events = tuple(
            Event.from_json(i, json.loads(line)) for i, line in enumerate(fh) if line.strip()
        )
    return Scenario(name=name, meta=meta, events=events)


@functools.cache
def load_raw(name: str) -> tuple[RawChunk | RawMarker, ...]:
    """Load ``NAME.raw.jsonl`` (cached per name)."""
    out: list[RawChunk | RawMarker] = []
    with (CAPTURES_DIR / f"{name}.raw.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            if "b64" in obj:
                out.append(
                    RawChunk(
                        conn=int(obj["conn"]),
                        dir=obj["dir"],
                        data=base64.b64decode(obj["b64"]),
                        t=float(obj["t"]),
                    )
                )
            else:
                out.append(
                    RawMarker(
                        event=obj["event"],
                        t=float(obj["t"]),
                        conn=obj.get("conn"),
                        dir=obj.get("dir"),
                    )
                )
    return tuple(out)


def all_scenarios() -> Iterator[Scenario]:
    """Every scenario, loaded, in name order."""
    return (load_scenario(name) for name in scenario_names())


def _chosen(scenarios: Iterable[Scenario] | None) -> Iterable[Scenario]:
    return all_scenarios() if scenarios is None else scenarios


@dataclass(frozen=True, slots=True)
class ServerFrame:
    """A SockJS frame a Go server wrote: over WebSocket one text frame, over XHR one poll body."""

    scenario: str
    event: Event
    transport: Transport
    text: str  # exactly as sent (an XHR body keeps its trailing newline)
    frame: str  # "o", "h", "a" or "c"
    messages: tuple[str, ...]
    close: tuple[int, str] | None


def server_frames(scenarios: Iterable[Scenario] | None = None) -> Iterator[ServerFrame]:
    """Every server-side SockJS frame with its raw text (XHR ``xhr_send`` answers excluded)."""
    for sc in _chosen(scenarios):
        for ev in sc.events:
            if ev.dir != "s2c" or ev.sockjs is None or ev.sockjs.frame is None:
                continue
            transport = sc.transport(ev)
            if transport is None:
                continue
            text = ev.data if transport == "websocket" else ev.body
            yield ServerFrame(
                scenario=sc.name,
                event=ev,
                transport=transport,
                text=text or "",
                frame=ev.sockjs.frame,
                messages=ev.sockjs.messages or (),
                close=ev.sockjs.close,
            )


@dataclass(frozen=True, slots=True)
class ClientPayload:
    """A payload a client sent on a SockJS session: a WebSocket message or an ``xhr_send`` body.

    ``messages`` is None when the payload is not a valid SockJS client frame; ``error`` then
    says why (as the decoder put it).
    """

    scenario: str
    event: Event
    transport: Transport
    text: str
    messages: tuple[str, ...] | None
    error: str | None


def client_payloads(scenarios: Iterable[Scenario] | None = None) -> Iterator[ClientPayload]:
    """Every complete client payload the decoder read as SockJS (or tried to)."""
    for sc in _chosen(scenarios):
        for ev in sc.events:
            if ev.dir != "c2s" or ev.sockjs is None:
                continue
            transport = sc.transport(ev)
            if transport is None:
                continue
            text = ev.data if transport == "websocket" else ev.body
            yield ClientPayload(
                scenario=sc.name,
                event=ev,
                transport=transport,
                text=text or "",
                messages=ev.sockjs.messages,
                error=ev.sockjs.error,
            )


@dataclass(frozen=True, slots=True)
class DnodeMessage:
    """One dnode message (one SockJS message) in either direction."""

    scenario: str
    event: Event
    dir: Direction
    text: str  # the SockJS message: the dnode JSON text
    value: Any  # the text parsed as JSON (None when it is not JSON)


def dnode_messages(scenarios: Iterable[Scenario] | None = None) -> Iterator[DnodeMessage]:
    """Every SockJS message of every session, with its JSON reading, in capture order."""
    for sc in _chosen(scenarios):
        for ev in sc.events:
            info = ev.sockjs
            if info is None or not info.messages:
                continue
            values = info.dnode if info.dnode is not None else (None,) * len(info.messages)
            for text, value in zip(info.messages, values, strict=True):
                yield DnodeMessage(scenario=sc.name, event=ev, dir=ev.dir, text=text, value=value)


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """An HTTP request and the response that answered it (None if the connection closed first)."""

    scenario: str
    request: Event
    response: Event | None

    @property
    def request_line(self) -> str:
        """``METHOD target``, the form the response's ``request`` field uses."""
        return f"{self.request.method} {self.request.target}"


def http_exchanges(scenarios: Iterable[Scenario] | None = None) -> Iterator[HttpExchange]:
    """Every HTTP request with its response, paired in order per connection."""
    for sc in _chosen(scenarios):
        pending: dict[int, list[Event]] = {}
        done: list[HttpExchange] = []
        for ev in sc.events:
            if ev.kind == "http-request":
                pending.setdefault(ev.conn, []).append(ev)
            elif ev.kind == "http-response":
                queue = pending.get(ev.conn)
                if queue:
                    done.append(HttpExchange(scenario=sc.name, request=queue.pop(0), response=ev))
        for queue in pending.values():
            done.extend(HttpExchange(scenario=sc.name, request=r, response=None) for r in queue)
        done.sort(key=lambda x: x.request.index)
        yield from done
