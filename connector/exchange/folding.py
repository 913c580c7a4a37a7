"""Text folded for search, so that what an operator types finds what a partner sent: "nguyen van
an" and "NGUYEN" find "Nguyễn Văn An", "123/qd-ubnd" finds "123/QĐ-UBND".

Folding drops every tone and vowel mark (NFKD, then the combining marks), maps đ/Đ to d (a letter
of its own that no Unicode decomposition reduces), compares case-free (``str.casefold``) and
treats any run of white space as one space. The store keeps exchanges' searched columns folded
(``connector/store/search.py``) and folds the operator's text the same way; a change here needs
a migration that folds the stored rows again.
"""

from __future__ import annotations

import unicodedata

_OWN_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})


def fold(text: str) -> str:
    if not text.isascii():  # identifiers mostly are: nothing to decompose (every send folds eight fields)
        decomposed = unicodedata.normalize("NFKD", text.translate(_OWN_LETTERS))
        text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(text.casefold().split())
