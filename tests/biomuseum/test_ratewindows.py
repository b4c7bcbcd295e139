"""django-ratelimit's private arithmetic, pinned: the page cache's own counting must hit the very keys and
windows `get_usage` counts (biomuseum/ratewindows.py says why). An upgrade that changes them fails here."""

import time

import pytest
from django.core.cache import caches
from django_ratelimit.core import get_usage

from biomuseum import ratelimits, ratewindows


@pytest.mark.parametrize(("rate", "expected"), [("5/m", (5, 60)), ("30/h", (30, 3600)), ("100/10s", (100, 10))])
def test_split_rate(rate, expected):
    assert ratewindows.split_rate(rate) == expected


def test_window_end_is_within_one_period_and_staggered_per_client():
    before = int(time.time())
    ends = {ratewindows.window_end(f"198.51.100.{index}", 3600) for index in range(20)}
    after = int(time.time())
    assert all(before <= end <= after + 3600 for end in ends)  # a window may end this very second
    assert len(ends) > 1  # per-client windows, so clients do not all reset on the hour


def test_built_in_keys_are_found_by_name(rf):
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    assert ratewindows.simple_key("ip")(request) == "203.0.113.9"
    assert ratewindows.simple_key("no-such-key") is None


def test_our_windows_are_the_keys_get_usage_counts(rf, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "public-read": ("7/m", "50/h")}
    caches["default"].clear()
    request = rf.get("/api/v1/organisms/", REMOTE_ADDR="203.0.113.20")
    windows = ratelimits.windows(request, "public-read")
    assert [(window.limit, window.period) for window in windows] == [(7, 60), (50, 3600)]
    for _ in range(3):
        ratelimits.check(request, "public-read")  # counts through django-ratelimit's get_usage
    assert [caches["default"].get(window.cache_key) for window in windows] == [3, 3]
    usage = get_usage(request, group="public-read", key="ip", rate="7/m", method=["GET", "HEAD"], increment=False)
    assert usage["count"] == 3 and usage["limit"] == 7
