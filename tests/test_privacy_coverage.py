"""Every table and every column that can name a person is handled by /me delete and
/me export (``bot/services/privacy.py``), read from the migrated database's catalog: a new
table, or a new column naming someone, fails here until privacy.py says what becomes of it."""

from __future__ import annotations

import re

from bot.services.privacy import ABOUT, MENTIONS, NOT_PERSONAL, USER_COLUMNS

# Column names that hold a Discord user id (or text naming one): who a row is about, who
# did something, who leads, who wrote.
PERSON = re.compile(r"(^|_)(user|recipient|actor|author|leader|member|target|by)(_id)?$"
                    r"|_by(_user)?(_id)?$")
# Columns whose name looks like a person's but hold none.
NOT_A_PERSON = {("family_members", "ended_by"): "how it ended: self, leader, manager…"}


async def test_every_table_is_handled_or_declared_not_personal(services):
    catalog = await services.privacy.catalog()
    personal = dict(await services.privacy._personal_tables())
    handled = set(personal) | {m.table for m in MENTIONS} | {a.table for a in ABOUT}
    missing = sorted(set(catalog) - handled - set(NOT_PERSONAL))
    assert missing == [], f"tables privacy.py does not handle: {missing}"
    assert not handled & set(NOT_PERSONAL)
    assert set(NOT_PERSONAL) <= set(catalog), "NOT_PERSONAL names a table that is gone"


async def test_every_column_naming_a_person_is_handled(services):
    catalog = await services.privacy.catalog()
    personal = dict(await services.privacy._personal_tables())
    handled = {(m.table, m.column) for m in MENTIONS}
    handled |= {(table, column) for table, column in personal.items()}
    handled |= {(a.table, col) for a in ABOUT for col in catalog[a.table]
                if col in a.where or col == a.mentioning}
    found = {(table, column) for table, columns in catalog.items() for column in columns
             if PERSON.search(column) and table not in NOT_PERSONAL
             and (table, column) not in NOT_A_PERSON}
    unhandled = sorted(found - handled)
    assert unhandled == [], f"columns naming a person that privacy.py does not handle: " \
                            f"{unhandled}"
    for table, columns in catalog.items():  # a second user column is not silently skipped
        users = [c for c in USER_COLUMNS if c in columns]
        assert len(users) <= 1 or table in NOT_PERSONAL, table


async def test_a_new_table_with_a_user_column_fails_the_check(services):
    async with services.db.transaction() as tx:
        await tx.execute("CREATE TABLE shoutouts (id INTEGER PRIMARY KEY, guild_id INTEGER,"
                         " author_id INTEGER, text TEXT)")
    catalog = await services.privacy.catalog()
    handled = {m.table for m in MENTIONS} | {a.table for a in ABOUT} | set(NOT_PERSONAL)
    handled |= set(dict(await services.privacy._personal_tables()))
    assert "shoutouts" in set(catalog) - handled
