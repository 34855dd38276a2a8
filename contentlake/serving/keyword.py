"""BM25 keyword search over the titles and descriptions of a snapshot's items (bm25s).

Tokenising is done here, not by bm25s: its query tokenizer maps a word the corpus never
saw to the empty token, which then matches every empty document. Here an unseen word is
dropped, and a query with no known word matches nothing.
"""

from __future__ import annotations

import re

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from contentlake.serving.search import top_scored

# bm25s's own default pattern: words of two or more letters or digits.
TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOPWORDS = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lower-cased words of two characters or more, English stop words left out."""
    return [word for word in TOKEN.findall(text.lower()) if word not in STOPWORDS]


class KeywordIndex:
    """Lucene-variant BM25 (bm25s defaults: k1 = 1.5, b = 0.75) over one text per position."""

    def __init__(self, texts: list[str]) -> None:
        self.vocabulary: dict[str, int] = {}
        corpus = [
            [self.vocabulary.setdefault(word, len(self.vocabulary)) for word in tokenize(text)]
            for text in texts
        ]
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        # Empty documents get bm25s's empty token, which no query ever carries.
        self._bm25.index(
            bm25s.tokenization.Tokenized(ids=corpus, vocab=self.vocabulary), show_progress=False
        )

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every position for ``query`` (0 where no query word occurs)."""
        ids = [self.vocabulary[word] for word in tokenize(query) if word in self.vocabulary]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return self._bm25.get_scores(ids)

    def top(self, query: str, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Positions of the ``k`` best matches (among ``allowed`` ones), best first."""
        return top_scored(self.scores(query), k, allowed)
