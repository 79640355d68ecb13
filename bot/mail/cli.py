"""``familia email test ADDRESS`` and ``familia email status`` (addresses never printed)."""

from __future__ import annotations

import json
import secrets
import sys

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.errors import UserError
from bot.leases import EMAIL_TESTS
from bot.mail.sender import Sender
from bot.mail.smtp import SmtpConfig, mask
from bot.services import Services
from bot.services.email import validate_address


async def email_main(settings: Settings, action: str, address: str | None) -> int:
    db = await Database.open(settings.database_path)
    try:
        await db.migrate()
        services = Services.build(db, settings, Clock())
        if action == "status":
            print(json.dumps(await services.email.status(), indent=2, ensure_ascii=False))
            return 0
        try:
            address = validate_address(address or "")
        except UserError:
            print("familia: that is not an email address", file=sys.stderr)
            return 2
        key = f"test:{secrets.token_hex(8)}"
        async with db.transaction() as tx:
            await services.email.queue(tx, None, None, address, "test", key,
                                       settings.default_locale)
        # only the test mails: every other row is the bot's sender's, sent in its own time
        sender = Sender(db, SmtpConfig.from_settings(settings), Clock(), connections=1,
                        outbox_dir=settings.outbox_dir, queue=EMAIL_TESTS)
        try:
            await sender.drain()
        finally:
            await sender.close()
        row = await db.fetchone(
            "SELECT state, last_error FROM email_outbox WHERE dedupe_key = ?", (key,))
        print(f"test email to {mask(address)}: {row['state']}"
              + (f" ({row['last_error']})" if row["last_error"] else ""))
        return 0 if row["state"] == "sent" else 1
    finally:
        await db.close()
