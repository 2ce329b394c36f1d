"""The pieces both platform adapters share (bot/adapters/common.py): byte limits, the
callback JSON check and the access-token cache. Their use against each platform is in the
WeCom and DingTalk tests."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.adapters.common import MalformedJson, TokenCache, cut_to_bytes, loads_json


def test_cut_to_bytes_keeps_short_text_and_cuts_on_a_character_boundary():
    assert cut_to_bytes("签到成功", 2048) == "签到成功"
    cut = cut_to_bytes("党" * 1000, 2048)  # 3000 bytes of 3-byte characters
    assert len(cut.encode()) <= 2048 and cut.endswith("…")
    assert cut == "党" * 681 + "…"  # 681*3 + 3 = 2046: a 682nd 党 would not fit
    mixed = cut_to_bytes("a" + "😀" * 2000, 4096)
    assert len(mixed.encode()) <= 4096
    mixed.encode().decode("utf-8")  # never broken UTF-8


class Platform:
    """Hands out numbered tokens valid for two hours, slowly enough for callers to overlap."""

    def __init__(self) -> None:
        self.issued = 0

    async def fetch(self) -> tuple[str, int]:
        self.issued += 1
        await asyncio.sleep(0)  # let the other callers arrive while this fetch runs
        return f"token-{self.issued}", 7200


async def test_concurrent_callers_share_one_fetch_and_the_token_is_kept(clock):
    platform, cache = Platform(), TokenCache(clock, margin=timedelta(minutes=5))
    tokens = await asyncio.gather(*(cache.get(platform.fetch) for _ in range(5)))
    assert tokens == ["token-1"] * 5 and platform.issued == 1
    clock.advance(minutes=114)  # 6 minutes before it expires: still good
    assert await cache.get(platform.fetch) == "token-1"


async def test_a_token_is_renewed_shortly_before_it_expires_or_when_refused(clock):
    platform, cache = Platform(), TokenCache(clock, margin=timedelta(minutes=5))
    await cache.get(platform.fetch)
    clock.advance(minutes=115)  # inside the margin: fetched again before the platform refuses it
    assert await cache.get(platform.fetch) == "token-2"
    assert await cache.get(platform.fetch, force=True) == "token-3"  # the platform refused it
    cache.forget()
    assert await cache.get(platform.fetch) == "token-4"


# A callback's JSON is read once; what it would smuggle in is refused whichever way it is
# spelled, including the spellings the quick check (no \\u escape, few brackets) must not
# wave through: escapes in a UTF-16 body, a lone surrogate in an already decoded text.
@pytest.mark.parametrize("text, refused", [
    (json.dumps({"text": "签到"}, ensure_ascii=False).encode(), None),
    (json.dumps({"text": "签到"}).encode(), None),  # \\u escapes, read the long way
    (json.dumps({"text": "请假 家里\x00有事"}).encode(), "has a NUL character"),
    (json.dumps({"text": "\ud800"}).encode(), "has a lone surrogate"),
    (json.dumps({"text": "\ud800"}, ensure_ascii=False), "has a lone surrogate"),
    (json.dumps({"text": "x\x00"}).encode("utf-16"), "has a NUL character"),
    (json.dumps({"text": "签到"}, ensure_ascii=False).encode("utf-16"), None),
    ("[" * 150 + "]" * 150, None),
    ("[" * 100_000 + "]" * 100_000, "is nested too deeply"),
    (b'{"text": "\x00"}', "is not JSON"),  # a raw NUL: the parser refuses it
], ids=["plain", "escaped", "nul", "surrogate", "raw-surrogate", "utf16-nul", "utf16",
        "shallow", "deep", "raw-nul"])
def test_callback_json_refuses_nul_surrogates_and_deep_nesting_however_written(text, refused):
    if refused is None:
        assert loads_json(text) == json.loads(text)
    else:
        with pytest.raises(MalformedJson, match=refused):
            loads_json(text)
