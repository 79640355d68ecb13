"""Email plumbing: the outbox (rows in SQLite), the sender task, MIME building, rendering
and signed unsubscribe tokens. The domain rules live in ``bot.services.email``."""
