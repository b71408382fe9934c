"""`slack-ask`: the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from .domain.insights import KEEP_WEEKS, WEEKS_SHOWN
from .observability import configure_logging
from .settings import MissingSetting, Settings

EXIT_CONFIG_ERROR = 2
DEFAULT_PLAYGROUND_PORT = 3000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="slack-ask", description="Specific, bounded, easy-to-decline asks for help in Slack."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Slack app over HTTP")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT or 3000)")
    # A server for Slack (behind a proxy or in a container) listens on every interface unless told otherwise.
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default: 0.0.0.0)")  # nosec B104
    commands.add_parser(
        "worker", help="run only the worker: the effect queue and timed jobs (expiry, check-ins, reminders, digests)"
    )
    digest = commands.add_parser("digest", help="preview or post the weekly kudos digest")
    action = digest.add_mutually_exclusive_group(required=True)
    action.add_argument("--preview", action="store_true", help="print the digest without posting it")
    action.add_argument("--post", action="store_true", help="post this week's digest now (once per week)")
    digest.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: this week in DIGEST_TZ); preview only")
    digest.add_argument("--team", help="workspace id, T… (default: the bot token's workspace)")
    digest.add_argument("--json", action="store_true", help="with --preview: print the Block Kit JSON too")
    for name, does in (
        ("export-user", "print everything slack-ask keeps about one person, as JSON"),
        ("erase-user", "erase what one person wrote (ask lines, scopes, thank-you notes)"),
    ):
        person = commands.add_parser(name, help=does)
        person.add_argument("--team", required=True, help="their workspace id, T…")
        person.add_argument("--user", required=True, help="their user id, U… or W…")
    effects = commands.add_parser("effects", help="the effect queue's dead letters: list, retry or drop them")
    letters = effects.add_subparsers(dest="effects_command", required=True)
    letters.add_parser("list", help="every dead letter: its id, workspace, ask, tries and last failure")
    retry = letters.add_parser("retry", help="put dead letters back in the queue, their tries afresh")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="a dead letter's id, as `effects list` shows it")
    which.add_argument("--all", action="store_true", help="every dead letter")
    drop = letters.add_parser("drop", help="give up a dead letter's effects for good")
    drop.add_argument("id", help="a dead letter's id, as `effects list` shows it")
    commands.add_parser("keygen", help="print a fresh key for SLACK_ASK_ENCRYPTION_KEY")
    commands.add_parser("rotate-key", help="re-encrypt every installation with SLACK_ASK_ENCRYPTION_KEY's first key")
    stats = commands.add_parser("stats", help="how asking is going for the workspace, week by week (never per person)")
    stats.add_argument("--team", help="workspace id, T… (default: the bot token's workspace)")
    stats.add_argument(
        "--weeks",
        type=int,
        default=WEEKS_SHOWN,
        help=f"how many ISO weeks, ending with the last one that settled (1–{KEEP_WEEKS}; default {WEEKS_SHOWN})",
    )
    stats.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats.add_argument("--chart", metavar="FILE.png", help="also draw the trend chart into this PNG file")
    playground = commands.add_parser("playground", help="try the whole app in a browser, with no Slack workspace")
    playground.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PLAYGROUND_PORT,
        help=f"port for the page (default: {DEFAULT_PLAYGROUND_PORT}; 0 picks a free one)",
    )
    args = parser.parse_args(argv)

    if args.command == "keygen":  # needs no configuration: it only makes a key
        from .store.sealing import new_key

        print(new_key())
        return 0
    if args.command == "stats" and not 1 <= args.weeks <= KEEP_WEEKS:
        print(f"slack-ask: --weeks must be between 1 and {KEEP_WEEKS}: the figures are kept that long", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if args.command == "playground":  # brings its own credentials and Redis: no configuration to read
        configure_logging(logging.WARNING)  # the page shows what matters; request logs would drown the URL
        from .playground.server import run

        return run(args.port)
    configure_logging(logging.INFO)
    try:
        settings = Settings.from_env()
    except MissingSetting as missing:
        print(f"slack-ask: {missing}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if getattr(args, "port", None) is not None:
        settings = replace(settings, port=args.port)

    from .wiring import server  # imported late: `--help` and config errors stay fast

    if args.command == "rotate-key":
        if not settings.oauth:
            print(
                "slack-ask: rotate-key is for OAuth mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): "
                "only installations are encrypted, and with SLACK_BOT_TOKEN there are none.",
                file=sys.stderr,
            )
            return EXIT_CONFIG_ERROR
        return server.rotate_key(settings)
    if args.command == "export-user":
        return server.export_user(settings, team=args.team, user=args.user)
    if args.command == "erase-user":
        return server.erase_user(settings, team=args.team, user=args.user)
    if args.command == "effects":
        return server.effects(settings, args.effects_command, letter=getattr(args, "id", None))
    if args.command == "worker":
        server.work(settings)
    elif args.command == "digest":
        if settings.oauth and not args.team:
            print("slack-ask: distributed through OAuth, so say which workspace: --team T…", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        return server.digest(settings, post=args.post, week=args.week, team=args.team, as_json=args.json)
    elif args.command == "stats":
        if settings.oauth and not args.team:
            print("slack-ask: distributed through OAuth, so say which workspace: --team T…", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        return server.stats(settings, team=args.team, weeks=args.weeks, as_json=args.json, chart=args.chart)
    else:
        server.serve(settings, host=args.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
