import sqlite3

import pytest

from bot.db import Database, DatabaseTooNew, Migration, MigrationFailed, load_migrations


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_fresh_database_gets_every_migration(tmp_path):
    db = await Database.open(tmp_path / "f.db")
    try:
        applied = await db.migrate()
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        assert await db.version() == len(load_migrations())
        assert await db.migrate() == []  # idempotent
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") >= 5000
    finally:
        await db.close()
    assert {"guilds", "members", "audit_log", "guild_channels"} <= _tables(tmp_path / "f.db")


@pytest.mark.parametrize("start", range(len(load_migrations())))
async def test_upgrade_from_each_earlier_version(tmp_path, start):
    migrations = load_migrations()
    db = await Database.open(tmp_path / "u.db")
    try:
        await db.migrate(migrations[:start])
        assert await db.version() == start
        applied = await db.migrate(migrations)
        assert [m.version for m in applied] == list(range(start + 1, len(migrations) + 1))
    finally:
        await db.close()


async def test_failing_migration_leaves_database_unchanged(tmp_path):
    good = load_migrations()
    broken = Migration(
        len(good) + 1,
        "broken",
        "CREATE TABLE half_done (x INTEGER);\n"
        "INSERT INTO guilds (guild_id, timezone, locale, created_at, updated_at)"
        " VALUES (1, 'UTC', 'en', 'x', 'x');\n"
        "THIS IS NOT SQL;",
    )
    db = await Database.open(tmp_path / "b.db")
    try:
        await db.migrate(good)
        with pytest.raises(MigrationFailed, match="broken"):
            await db.migrate([*good, broken])
        assert await db.version() == len(good)
        assert await db.fetchval("SELECT count(*) FROM guilds") == 0
        assert not db.writer.in_transaction
        # The database still works afterwards.
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO app_meta (key, value) VALUES ('k', 'v')")
    finally:
        await db.close()
    assert "half_done" not in _tables(tmp_path / "b.db")


async def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "n.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(load_migrations()) + 5}")
    db = await Database.open(path)
    try:
        with pytest.raises(DatabaseTooNew, match="newer than this Familia"):
            await db.migrate()
    finally:
        await db.close()


async def test_transaction_rolls_back_on_error(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO app_meta (key, value) VALUES ('a', '1')")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT count(*) FROM app_meta") == 0


async def test_a_unit_of_work_in_one_trip_commits_or_rolls_back(db):
    def add(tx, name):
        new_id = tx.execute("INSERT INTO app_meta (key, value) VALUES (?, 'v')", (name,))
        assert tx.fetchval("SELECT value FROM app_meta WHERE key = ?", (name,)) == "v"
        return new_id

    assert await db.run(lambda tx: add(tx, "kept")) > 0

    def fails(tx):
        add(tx, "lost")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.run(fails)
    keys = {r["key"] for r in await db.fetchall("SELECT key FROM app_meta")}
    assert "kept" in keys and "lost" not in keys
    async with db.transaction() as tx:  # the writer is usable afterwards, not stuck in BEGIN
        assert await tx.execute("UPDATE app_meta SET value = 'w' WHERE key = 'kept'") == 1


def test_migration_files_are_numbered_without_gaps():
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))
