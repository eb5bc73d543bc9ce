"""Where a bot's control socket lives, and what a formation is called.

One socket per formation (``<runtime dir>/autoscalebot/<formation>.sock``),
so a second bot for the same formation on this machine finds the first one's
socket taken, and a console or ``ctl`` finds the bot without being told.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path

from autoscalebot.config.formations import formation_id
from autoscalebot.config.settings import Settings

SOCKET_SUFFIX = ".sock"
# sun_path holds 108 bytes on Linux, 104 on macOS: keep room for the folder.
_MAX_NAME = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def runtime_dir() -> Path:
    """The per-user folder for sockets: platformdirs' runtime folder, made 0700.

    Falls back to ``<tmp>/autoscalebot-<uid>`` where that folder cannot be made
    (containers often have no ``/run/user/<uid>``); the bot and a console in
    the same container compute the same path either way.
    """
    import warnings

    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is not 0700, then uses its own fallback.
        warnings.simplefilter("ignore")
        preferred = Path(user_runtime_dir("autoscalebot", appauthor=False))
    for folder in (preferred, Path(tempfile.gettempdir()) / f"autoscalebot-{os.getuid()}"):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    return preferred


def socket_name(formation: str) -> str:
    """A file name for ``formation``'s socket (``myapp/web`` -> ``myapp-web.sock``)."""
    return (_UNSAFE.sub("-", formation).strip("-.") or "bot")[:_MAX_NAME] + SOCKET_SUFFIX


def default_socket(settings: Settings) -> Path:
    """``CONTROL_SOCKET`` if set, else the formation's socket in :func:`runtime_dir`."""
    configured = settings.control_socket
    if configured:
        return Path(str(configured)).expanduser()
    return runtime_dir() / socket_name(formation_id(settings))


def answers(path: Path, timeout: float = 0.5) -> bool:
    """True if something accepts connections on the Unix socket ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True
