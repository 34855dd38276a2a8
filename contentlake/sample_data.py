"""Deterministic generator of sample landing files: a video catalogue and viewer events.

Layout written under a landing root (one folder per landing day)::

    catalog/date=YYYY-MM-DD/part-00000.jsonl   catalogue snapshot (day 1) or updates (later days)
    events/date=YYYY-MM-DD/part-00000.csv      viewer events of that day, with a header row
    <source>/date=YYYY-MM-DD/_SUCCESS          the day's completion marker, written last
    _expected.json                             what was written, bad records counted by kind
    media/video/<id>.mp4, media/poster/<id>.png  with ``media_items`` > 0: real media files
                                               (``contentlake.sample_media`` says how their
                                               signals are made: genre look, hidden style)

The same :class:`SampleSpec` always gives byte-identical files, and every random draw comes
from a ``random.Random`` seeded from the spec seed plus a label, so the data of one day does
not depend on how many days follow it. Only the standard library is used, so the generator
runs before any Spark or Python dependency is installed. Its words (genre vocabularies and the
values that make rows bad) are data, in ``sample_vocabulary.json`` beside this module; the
accepted values and columns come from :mod:`contentlake.contract`.

Conventions the pipelines can rely on:

* Good content ids are ``c000001`` upwards (below ``c900000``). Bad catalogue rows that carry
  an id use ``c900000``-``c989999``, which never appear in a good row; ``unknown_content_id``
  events use ``c990000``-``c999999``, which never appear in the catalogue at all.
* ``series`` rows are containers for their episodes: ``duration_seconds`` is ``0`` and no
  event refers to them. Episodes carry ``series_id`` and inherit genres and language.
* Good events refer only to playable content (movie, episode, clip) present in the
  catalogue files up to and including the event's landing day.
* Each bad row has exactly one defect, and ``_expected.json`` counts them per kind. With
  ``bad_share`` 0 the files are clean; otherwise each file holds at least one of each kind
  (a file without good rows, e.g. ``events_per_day`` 0, gets no bad rows either).
* Every item has a hidden ``style`` (:func:`item_style`, one of ``STYLES``) that no record
  carries. With ``media_items`` > 0 the first ``media_items`` playable items of day 1 get a
  ``poster_uri`` and a ``video_uri`` whose look follows genre and style (and, with
  ``bad_share`` > 0, the last of them bad media, one of each kind); with ``style_share`` > 0
  that share of sessions picks an item of the user's favourite style (:func:`user_style`).
  Both default to 0, which writes exactly the files of a text-only catalogue.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import Any

from contentlake.contract import CONTENT_COLUMNS, CONTENT_TYPES, DEVICES, RAW_EVENT_COLUMNS

# Re-exported (the redundant alias says so): tests import the accepted values from here.
from contentlake.contract import EVENT_TYPES as EVENT_TYPES
from contentlake.landing_ready import LANDING_SOURCES, mark_complete

SECONDS_PER_DAY = 86_400

PLAYABLE_TYPES = ("movie", "episode", "clip")
WATCH_EVENT_TYPES = ("pause", "complete")
LANGUAGES = ("en", "es", "fr", "de", "ja", "pt", "it", "ko")

# The landing files' columns, under the names callers of the generator already import.
CATALOG_COLUMNS = CONTENT_COLUMNS  # catalogue JSON keys
EVENT_COLUMNS = RAW_EVENT_COLUMNS  # events CSV header: the raw columns, not the silver ones

CATALOG_BAD_KINDS = (
    "missing_content_id",
    "invalid_duration",
    "invalid_content_type",
    "duplicate_record",
    "future_updated_at",
    "malformed_json",
)
EVENT_BAD_KINDS = (
    "missing_event_id",
    "invalid_watch_seconds",
    "negative_watch_seconds",
    "unknown_content_id",
    "duplicate_event",
    "future_timestamp",
    "invalid_event_type",
    "invalid_timestamp",
)

# Id ranges, see the module docstring: the ranges never overlap, so a bad row can never be
# mistaken for (or collide with) a good one.
GOOD_ID_LIMIT = 900_000
BAD_CATALOG_ID_BASE = 900_000
UNKNOWN_ID_BASE = 990_000

# Duration ranges (seconds) per playable type; series are containers with duration 0.
DURATION_RANGES = {"movie": (4_800, 9_000), "episode": (1_200, 3_600), "clip": (30, 600)}
SERIES_DURATION = 0

_TYPE_WEIGHTS = (0.35, 0.08, 0.32, 0.25)  # in CONTENT_TYPES order: movie, series, episode, clip
_LANGUAGE_WEIGHTS = (0.5, 0.14, 0.09, 0.08, 0.08, 0.05, 0.03, 0.03)

# Behaviour knobs of the event simulation.
_FAVOURITE_PICK_SHARE = 0.8  # sessions that start from one of the user's favourite genres
_PREFERRED_DEVICE_SHARE = 0.7
_UPDATE_SHARE = 0.05  # existing items re-emitted on each later day
_NEW_ITEM_SHARE = 0.02  # new items added on each later day

# The hidden visual style of an item (contentlake.sample_media draws its texture from it).
STYLES = ("stripes", "checker", "dots", "waves", "grain", "rings")


@dataclass(frozen=True)
class GenreVocabulary:
    """Words that describe one genre; titles, descriptions and tags draw only from these
    (plus a touch of a secondary genre), so text embeddings cluster by genre."""

    adjectives: tuple[str, ...]
    title_nouns: tuple[str, ...]
    subjects: tuple[str, ...]
    plots: tuple[str, ...]
    settings: tuple[str, ...]
    themes: tuple[str, ...]


def _load_vocabulary() -> dict[str, Any]:
    """The words of ``sample_vocabulary.json``; read through the package so that an installed
    wheel finds the file as well as a source checkout."""
    data_file = resources.files("contentlake").joinpath("sample_vocabulary.json")
    return json.loads(data_file.read_text(encoding="utf-8"))


_VOCABULARY = _load_vocabulary()
# File order is draw order: GENRES feeds seeded choices, so reordering genres or words changes
# the generated files (adding or removing one does too).
GENRE_VOCABULARY: dict[str, GenreVocabulary] = {
    genre: GenreVocabulary(**{part: tuple(words) for part, words in parts.items()})
    for genre, parts in _VOCABULARY["genres"].items()
}
GENRES = tuple(GENRE_VOCABULARY)
_KIND_WORDS: dict[str, str] = _VOCABULARY["kind_words"]
# One list per column that a bad row breaks with an unreadable or unknown value.
_BAD_VALUES = {column: tuple(values) for column, values in _VOCABULARY["bad_values"].items()}
_BAD_DURATIONS = _BAD_VALUES["duration_seconds"]
_BAD_CONTENT_TYPES = _BAD_VALUES["content_type"]
_BAD_WATCH_SECONDS = _BAD_VALUES["watch_seconds"]
_BAD_EVENT_TYPES = _BAD_VALUES["event_type"]
_BAD_TIMESTAMPS = _BAD_VALUES["event_ts"]


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. Equal specs give byte-identical files."""

    items: int = 500  # catalogue size on day 1
    days: int = 3  # number of consecutive landing days
    start_date: date = date(2026, 11, 1)
    users: int = 200
    events_per_day: int = 5000  # approximate number of good events per day
    seed: int = 7
    bad_share: float = 0.02  # share of bad rows per file (at least one of each kind per day)
    media_items: int = 0  # day-1 playable items given a poster and a video (sample_media)
    style_share: float = 0.0  # share of sessions that follow the user's favourite style
    # Share of items whose title, description and tags are written from another genre's
    # words (a template blurb, a mis-filed synopsis); their genres stay true. Text then
    # knows genre less than perfectly, as real catalogue text does (bench/modalities.py).
    text_noise: float = 0.0
    # Share of the items with media whose video and poster take another genre's look (drawn
    # per item, independently of text_noise): the look then also knows genre imperfectly.
    look_noise: float = 0.0
    # Planted duplicate groups (copies of a day-1 item under new ids) and as many hard
    # negatives, with their truth in _entities.json (contentlake.sample_entities).
    duplicate_groups: int = 0

    def __post_init__(self) -> None:
        if self.items < 1 or self.days < 1 or self.users < 1:
            raise ValueError("items, days and users must be at least 1")
        if self.events_per_day < 0:
            raise ValueError("events_per_day must not be negative")
        if not 0 <= self.bad_share < 0.5:
            raise ValueError("bad_share must be in [0, 0.5)")
        if self.media_items < 0 or not 0 <= self.style_share <= 1:
            raise ValueError("media_items must be >= 0 and style_share in [0, 1]")
        if not 0 <= self.text_noise <= 1 or not 0 <= self.look_noise <= 1:
            raise ValueError("text_noise and look_noise must be in [0, 1]")
        if self.duplicate_groups < 0:
            raise ValueError("duplicate_groups must not be negative")

    def landing_dates(self) -> list[date]:
        """The landing days, oldest first."""
        return [self.start_date + timedelta(days=offset) for offset in range(self.days)]

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-ready values (dates as ISO strings)."""
        values = asdict(self)
        values["start_date"] = self.start_date.isoformat()
        return values


@dataclass(frozen=True)
class UserProfile:
    """A simulated viewer: favourite genres drive most of their activity."""

    user_id: str
    favourite_genres: tuple[str, ...]
    device: str  # the device used for most sessions
    activity: float  # relative weight of this user among all sessions


@dataclass
class _Catalogue:
    """Good catalogue state while days are generated: the latest version of each item."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    popularity: dict[str, float] = field(default_factory=dict)
    series_ids: list[str] = field(default_factory=list)
    episode_counts: dict[str, int] = field(default_factory=dict)
    next_number: int = 1
    seed: int = 0  # with text_noise: which items' words come from another genre
    text_noise: float = 0.0

    def word_genres(self, content_id: str, genres: list[str]) -> list[str]:
        """The genres whose words describe the item: its own, or with ``text_noise`` a
        random other primary genre (drawn per item, so its updates keep it)."""
        if self.text_noise <= 0:
            return genres
        rng = _rng(self.seed, "text-noise", content_id)
        if rng.random() >= self.text_noise:
            return genres
        return [rng.choice([g for g in GENRES if g not in genres]), *genres[1:]]

    def reword(self, record: dict[str, Any], new_title: bool = True) -> None:
        """Rewrite a noisy item's description, tags and (own part of the) title in its
        word genres. From streams of their own, after the clean words were drawn: the
        catalogue's other draws and the events stay what they are without the noise."""
        words = self.word_genres(record["content_id"], record["genres"])
        if words == record["genres"]:
            return
        rng = _rng(self.seed, "text-noise-words", record["content_id"], record["updated_at"])
        if new_title:
            # An episode keeps "<series title> - Episode n: " and rewords its own part.
            head, colon, _ = record["title"].rpartition(": ")
            title = _title(rng, GENRE_VOCABULARY[words[0]])
            record["title"] = head + colon + title if record["series_id"] else title
        record["description"] = _description(rng, words, record["content_type"])
        record["tags"] = _tags(rng, words)

    def allocate_id(self) -> str:
        if self.next_number >= GOOD_ID_LIMIT:
            raise ValueError(f"catalogue would exceed {GOOD_ID_LIMIT - 1} items")
        content_id = content_id_for(self.next_number)
        self.next_number += 1
        return content_id


# ---------------------------------------------------------------------------------------------
# Paths and small helpers


def catalog_path(landing_root: Path, day: date) -> Path:
    """The catalogue file of one landing day."""
    return Path(landing_root) / "catalog" / f"date={day.isoformat()}" / "part-00000.jsonl"


def events_path(landing_root: Path, day: date) -> Path:
    """The events file of one landing day."""
    return Path(landing_root) / "events" / f"date={day.isoformat()}" / "part-00000.csv"


def expected_path(landing_root: Path) -> Path:
    """The expectations file that :func:`generate` writes next to the data."""
    return Path(landing_root) / "_expected.json"


def load_expected(landing_root: Path) -> dict[str, Any]:
    """Read back the expectations written by :func:`generate`."""
    return json.loads(expected_path(landing_root).read_text(encoding="utf-8"))


def content_id_for(number: int) -> str:
    """``c`` plus six digits, e.g. ``c000001``."""
    return f"c{number:06d}"


def _rng(seed: int, *labels: object) -> random.Random:
    """An independent random stream per purpose; hashing keeps it stable across Python
    versions and processes (unlike ``hash()``), and a new day never shifts older days."""
    text = ":".join([str(seed), *(str(label) for label in labels)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def item_style(seed: int, content_id: str) -> str:
    """The hidden style of an item: its own seeded draw, independent of genre and text."""
    return _rng(seed, "style", content_id).choice(STYLES)


def user_style(seed: int, user_id: str) -> str:
    """The style a user favours when ``style_share`` > 0 (independent of their genres)."""
    return _rng(seed, "user-style", user_id).choice(STYLES)


def _timestamp(day: date, second_of_day: int) -> str:
    """ISO-8601 UTC with a ``Z`` suffix."""
    hours, rest = divmod(second_of_day, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{day.isoformat()}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------------------------------
# Users


def user_profiles(spec: SampleSpec) -> list[UserProfile]:
    """The simulated users, ``u00001`` upwards; they depend only on ``seed`` and ``users``."""
    rng = _rng(spec.seed, "users")
    profiles = []
    for number in range(1, spec.users + 1):
        favourites = tuple(rng.sample(GENRES, 1 if rng.random() < 0.5 else 2))
        profiles.append(
            UserProfile(
                user_id=f"u{number:05d}",
                favourite_genres=favourites,
                device=rng.choice(DEVICES),
                # Log-normal activity: a few heavy viewers and a long tail, as on real platforms.
                activity=rng.lognormvariate(0.0, 0.8),
            )
        )
    return profiles


def user_favourite_genres(spec: SampleSpec) -> dict[str, tuple[str, ...]]:
    """``user_id`` -> the one or two genres that ~80% of that user's sessions start from."""
    return {profile.user_id: profile.favourite_genres for profile in user_profiles(spec)}


# ---------------------------------------------------------------------------------------------
# Catalogue


def _title(rng: random.Random, vocabulary: GenreVocabulary) -> str:
    adjective = rng.choice(vocabulary.adjectives).title()
    noun, other = rng.sample(vocabulary.title_nouns, 2)
    template = rng.randrange(4)
    if template == 0:
        return f"The {adjective} {noun}"
    if template == 1:
        return f"{adjective} {noun}"
    if template == 2:
        return f"The {noun} and the {other}"
    return f"{noun} of the {adjective} {other}"


def _description(rng: random.Random, genres: list[str], content_type: str) -> str:
    """Two sentences from the primary genre's words, plus a hint of the second genre."""
    vocabulary = GENRE_VOCABULARY[genres[0]]
    adjective = rng.choice(vocabulary.adjectives)
    subject = rng.choice(vocabulary.subjects)
    first = (
        f"{_article(adjective).capitalize()} {adjective} {_KIND_WORDS[content_type]} about "
        f"{_article(subject)} {subject} who {rng.choice(vocabulary.plots)} "
        f"in {rng.choice(vocabulary.settings)}."
    )
    theme, other_theme = rng.sample(vocabulary.themes, 2)
    sentences = [first, f"A story of {theme} and {other_theme}."]
    if len(genres) > 1:
        sentences.append(f"With a touch of {rng.choice(GENRE_VOCABULARY[genres[1]].themes)}.")
    return " ".join(sentences)


def _tags(rng: random.Random, genres: list[str]) -> list[str]:
    tags = rng.sample(GENRE_VOCABULARY[genres[0]].themes, rng.randint(2, 4))
    for genre in genres[1:]:
        theme = rng.choice(GENRE_VOCABULARY[genre].themes)
        if theme not in tags:
            tags.append(theme)
    return tags


def _pick_genres(rng: random.Random) -> list[str]:
    count = rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
    return rng.sample(GENRES, count)


def _new_item(
    rng: random.Random, catalogue: _Catalogue, day: date, *, back_catalogue: bool
) -> dict[str, Any]:
    """A new good catalogue record landing on ``day``.

    Day-1 items come from a back catalogue released over decades; items added later were
    released recently. Episodes need a series, so the first one drawn becomes a series.
    """
    content_id = catalogue.allocate_id()
    content_type = rng.choices(CONTENT_TYPES, weights=_TYPE_WEIGHTS)[0]
    if content_type == "episode" and not catalogue.series_ids:
        content_type = "series"

    max_age_days = 30 * 365 if back_catalogue else 60
    release = day - timedelta(days=rng.randint(0, max_age_days))
    series_id = None
    if content_type == "episode":
        series_id = rng.choice(catalogue.series_ids)
        parent = catalogue.records[series_id]
        genres, language = list(parent["genres"]), parent["language"]
        # An episode comes out after its series started and never after the landing day.
        series_start = date.fromisoformat(parent["release_date"])
        release = series_start + timedelta(days=rng.randint(0, (day - series_start).days))
        number = catalogue.episode_counts.get(series_id, 0) + 1
        catalogue.episode_counts[series_id] = number
        title = f"{parent['title']} - Episode {number}: {_title(rng, GENRE_VOCABULARY[genres[0]])}"
    else:
        genres = _pick_genres(rng)
        language = rng.choices(LANGUAGES, weights=_LANGUAGE_WEIGHTS)[0]
        title = _title(rng, GENRE_VOCABULARY[genres[0]])

    if content_type == "series":
        duration = SERIES_DURATION
        catalogue.series_ids.append(content_id)
    else:
        duration = rng.randint(*DURATION_RANGES[content_type])

    record = {
        "content_id": content_id,
        "content_type": content_type,
        "title": title,
        "description": _description(rng, genres, content_type),
        "genres": genres,
        "tags": _tags(rng, genres),
        "language": language,
        "duration_seconds": duration,
        "release_date": release.isoformat(),
        "updated_at": _timestamp(day, rng.randrange(SECONDS_PER_DAY)),
        "series_id": series_id,
    }
    catalogue.reword(record)
    catalogue.records[content_id] = record
    # Pareto popularity: a few hits draw most of the views, like a real catalogue.
    catalogue.popularity[content_id] = rng.paretovariate(1.2)
    return record


def _updated_item(rng: random.Random, record: dict[str, Any], day: date) -> dict[str, Any]:
    """A re-emitted item: same identity, new description and tags, later ``updated_at``."""
    updated = dict(record)
    updated["description"] = _description(rng, record["genres"], record["content_type"])
    updated["tags"] = _tags(rng, record["genres"])
    updated["updated_at"] = _timestamp(day, rng.randrange(SECONDS_PER_DAY))
    return updated


def _catalog_day(
    rng: random.Random, catalogue: _Catalogue, day: date, *, first_day: bool, items: int
) -> tuple[list[dict[str, Any]], int, int]:
    """Good catalogue rows of one day, plus how many are new and how many are updates."""
    if first_day:
        rows = [_new_item(rng, catalogue, day, back_catalogue=True) for _ in range(items)]
        return rows, len(rows), 0

    existing = sorted(catalogue.records)
    update_ids = rng.sample(existing, max(1, round(_UPDATE_SHARE * len(existing))))
    updates = [_updated_item(rng, catalogue.records[cid], day) for cid in update_ids]
    for record in updates:
        catalogue.reword(record, new_title=False)
        catalogue.records[record["content_id"]] = record
    new_count = max(1, round(_NEW_ITEM_SHARE * len(existing)))
    new_rows = [_new_item(rng, catalogue, day, back_catalogue=False) for _ in range(new_count)]
    rows = sorted(updates + new_rows, key=lambda record: record["content_id"])
    return rows, len(new_rows), len(updates)


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _bad_catalog_line(
    kind: str, rng: random.Random, good: list[dict[str, Any]], day: date, bad_id: str
) -> str:
    """One catalogue line with exactly the defect ``kind``, derived from a good record."""
    base = dict(rng.choice(good))
    if kind == "duplicate_record":
        return _json_line(base)
    if kind == "missing_content_id":
        # Upstream writers do both: send an explicit null or drop the key.
        if rng.random() < 0.5:
            base["content_id"] = None
        else:
            del base["content_id"]
        return _json_line(base)

    # The remaining kinds get an id of their own, so they never shadow a good version.
    base["content_id"] = bad_id
    if kind == "invalid_duration":
        base["duration_seconds"] = rng.choice(_BAD_DURATIONS)
    elif kind == "invalid_content_type":
        # Start from a movie or clip so series_id/duration stay consistent (a single defect).
        standalone = [r for r in good if r["content_type"] in ("movie", "clip")]
        if standalone:
            base = dict(rng.choice(standalone), content_id=bad_id)
        else:
            base.update(series_id=None, duration_seconds=DURATION_RANGES["clip"][0])
        base["content_type"] = rng.choice(_BAD_CONTENT_TYPES)
    elif kind == "future_updated_at":
        future = date(day.year + rng.randint(2, 5), day.month, min(day.day, 28))
        base["updated_at"] = future.isoformat() + base["updated_at"][10:]
    elif kind == "malformed_json":
        line = _json_line(base)
        # A proper prefix of a JSON object is never valid JSON: the object is not closed.
        return line[: len(line) // 2]
    else:
        raise ValueError(f"unknown catalogue bad kind {kind!r}")
    return _json_line(base)


# ---------------------------------------------------------------------------------------------
# Events


def _session_steps(
    rng: random.Random, duration: int, matches_taste: bool
) -> list[tuple[int, str, str]]:
    """One browse session on one item: (offset seconds, event_type, watch_seconds).

    impression -> maybe click -> play -> pause and/or complete -> maybe like/share. Matching
    the user's taste makes every step after the impression more likely.
    """
    steps = [(0, "impression", "")]
    t = rng.randint(2, 30)
    if rng.random() >= (0.55 if matches_taste else 0.2):
        return steps
    steps.append((t, "click", ""))
    if rng.random() >= 0.9:  # some clicks open the detail page but never start playback
        return steps
    t += rng.randint(1, 10)
    steps.append((t, "play", ""))
    if rng.random() < (0.5 if matches_taste else 0.25):
        resume_gap = 0
        if rng.random() < 0.3:  # paused midway, then resumed and finished
            watched = rng.randint(1, max(1, duration - 1))
            steps.append((t + watched, "pause", str(watched)))
            resume_gap = rng.randint(30, 900)
        watched = max(0, duration - rng.randint(0, max(1, duration // 50)))
        t += duration + resume_gap
        steps.append((t, "complete", str(watched)))
    else:
        watched = rng.randint(0, max(0, duration - 1))
        t += watched
        steps.append((t, "pause", str(watched)))
    if rng.random() < (0.2 if matches_taste else 0.04):
        t += rng.randint(1, 20)
        steps.append((t, "like", ""))
    if rng.random() < (0.06 if matches_taste else 0.01):
        t += rng.randint(1, 20)
        steps.append((t, "share", ""))
    return steps


def _genre_index(catalogue: _Catalogue) -> dict[str, tuple[list[str], list[float]]]:
    """genre -> (playable ids carrying it, cumulative popularity weights) for fast draws."""
    index: dict[str, tuple[list[str], list[float]]] = {}
    for content_id in sorted(catalogue.records):
        record = catalogue.records[content_id]
        if record["content_type"] not in PLAYABLE_TYPES:
            continue
        for genre in record["genres"]:
            ids, cumulative = index.setdefault(genre, ([], []))
            ids.append(content_id)
            previous = cumulative[-1] if cumulative else 0.0
            cumulative.append(previous + catalogue.popularity[content_id])
    return index


def _style_index(
    catalogue: _Catalogue, seed: int
) -> dict[str, tuple[list[str], list[float]]]:
    """style -> (playable ids of that style, cumulative popularity weights)."""
    index: dict[str, tuple[list[str], list[float]]] = {}
    for content_id in sorted(catalogue.records):
        if catalogue.records[content_id]["content_type"] not in PLAYABLE_TYPES:
            continue
        ids, cumulative = index.setdefault(item_style(seed, content_id), ([], []))
        ids.append(content_id)
        previous = cumulative[-1] if cumulative else 0.0
        cumulative.append(previous + catalogue.popularity[content_id])
    return index


def _pick_item(
    rng: random.Random,
    user: UserProfile,
    index: dict[str, tuple[list[str], list[float]]],
    style_pick: tuple[float, str, dict[str, tuple[list[str], list[float]]]] | None = None,
) -> str:
    # Drawn only when styles matter, so that style_share 0 keeps the random stream unchanged.
    if style_pick is not None and rng.random() < style_pick[0]:
        _, style, by_style = style_pick
        if style in by_style:
            ids, cumulative = by_style[style]
            return rng.choices(ids, cum_weights=cumulative)[0]
    if rng.random() < _FAVOURITE_PICK_SHARE:
        genre = rng.choice(user.favourite_genres)
    else:
        genre = rng.choice(GENRES)
    if genre not in index:  # small catalogues may lack a genre: browse anything instead
        genre = rng.choice(sorted(index))
    ids, cumulative = index[genre]
    return rng.choices(ids, cum_weights=cumulative)[0]


def _event_day(
    rng: random.Random,
    catalogue: _Catalogue,
    users: list[UserProfile],
    day: date,
    target: int,
    seed: int = 0,
    style_share: float = 0.0,
) -> list[dict[str, str]]:
    """Good events of one day: whole sessions until about ``target`` rows, sorted by time."""
    index = _genre_index(catalogue)
    if not index or target <= 0:
        return []
    by_style = _style_index(catalogue, seed) if style_share > 0 else {}
    user_styles = {user.user_id: user_style(seed, user.user_id) for user in users}
    user_weights = list(accumulate(user.activity for user in users))
    raw: list[tuple[int, str, str, str, str, str]] = []
    while len(raw) < target:
        user = rng.choices(users, cum_weights=user_weights)[0]
        style_pick = (style_share, user_styles[user.user_id], by_style) if by_style else None
        content_id = _pick_item(rng, user, index, style_pick)
        record = catalogue.records[content_id]
        matches = bool(set(record["genres"]) & set(user.favourite_genres))
        if by_style:  # an item of the user's style is watched as eagerly as a favourite genre
            matches = matches or item_style(seed, content_id) == user_styles[user.user_id]
        use_preferred = rng.random() < _PREFERRED_DEVICE_SHARE
        device = user.device if use_preferred else rng.choice(DEVICES)
        steps = _session_steps(rng, record["duration_seconds"], matches)
        # Place the whole session inside the landing day.
        start = rng.randint(0, max(0, SECONDS_PER_DAY - 1 - steps[-1][0]))
        for offset, event_type, watched in steps:
            second = min(start + offset, SECONDS_PER_DAY - 1)
            raw.append((second, user.user_id, content_id, event_type, watched, device))
    raw.sort(key=lambda row: row[0])  # stable: ties keep their session order
    stamp = day.strftime("%Y%m%d")
    return [
        {
            "event_id": f"e{stamp}{number:07d}",
            "user_id": user_id,
            "content_id": content_id,
            "event_type": event_type,
            "event_ts": _timestamp(day, second),
            "watch_seconds": watched,
            "device": device,
        }
        for number, (second, user_id, content_id, event_type, watched, device) in enumerate(
            raw, start=1
        )
    ]


def _pick_event(
    rng: random.Random, good: list[dict[str, str]], event_types: tuple[str, ...]
) -> dict[str, str]:
    """A copy of a good event of one of ``event_types`` (any event if there is none)."""
    candidates = [row for row in good if row["event_type"] in event_types]
    return dict(rng.choice(candidates or good))


def _bad_event(
    kind: str, rng: random.Random, good: list[dict[str, str]], day: date, event_id: str
) -> dict[str, str]:
    """One event row with exactly the defect ``kind``, derived from a good event."""
    if kind == "duplicate_event":
        return dict(rng.choice(good))
    if kind == "invalid_watch_seconds":
        row = _pick_event(rng, good, WATCH_EVENT_TYPES)
        if row["event_type"] not in WATCH_EVENT_TYPES:
            row["event_type"] = "pause"
        row["watch_seconds"] = rng.choice(_BAD_WATCH_SECONDS)
    elif kind == "negative_watch_seconds":
        row = _pick_event(rng, good, ("pause",))
        row.update(event_type="pause", watch_seconds=str(-rng.randint(1, 600)))
    elif kind == "invalid_event_type":
        row = _pick_event(rng, good, ("impression", "click", "play", "like", "share"))
        row.update(event_type=rng.choice(_BAD_EVENT_TYPES), watch_seconds="")
    else:
        row = dict(rng.choice(good))
        if kind == "unknown_content_id":
            row["content_id"] = content_id_for(UNKNOWN_ID_BASE + rng.randrange(10_000))
        elif kind == "future_timestamp":
            later = day + timedelta(days=rng.randint(2, 30))
            row["event_ts"] = later.isoformat() + row["event_ts"][10:]
        elif kind == "invalid_timestamp":
            row["event_ts"] = rng.choice(_BAD_TIMESTAMPS)
        elif kind != "missing_event_id":
            raise ValueError(f"unknown event bad kind {kind!r}")
    # Bad rows get ids of their own (after the good ones) so they never collide with one.
    row["event_id"] = "" if kind == "missing_event_id" else event_id
    return row


# ---------------------------------------------------------------------------------------------
# Assembly


def _bad_counts(
    rng: random.Random, kinds: tuple[str, ...], good_rows: int, bad_share: float
) -> dict[str, int]:
    """How many rows of each kind to inject so bad rows are ~``bad_share`` of the file."""
    counts = dict.fromkeys(kinds, 0)
    if bad_share <= 0 or good_rows == 0:
        return counts
    total = max(len(kinds), round(good_rows * bad_share / (1 - bad_share)))
    for kind in kinds:
        counts[kind] = 1
    for _ in range(total - len(kinds)):
        counts[rng.choice(kinds)] += 1
    return counts


def _scatter(rng: random.Random, good: list[Any], bad: list[Any]) -> list[Any]:
    """Good rows in order with bad rows dropped in at random places, as upstream does."""
    rows = list(good)
    for row in bad:
        rows.insert(rng.randint(0, len(rows)), row)
    return rows


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Explicit "\n" keeps the bytes identical on every platform.
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _write_catalog(path: Path, lines: list[str]) -> None:
    _write_text(path, "".join(line + "\n" for line in lines))


def _write_events(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EVENT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_text(path, buffer.getvalue())


def generate(landing_root: Path, spec: SampleSpec) -> dict[str, Any]:
    """Write every landing file of ``spec`` under ``landing_root`` and ``_expected.json``.

    Returns the expectations: per day, total rows, good rows and injected bad rows by kind
    for both files, plus ``catalog_ids`` (distinct good content ids known as of that day).
    Files are overwritten, so running again gives the same bytes; partitions of days outside
    ``spec`` that an earlier, longer run left behind are not removed.
    """
    landing_root = Path(landing_root)
    users = user_profiles(spec)
    catalogue = _Catalogue(seed=spec.seed, text_noise=spec.text_noise)
    bad_catalog_number = BAD_CATALOG_ID_BASE
    expected_days: dict[str, Any] = {}

    for offset, day in enumerate(spec.landing_dates()):
        rng = _rng(spec.seed, "catalog", day.isoformat())
        good_items, new_count, update_count = _catalog_day(
            rng, catalogue, day, first_day=offset == 0, items=spec.items
        )
        if offset == 0 and spec.media_items:
            media = _write_media(landing_root, spec, good_items)
        if offset == 0 and spec.duplicate_groups:
            # After the media: a copy of the same file names the original's video.
            planted, entities_truth = _plant_entities(spec, catalogue, good_items, day)
            good_items += planted
            new_count += len(planted)
        bad_rng = _rng(spec.seed, "catalog-bad", day.isoformat())
        catalog_bad = _bad_counts(bad_rng, CATALOG_BAD_KINDS, len(good_items), spec.bad_share)
        bad_lines = []
        for kind, count in catalog_bad.items():
            for _ in range(count):
                bad_id = content_id_for(bad_catalog_number)
                bad_catalog_number += 1
                bad_lines.append(_bad_catalog_line(kind, bad_rng, good_items, day, bad_id))
        lines = _scatter(bad_rng, [_json_line(record) for record in good_items], bad_lines)
        _write_catalog(catalog_path(landing_root, day), lines)

        event_rng = _rng(spec.seed, "events", day.isoformat())
        good_events = _event_day(
            event_rng, catalogue, users, day, spec.events_per_day, spec.seed, spec.style_share
        )
        bad_rng = _rng(spec.seed, "events-bad", day.isoformat())
        event_bad = _bad_counts(bad_rng, EVENT_BAD_KINDS, len(good_events), spec.bad_share)
        stamp = day.strftime("%Y%m%d")
        bad_events = []
        for kind, count in event_bad.items():
            for _ in range(count):
                event_id = f"e{stamp}{len(good_events) + len(bad_events) + 1:07d}"
                bad_events.append(_bad_event(kind, bad_rng, good_events, day, event_id))
        _write_events(events_path(landing_root, day), _scatter(bad_rng, good_events, bad_events))
        # As a producer would: each source's day is marked complete once its file is in
        # place, and the DAG's landing_ready sensor waits for these (landing_ready.py).
        for source in LANDING_SOURCES:
            mark_complete(landing_root, source, day)

        expected_days[day.isoformat()] = {
            "catalog": {
                "rows": len(lines),
                "good": len(good_items),
                "bad": catalog_bad,
                "new": new_count,
                "updated": update_count,
            },
            "events": {
                "rows": len(good_events) + len(bad_events),
                "good": len(good_events),
                "bad": event_bad,
            },
            "catalog_ids": len(catalogue.records),
        }

    expected = {"spec": spec.to_json(), "days": expected_days}
    if spec.media_items:
        expected["media"] = media
    if spec.duplicate_groups:
        from contentlake.sample_entities import entities_truth_path

        truth_text = json.dumps(entities_truth, indent=2, ensure_ascii=False) + "\n"
        _write_text(entities_truth_path(landing_root), truth_text)
    _write_text(expected_path(landing_root), json.dumps(expected, indent=2) + "\n")
    return expected


def _write_media(
    landing_root: Path, spec: SampleSpec, day_one_items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Posters and videos for the first ``media_items`` playable items of day 1 (their
    records gain ``poster_uri`` and ``video_uri`` in place)."""
    # Imported here: media need numpy, PyAV and Pillow; the text-only generator does not.
    from contentlake.sample_media import write_media

    playable = [r for r in day_one_items if r["content_type"] in PLAYABLE_TYPES]
    chosen = sorted(playable, key=lambda r: r["content_id"])[: spec.media_items]
    return write_media(
        landing_root, spec.seed, chosen, with_bad=spec.bad_share > 0, look_noise=spec.look_noise
    )


def _plant_entities(
    spec: SampleSpec, catalogue: _Catalogue, day_one_items: list[dict[str, Any]], day: date
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Duplicate groups and hard negatives (``contentlake.sample_entities``), added to the
    catalogue with ids after the regular items and draws of a stream of their own."""
    from contentlake.sample_entities import plant

    rng = _rng(spec.seed, "entities")
    planted, truth = plant(
        rng,
        day,
        day_one_items,
        spec.duplicate_groups,
        catalogue.allocate_id,
        _description,
        lambda r: _timestamp(day, r.randrange(SECONDS_PER_DAY)),
    )
    for record in planted:
        catalogue.records[record["content_id"]] = record
        catalogue.popularity[record["content_id"]] = rng.paretovariate(1.2)
    return sorted(planted, key=lambda record: record["content_id"]), truth


# ---------------------------------------------------------------------------------------------
# Command line


def _parse_args(argv: list[str] | None) -> tuple[Path, SampleSpec]:
    defaults = SampleSpec()
    parser = argparse.ArgumentParser(
        prog="contentlake-sample-data",
        description="Write deterministic sample catalogue and event landing files.",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing root to write under")
    parser.add_argument("--items", type=int, default=defaults.items)
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument(
        "--start-date",
        type=date.fromisoformat,
        default=defaults.start_date,
        help="first landing day, YYYY-MM-DD",
    )
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--events-per-day", type=int, default=defaults.events_per_day)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--bad-share", type=float, default=defaults.bad_share)
    parser.add_argument(
        "--media-items",
        type=int,
        default=defaults.media_items,
        help="day-1 playable items that get a poster and a short video (needs PyAV)",
    )
    parser.add_argument(
        "--style-share",
        type=float,
        default=defaults.style_share,
        help="share of sessions that follow the user's favourite visual style",
    )
    parser.add_argument(
        "--text-noise",
        type=float,
        default=defaults.text_noise,
        help="share of items described in another genre's words (their genres stay true)",
    )
    parser.add_argument(
        "--look-noise",
        type=float,
        default=defaults.look_noise,
        help="share of items with media whose video and poster take another genre's look",
    )
    parser.add_argument(
        "--duplicate-groups",
        type=int,
        default=defaults.duplicate_groups,
        help="planted duplicate groups and hard negatives, truth in _entities.json",
    )
    args = parser.parse_args(argv)
    try:
        spec = SampleSpec(
            items=args.items,
            days=args.days,
            start_date=args.start_date,
            users=args.users,
            events_per_day=args.events_per_day,
            seed=args.seed,
            bad_share=args.bad_share,
            media_items=args.media_items,
            style_share=args.style_share,
            text_noise=args.text_noise,
            look_noise=args.look_noise,
            duplicate_groups=args.duplicate_groups,
        )
    except ValueError as error:
        parser.error(str(error))  # exits with status 2, like any other bad argument
    return args.out, spec


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: generate the files and print one summary line per day."""
    out, spec = _parse_args(argv)
    started = time.perf_counter()
    expected = generate(out, spec)
    seconds = time.perf_counter() - started
    print(f"wrote {spec.days} landing day(s) under {out} in {seconds:.1f} s")
    if media := expected.get("media"):
        print(
            f"  media: {media['items']} items, {len(media['videos'])} good videos, "
            f"{len(media['bad_videos'])} bad videos, {len(media['bad_posters'])} bad posters"
        )
    for day, counts in expected["days"].items():
        catalog, events = counts["catalog"], counts["events"]
        print(
            f"  {day}: catalog {catalog['rows']} rows ({sum(catalog['bad'].values())} bad), "
            f"events {events['rows']} rows ({sum(events['bad'].values())} bad), "
            f"{counts['catalog_ids']} content ids known"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
