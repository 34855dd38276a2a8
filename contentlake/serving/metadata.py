"""Item metadata of a served snapshot, laid out for filtering by position.

``items.parquet`` holds one row per index position. Content type and language become
integer codes (one comparison over an array per filter); genres, a list per item, become
one sorted position array per genre. The boolean masks that filters build are cached per
filter combination, since a service sees the same few combinations over and over.

Nothing here refers back to itself (no cache holding a bound method, genres as tuples of
strings): a swapped-out snapshot is freed by reference counting alone, and its 200k rows
add no containers for the cyclic garbage collector to walk during requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MASK_CACHE_SIZE = 256
NO_POSITIONS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class ItemFilter:
    """Metadata a result must match; ``None`` fields do not filter."""

    content_type: str | None = None
    language: str | None = None
    genre: str | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.content_type, self.language, self.genre))


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, dict[str, int]]:
    """Integer codes of a string column (-1 for nulls) and the code of each value."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    return codes, {value: code for code, value in enumerate(encoded.dictionary.to_pylist())}


def _postings(column: pa.ChunkedArray) -> dict[str, np.ndarray]:
    """For each value of a list<string> column, the sorted positions whose list holds it."""
    lists = column.combine_chunks()
    values = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    present = pc.is_valid(values)
    codes, names = _codes(pa.chunked_array([values.filter(present)]))
    parents = parents.filter(present).to_numpy()
    # Grouping integer codes with one argsort, not a Python loop over every genre tag.
    order = np.argsort(codes, kind="stable")
    codes, parents = codes[order], parents[order]
    boundaries = np.flatnonzero(np.diff(codes)) + 1
    starts, stops = np.r_[0, boundaries], np.r_[boundaries, len(codes)]
    by_code = {
        int(codes[start]): np.unique(parents[start:stop])
        for start, stop in zip(starts, stops, strict=True)
        if stop > start
    }
    return {name: by_code[code] for name, code in names.items() if code in by_code}


def _text(column: pa.ChunkedArray) -> list[str]:
    return [value or "" for value in column.to_pylist()]


@dataclass(eq=False)
class ItemMetadata:
    """Titles and filterable fields of every position of one snapshot."""

    titles: list[str]
    descriptions: list[str]
    content_types: list[str | None]
    languages: list[str | None]
    genres: list[tuple[str, ...]]
    _type_codes: np.ndarray = field(repr=False)
    _type_values: dict[str, int] = field(repr=False)
    _language_codes: np.ndarray = field(repr=False)
    _language_values: dict[str, int] = field(repr=False)
    _genre_positions: dict[str, np.ndarray] = field(repr=False)
    _masks: dict[ItemFilter, np.ndarray | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_table(cls, items: pa.Table) -> ItemMetadata:
        type_codes, type_values = _codes(items.column("content_type"))
        language_codes, language_values = _codes(items.column("language"))
        return cls(
            titles=_text(items.column("title")),
            descriptions=_text(items.column("description")),
            content_types=items.column("content_type").to_pylist(),
            languages=items.column("language").to_pylist(),
            genres=[tuple(value or ()) for value in items.column("genres").to_pylist()],
            _type_codes=type_codes,
            _type_values=type_values,
            _language_codes=language_codes,
            _language_values=language_values,
            _genre_positions=_postings(items.column("genres")),
        )

    def __len__(self) -> int:
        return len(self.titles)

    def mask(self, item_filter: ItemFilter) -> np.ndarray | None:
        """Positions that pass ``item_filter`` (read-only), or None when it filters
        nothing. A value no item has yields an all-False mask, not an error."""
        if not item_filter:
            return None
        cached = self._masks.get(item_filter)
        if cached is None:
            if len(self._masks) >= MASK_CACHE_SIZE:
                self._masks.clear()  # rare: many distinct filters; rebuilding is cheap
            cached = self._masks[item_filter] = self._build_mask(item_filter)
        return cached

    def _build_mask(self, item_filter: ItemFilter) -> np.ndarray:
        mask = np.ones(len(self), dtype=bool)
        if item_filter.content_type is not None:
            code = self._type_values.get(item_filter.content_type, -2)
            mask &= self._type_codes == code
        if item_filter.language is not None:
            code = self._language_values.get(item_filter.language, -2)
            mask &= self._language_codes == code
        if item_filter.genre is not None:
            in_genre = np.zeros(len(self), dtype=bool)
            in_genre[self._genre_positions.get(item_filter.genre, NO_POSITIONS)] = True
            mask &= in_genre
        mask.flags.writeable = False  # shared by every request through the cache
        return mask

    def describe(self, position: int) -> dict[str, Any]:
        """The fields a response shows for one result."""
        return {
            "title": self.titles[position],
            "content_type": self.content_types[position],
            "language": self.languages[position],
            "genres": self.genres[position],
        }
