"""A user's test of their own kite, written against the installed pytest plugins only: no
conftest, no helpers of this repository. `tests/test_pytest_plugin.py` also runs this file in
a pytest of its own (a fresh directory, only `trio_mode` configured)."""

import kite


async def test_my_kite_registers_is_found_and_answers(kontrol_server, kite_config):
    assert kite_config.kontrol_url == kontrol_server.url
    assert kite_config.username == "testuser"
    math = kite.Kite("math", "1.0.0", kite_config)

    @math.handle("square")
    def square(request: kite.Request) -> float:
        return request.args.one().float() ** 2

    caller = kite.Kite("caller", "1.0.0", kite_config)
    async with math.serve() as server, math.kontrol_client(), caller.kontrol_client():
        await math.register_forever(server.url)
        (found,) = await caller.get_kites({"username": "testuser", "name": "math"})
        assert found.url == server.url
        assert found.kite == math.identity
        async with found as remote:  # dials with the token Kontrol issued
            assert await remote.tell("square", 4, timeout=10) == 16


async def test_kontrol_signs_with_the_test_keys(kontrol_server, kite_config, kite_test_keys):
    assert kontrol_server.key_pair == kite_test_keys
    assert kite_config.kontrol_key == kite_test_keys.public.strip()
    client = kite.Kite("client", "1.0.0", kite_config)
    async with client.kontrol_client():
        assert await client.get_key() == kite_test_keys.public.strip()
