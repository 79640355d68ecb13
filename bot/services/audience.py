"""Who an audience is: the queries campaigns and broadcasts share.

An audience names families or tiers by id; the ids go into each statement as ONE parameter, a
JSON array read with ``json_each``, so every statement here is written whole (no placeholder
lists glued in). Every function takes a connection — the database or an open transaction —
so a caller can read the audience inside the transaction that acts on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.db import Database, Transaction

Connection = Database | Transaction

# Creators of an audience: active members of active families (campaigns).
CREATORS_OF_ALL = (
    "SELECT fm.user_id, fm.family_id FROM family_members fm JOIN families f"
    " ON f.id = fm.family_id AND f.archived_at IS NULL"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
)
CREATORS_OF_FAMILIES = (
    "SELECT fm.user_id, fm.family_id FROM family_members fm JOIN families f"
    " ON f.id = fm.family_id AND f.archived_at IS NULL"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
    " AND fm.family_id IN (SELECT value FROM json_each(?))"
)
CREATORS_OF_TIERS = (
    "SELECT fm.user_id, fm.family_id FROM family_members fm JOIN families f"
    " ON f.id = fm.family_id AND f.archived_at IS NULL"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
    " AND EXISTS (SELECT 1 FROM member_tiers mt WHERE mt.guild_id = fm.guild_id"
    " AND mt.user_id = fm.user_id AND mt.tier_id IN (SELECT value FROM json_each(?)))"
)
# The families (and their channels) that creators holding some tiers are in.
FAMILIES_OF_TIERS = (
    "SELECT DISTINCT f.id, f.channel_id FROM family_members fm JOIN families f"
    " ON f.id = fm.family_id AND f.archived_at IS NULL"
    " WHERE fm.guild_id = ? AND fm.left_at IS NULL"
    " AND EXISTS (SELECT 1 FROM member_tiers mt WHERE mt.guild_id = fm.guild_id"
    " AND mt.user_id = fm.user_id AND mt.tier_id IN (SELECT value FROM json_each(?)))"
)
ACTIVE_FAMILY_CHANNELS = (
    "SELECT id, channel_id FROM families WHERE guild_id = ? AND archived_at IS NULL ORDER BY id"
)
CHOSEN_FAMILY_CHANNELS = (
    "SELECT id, channel_id FROM families WHERE guild_id = ? AND archived_at IS NULL"
    " AND id IN (SELECT value FROM json_each(?)) ORDER BY id"
)
# Broadcasts: people holding a tier who are still on the server (in a family or not).
TIER_HOLDERS = (
    "SELECT mt.user_id FROM member_tiers mt JOIN members m ON m.guild_id = mt.guild_id"
    " AND m.user_id = mt.user_id WHERE mt.guild_id = ? AND m.left_at IS NULL"
    " AND mt.tier_id IN (SELECT value FROM json_each(?)) ORDER BY mt.user_id"
)
FAMILY_LEADERS = (
    "SELECT leader_user_id AS u FROM families WHERE id IN (SELECT value FROM json_each(?))"
    " UNION SELECT co_leader_user_id FROM families WHERE id IN (SELECT value FROM json_each(?))"
)
FAMILY_MEMBERS = (
    "SELECT user_id FROM family_members WHERE family_id IN (SELECT value FROM json_each(?))"
    " AND left_at IS NULL"
)

# kind → (the creators statement, whether it takes the ids)
_CREATORS = {"all": (CREATORS_OF_ALL, False), "families": (CREATORS_OF_FAMILIES, True),
             "tiers": (CREATORS_OF_TIERS, True)}


def id_list(ids: Iterable[int]) -> str:
    """Ids as the one JSON parameter the statements here read with ``json_each``."""
    return json.dumps([int(i) for i in ids])


async def creators(conn: Connection, guild_id: int, kind: str, ids: Iterable[int]
                   ) -> dict[int, int]:
    """Creator → family for everyone in an audience of ``kind`` (all, families, tiers)."""
    if kind not in _CREATORS:
        raise ValueError(f"unknown audience {kind!r}")
    statement, takes_ids = _CREATORS[kind]
    params: tuple[Any, ...] = (guild_id, id_list(ids)) if takes_ids else (guild_id,)
    rows = await conn.fetchall(statement, params)
    return {r["user_id"]: r["family_id"] for r in rows}


async def family_channels(conn: Connection, guild_id: int, family_ids: Iterable[int] | None
                          ) -> list[Any]:
    """(id, channel_id) rows of the active families named (None: every active family)."""
    if family_ids is None:
        return await conn.fetchall(ACTIVE_FAMILY_CHANNELS, (guild_id,))
    return await conn.fetchall(CHOSEN_FAMILY_CHANNELS, (guild_id, id_list(family_ids)))


async def families_of_tiers(conn: Connection, guild_id: int, tier_ids: Iterable[int]
                            ) -> list[Any]:
    """(id, channel_id) rows of the active families with a creator holding one of the tiers."""
    return await conn.fetchall(FAMILIES_OF_TIERS, (guild_id, id_list(tier_ids)))


async def tier_holders(conn: Connection, guild_id: int, tier_ids: Iterable[int]) -> list[int]:
    """Members still on the server holding one of the tiers, by user id."""
    rows = await conn.fetchall(TIER_HOLDERS, (guild_id, id_list(tier_ids)))
    return [r["user_id"] for r in rows]


async def family_leaders(conn: Connection, family_ids: Iterable[int]) -> set[int]:
    """The leaders and co-leaders of the families."""
    ids = id_list(family_ids)
    return {r["u"] for r in await conn.fetchall(FAMILY_LEADERS, (ids, ids)) if r["u"]}


async def family_members(conn: Connection, family_ids: Iterable[int]) -> set[int]:
    """The active members of the families."""
    rows = await conn.fetchall(FAMILY_MEMBERS, (id_list(family_ids),))
    return {r["user_id"] for r in rows}
