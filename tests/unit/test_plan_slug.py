"""The plan's file name from an untrusted goal (``floor.plan.slug``, ``free_name``): pure."""

from __future__ import annotations

import re

import pytest

from shopfloor.floor.plan import MAX_SLUG, free_name, slug


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("Add a login page!", "add-a-login-page"),
        ("../../etc/passwd", "etc-passwd"),
        ("/abs/path", "abs-path"),
        (".hidden", "hidden"),
        ("$(rm -rf ~); `reboot` | tee x", "rm-rf-reboot-tee-x"),
        ("Ünïcödé façade", "unicode-facade"),
        ("tab\tnew\nline\x00nul\x1b[31m", "tab-new-line-nul-31m"),
        ("a.lock", "a-lock"),
    ],
)
def test_a_goal_becomes_lowercase_ascii_words(goal: str, expected: str) -> None:
    assert slug(goal) == expected


GOALS_WITHOUT_WORDS = ["日本語の計画", "!!!", "..", "-", "\u202e\u200b", ""]


def test_a_goal_without_ascii_words_gets_a_stable_hash() -> None:
    names = [slug(goal) for goal in GOALS_WITHOUT_WORDS]
    assert all(re.fullmatch(r"plan-[0-9a-f]{8}", name) for name in names)
    assert len(set(names)) == len(names)  # different goals, different files
    assert names == [slug(goal) for goal in GOALS_WITHOUT_WORDS]


def test_every_slug_is_a_plain_bounded_file_name() -> None:
    goals = ["word " * 40, "a" * 500, "ab-" * 100, "x/" * 80, "\udcff lone surrogate"]
    for goal in goals:
        name = slug(goal)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) and len(name) <= MAX_SLUG, (goal, name)
    assert slug("word " * 40).endswith("word")  # cut at a word, not inside one


def test_a_taken_name_is_never_reused() -> None:
    assert free_name("plan", set()) == "plan"
    assert free_name("plan", {"plan"}) == "plan-2"
    assert free_name("plan", {"plan", "plan-2", "plan-3"}) == "plan-4"
