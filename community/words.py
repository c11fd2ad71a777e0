"""The words that full-text search indexes: lower case, accents removed, French stems.

The same function prepares the indexed text and the query, so "chateau" finds "châteaux" on
SQLite (FTS5) and PostgreSQL (tsvector) alike.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: Words too common to help a search (after accents are removed).
_STOP = (
    "a au aux avec ce ces dans de des du elle en et eux il je la le les leur lui ma mais me "
    "meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te "
    "tes toi ton tu un une vos votre vous c d j l m n s t y ete etre the of and"
)
STOP_WORDS = frozenset(_STOP.split())


def fold(text: str) -> str:
    """Lower case without accents ("Châteaux" -> "chateaux")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("french")


def stems(text: str) -> list[str]:
    """The stems of a text's words, in order, stop words left out."""
    words = [w for w in _WORD.findall(fold(text)) if w not in STOP_WORDS]
    return list(_stemmer().stemWords(words))


def search_text(*parts: str) -> str:
    """What the index holds for a tip: the stems of its title, text and place."""
    return " ".join(stems(" ".join(parts)))
