"""Find the question inside a case description.

Professionals often write two to four sentences about a situation and then ask. Character
n-grams and a sentence embedding of the whole story are dominated by the story (names of
relations, places, what happened); what decides the answer is mostly the question. This
module cuts a message into sentences and returns the part that asks: the sentences with a
question mark, else the last sentence, with the sentence before it when the question alone
is short ("Hvad gør jeg nu?" says little without its context).
"""

import re
from typing import List

# A sentence ends at . ! ? (one or more) followed by space, or at a line break.
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
# Words that open a question in Danish, for questions typed without a question mark.
_ASKS = re.compile(
    r"^(hvad|hvordan|hvorn[aå]r|hvor|hvem|hvilke|hvilken|hvilket|hvorfor|kan|skal|m[aå]|b[oø]r|er|har|findes|giver|g[aæ]lder)\b",
    re.IGNORECASE,
)
MIN_WORDS = 8  # a question shorter than this takes the sentence before it along


def sentences(text: str) -> List[str]:
    """The sentences of `text`, stripped, empty ones dropped."""
    return [s.strip() for s in _SPLIT.split(text.strip()) if s and s.strip()]


def question_part(text: str, max_words: int = 40) -> str:
    """The part of `text` that asks; the whole text when it is one sentence.

    At most `max_words` words, counted from the end (the question comes last more often
    than first, and the encoder's cost grows with length).
    """
    parts = sentences(text)
    if len(parts) <= 1:
        return _last_words(text, max_words)
    asking = [i for i, s in enumerate(parts) if s.endswith("?") or _ASKS.match(s)]
    # The last asking sentence, or the last sentence when none asks.
    end = asking[-1] if asking else len(parts) - 1
    chosen = [parts[i] for i in asking if i <= end and s_words(parts[i])] if asking else [parts[end]]
    if len(" ".join(chosen).split()) < MIN_WORDS and chosen[0] is not parts[0]:
        first = parts.index(chosen[0])
        chosen = [parts[first - 1]] + chosen
    return _last_words(" ".join(chosen), max_words)


def s_words(sentence: str) -> int:
    """Number of words in a sentence."""
    return len(sentence.split())


def _last_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[-n:]) if len(words) > n else text.strip()
