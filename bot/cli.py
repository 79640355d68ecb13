"""The ``familia`` command: run the bot, manage the database, check translations."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings

DESCRIPTION = """\
Familia runs a live-streaming creator family program on Discord and by email:
families, daily check-ins, leaderboards, campaigns, broadcasts, weekly digests.
Settings come from the environment or .env (see README)."""
EPILOG = """\
examples:
  familia run              run the bot (without DISCORD_TOKEN: offline, against a local
                           Discord emulator, after playing the demo)
  familia demo             play the scripted walk-through and exit
  familia db status        show the schema version and pending migrations
  familia email test ADDR  send one test email now

`familia COMMAND --help` tells more about a command."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="familia", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, title="commands",
                                metavar="COMMAND")
    run = sub.add_parser(
        "run", help="run the bot (offline without DISCORD_TOKEN)",
        description="Run the bot. Without DISCORD_TOKEN (or with --offline) Familia runs "
                    "against a local Discord emulator with a temporary database: it plays the "
                    "demo, then keeps running until Ctrl-C.")
    run.add_argument("--offline", action="store_true",
                     help="use the local Discord emulator even if DISCORD_TOKEN is set")
    run.add_argument("--open", action="store_true", dest="open_browser",
                     help="offline: open the web console in a browser, where there is one")
    db = sub.add_parser("db", help="database: schema version and migrations",
                        description="The database at DATABASE_PATH: its schema version and "
                                    "migrations (also applied at every start).")
    db.add_argument("action", choices=["upgrade", "status"],
                    help="status: version and pending migrations; upgrade: apply them")
    sub.add_parser("demo", help="play a scripted walk-through against the local emulator",
                   description="Play the demo scenes against a local Discord emulator, with a "
                               "temporary database and a local mail server, then exit. No "
                               "Discord account or internet needed.")
    email = sub.add_parser("email", help="email: send a test message, show the outbox",
                           description="Email through the SMTP_* settings.")
    email_sub = email.add_subparsers(dest="action", required=True, title="actions",
                                     metavar="ACTION")
    email_test = email_sub.add_parser("test", help="queue and deliver one test email now")
    email_test.add_argument("address", help="where to send it")
    email_sub.add_parser("status", help="outbox counts by state and the latest errors")
    i18n = sub.add_parser("i18n", help="translations: list what has no Spanish yet",
                          description="List the messages without a translation, as .po "
                                      "entries (exit status 1 when there are some).")
    i18n.add_argument("action", choices=["missing"], help="missing: untranslated messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"familia: {exc}", file=sys.stderr)
        return 2
    from bot.logs import setup_logging

    quiet = args.command == "demo" or (args.command == "run" and (
        args.offline or settings.discord_token is None))
    # The demo's transcript is the output; only warnings interrupt it.
    setup_logging("WARNING" if quiet and settings.log_level != "DEBUG" else settings.log_level,
                  settings.secrets())
    try:
        if args.command == "run":
            return asyncio.run(_run(settings, offline=args.offline,
                                    open_browser=args.open_browser))
        if args.command == "db":
            return asyncio.run(_db(settings, args.action))
        if args.command == "demo":
            from bot.demo.play import demo_main

            return asyncio.run(demo_main(settings))
        if args.command == "email":
            from bot.mail.cli import email_main

            return asyncio.run(email_main(settings, args.action, getattr(args, "address", None)))
        if args.command == "i18n":
            return asyncio.run(_i18n_missing())
    except KeyboardInterrupt:
        return 0
    return 2


async def _run(settings: Settings, offline: bool, open_browser: bool = False) -> int:
    if offline or settings.discord_token is None:
        from bot.demo.play import offline_main

        return await offline_main(settings, open_browser=open_browser)
    from bot.db import DatabaseInUse
    from bot.runner import run_bot

    try:
        await run_bot(settings, settings.discord_token.get_secret_value())
    except DatabaseInUse as exc:
        print(f"familia: {exc}", file=sys.stderr)
        return 1
    return 0


async def _db(settings: Settings, action: str) -> int:
    from bot.db import Database, DatabaseInUse, DatabaseTooNew, MigrationFailed

    try:  # upgrading is for a stopped bot; the status can be read any time
        db = await Database.open(settings.database_path, exclusive=action == "upgrade")
    except DatabaseInUse as exc:
        print(f"familia: {exc}", file=sys.stderr)
        return 1
    try:
        if action == "upgrade":
            try:
                applied = await db.migrate()
            except (DatabaseTooNew, MigrationFailed) as exc:
                print(f"familia: {exc}", file=sys.stderr)
                return 1
            for m in applied:
                print(f"applied {m.version:04d}_{m.name}")
            print(f"database {settings.database_path} is at version {await db.version()}")
        else:
            current, pending = await db.status()
            print(f"database {settings.database_path}: version {current}")
            for m in pending:
                print(f"pending {m.version:04d}_{m.name}")
            if not pending:
                print("up to date")
        return 0
    finally:
        await db.close()


async def _i18n_missing() -> int:
    from bot.i18n import load_catalogs
    from bot.i18n_check import command_messages, missing, po_stub, template_messages
    from bot.runner import offline_tree

    catalogs = load_catalogs()
    async with offline_tree() as tree:
        messages = template_messages() + await command_messages(tree)
    status = 0
    for locale, catalog in catalogs.items():
        if locale == "en":
            continue
        lacking = missing(catalog, messages)
        if lacking:
            status = 1
            print(f"# {locale}: {len(lacking)} messages without a translation")
            print(po_stub(lacking))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
