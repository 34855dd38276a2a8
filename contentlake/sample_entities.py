"""Planted duplicates and hard negatives in the sample catalogue, with their labelled truth.

With ``SampleSpec.duplicate_groups`` > 0 the generator adds, on day 1 and after the regular
items (so their draws and ids stay what they are), ``duplicate_groups`` groups of one
original plus one to three copies under new ids, and as many hard negatives: new items that
resemble an existing one but are another work. Each copy has one kind (``DUPLICATE_KINDS``):

* ``exact``: the same record under a new id;
* ``edited_title``: case, punctuation, an edition marker, a trailing article or a typo;
* ``translated_title``: the title in Spanish (the regional edition), language ``es``;
* ``shifted_duration``: the PAL speed-up (4% shorter) or a re-encode some seconds off;
* ``date_precision``: the release date known to the year or the month only (``YYYY-01-01``,
  ``YYYY-MM-01``), as sources that store a year do;
* ``same_media``: the same video and poster file under another id, with a garbled title and
  another source's synopsis (only where the original has media, ``media_items`` > 0).

Hard negatives (``HARD_NEGATIVE_KINDS``) must stay apart: a ``sequel`` (title plus a number,
released years later), a ``remake`` (the same title decades apart, another synopsis and
running time), a ``trailer`` (a clip carrying its movie's title and synopsis) and two
``episode`` s of one series (already in the catalogue, listed only).

The truth goes to ``_entities.json`` beside ``_expected.json``: every group with the kind
of each copy, and every hard negative pair. Words (edition markers, sequel suffixes, the
translation table) are data, in ``sample_entities.json``. Standard library only, like the
generator; every draw comes from streams of its own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

DUPLICATE_KINDS = (
    "exact",
    "edited_title",
    "translated_title",
    "shifted_duration",
    "date_precision",
    "same_media",
)
HARD_NEGATIVE_KINDS = ("sequel", "remake", "trailer", "episode")
TRUTH_FILE = "_entities.json"

_COPY_COUNTS = (1, 2, 3)
_COPY_WEIGHTS = (0.6, 0.3, 0.1)
PAL_SPEEDUP = 25 / 24  # a 24 fps film played at 25 fps in PAL regions: 4% shorter


def _load_words() -> dict[str, Any]:
    data_file = resources.files("contentlake").joinpath("sample_entities.json")
    return json.loads(data_file.read_text(encoding="utf-8"))


_WORDS = _load_words()
EDITION_MARKERS: tuple[str, ...] = tuple(_WORDS["edition_markers"])
SEQUEL_SUFFIXES: tuple[str, ...] = tuple(_WORDS["sequel_suffixes"])
_TRANSLATION = _WORDS["translation"]
_DICTIONARY = {word.lower(): translated for word, translated in _TRANSLATION["words"].items()}


def entities_truth_path(landing_root: Path) -> Path:
    """The labelled truth beside ``_expected.json``."""
    return Path(landing_root) / TRUTH_FILE


def load_entities_truth(landing_root: Path) -> dict[str, Any]:
    return json.loads(entities_truth_path(landing_root).read_text(encoding="utf-8"))


def true_pairs(truth: dict[str, Any]) -> set[tuple[str, str]]:
    """Every pair of ids of one planted group, smaller id first."""
    pairs = set()
    for group in truth["groups"]:
        ids = sorted(group["ids"])
        pairs |= {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]}
    return pairs


# ---------------------------------------------------------------------------------------------
# Titles


def translate_title(title: str) -> str:
    """The Spanish title of a generated one (``sample_data._title``'s four templates); an
    unknown word stays as it is, as loanwords do."""
    articles = _TRANSLATION["articles"]

    def word(text: str) -> str:
        return _DICTIONARY.get(text.lower(), text)

    def noun_adjective(text: str) -> str:  # "Quiet Letter" -> "Carta callada" order
        adjective, _, noun = text.partition(" ")
        return f"{word(noun)} {word(adjective)}" if noun else word(adjective)

    if title.startswith("The ") and " and the " in title:
        first, second = title[4:].split(" and the ", 1)
        translated = f"{articles['The']} {word(first)} {articles['and the']} {word(second)}"
    elif " of the " in title:
        first, rest = title.split(" of the ", 1)
        translated = f"{word(first)} {articles['of the']} {noun_adjective(rest)}"
    elif title.startswith("The "):
        translated = f"{articles['The']} {noun_adjective(title[4:])}"
    else:
        translated = noun_adjective(title)
    return translated[:1].upper() + translated[1:]


def _typo(rng: random.Random, title: str) -> str:
    """Two neighbouring letters of one longer word swapped."""
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return title + "."
    index = rng.choice(long_words)
    w = words[index]
    at = rng.randrange(1, len(w) - 2)
    words[index] = w[:at] + w[at + 1] + w[at] + w[at + 2 :]
    return " ".join(words)


def _trailing_article(title: str) -> str:
    return f"{title[4:]}, The" if title.startswith("The ") else f"{title}, The"


_TITLE_EDITS: tuple[Callable[[random.Random, str], str], ...] = (
    lambda rng, t: t.upper(),
    lambda rng, t: t.lower(),
    lambda rng, t: f"{t} {rng.choice(EDITION_MARKERS)}",
    lambda rng, t: _trailing_article(t),
    _typo,
    lambda rng, t: t.replace(" and the ", " & the ").replace(": ", " - ") + "!",
)


def edited_title(rng: random.Random, title: str) -> str:
    return rng.choice(_TITLE_EDITS)(rng, title)


def garbled_title(title: str) -> str:
    """A re-upload's file-name-like title: ``the_quiet_letter_1080p``."""
    stem = "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
    return f"{stem}_1080p"


# ---------------------------------------------------------------------------------------------
# Planting


def plant(
    rng: random.Random,
    day: date,
    day_one: list[dict[str, Any]],
    groups: int,
    allocate_id: Callable[[], str],
    describe: Callable[[random.Random, list[str], str], str],
    timestamp: Callable[[random.Random], str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """New records (copies and hard negatives) and the truth, for ``groups`` groups.

    ``day_one`` is the day's regular records (with their media URIs); ``allocate_id`` gives
    the next free id, ``describe(rng, genres, content_type)`` a fresh synopsis and
    ``timestamp(rng)`` an ``updated_at`` on ``day``.
    """
    playable = [r for r in day_one if r["content_type"] in ("movie", "episode", "clip")]
    used: set[str] = set()  # a work is planted in one group at most
    planted: list[dict[str, Any]] = []
    truth_groups = []
    for number in range(1, groups + 1):
        copies = rng.choices(_COPY_COUNTS, weights=_COPY_WEIGHTS)[0]
        kinds = [rng.choice(DUPLICATE_KINDS) for _ in range(copies)]
        free = [r for r in playable if r["content_id"] not in used]
        # The same file under two ids needs an original with a video.
        with_video = [r for r in free if r.get("video_uri") and r["content_type"] != "episode"]
        if "same_media" in kinds and not with_video:
            kinds = ["exact" if kind == "same_media" else kind for kind in kinds]
        pool = with_video if "same_media" in kinds else free
        if not pool:
            break
        original = rng.choice(pool)
        used.add(original["content_id"])
        if original["content_type"] == "episode":
            # An episode keeps "<series> - Episode n: ..."; only exact and edited re-uploads.
            kinds = [kind if kind == "exact" else "edited_title" for kind in kinds]
        by_id = {}
        for kind in kinds:
            copy = _copy(rng, original, kind, allocate_id(), describe, timestamp(rng))
            planted.append(copy)
            by_id[copy["content_id"]] = kind
        truth_groups.append(
            {
                "group": number,
                "original": original["content_id"],
                "ids": sorted([original["content_id"], *by_id]),
                "copies": by_id,
            }
        )
    negatives = []
    movies = [r for r in playable if r["content_type"] == "movie" and r["content_id"] not in used]
    for number in range(groups):
        kind = HARD_NEGATIVE_KINDS[number % len(HARD_NEGATIVE_KINDS)]
        if kind == "episode":
            pair = _episode_pair(rng, day_one)
            if pair:
                negatives.append({"kind": kind, "ids": pair})
            continue
        if not movies:
            continue
        base = rng.choice(movies)
        other = _hard_negative(rng, base, kind, allocate_id(), describe, timestamp(rng), day)
        planted.append(other)
        negatives.append({"kind": kind, "ids": sorted([base["content_id"], other["content_id"]])})
    return planted, {"groups": truth_groups, "hard_negatives": negatives}


def _copy(
    rng: random.Random,
    original: dict[str, Any],
    kind: str,
    content_id: str,
    describe: Callable[[random.Random, list[str], str], str],
    updated_at: str,
) -> dict[str, Any]:
    copy = dict(original, content_id=content_id, updated_at=updated_at)
    copy["genres"] = list(original["genres"])
    copy["tags"] = list(original["tags"])
    if kind != "same_media":
        # Another source's copy: its own files, none of which the sample writes.
        copy.update(poster_uri=None, video_uri=None)
    if kind == "edited_title":
        copy["title"] = edited_title(rng, original["title"])
    elif kind == "translated_title":
        copy.update(title=translate_title(original["title"]), language=_TRANSLATION["language"])
    elif kind == "shifted_duration":
        seconds = original["duration_seconds"]
        if rng.random() < 0.5:
            copy["duration_seconds"] = round(seconds / PAL_SPEEDUP)
        else:
            # A re-encode or a trimmed credit: up to 90 s, and never more than 3%.
            shift = rng.randint(1, max(1, min(90, seconds * 3 // 100)))
            copy["duration_seconds"] = max(1, seconds + rng.choice((-1, 1)) * shift)
    elif kind == "date_precision":
        released = date.fromisoformat(original["release_date"])
        coarse = released.replace(day=1) if rng.random() < 0.5 else released.replace(month=1, day=1)
        copy["release_date"] = coarse.isoformat()
    elif kind == "same_media":
        copy["title"] = garbled_title(original["title"])
        copy["description"] = describe(rng, copy["genres"], copy["content_type"])
        rng.shuffle(copy["tags"])
    elif kind != "exact":
        raise ValueError(f"unknown duplicate kind {kind!r}")
    return copy


def _hard_negative(
    rng: random.Random,
    base: dict[str, Any],
    kind: str,
    content_id: str,
    describe: Callable[[random.Random, list[str], str], str],
    updated_at: str,
    day: date,
) -> dict[str, Any]:
    """Another work that resembles ``base`` (a movie)."""
    released = date.fromisoformat(base["release_date"])
    other = dict(base, content_id=content_id, updated_at=updated_at, genres=list(base["genres"]))
    other.update(poster_uri=None, video_uri=None)
    if kind == "trailer":
        # The movie's title and synopsis on a two-minute clip.
        other.update(content_type="clip", duration_seconds=rng.randint(60, 180))
        return other
    other["description"] = describe(rng, other["genres"], "movie")
    other["duration_seconds"] = rng.randint(4_800, 9_000)
    if kind == "sequel":
        other["title"] = base["title"] + rng.choice(SEQUEL_SUFFIXES)
        later = min(released + timedelta(days=365 * rng.randint(2, 6)), day)
        other["release_date"] = later.isoformat()
    elif kind == "remake":
        earlier = released - timedelta(days=365 * rng.randint(15, 40))
        other["release_date"] = earlier.isoformat()
    else:
        raise ValueError(f"unknown hard negative kind {kind!r}")
    return other


def _episode_pair(rng: random.Random, records: list[dict[str, Any]]) -> list[str] | None:
    """Two episodes of one series, already in the catalogue."""
    by_series: dict[str, list[str]] = {}
    for record in records:
        if record["content_type"] == "episode":
            by_series.setdefault(record["series_id"], []).append(record["content_id"])
    series = sorted(s for s, ids in by_series.items() if len(ids) >= 2)
    if not series:
        return None
    return sorted(rng.sample(by_series[rng.choice(series)], 2))
