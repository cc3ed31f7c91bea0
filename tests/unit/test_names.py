"""Container names: Docker's validation rule and message, generator and retries."""
from __future__ import annotations

import random
import re

import pytest

from hithe.containers import names
from hithe.containers.names import random_name, validate_name
from hithe.errors import Conflict, InvalidParameter

GENERATED = re.compile(r"[a-z]+_[a-z]+")


class ScriptedRandom(random.Random):
    """A Random whose choice()/randrange() answers come from scripts first."""

    def __init__(self, choices=(), ranges=()):
        super().__init__(0)
        self._choices = list(choices)
        self._ranges = list(ranges)
        self.range_calls = []

    def choice(self, seq):
        if self._choices:
            want = self._choices.pop(0)
            assert want in seq
            return want
        return super().choice(seq)

    def randrange(self, *args):
        self.range_calls.append(args)
        if self._ranges:
            return self._ranges.pop(0)
        return super().randrange(*args)


# --- word lists ----------------------------------------------------------------

def test_word_lists():
    adjectives, surnames = names._ADJECTIVES, names._SURNAMES
    assert len(adjectives) >= 100
    assert len(surnames) >= 200
    assert len(set(adjectives)) == len(adjectives)
    assert len(set(surnames)) == len(surnames)
    for word in adjectives + surnames:
        assert re.fullmatch(r"[a-z]+", word), word
    # Both halves of Docker's easter egg exist, so the exclusion matters.
    assert "boring" in adjectives and "wozniak" in surnames


# --- generation ----------------------------------------------------------------

def test_random_name_format_and_validity():
    seen = set()
    for _ in range(500):
        name = random_name(lambda n: False)
        assert GENERATED.fullmatch(name), name
        adjective, surname = name.split("_")
        assert adjective in names._ADJECTIVES and surname in names._SURNAMES
        assert validate_name(name) == name
        seen.add(name)
    assert len(seen) > 400  # actually random


def test_never_boring_wozniak():
    rng = ScriptedRandom(choices=["boring", "wozniak", "boring", "wozniak", "boring", "turing"])
    assert random_name(lambda n: False, rng=rng) == "boring_turing"


def test_never_boring_wozniak_statistically():
    rng = random.Random(1)
    for _ in range(20000):
        assert names._pick(rng) != "boring_wozniak"


def test_first_free_name_is_returned_without_suffix():
    asked = []

    def taken(n):
        asked.append(n)
        return False

    name = random_name(taken)
    assert asked == [name]
    assert not name.startswith("/")


def test_retries_add_one_digit_like_docker():
    asked = []

    def taken(n):
        asked.append(n)
        return len(asked) < 3  # first two are taken

    rng = ScriptedRandom(
        choices=["admiring", "turing", "bold", "curie", "calm", "noether"], ranges=[7, 3])
    name = random_name(taken, rng=rng)
    assert asked == ["admiring_turing", "bold_curie7", "calm_noether3"]
    assert name == "calm_noether3"
    assert rng.range_calls == [(10,), (10,)]


def test_fallback_after_six_attempts():
    asked = []

    def taken(n):
        asked.append(n)
        return True

    assert random_name(taken, fallback="0123456789ab") == "0123456789ab"
    assert len(asked) == 6
    assert GENERATED.fullmatch(asked[0])
    for n in asked[1:]:
        assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]", n), n


def test_without_fallback_wider_suffixes_then_conflict():
    asked = []

    def taken_until_wide(n):
        asked.append(n)
        return len(asked) <= 6

    name = random_name(taken_until_wide)
    assert re.fullmatch(r"[a-z]+_[a-z]+[0-9]{2,5}", name), name
    assert validate_name(name) == name

    with pytest.raises(Conflict):
        random_name(lambda n: True)


def test_seeded_generator_is_deterministic():
    a = [random_name(lambda n: False, rng=random.Random(42)) for _ in range(3)]
    assert len(set(a)) == 1


def test_taken_sees_every_candidate_until_free():
    existing = set()
    rng = random.Random(7)
    for _ in range(300):
        n = random_name(existing.__contains__, rng=rng)
        assert n not in existing
        existing.add(n)


# --- validation ------------------------------------------------------------------

def _message(name):
    return f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


@pytest.mark.parametrize("name,stored", [
    ("ab", "ab"),
    ("a1", "a1"),
    ("1abc", "1abc"),
    ("web", "web"),
    ("/web", "web"),
    ("Foo.Bar_baz-1", "Foo.Bar_baz-1"),
    ("a..", "a.."),
    ("x__--..y", "x__--..y"),
    ("focused_turing3", "focused_turing3"),
    ("a" * 300, "a" * 300),
])
def test_validate_name_ok(name, stored):
    assert validate_name(name) == stored


@pytest.mark.parametrize("name", [
    "", "a", "/", "/a", "//foo", "_foo", ".foo", "-foo", "/-foo", "foo bar", "foo/bar",
    "foo\n", "fóo", "foo:bar", "foo@bar", "foo+bar", "ünïcode", "a\x00b", " foo",
])
def test_validate_name_rejects_with_docker_message(name):
    with pytest.raises(InvalidParameter) as exc:
        validate_name(name)
    # Docker quotes the name exactly as given, leading slash included.
    assert str(exc.value) == _message(name)


def test_validate_name_message_example():
    with pytest.raises(InvalidParameter) as exc:
        validate_name("/my container")
    assert str(exc.value) == (
        "Invalid container name (/my container), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
