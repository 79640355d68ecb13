"""The campaigns' life cycle, driven by the sweep.

Life cycle: ``draft`` (created and edited, previewed) → ``scheduled`` (the manager confirmed)
→ ``running`` (its start came) → ``finished`` (its figures are final: the results snapshot is
taken), or ``cancelled`` from any of the first three. Figures are final once the campaign has
ended AND every creator's last chance to enter its last day has passed (a check-in for
yesterday is taken until the edit cutoff of the next morning, in the creator's zone:
:func:`bot.services.population.final_at`); between the two the campaign is over (nobody
enrols) but still ``running``, and its results wait. The results say when they became final.
Every change of state is one guarded UPDATE
(``... WHERE state = ?``) in the transaction that does its work, so the sweep
(:meth:`CampaignLifeCycle.sweep`, woken by the scheduler) can run twice, late or concurrently
and still start, remind and finish each campaign exactly once.

Announcements (start, reminders, results) are rows of ``campaign_posts``, one per family
channel of the audience, recorded by the sweep and handed to the Discord delivery queue by
:meth:`~bot.services.campaigns.posts.CampaignPosts.queue_posts`; when it finishes, one more
for the managers' channel if one is set (family id ``MANAGERS``: the analysis of
``/campaign results`` with the CSV), and the reward roles, queued with the results.
A reminder that came due while the bot was down is sent late only if it is still the latest
one (older ones are marked skipped, so nobody gets "midway" after "last day").
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import to_db
from bot.db import Transaction
from bot.localtime import day_start
from bot.services import audience as audience_of
from bot.services import day_figures, population
from bot.services.campaigns import arithmetic as cm
from bot.services.campaigns.models import MANAGERS, REMINDERS, Campaign, campaign_from_row
from bot.services.campaigns.posts import reward_send
from bot.services.campaigns.standings import CampaignStandings
from bot.services.campaigns.store import ENROL

STAGES = ("start", *REMINDERS, "results")
# Creators with a baseline: in a family since before the baseline's first day (guild,
# first day, last day, its first instant), with a check-in on one of its days.
BASELINE = (
    "SELECT DISTINCT c.user_id FROM checkins c WHERE c.guild_id = ?"
    " AND c.local_date BETWEEN ? AND ? AND EXISTS (SELECT 1 FROM family_members fm"
    " WHERE fm.guild_id = c.guild_id AND fm.user_id = c.user_id AND fm.joined_at < ?)"
)


class CampaignLifeCycle(CampaignStandings):
    # -- the sweep: starting, reminding, finishing --------------------------------------------

    async def sweep(self) -> dict[str, list[int]]:
        """Do what is due now, each step once (safe to run late, twice or concurrently)."""
        now = self.clock.now()
        done: dict[str, list[int]] = {"started": [], "reminded": [], "finished": []}
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE (state = 'scheduled' AND starts_at <= ?)"
            " OR state = 'running'", (to_db(now),))
        for found in map(campaign_from_row, rows):
            if found.state == "scheduled":
                if await self._start(found, now):
                    done["started"].append(found.id)
                    found = replace(found, state="running")
                else:
                    continue
            if found.ends_at <= now:
                final = await self.final_at(found)
                if final <= now and await self._finish(found, now, final):
                    done["finished"].append(found.id)
            elif await self._remind(found, now):
                done["reminded"].append(found.id)
        if done["finished"]:
            self.deliveries.notify()  # reward roles were queued with the results
        if self.email is not None and any(done.values()):
            self.email.on_queued()  # the email copies were queued with the posts
        return done

    async def _start(self, found: Campaign, now: datetime) -> bool:
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'running', started_at = ? WHERE id = ?"
                    " AND state = 'scheduled'", (to_db(now), found.id)):
                return False
            if not found.opt_in:
                await self._enrol_audience(tx, found)
            if found.ends_at > now:  # a campaign missed entirely gets only its results
                since = max(found.starts_at, found.scheduled_at or found.starts_at)
                await self._queue(tx, found, "start", late=now - since > timedelta(hours=1))
                await self._news(tx, found, "start")
        return True

    async def _enrol_audience(self, tx: Transaction, found: Campaign) -> None:
        people = await audience_of.creators(tx, found.guild_id, found.audience,
                                            found.audience_ids)
        now = to_db(self.clock.now())
        await tx.executemany(ENROL, [(found.id, found.guild_id, user_id, family_id, "auto", now)
                                     for user_id, family_id in people.items()])

    async def _remind(self, found: Campaign, now: datetime) -> bool:
        due = [s for s in REMINDERS if (when := found.due(s)) is not None and when <= now]
        if not due:
            return False
        latest = due[-1]
        async with self.db.transaction() as tx:
            if await tx.fetchval("SELECT 1 FROM campaign_posts WHERE campaign_id = ? AND"
                                 " stage = ? LIMIT 1", (found.id, latest)):
                return False
            for stage in due[:-1]:  # missed while down and already superseded
                await self._queue(tx, found, stage, skip="superseded")
            due_at = found.due(latest)
            late = due_at is not None and now - due_at > timedelta(hours=1)
            posted = await self._queue(tx, found, latest, late=late)
            now_standing = await self.standings(found)
            people, values = now_standing.people, now_standing.values
            await self._news(tx, found, latest, {u: (True, values[u], False) for u in people})
            return posted > 0

    async def _queue(self, tx: Transaction, found: Campaign, stage: str, *, late: bool = False,
                     skip: str | None = None) -> int:
        """One post per family of the audience (families without a channel: skipped)."""
        if found.audience == "tiers":
            families = await audience_of.families_of_tiers(tx, found.guild_id,
                                                           found.audience_ids)
        else:
            ids = found.audience_ids if found.audience == "families" else None
            families = await audience_of.family_channels(tx, found.guild_id, ids or None)
        now = to_db(self.clock.now())
        rows = [(found.id, found.guild_id, stage, f["id"], f["channel_id"],
                 "skipped" if skip or not f["channel_id"] else "pending", int(late),
                 skip or (None if f["channel_id"] else "no_channel"), now) for f in families]
        await tx.executemany(
            "INSERT OR IGNORE INTO campaign_posts (campaign_id, guild_id, stage, family_id,"
            " channel_id, state, late, error, queued_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return sum(1 for r in rows if r[5] == "pending")

    async def _news(self, tx: Transaction, found: Campaign, stage: str,
                    standing: dict[int, tuple[bool, float, bool]] | None = None) -> int:
        """The email copy of a stage's announcement, in the same transaction: to everyone in
        the audience (and any participant) with a verified address and campaign news on,
        each with their own standing — ``standing[user] = (participant, value, reached)``.
        Dedupe key ``campaign:<id>:<stage>:<user>``."""
        if self.email is None:
            return 0
        standing = standing or {}
        people = set(await self.audience(found.guild_id, found)) | set(standing)
        recipients = await self.email.recipients(found.guild_id, people, "campaigns")
        if not recipients:
            return 0
        summary = found.summary or {}

        def context(r: Any) -> dict[str, Any]:
            participant, value, reached = standing.get(r.user_id, (False, 0.0, False))
            return {"stage": stage, "campaign": found, "summary": summary,
                    "me": {"participant": participant, "value": value, "reached": reached}}

        emails = await self.email.prepare(found.guild_id, recipients, "campaign",
                                          f"campaign:{found.id}:{stage}", context, tx)
        return await self.email.queue_rendered(tx, emails)

    async def _finish(self, found: Campaign, now: datetime, final: datetime) -> bool:
        managers = (await self.guilds.get(found.guild_id)).channels.get("managers")
        audience = await self.audience(found.guild_id, found)
        people = await self.participants(found)
        during = await self.values(found.guild_id, found.metric, found.first_day,
                                   found.last_day)
        first, last = cm.before_window(found.first_day, found.last_day)
        before = await self.values(found.guild_id, found.metric, first, last)
        counted = await population.population(self.db, found.guild_id, found.first_day,
                                              found.last_day)
        baseline = await self._baseline(found.guild_id, first, last)
        everyone = {**audience, **people}
        family_totals: dict[int, float] = defaultdict(float)
        for user_id, family_id in people.items():
            if family_id is not None and counted.counts_values(user_id):
                family_totals[family_id] += during.get(user_id, 0.0)
        family_met = {f for f, total in family_totals.items()
                      if found.target_family and total >= found.target_family}
        rows = []
        for user_id, family_id in sorted(everyone.items()):
            value = during.get(user_id, 0.0)
            participant = user_id in people
            if found.target_creator:
                reached = participant and value >= found.target_creator
            else:
                reached = participant and family_id in family_met
            reward = "pending" if reached and found.reward_role_id else "none"
            rows.append((found.id, found.guild_id, user_id, family_id, int(participant), value,
                         before.get(user_id, 0.0), int(reached), reward))
        async with self.db.transaction() as tx:
            if not await tx.execute(
                    "UPDATE campaigns SET state = 'finished', finished_at = ? WHERE id = ?"
                    " AND state = 'running'", (to_db(now), found.id)):
                return False
            await tx.executemany(
                "INSERT OR REPLACE INTO campaign_results (campaign_id, guild_id, user_id,"
                " family_id, participant, value, before, reached, reward_state)"
                " VALUES (?,?,?,?,?,?,?,?,?)", rows)
            if found.reward_role_id:  # the role to each member who reached the goal
                await self.deliveries.add(tx, found.guild_id, [
                    reward_send(found.id, r[2], found.reward_role_id)
                    for r in rows if r[8] == "pending"])
            summary = await self._summary(tx, found, rows, family_totals, family_met,
                                          counted, baseline)
            summary |= {"final_at": to_db(final), "counted": counted.rule,
                        **await _final_against(tx, found)}
            await tx.execute("UPDATE campaigns SET summary = ? WHERE id = ?",
                             (json.dumps(summary), found.id))
            await tx.execute("UPDATE campaign_posts SET state = 'skipped', error = 'ended'"
                             " WHERE campaign_id = ? AND state = 'pending' AND stage != 'start'",
                             (found.id,))
            await self._queue(tx, found, "results")
            if managers:  # the analysis and the CSV, after the family posts (a higher id)
                await tx.execute(
                    "INSERT OR IGNORE INTO campaign_posts (campaign_id, guild_id, stage,"
                    " family_id, channel_id, state, queued_at) VALUES (?, ?, 'results', ?, ?,"
                    " 'pending', ?)", (found.id, found.guild_id, MANAGERS, managers,
                                       to_db(self.clock.now())))
            finished = replace(found, state="finished", summary=summary)
            await self._news(tx, finished, "results",
                             {r[2]: (bool(r[4]), r[5], bool(r[7])) for r in rows})
        return True

    async def _baseline(self, guild_id: int, first: date, last: date) -> set[int]:
        """The creators with a baseline over the local days ``first..last``: in the program
        (some family) since before it began, with a check-in on one of its days."""
        rows = await self.db.fetchall(BASELINE, (guild_id, first.isoformat(), last.isoformat(),
                                                 to_db(day_start(first, "UTC"))))
        return {r["user_id"] for r in rows}

    async def _summary(self, tx: Transaction, found: Campaign, rows: list[tuple],
                       totals: dict[int, float], met: set[int],
                       counted: population.Population, baseline: set[int]) -> dict[str, Any]:
        """Participation, completion, families and uplift over the creators who count
        (:mod:`bot.services.population`); the rows (and rewards) keep everyone."""
        rows = [r for r in rows if counted.counts(r[2])]
        participants = [r for r in rows if r[4]]
        others = [r for r in rows if not r[4]]
        compared = [[r for r in side if r[2] in baseline] for side in (participants, others)]
        names = {r["id"]: r["name"] for r in await tx.fetchall(
            "SELECT id, name FROM families WHERE guild_id = ?", (found.guild_id,))}
        families = []
        for family_id in sorted(totals, key=lambda f: (-totals[f], names.get(f, ""))):
            mine = [r for r in participants if r[3] == family_id]
            families.append({"id": family_id, "name": names.get(family_id, "?"),
                             "participants": len(mine), "reached": sum(r[7] for r in mine),
                             "total": round(totals[family_id], 2), "goal_met": family_id in met})
        return {
            "audience": len(rows), "participants": len(participants),
            "reached": sum(r[7] for r in participants), "families": families,
            "uplift": {"participants": [len(participants), *_means(participants)],
                       "others": [len(others), *_means(others)],
                       "compared": [[len(side), *_means(side)] for side in compared],
                       "days": found.days},
        }


async def _final_against(tx: Transaction, found: Campaign) -> dict[str, Any]:
    """What the results are final against: the metric's source when they were taken and the
    daily imports then applied over the campaign's days (bot/services/day_figures.py)."""
    if found.metric not in day_figures.FOLLOWING:
        return {}
    source = await tx.fetchval(
        f"SELECT {found.metric} FROM stat_settings WHERE guild_id = ?", (found.guild_id,))
    rows = await tx.fetchall(day_figures.IMPORTS_OVER, (found.guild_id, found.last_day.isoformat(),
                                            found.first_day.isoformat()))
    return {"source": source or "imported", "imports": [r["id"] for r in rows]}


def _means(rows: list[tuple]) -> tuple[float, float]:
    """(mean before, mean during) of result rows."""
    if not rows:
        return 0.0, 0.0
    return (round(sum(r[6] for r in rows) / len(rows), 4),
            round(sum(r[5] for r in rows) / len(rows), 4))
