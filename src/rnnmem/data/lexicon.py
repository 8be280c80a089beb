"""Human valence ratings of words: the VADER lexicon that the `vaderSentiment` distribution ships.

Like the tweets (see `rnnmem.data.tweets`), only the data file is read: the package's code is
never imported. Each line of ``vader_lexicon.txt`` is ``token<TAB>mean<TAB>sd<TAB>[ten ratings]``,
the mean and standard deviation of ten human valence ratings on -4 (extremely negative) .. 4
(extremely positive) (Hutto & Gilbert 2014).
"""

from __future__ import annotations

import functools
from pathlib import Path

from rnnmem.data.packaged import packaged_file
from rnnmem.errors import DataError

LEXICON_FILE = "vaderSentiment/vader_lexicon.txt"


def vader_lexicon_file() -> Path:
    """Locate ``vader_lexicon.txt`` inside the installed `vaderSentiment` distribution."""
    return packaged_file("vaderSentiment", LEXICON_FILE, "the human valence ratings (the VADER lexicon)")


@functools.lru_cache(maxsize=1)
def vader_lexicon() -> dict[str, float]:
    """Token -> mean human valence rating (-4 .. 4) from the VADER lexicon, read once per process.

    The file rates 7,519 tokens (words, slang, emoticons); a few tokens are rated twice, by two
    panels of ten raters, and get the mean of both panels. Tokens are kept as written (the words
    are lower case). The returned dict is shared through the cache: copy it before changing it.

    Raises
    ------
    DataError
        When `vaderSentiment` is not installed or its lexicon file is missing or unreadable.
    """
    path = vader_lexicon_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the VADER lexicon at {path} ({e}); reinstall vaderSentiment.") from e
    sums: dict[str, list[float]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            token, mean = fields[0], float(fields[1])
        except (IndexError, ValueError):
            raise DataError(f"{path}, line {number}: expected 'token<TAB>mean<TAB>sd<TAB>[ratings]', "
                            f"got {line[:60]!r}.") from None
        sums.setdefault(token, []).append(mean)
    if not sums:
        raise DataError(f"the VADER lexicon at {path} is empty; reinstall vaderSentiment.")
    return {token: sum(means) / len(means) for token, means in sums.items()}
