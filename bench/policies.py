"""Policy library search: 1,000 documents of 2–20 KB each in English and Spanish, published
through the service (so the FTS5 index is the one Familia writes), then searched.

Figures:

- ``documents``: documents published; ``index_mb``: the database file after publishing;
- ``search_p50_ms`` / ``search_p99_ms``: ``PolicyService.search`` (the command's whole
  service call: the FTS5 query ranked by bm25 with snippets, the audience check of every
  hit) for 300 queries of one to three words, some with Spanish accents left out, as a
  creator. Goal: p99 ≤ 10 ms;
- ``like_p50_ms`` / ``like_p99_ms``: the same queries as a ``LIKE '%word%'`` scan of the same
  bodies (every word required, both languages) in the same run, on the same database;
- ``speedup_vs_like``: like_p50_ms ÷ search_p50_ms. Goal ≥ 20.

Not measured yet (#20): the acknowledgement fan-out to 5,000 creators through the delivery
queue against the emulator's enforced rate (``fanout_rate_ratio``, ``lost``,
``duplicated``).

    .venv/bin/python bench/policies.py [--documents 1000] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FrozenClock
from bot.config import load_settings
from bot.db import Database
from bot.services import Services

NOW = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
GUILD, MANAGER, CREATOR = 1, 10, 30
EN = ("live stream gifts diamonds followers family leader agency schedule music dance "
      "guidelines safety community campaign reward payout wallet minors violence spam "
      "copyright audio battle host guest comment moderation report ban warning").split()
ES = ("transmisión regalos diamantes seguidores familia líder agencia horario música baile "
      "normas seguridad comunidad campaña recompensa pago monetización menores violencia "
      "spam derechos audio batalla anfitrión invitado comentario moderación reporte "
      "expulsión advertencia").split()


def fold(word: str) -> str:
    return word.translate(str.maketrans("áéíóúñ", "aeioun"))


def vocabulary(rng: random.Random, topical: list[str]) -> tuple[list[str], list[float]]:
    """Words with Zipf-like weights, as prose has them: 20,000 filler words (the commonest
    very common) and the topical words spread among the ranks (what people search for)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(20_000)]
    for n, word in enumerate(topical):
        words.insert(50 + n * 97, word)
    return words, list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))


def body(rng: random.Random, words: tuple[list[str], list[float]], size: int) -> str:
    lines, length = [], 0
    while length < size:
        line = " ".join(rng.choices(words[0], cum_weights=words[1], k=rng.randint(8, 16)))
        line = line.capitalize() + "."
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


async def publish(services: Services, documents: int) -> None:
    rng = random.Random(20)
    en, es = vocabulary(rng, EN), vocabulary(rng, ES)
    for n in range(documents):
        await services.policies.publish(
            GUILD, MANAGER, f"Policy {n} {rng.choice(EN)}", category="community",
            bodies={"en": body(rng, en, rng.randint(2_000, 20_000)),
                    "es": body(rng, es, rng.randint(2_000, 20_000))})


def queries(count: int) -> list[tuple[str, str]]:
    rng = random.Random(21)
    found = []
    for _ in range(count):
        lang = rng.choice(("en", "es"))
        words = [rng.choice(EN if lang == "en" else ES) for _ in range(rng.randint(1, 3))]
        found.append((" ".join(fold(w) if rng.random() < 0.5 else w for w in words), lang))
    return found


async def like_scan(db: Database, query: str) -> int:
    """Every word somewhere in a body, either language: a plain scan of the same rows (all
    matches, as ranking them needs)."""
    words = query.split()
    where = " AND ".join("(v.body_en LIKE ? OR v.body_es LIKE ?)" for _ in words)
    params: list[object] = [GUILD]
    for w in words:
        params += [f"%{w}%", f"%{w}%"]
    rows = await db.fetchall(
        "SELECT d.id FROM policy_documents d JOIN policy_versions v ON v.document_id = d.id"
        f" WHERE d.guild_id = ? AND {where}", params)
    return len(rows)


def ms(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1] * 1000, 3) if len(
        values) > 1 else round(values[0] * 1000, 3)


async def main(documents: int, count: int) -> dict:
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        settings = load_settings(env_file=None, database_path=folder / "familia.db")
        db = await Database.open(settings.database_path)
        await db.migrate()
        try:
            services = Services.build(db, settings, FrozenClock(NOW))
            await services.guilds.get(GUILD)
            await publish(services, documents)
            size = settings.database_path.stat().st_size / 1e6
            asked = queries(count)
            for query, lang in asked[:20]:  # warm the page cache the same for both
                await services.policies.search(GUILD, CREATOR, query, lang)
                await like_scan(db, query)
            search, like = [], []
            for query, lang in asked:
                start = time.perf_counter()
                await services.policies.search(GUILD, CREATOR, query, lang)
                search.append(time.perf_counter() - start)
            for query, _ in asked:
                start = time.perf_counter()
                await like_scan(db, query)
                like.append(time.perf_counter() - start)
        finally:
            await db.close()
    return {"bench": "policies", "documents": documents, "index_mb": round(size, 1),
            "queries": count, "search_p50_ms": ms(search, 50), "search_p99_ms": ms(search, 99),
            "like_p50_ms": ms(like, 50), "like_p99_ms": ms(like, 99),
            "speedup_vs_like": round(statistics.median(like) / statistics.median(search), 1)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.documents, args.queries))))
