"""Every table and every column that can name a person is handled by /me delete and
/me export (``bot/services/privacy.py``), read from the migrated database's catalog: a new
table, or a new column naming someone, fails here until privacy.py says what becomes of it."""

from __future__ import annotations

from bot.services.privacy import ABOUT, MENTIONS, NOT_PERSONAL


async def test_every_table_and_column_naming_a_person_is_handled(services):
    assert await services.privacy.unhandled() == []
    catalog = await services.privacy.catalog()
    assert set(NOT_PERSONAL) <= set(catalog), "NOT_PERSONAL names a table that is gone"
    assert all(m.column in catalog[m.table] for m in MENTIONS), "a MENTIONS column is gone"
    assert all(a.table in catalog for a in ABOUT)
    assert not set(NOT_PERSONAL) & ({m.table for m in MENTIONS} | {a.table for a in ABOUT})


async def test_a_new_table_or_column_naming_someone_is_reported(services):
    async with services.db.transaction() as tx:
        await tx.execute("CREATE TABLE shoutouts (id INTEGER PRIMARY KEY, guild_id INTEGER,"
                         " author_id INTEGER, text TEXT)")
        await tx.execute("ALTER TABLE campaigns ADD COLUMN approved_by INTEGER")
        await tx.execute("CREATE TABLE kudos (guild_id INTEGER, user_id INTEGER)")
    assert await services.privacy.unhandled() == [
        "campaigns.approved_by", "shoutouts", "shoutouts.author_id"]
    # a table with a guild and a user column is found by the catalog: handled already
    assert ("kudos", "user_id") in await services.privacy._personal_tables()
