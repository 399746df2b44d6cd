"""The public namespace: what `import sockjs` exposes, and that it pulls in no I/O library."""

from __future__ import annotations

import subprocess
import sys

import sockjs


def test_import_sockjs_never_imports_trio_or_sockets() -> None:
    code = (
        "import sys; import sockjs; "
        "bad = sorted(m for m in ('trio', 'socket', 'ssl', 'asyncio', 'wsproto', 'h11') "
        "if m in sys.modules); print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_every_exported_name_exists_and_is_public() -> None:
    for name in sockjs.__all__:
        obj = getattr(sockjs, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__.split(".")[0] == "sockjs", name
    assert len(set(sockjs.__all__)) == len(sockjs.__all__)


def test_session_and_frame_api_is_exported() -> None:
    expected = {
        "ServerSession",
        "SessionState",
        "SendFrame",
        "ReceiverDone",
        "MessagesReceived",
        "SessionClosed",
        "SessionFinished",
        "encode_messages",
        "encode_close",
        "decode_frame",
        "FrameStreamDecoder",
        "WebSocketClient",
        "XHRClient",
        "websocket_url",
        "ProtocolError",
    }
    assert expected <= set(sockjs.__all__)
