"""``autoscalebot ctl``: one-shot commands to a running bot, for scripts and chat-ops.

Exit status: 0 applied, 1 refused (the reason is printed), 2 bad usage,
3 no bot answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from autoscalebot.control.client import Connection, NoBot
from autoscalebot.control.protocol import ProtocolError, decode_status

APPLIED, REFUSED, USAGE, NO_BOT = 0, 1, 2, 3

PROG = "autoscalebot ctl"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Send one command to the running bot over its control socket.",
        epilog="Exit status: 0 applied, 1 refused (with the reason), 2 bad usage, "
        "3 no bot answers. Without --socket: CONTROL_SOCKET, else the socket of the "
        "formation your settings name, else the only bot listening for this user.",
    )
    p.add_argument("--socket", metavar="PATH", type=Path, help="the bot's control socket")
    p.add_argument("--json", action="store_true", help="print the bot's answer as JSON")
    p.add_argument(
        "--formation",
        metavar="ID",
        help="which formation of a bot that scales several (e.g. shop/worker); "
        "status without it shows them all",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("status", help="dynos, window, streaks, paused or not, problems")
    sub.add_parser("pause", help="stop automatic scaling (beats go on)")
    sub.add_parser("resume", help="let the bot scale again")
    scale = sub.add_parser(
        "scale",
        help="scale to N dynos now (or +N/-N); automatic scaling then holds",
        description="Scale to N dynos now (clamped to the window unless --override), "
        "or by +N/-N. Automatic scaling then holds for MANUAL_HOLD_IN_SECONDS.",
    )
    scale.add_argument("count", metavar="N", help="a dyno count, or +N / -N for a change")
    scale.add_argument(
        "--override", action="store_true", help="allow a count outside MIN_DYNOS..MAX_DYNOS"
    )
    setting = sub.add_parser(
        "set",
        help="change settings on the running bot (saved where its config lives)",
        description="Change settings on the running bot, e.g. 'set MAX_DYNOS=8'; the bot "
        "validates them as at start, applies them and saves them where its config lives.",
    )
    setting.add_argument("pairs", metavar="NAME=VALUE", nargs="+")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        message = _message(args)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE
    try:
        path = find_socket(args.socket)
    except NoBot as exc:
        return _no_bot(args, str(exc))
    try:
        conn = Connection(path)
    except NoBot as exc:
        return _no_bot(args, str(exc))
    try:
        targets = _targets(args, list(conn.hello.formations))
    except ValueError as exc:
        conn.close()
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE
    replies = []
    try:
        for fid in targets:
            replies.append(conn.request(message | {"formation": fid}))
    except (NoBot, TimeoutError, OSError, ProtocolError) as exc:
        return _no_bot(args, f"the bot at {path} did not answer: {exc}")
    finally:
        conn.close()
    oks = [r.get("type") == "reply" and bool(r.get("ok")) for r in replies]
    if args.json:
        print(json.dumps(replies[0] if len(replies) == 1 else replies, indent=2, sort_keys=True))
    for fid, reply, ok in zip(targets, replies, oks, strict=True):
        if args.json:
            break
        if args.command == "status" and ok:
            info = conn.hello.formations[fid]
            title = f"{info.app}/{info.process_type} (pid {conn.hello.pid})"
            print(_status_text(f"attached to {title}" if len(targets) == 1 else fid, reply))
        else:
            word = "applied" if ok else "refused"
            print(f"{fid}: {word}: {reply.get('detail', '')}")
    if any(r.get("type") == "error" for r in replies):
        return USAGE
    return APPLIED if all(oks) else REFUSED


def _targets(args: argparse.Namespace, formations: list[str]) -> list[str]:
    """The formations the command goes to; raises ValueError naming the choices."""
    listed = ", ".join(formations[:20]) + (", ..." if len(formations) > 20 else "")
    if args.formation is not None:
        if args.formation not in formations:
            raise ValueError(f"the bot scales no formation {args.formation!r} ({listed})")
        return [args.formation]
    if len(formations) == 1 or args.command == "status":
        return formations
    raise ValueError(f"this bot scales several formations: name one with --formation ({listed})")


def _message(args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "scale":
        text = args.count.strip()
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"scale: {args.count!r} is not a whole number of dynos") from None
        if text[:1] in "+-":
            if args.override:
                raise ValueError("scale: --override takes a count, not a change")
            return {"command": "scale", "delta": number}
        return {"command": "scale", "to": number, "override": args.override}
    if args.command == "set":
        from autoscalebot.config import ConfigError, parse_overrides

        try:
            return {"command": "set", "changes": parse_overrides(args.pairs)}
        except ConfigError as exc:
            raise ValueError(f"set: {exc}") from None
    return {"command": args.command}


def find_socket(explicit: Path | None) -> Path:
    """The socket to talk to: ``--socket``, ``CONTROL_SOCKET``, the bot that runs
    the formation the settings name (its own socket, or a bot of many whose
    hello lists it), or the only live bot of this user. Raises :class:`NoBot`."""
    from autoscalebot.control.client import running_bots
    from autoscalebot.control.paths import answers, runtime_dir

    if explicit is not None:
        return explicit
    configured = os.environ.get("AUTOSCALE_CONTROL_SOCKET")
    if configured:
        return Path(configured).expanduser()
    mine = _my_formation()
    if mine is not None and answers(mine[1]):
        return mine[1]
    bots = running_bots()
    if len(bots) == 1:
        return bots[0][0]
    if not bots:
        raise NoBot(f"no bot is listening for this user (looked in {runtime_dir()})")
    if mine is not None:
        running = [path for path, hello in bots if mine[0] in hello.formations]
        if len(running) == 1:
            return running[0]
    names = ", ".join(str(path) for path, _ in bots)
    raise NoBot(
        f"several bots are listening ({names}): name one (autoscalebot ctl --socket PATH, "
        "autoscalebot-tui --attach PATH)"
    )


def _my_formation() -> tuple[str, Path] | None:
    """(formation id, its default socket) of what this user's settings name, if they load."""
    from autoscalebot.config import ConfigError, load_settings
    from autoscalebot.config.formations import formation_id
    from autoscalebot.control.paths import default_socket

    try:
        settings = load_settings(env=dict(os.environ), require_platform=False)
    except (ConfigError, OSError):
        return None
    return formation_id(settings), default_socket(settings)


def _no_bot(args: argparse.Namespace, why: str) -> int:
    if args.json:
        print(json.dumps({"type": "error", "ok": False, "detail": why}))
    print(f"{PROG}: {why}", file=sys.stderr)
    return NO_BOT


def _status_text(title: str, reply: dict[str, Any]) -> str:
    raw = reply.get("status")
    if not raw:
        return f"{title}: starting (no status yet)"
    status = decode_status(raw)
    dynos = "unknown" if status.current is None else str(status.current)
    lines = [
        title,
        f"  dynos      {dynos} (window {status.min}-{status.max})"
        + (f", target {status.target}" if status.target not in (None, status.current) else ""),
        f"  scaling    {'PAUSED' if status.paused else 'running'}"
        + (" (dry-run)" if status.dry_run else ""),
    ]
    if status.streaks:
        streaks = ", ".join(f"{k} {n}/{of}" for k, (n, of) in status.streaks.items())
        lines.append(f"  streaks    {streaks}")
    if status.hold_until is not None:
        lines.append(f"  holding    until {status.hold_until.isoformat(timespec='seconds')}")
    lines.append(f"  problems   {', '.join(status.problems) or 'none'}")
    if status.last_reason:
        lines.append(f"  last       {status.last_reason}")
    return "\n".join(lines)
