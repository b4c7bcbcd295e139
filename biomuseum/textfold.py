"""Names folded for matching: what a visitor types and what a curator wrote compare equal when they differ
only in case, accents, or how words are separated (`kakapo` and `Kākāpō`, `grey-headed` and `Grey headed`).

Folding happens in Python, once when a name is saved and once per query, so every database compares the
same folded strings with plain, indexable operators (PostgreSQL's `unaccent` is neither portable nor
usable in an index expression).
"""

import re
import unicodedata

# Letters that carry no combining mark to strip: their usual Latin spelling.
LETTERS = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
                         "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"})  # fmt: skip
# Between words, however written: spaces, hyphens and dashes, apostrophes. Other punctuation stays, so a
# query of wildcards or regex syntax folds to itself and matches only names that contain it.
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015'\u2019\u02bc]+")


def fold(text: str) -> str:
    """Lower-case, unaccented, words separated by single spaces, trimmed: `Kākāpō` -> `kakapo`,
    `Grey-headed  Albatross` -> `grey headed albatross`."""
    decomposed = unicodedata.normalize("NFKD", text.translate(LETTERS).casefold())  # İ folds to i + a mark
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return SEPARATORS.sub(" ", bare).strip()
