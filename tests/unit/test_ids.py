"""Property tests for issue ids (``tracker.ids``)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopfloor.errors import ValidationError
from shopfloor.tracker import ids

PROPERTY = settings(max_examples=150, deadline=None)

PREFIXES = st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True)
LENGTHS = st.integers(ids.MIN_LENGTH, ids.MAX_LENGTH)
# Beyond this many issues even MAX_LENGTH cannot keep the chance of a collision under 1%.
LAST_WITHIN_BUDGET = 300_000_000


@PROPERTY
@given(PREFIXES, st.text(), st.binary(max_size=32), LENGTHS)
def test_make_id_shape(prefix: str, content: str, nonce: bytes, length: int) -> None:
    issue_id = ids.make_id(prefix, content, nonce, length)
    assert re.fullmatch(rf"{re.escape(prefix)}-[0-9a-z]{{{length}}}", issue_id), issue_id
    assert ids.is_valid_id(issue_id)
    assert ids.make_id(prefix, content, nonce, length) == issue_id, "same inputs must give the same id"


@PROPERTY
@given(PREFIXES, st.text(), st.binary(max_size=16), st.binary(max_size=16), st.integers(8, ids.MAX_LENGTH))
def test_different_nonces_give_different_ids(prefix: str, content: str, n1: bytes, n2: bytes, length: int) -> None:
    # At 8+ characters a chance collision is below 1 in 2.8e12, so any equality here is a bug.
    if n1 != n2:
        assert ids.make_id(prefix, content, n1, length) != ids.make_id(prefix, content, n2, length)


@PROPERTY
@given(PREFIXES, st.text(), st.text(), st.binary(max_size=16))
def test_different_content_gives_different_ids(prefix: str, c1: str, c2: str, nonce: bytes) -> None:
    if c1 != c2:
        assert ids.make_id(prefix, c1, nonce, ids.MAX_LENGTH) != ids.make_id(prefix, c2, nonce, ids.MAX_LENGTH)


@pytest.mark.parametrize("length", [ids.MIN_LENGTH, 5, 8])
def test_short_ids_spread_over_the_whole_space(length: int) -> None:
    """Many nonces give (almost) all-distinct ids, and every character of the alphabet turns up."""
    made = [ids.make_id("t", "same content", n.to_bytes(4, "big"), length) for n in range(400)]
    space = len(ids.ALPHABET) ** length
    expected_collisions = 400 * 399 / 2 / space  # 0.05 at length 4
    assert len(made) - len(set(made)) <= 1 + 10 * expected_collisions
    seen = {ch for issue_id in made for ch in issue_id[2:]}
    assert seen == set(ids.ALPHABET)


def test_id_length_starts_at_minimum() -> None:
    assert ids.MIN_LENGTH == 4
    assert [ids.id_length(n) for n in range(0, 100)] == [4] * 100


@PROPERTY
@given(st.integers(0, LAST_WITHIN_BUDGET), st.integers(0, LAST_WITHIN_BUDGET))
def test_id_length_is_non_decreasing(n: int, m: int) -> None:
    lo, hi = sorted((n, m))
    assert ids.id_length(lo) <= ids.id_length(hi)


@PROPERTY
@given(st.one_of(st.integers(0, 10_000), st.integers(0, LAST_WITHIN_BUDGET)))
def test_id_length_keeps_collisions_under_budget_and_is_shortest(n: int) -> None:
    length = ids.id_length(n)
    assert ids.MIN_LENGTH <= length <= ids.MAX_LENGTH
    assert ids.collision_probability(n + 1, length) < 0.01
    if length > ids.MIN_LENGTH:
        assert ids.collision_probability(n + 1, length - 1) >= 0.01, "a shorter id would have done"


@pytest.mark.parametrize("length", range(ids.MIN_LENGTH, ids.MAX_LENGTH - 3))
def test_budget_holds_for_the_exact_birthday_probability(length: int) -> None:
    """At the largest count each length serves, the exact (not approximated) chance is under 1%."""
    lo, hi = 0, LAST_WITHIN_BUDGET
    while lo < hi:  # the largest n whose id_length is still `length`
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ids.id_length(mid) <= length else (lo, mid - 1)
    assert ids.id_length(lo) == length
    space = len(ids.ALPHABET) ** length
    exact = -math.expm1(math.fsum(math.log1p(-i / space) for i in range(lo + 1)))
    assert exact < 0.01
    assert ids.collision_probability(lo + 2, length) >= 0.01


def test_id_length_caps_at_max_length() -> None:
    assert ids.id_length(LAST_WITHIN_BUDGET) == ids.MAX_LENGTH
    assert ids.id_length(10**15) == ids.MAX_LENGTH


@PROPERTY
@given(st.integers(0, 10**7), st.integers(1, 10**6), st.integers(ids.MIN_LENGTH, ids.MAX_LENGTH - 1))
def test_collision_probability_is_a_probability_and_monotone(count: int, more: int, length: int) -> None:
    p = ids.collision_probability(count, length)
    assert 0.0 <= p <= 1.0
    assert ids.collision_probability(count + more, length) >= p
    assert ids.collision_probability(count, length + 1) <= p


def test_collision_probability_known_values() -> None:
    assert ids.collision_probability(0, 4) == 0.0
    assert ids.collision_probability(1, 4) == 0.0
    assert ids.collision_probability(2, 4) == pytest.approx(1 / 36**4, rel=1e-6)


@pytest.mark.parametrize(("count", "length"), [(10, 4), (184, 4), (1000, 4), (3000, 4), (1102, 5), (50_000, 7)])
def test_collision_probability_matches_the_exact_birthday_probability(count: int, length: int) -> None:
    space = len(ids.ALPHABET) ** length
    exact = -math.expm1(math.fsum(math.log1p(-i / space) for i in range(count)))
    assert ids.collision_probability(count, length) == pytest.approx(exact, rel=1e-2)


@PROPERTY
@given(
    PREFIXES,
    st.text(),
    st.binary(max_size=8),
    LENGTHS,
    st.lists(st.integers(1, 10_000), min_size=1, max_size=3),
)
def test_child_ids_are_valid(prefix: str, content: str, nonce: bytes, length: int, path: list[int]) -> None:
    issue_id = ids.make_id(prefix, content, nonce, length)
    child = issue_id
    for n in path:
        parent, child = child, ids.child_id(child, n)
        assert ids.is_valid_id(child), child
        assert ids.parent_of(child) == parent
    assert ids.parent_of(issue_id) is None


@pytest.mark.parametrize(
    "good", ["t-abcd", "t-abcd.1", "t-abcd.2.3", "shop2-0000", "a-abc", "abcdefghijklmnop-abcdefghijkl"]
)
def test_is_valid_id_accepts(good: str) -> None:
    assert ids.is_valid_id(good)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "abcd",
        "t-",
        "t-ab",
        "T-abcd",
        "t-ABCD",
        "1t-abcd",
        "t-abcdefghijklm",
        "t-abcd.",
        "t-abcd.0",
        "t-abcd.01",
        "t-abcd.-1",
        "t-ab_d",
        " t-abcd",
        "t-abcd ",
        "t-abcd\n",
        "abcdefghijklmnopq-abcd",
    ],
)
def test_is_valid_id_rejects(bad: str) -> None:
    assert not ids.is_valid_id(bad)


@PROPERTY
@given(st.text())
def test_prefix_from_name_always_gives_a_valid_prefix(name: str) -> None:
    prefix = ids.prefix_from_name(name)
    assert ids.check_prefix(prefix) == prefix
    assert 1 <= len(prefix) <= 8


@PROPERTY
@given(PREFIXES)
def test_prefix_from_name_keeps_a_valid_prefix(prefix: str) -> None:
    assert ids.prefix_from_name(prefix) == prefix[:8]


@pytest.mark.parametrize(
    ("name", "prefix"), [("My-Repo", "myrepo"), ("shopfloor", "shopfloo"), ("2048-game", "game"), ("___", "sf")]
)
def test_prefix_from_name_examples(name: str, prefix: str) -> None:
    assert ids.prefix_from_name(name) == prefix


@pytest.mark.parametrize("bad", ["", "1abc", "Abc", "a-b", "a" * 17, "abc\n", " abc"])
def test_check_prefix_rejects(bad: str) -> None:
    with pytest.raises(ValidationError):
        ids.check_prefix(bad)
