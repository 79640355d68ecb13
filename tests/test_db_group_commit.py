"""Database.run's group commit: units of work that queue up while the writer is busy go in one
transaction, each in a savepoint of its own; the checkpointer copies the WAL off the writer."""

import asyncio

import pytest

from bot import db as dbmodule


def _add(name):
    def unit(tx):
        return tx.execute("INSERT INTO app_meta (key, value) VALUES (?, 'v')", (name,))

    return unit


def _fails(name):
    def unit(tx):
        tx.execute("INSERT INTO app_meta (key, value) VALUES (?, 'v')", (name,))
        raise ValueError(name)

    return unit


async def _keys(db):
    return {r["key"] for r in await db.fetchall("SELECT key FROM app_meta")}


async def test_units_queued_together_each_get_their_own_outcome(db, monkeypatch):
    batches = []
    units = dbmodule._units

    def counted(tx, fns):
        batches.append(len(fns))
        return units(tx, fns)

    monkeypatch.setattr(dbmodule, "_units", counted)
    before = await _keys(db)
    async with db.transaction():  # the writer is busy: the units below queue up meanwhile
        calls = [asyncio.ensure_future(db.run(_add(f"k{i}"))) for i in range(5)]
        calls.insert(2, asyncio.ensure_future(db.run(_fails("lost"))))
        await asyncio.sleep(0.05)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert batches == [6]  # one trip, one transaction for all six
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "lost"
    assert all(isinstance(o, int) and o > 0 for i, o in enumerate(outcomes) if i != 2)
    assert await _keys(db) - before == {f"k{i}" for i in range(5)}  # "lost" rolled back alone


async def test_a_unit_that_breaks_the_transaction_fails_the_whole_batch(db):
    def bad(tx):
        tx.execute("COMMIT")  # ends the transaction under the others: none may be kept
        return 0

    before = await _keys(db)
    async with db.transaction():
        calls = [asyncio.ensure_future(db.run(_add("a"))),
                 asyncio.ensure_future(db.run(bad)),
                 asyncio.ensure_future(db.run(_add("b")))]
        await asyncio.sleep(0.05)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert any(isinstance(o, Exception) for o in outcomes)
    async with db.transaction() as tx:  # the writer is usable afterwards
        await tx.execute("INSERT INTO app_meta (key, value) VALUES ('after', 'v')")
    assert "after" in await _keys(db)
    keys = await _keys(db) - before - {"after"}
    # the COMMIT inside a unit made what ran before it permanent; nothing after it ran alone
    assert keys <= {"a"}


async def test_a_caller_cancelled_while_waiting_never_runs(db):
    before = await _keys(db)
    async with db.transaction():
        waiting = asyncio.ensure_future(db.run(_add("cancelled")))
        kept = asyncio.ensure_future(db.run(_add("kept")))
        await asyncio.sleep(0.02)
        waiting.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await kept > 0
    assert await _keys(db) - before == {"kept"}


async def test_the_wal_is_checkpointed_beside_the_writer(db, monkeypatch):
    passes = []
    real = dbmodule._in_thread

    def spy(conn, fn, *args):
        if args and args[0] == "PRAGMA wal_checkpoint(PASSIVE)":
            passes.append(conn is db._checkpointer and conn not in (db.writer, db.reader))
        return real(conn, fn, *args)

    monkeypatch.setattr(dbmodule, "_in_thread", spy)
    monkeypatch.setattr(dbmodule, "CHECKPOINT_AFTER", 4)
    for i in range(12):
        await db.run(_add(f"c{i}"))
    await db._checkpoints_done()
    assert passes and all(passes)  # on a connection of its own, not the writer's
    assert {f"c{i}" for i in range(12)} <= await _keys(db)
