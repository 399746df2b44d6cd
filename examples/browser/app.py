"""Kites in the browser: a kite that serves its own web page, which calls it with kite.js.

    .venv/bin/python examples/browser/app.py          # then open the URL it prints

One trio program runs the three parts of the pattern (docs/how-to/browsers.md explains it):

* **Kontrol** (SQLite in memory), which trusts this program's backend to ask for credentials on
  behalf of the users it signed in (`registerMachine` with a secret only the two share);
* the **kite** `browser-demo` (`whoami`, `countdown(n, onTick)`), registered with Kontrol;
* the **page's backend**, as HTTP routes of that same kite: `/` the page, `/kite.js` the stock
  kite.js browser bundle from npm, `/login?user=NAME` a stand-in for your real sign-in (it sets
  a session cookie), and `/token`: a short-lived token for the signed-in user, which the backend
  gets from Kontrol (a kite key for the user once, then `getToken` for this kite with it).

The page sends the token as kite.js `token` authentication, so the kite's handlers see the
user's name in `request.username`, and asks `/token` for a fresh one whenever kite.js says the
token is about to expire. Browsers on other origins are refused (`sockjs_allowed_origins`).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import trio

import kite
from kontrol import Kontrol, KontrolOptions, open_storage

HERE = Path(__file__).resolve().parent
#: The stock kite.js browser bundle, as `npm ci` in conformance/node installs it.
KITE_JS = HERE.parents[1] / "conformance/node/node_modules/kite.js/dist/bundle.js"
#: The credentials type the backend presents to Kontrol's `registerMachine`.
BACKEND_AUTH = "browserBackend"
SESSION_COOKIE = "demo_session"

log = logging.getLogger("browser-demo")


def make_demo_kite(config: kite.Config) -> kite.Kite:
    """The kite the page calls: `whoami()` and `countdown(n, onTick)`."""
    demo = kite.Kite("browser-demo", "1.0.0", config)

    @demo.handle("whoami")
    def whoami(request: kite.Request) -> str:
        return request.username  # the user the token was issued for

    @demo.handle("countdown")
    async def countdown(request: kite.Request) -> str:
        start, on_tick = request.args.slice(2)
        tick = on_tick.function()
        for n in range(start.int(), 0, -1):
            await tick(n)
            await trio.sleep(0.05)
        return "liftoff"

    return demo


def trust_backend(secret: str) -> Callable[[str, kite.Request], None]:
    """Kontrol's `registerMachine` check: only the page's backend, which knows `secret`, may
    get kite keys for the users it signed in."""

    def check(auth_type: str, request: kite.Request) -> None:
        key = request.auth.key if request.auth is not None else ""
        if auth_type != BACKEND_AUTH or not hmac.compare_digest(key, secret):
            raise kite.AuthenticationError("only the page's backend may register users")

    return check


class TokenDesk:
    """The backend's side of the credentials pattern: tokens for signed-in users, from Kontrol.

    For a user it has not seen, it asks Kontrol for a kite key in their name
    (`registerMachine`, proving itself with the shared secret) and keeps it in memory; with that
    key it asks Kontrol for a fresh token for the target kite (`getToken` with `force`). The
    token's `sub` is the user, its audience the target kite, its lifetime Kontrol's
    `KontrolOptions.token_ttl`.
    """

    def __init__(self, kontrol_url: str, secret: str, target: kite.KiteIdentity) -> None:
        self.kontrol_url = kontrol_url
        self.target = target
        self._secret = secret
        self._keys: dict[str, kite.KiteKey] = {}

    async def token_for(self, username: str) -> str:
        key = self._keys.get(username) or await self._kite_key_for(username)
        backend = kite.Kite("browser-backend", "1.0.0", kite.Config().with_kite_key(key))
        async with backend.kontrol_client(url=self.kontrol_url):
            return await backend.get_token_force(self.target)

    async def _kite_key_for(self, username: str) -> kite.KiteKey:
        asker = kite.Kite("browser-backend", "1.0.0", kite.Config(username=username))
        auth = kite.Auth(BACKEND_AUTH, self._secret)
        async with asker.dial(self.kontrol_url, auth=auth, timeout=10) as kontrol:
            raw = await kontrol.tell("registerMachine", {"authType": BACKEND_AUTH}, timeout=10)
        key = kite.KiteKey.parse(raw, now=time.time())
        self._keys[username] = key
        return key


def add_page_routes(demo: kite.Kite, desk: TokenDesk, kite_js: bytes) -> None:
    """The page's backend, as HTTP routes of the kite (`kite.handle_http`)."""
    page = (HERE / "index.html").read_bytes()
    sessions: dict[str, str] = {}  # session cookie -> user name

    async def send(request: Any, status: int, content_type: str, body: bytes) -> None:
        headers = [("Content-Type", content_type), ("Cache-Control", "no-store")]
        await request.respond(status, headers, body)

    async def index(request: Any) -> None:  # request: the kite's HTTPRequest
        await send(request, 200, "text/html; charset=utf-8", page)

    async def script(request: Any) -> None:
        await send(request, 200, "application/javascript", kite_js)

    async def login(request: Any) -> None:
        """Stand-in for a real sign-in: `/login?user=NAME[&transport=...]` signs NAME in."""
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        user = query.pop("user", "")
        if not user.isidentifier():
            await send(request, 400, "text/plain; charset=utf-8", b"user=NAME, please\n")
            return
        session = secrets.token_urlsafe(24)
        sessions[session] = user
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
        location = "/?" + urlencode(query)
        await request.respond(302, [("Location", location), ("Set-Cookie", cookie)], b"")

    async def token(request: Any) -> None:
        cookies: SimpleCookie = SimpleCookie()
        for name, value in request.headers:
            if name.lower() == "cookie":
                cookies.load(value)
        morsel = cookies.get(SESSION_COOKIE)
        user = sessions.get(morsel.value) if morsel is not None else None
        if user is None:
            await send(request, 401, "text/plain; charset=utf-8", b"sign in first\n")
            return
        body = json.dumps({"token": await desk.token_for(user)}).encode()
        await send(request, 200, "application/json", body)

    demo.handle_http("/", index, exact=True)
    demo.handle_http("/kite.js", script, exact=True)
    demo.handle_http("/login", login, exact=True)
    demo.handle_http("/token", token, exact=True)


@dataclass(frozen=True)
class Demo:
    """What `open_demo` serves: the kite (for its URL, `demo.url`), Kontrol's URL."""

    kite: kite.Kite
    server: kite.KiteServer
    kontrol_url: str

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@contextlib.asynccontextmanager
async def open_demo(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token_ttl: float = 600.0,
    allowed_origins: tuple[str, ...] = (),
    kite_js: Path = KITE_JS,
) -> AsyncIterator[Demo]:
    """Kontrol, the demo kite registered with it and its page, served for the block.

    Args:
        token_ttl: lifetime of the tokens the page gets (Kontrol adds its 5 min leeway; kite.js
            asks for a new one 5 min before expiry, so every `token_ttl` seconds).
        allowed_origins: other origins whose pages may call the kite
            (`kite.Config.sockjs_allowed_origins`); its own page is always allowed.
    """
    bundle = await trio.Path(kite_js).read_bytes()  # fails early, naming it, without npm ci
    secret = secrets.token_urlsafe(32)
    async with open_storage("sqlite::memory:") as storage:
        kontrol = Kontrol(
            config=kite.Config(username="demo"),
            storage=storage,
            options=KontrolOptions(token_ttl=token_ttl),
            machine_authenticate=trust_backend(secret),
        )
        async with kontrol.running(), kontrol.serve(host=host, port=0) as kontrol_server:
            key = kite.KiteKey.parse(await kontrol.issue_kite_key("demo"), now=time.time())
            config = kite.Config(sockjs_allowed_origins=allowed_origins).with_kite_key(key)
            demo = make_demo_kite(config)
            add_page_routes(demo, TokenDesk(kontrol_server.url, secret, demo.identity), bundle)
            async with (
                demo.serve(host=host, port=port) as server,
                demo.kontrol_client(url=kontrol_server.url),
            ):
                await demo.register_forever(server.url)
                yield Demo(demo, server, kontrol_server.url)


async def main(port: int) -> None:
    async with open_demo(port=port) as demo:
        print(f"open {demo.origin}/login?user=alice (Ctrl-C stops)", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="the page's port (8000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main, args.port)
