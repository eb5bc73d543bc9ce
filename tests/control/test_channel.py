"""The control channel over a real Unix socket, with a real engine thread behind it.

The engine beats every 20 ms on in-memory backends; every wait here is bounded
(a read timeout on the socket, a deadline on a polled condition).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoscalebot.control import protocol
from autoscalebot.control.client import Connection, NoBot, RemoteLink
from autoscalebot.control.server import ControlServer, SocketInUse
from autoscalebot.engine import events as ev
from tests.control.bot_rig import FORMATION, Bot, wait_until


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    b = Bot(tmp_path / "bot.sock")
    wait_until(lambda: b.probe.calls >= 5)  # some beats for the snapshot
    yield b
    b.close()


def read_until(conn: Connection, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for _ in range(10_000):
        message = conn.read()
        assert message is not None, "the bot closed the connection"
        if predicate(message):
            return message
    raise AssertionError("no such message")


def test_a_new_client_gets_hello_status_and_recent_beats_at_once(bot: Bot) -> None:
    conn = Connection(bot.server.path)
    try:
        assert (conn.hello.formation, conn.hello.app, conn.hello.pid) == (
            "shop/web",
            "shop",
            os.getpid(),
        )
        assert conn.hello.title == f"attached to shop/web (pid {os.getpid()})"
        assert "HEROKU_API_KEY" not in conn.hello.settings  # secrets stay with the bot
        assert conn.hello.settings["MAX_DYNOS"] == 5
        beats = []
        status = None
        conn.sock.settimeout(5)
        while status is None:
            message = conn.read()
            assert message is not None and message["type"] == "event"
            event = protocol.decode_event(message["event"])
            assert message["formation"] == "shop/web"
            if isinstance(event, ev.Beat):
                beats.append(event)
            elif isinstance(event, ev.StatusChanged):
                status = event.status
        assert len(beats) >= 5 and status.current == 2
    finally:
        conn.close()


def test_commands_are_applied_by_the_engine_and_answered(bot: Bot) -> None:
    conn = Connection(bot.server.path)
    try:
        assert conn.request({"command": "pause"})["ok"] is True
        assert bot.engine.paused
        reply = conn.request({"command": "scale", "to": 4})
        assert reply["ok"] is True and "4 dynos" in reply["detail"]
        assert bot.scaler.count == 4  # forced while paused: the operator drives by hand
        reply = conn.request({"command": "set", "changes": {"MAX_RESPONSE_TIME_IN_MS": 900}})
        assert reply["ok"] is True
        assert bot.engine.settings.max_response_time_in_ms == 900
        refused = conn.request({"command": "set", "changes": {"MAX_DYNOS": -1}})
        assert refused["ok"] is False and "MAX_DYNOS" in refused["detail"]
        refused = conn.request({"command": "set", "changes": {"HEROKU_API_KEY": "x"}})
        assert refused["ok"] is False and "not changed while running" in refused["detail"]
        assert conn.request({"command": "resume"})["ok"] is True
        assert not bot.engine.paused
    finally:
        conn.close()


def test_every_client_sees_the_events_and_only_the_asker_gets_the_reply(bot: Bot) -> None:
    watcher, actor = Connection(bot.server.path), Connection(bot.server.path)
    try:
        watcher.sock.settimeout(5)
        actor.request({"command": "pause"})
        seen = read_until(
            watcher,
            lambda m: m["type"] == "event" and m["event"]["kind"] == "operator",
        )
        assert seen["event"]["action"] == "pause"
        assert seen["event"]["ref"].startswith("control.")  # the asker's, carried on the event
        assert bot.server.clients == 2
    finally:
        watcher.close()
        actor.close()


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b"[1, 2, 3]\n",
        b'{"no": "type"}\n',
        b'{"type": "command", "id": 1, "command": "explode"}\n',
        b'{"type": "command", "id": 2, "command": "scale", "to": "many"}\n',
        b'{"type": "command", "id": 3, "command": "scale", "to": -3}\n',
        b'{"type": "command", "id": 4, "command": "scale", "to": 1, "delta": 1}\n',
        b'{"type": "command", "id": 5, "command": "set", "changes": []}\n',
        b'{"type": "command", "id": 6, "formation": "other/web", "command": "pause"}\n',
        b'{"type": "hello"}\n',
        b"\xff\xfe\n",
    ],
)
def test_malformed_messages_get_an_error_and_the_bot_is_unharmed(bot: Bot, line: bytes) -> None:
    conn = Connection(bot.server.path)
    try:
        conn.sock.sendall(line)
        error = read_until(conn, lambda m: m["type"] == "error")
        assert error["detail"]
        assert not bot.engine.paused and bot.scaler.count == 2
        assert conn.request({"command": "status"})["ok"] is True  # same connection still works
    finally:
        conn.close()
    assert bot.alive()


def test_an_endless_line_ends_that_connection_only(bot: Bot) -> None:
    conn = Connection(bot.server.path)
    try:
        with pytest.raises(OSError):
            for _ in range(64):  # 4 MiB without a newline; the server hangs up
                conn.sock.sendall(b"x" * 65536)
            while conn.read() is not None:
                pass
            raise OSError("closed")
    finally:
        conn.close()
    assert bot.alive()


def test_a_client_that_stops_reading_is_dropped_and_never_slows_the_engine(bot: Bot) -> None:
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(bot.server.path))
    try:
        wait_until(lambda: bot.server.clients == 1)
        # Far more than the socket buffers and the client's queue hold, published
        # on this thread as the engine would: every call returns at once.
        beat = ev.Beat(datetime.now(UTC), 100.0, 200, None, "ok", {}, 2)
        for _ in range(20_000):
            bot.server.publish(beat)
        wait_until(lambda: bot.server.dropped == 1)
        assert bot.server.clients == 0
    finally:
        stuck.close()
    assert bot.alive()


def test_a_client_of_another_user_is_refused(tmp_path: Path) -> None:
    b = Bot(tmp_path / "bot.sock", allowed_uid=os.getuid() + 4242)
    try:
        with pytest.raises(NoBot, match="only the bot's own user"):
            Connection(b.server.path)
        assert not b.engine.paused
    finally:
        b.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to become another user")
def test_another_real_user_cannot_even_open_the_socket(bot: Bot) -> None:
    mode = stat.S_IMODE(os.stat(bot.server.path).st_mode)
    assert mode == 0o600
    os.chmod(bot.server.path.parent, 0o755)  # even with the folder open, the file is not
    code = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    sys.exit(7)\n"
        "sys.exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(bot.server.path)], timeout=20, capture_output=True
    )
    assert done.returncode == 7, done.stderr


def test_a_disconnect_mid_command_leaves_the_bot_whole(bot: Bot) -> None:
    conn = Connection(bot.server.path)
    conn.send({"type": "command", "id": "x", "command": "scale", "to": 3})
    conn.close()  # gone before the answer
    wait_until(lambda: bot.scaler.count == 3)  # the command itself still happens
    assert bot.alive()


def test_a_second_bot_for_the_same_socket_refuses_to_start(bot: Bot) -> None:
    with pytest.raises(SocketInUse, match=rf"another bot \(pid {os.getpid()}\)"):
        ControlServer(bot.server.path, FORMATION).bind()
    assert bot.alive()


def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bot.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a file left by a bot that was killed: nobody listens
    dead.close()
    b = Bot(path)
    try:
        assert b.alive()
    finally:
        b.close()
    assert not path.exists()  # closing removes the bot's own socket file


def test_the_live_link_survives_the_bot_restarting(tmp_path: Path) -> None:
    path = tmp_path / "bot.sock"
    events: list[ev.Event] = []
    states: list[str] = []
    first = Bot(path)
    link = RemoteLink(
        path,
        lambda fid: events.append,
        on_state=lambda hello, why: states.append("up" if hello else "down"),
        retry=0.05,
    ).start()
    try:
        wait_until(lambda: states == ["up"] and len(events) > 3)
        first.close()
        wait_until(lambda: states[-1] == "down")
        assert link.submit(ev_pause()) is not None  # said, not silently lost
        second = Bot(path)
        try:
            wait_until(lambda: states[-1] == "up")
            seen = len([e for e in events if isinstance(e, ev.Started)])
            assert link.submit(ev_pause()) is None
            wait_until(lambda: second.engine.paused)
            assert seen == 2  # each bot's start, once: the snapshot is not repeated
        finally:
            second.close()
    finally:
        link.stop()


def ev_pause():
    from autoscalebot.engine.commands import Pause

    return Pause()


def test_a_quiet_client_stays_attached_past_the_send_timeout(tmp_path: Path) -> None:
    # The send timeout bounds writes only: a console that sends no command for
    # longer (an operator watching) keeps its connection and every beat.
    b = Bot(tmp_path / "bot.sock", send_timeout=0.2)
    conn = Connection(b.server.path)
    try:
        conn.sock.settimeout(5)
        deadline = time.monotonic() + 1.0  # five send timeouts without a command
        beats = 0
        while time.monotonic() < deadline:
            message = conn.read()
            assert message is not None, "the bot hung up on a quiet client"
            beats += message["type"] == "event" and message["event"]["kind"] == "beat"
        assert beats > 10 and b.server.clients == 1
        assert conn.request({"command": "status"})["ok"] is True
    finally:
        conn.close()
        b.close()


def test_the_hello_holds_no_secret_not_even_inside_a_url(tmp_path: Path) -> None:
    from autoscalebot.config import build_settings

    b = Bot(tmp_path / "bot.sock")
    b.engine.settings = build_settings(
        {
            "HEROKU_APP_NAME": "shop",
            "HEROKU_API_KEY": "k-not-sent-0001",
            "HEARTBEAT_URL": "https://probe:hunter2-secret@shop.example.com/health",
        }
    )
    from autoscalebot.secrets import scrubber_for

    b.engine.scrubber = scrubber_for(b.engine.settings)
    try:
        conn = Connection(b.server.path)
        conn.close()
        text = str(conn.hello.settings)
        assert "k-not-sent-0001" not in text and "hunter2-secret" not in text
        assert "shop.example.com" in conn.hello.settings["HEARTBEAT_URL"]
    finally:
        b.close()


def test_with_several_bots_the_one_running_my_formation_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _own_runtime_dir: Path
) -> None:
    from autoscalebot.control.ctl import find_socket
    from autoscalebot.control.paths import runtime_dir
    from autoscalebot.control.server import Formation

    folder = runtime_dir()
    mine = Bot(folder / "formations.sock")  # a bot of many, whose hello lists shop/web
    other = ControlServer(
        folder / "blog-web.sock", Formation("blog/web", "blog", "web", "heroku", "")
    ).bind()
    other.start({})
    try:
        monkeypatch.setenv("HEROKU_APP_NAME", "shop")
        assert find_socket(None) == folder / "formations.sock"
        monkeypatch.setenv("HEROKU_APP_NAME", "nobody")
        with pytest.raises(NoBot, match="several bots are listening"):
            find_socket(None)
    finally:
        other.close()
        mine.close()
