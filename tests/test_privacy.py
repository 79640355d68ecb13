"""Export and delete one member's data; other members and guilds are untouched."""


async def test_export_and_delete_cover_every_personal_table(services):
    await services.members.set_timezone(1, 7, "Europe/London")
    await services.members.set_locale(1, 8, "es")
    await services.members.set_locale(2, 7, "es")
    exported = await services.privacy.export(1, 7)
    assert exported["members"][0]["timezone"] == "Europe/London"
    assert all(row.get("user_id", 7) == 7 for rows in exported.values() for row in rows)

    counts = await services.privacy.delete(1, 7)
    assert counts["members"] == 1
    assert await services.privacy.export(1, 7) == {}
    assert await services.members.get(1, 8) is not None  # someone else
    assert await services.members.get(2, 7) is not None  # same person, other guild
    actors = await services.db.fetchall("SELECT actor_id FROM audit_log WHERE guild_id = 1")
    assert 7 not in {r["actor_id"] for r in actors}


async def test_personal_tables_are_found_by_introspection(services):
    tables = dict(await services.privacy._personal_tables())
    assert tables["members"] == "user_id"
    assert "family_members" in tables
    assert "app_meta" not in tables
