"""A kite registered to Kontrol through a proxy kite (Go's `RegisterToProxy`).

How this works (docs/protocol.md §10.1): `register_to_proxy(kontrol, url, query)` loops forever.
Each round picks a proxy -- `Config.proxy_url` (`KITE_PROXY_URL`, dialled with the kite key) or
a random one of the kites Kontrol returns for `query` (dialled with their tokens) -- calls its
`register` method with the kite's own URL (`""` when none, as a tunnel proxy needs none),
registers the URL the proxy answers to Kontrol (kept registered across Kontrol reconnections,
`KontrolClient.register_forever`), and then waits until the proxy connection ends, to start
over. A round that fails (Kontrol has no proxy, the dial or `register` fails) is logged and
retried after `retry` seconds (Go's 10 s).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from .._errors import KiteError
from .._http import TransportError
from .._rpc._peer import Peer
from ..protocol import Auth, KontrolQuery
from ._registration import KontrolError, kite_key_of

if TYPE_CHECKING:
    from ._client import KontrolClient

__all__ = ["PROXY_RETRY", "ProxyRegistrationError", "register_to_proxy"]

log = logging.getLogger("kite.kontrol")

#: Go's `proxyRetryDuration`: pause after a failed round.
PROXY_RETRY = 10.0


class ProxyRegistrationError(KontrolError):
    """The proxy's `register` answer is not a URL string."""


def default_proxy_query(kontrol: KontrolClient, name: str = "proxy") -> KontrolQuery:
    """The query finding proxies: Kontrol's user, the kite's environment, kite `name`."""
    config = kontrol.kite.config
    return KontrolQuery(
        username=config.kontrol_user or config.username,
        environment=config.environment,
        name=name,
    )


@asynccontextmanager
async def _open_proxy(kontrol: KontrolClient, query: KontrolQuery) -> AsyncIterator[Peer]:
    """A connection to one proxy kite: `KITE_PROXY_URL` with the kite key, else a random
    match of `query` from Kontrol with its token."""
    proxy_url = kontrol.kite.config.proxy_url
    if proxy_url:
        async with kontrol.dial(proxy_url) as peer:
            peer.auth = Auth("kiteKey", kite_key_of(kontrol.kite))
            yield peer
        return
    found = random.choice(await kontrol.get_kites(query))
    async with found:
        assert found.peer is not None
        yield found.peer


async def register_to_proxy(
    kontrol: KontrolClient,
    url: str | None = None,
    query: KontrolQuery | None = None,
    *,
    retry: float = PROXY_RETRY,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Stay registered to Kontrol under a proxy's public URL; never returns.

    `task_status.started` gets the first proxy URL registered to Kontrol.
    """
    query = query if query is not None else default_proxy_query(kontrol)
    started = False
    while True:
        try:
            async with _open_proxy(kontrol, query) as peer:
                answer = await peer.call("register", [url or ""], timeout=kontrol.timeout)
                if not isinstance(answer, str) or not answer:
                    raise ProxyRegistrationError(f"proxy register answered {answer!r}")
                log.info("Registered to proxy: reachable at %s", answer)
                await kontrol.register_forever(answer)
                if not started:
                    started = True
                    task_status.started(answer)
                await peer.wait_closed()
            log.warning("Disconnected from the proxy; finding one again")
            continue
        except (KiteError, TransportError, OSError) as exc:
            log.error("Cannot register to a proxy: %s (retrying in %g s)", exc, retry)
        await trio.sleep(retry)
