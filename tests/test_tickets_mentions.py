"""The delivery queue pings a role only when the row names it (an SLA alert pings its
ticket category's support role, nothing else)."""

from bot.delivery.sender import allowed_mentions


def test_roles_ping_only_when_named():
    assert allowed_mentions({}).roles is False
    named = allowed_mentions({"mentions": {"roles": [5]}})
    assert [r.id for r in named.roles] == [5]
    assert named.users is False and named.everyone is False
