"""The pytest plugins as a user gets them: entry points, fixtures in a pytest run of its own
(a fresh directory, no conftest, none of this repository's configuration), the README's example
test, and `open_test_kontrol` without pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import trio

import kite
from kite.testing import TEST_KEY_PAIR
from kontrol.testing import open_test_kontrol

ROOT = Path(__file__).resolve().parents[1]


def _readme_example() -> str:
    text = (ROOT / "packages" / "kite" / "README.md").read_text()
    return text.split("## Testing your kites", 1)[1].split("```python", 1)[1].split("```", 1)[0]


def _run_pytest(directory: Path, ini: str) -> subprocess.CompletedProcess[str]:
    """pytest in `directory` with only `ini` as configuration and the installed plugins."""
    (directory / "pytest.ini").write_text(ini)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", "."],
        cwd=directory, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_plugins_are_pytest11_entry_points() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins["kite"] == "kite.testing.pytest_plugin"
    assert plugins["kontrol"] == "kontrol.testing.pytest_plugin"


def test_readme_example_and_a_users_test_file_pass_with_only_the_plugins(tmp_path: Path) -> None:
    example = _readme_example()
    lines = [line for line in example.splitlines() if line.strip()]
    assert len(lines) < 15, example
    (tmp_path / "test_readme_example.py").write_text(example)
    shutil.copy(ROOT / "tests" / "plugin_user" / "test_plugin_user.py", tmp_path)
    done = _run_pytest(tmp_path, "[pytest]\ntrio_mode = true\nfilterwarnings = error\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout, done.stdout


def test_fixtures_work_in_trio_marked_tests_without_trio_mode(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(
        "import pytest, kite\n"
        "\n"
        "@pytest.mark.trio\n"
        "async def test_marked(kontrol_server, kite_config):\n"
        "    client = kite.Kite('client', '1.0.0', kite_config)\n"
        "    async with client.kontrol_client():\n"
        "        (found,) = await client.get_kites({'username': 'kontrol', 'name': 'kontrol'})\n"
        "    assert found.url == kontrol_server.url\n"
    )
    done = _run_pytest(tmp_path, "[pytest]\nfilterwarnings = error\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout


async def test_open_test_kontrol_without_pytest_fixtures() -> None:
    async with open_test_kontrol() as test_kontrol:
        data_dir = test_kontrol.data_dir
        assert (data_dir / "kontrol.db").is_file()
        assert test_kontrol.url.startswith("http://127.0.0.1:")
        assert test_kontrol.key_pair == TEST_KEY_PAIR
        alice, bob = test_kontrol.config("alice"), test_kontrol.config("bob", environment="dev")
        assert (alice.username, bob.username, bob.environment) == ("alice", "bob", "dev")
        math = kite.Kite("math", "1.0.0", alice)
        math.handle_func("square", lambda r: r.args.one().float() ** 2)
        caller = kite.Kite("caller", "1.0.0", bob)
        async with math.serve() as server, math.kontrol_client(), caller.kontrol_client():
            await math.register_forever(server.url)
            (found,) = await caller.get_kites({"username": "alice", "name": "math"})
            async with found as remote:
                assert await remote.tell("square", 3, timeout=10) == 9
    assert not await trio.Path(data_dir).exists()  # its temporary directory is removed
