"""The offline demo plays every scene against the emulator and reads like a transcript."""

import io

import pytest

from bot.demo.play import demo_main


@pytest.mark.slow
async def test_demo_transcript(settings):
    out = io.StringIO()
    assert await demo_main(settings, out=out) == 0
    text = out.getvalue()
    assert "maria ▸ /settings timezone zone:America/Mexico_City" in text
    assert "Time zone: `America/Mexico_City`" in text
    assert "Solo los gestores del programa" in text  # lucia's Discord is Spanish
    assert "Traceback" not in text
    assert "━━ 2 · Families ━━" in text and "#estrellas" in text
    assert "<@" not in text  # mentions shown as names
    assert "━━ 3 · A check-in day ━━" in text and "[Give feedback]" in text
    assert "DM to lucia" in text
    assert "━━ 5b · A campaign ━━" in text and "[Enrol | My progress]" in text
    assert "“Spring push” has ended" in text and "campaign-1-results.csv" in text
