"""Text a table's encoding cannot decode: marked where it is, so that a node can name it.

pandas refuses a whole CSV file for one byte its encoding cannot decode, with an offset into an
internal buffer, before any node runs. Read with ``encoding_errors=MARK_UNDECODABLE`` instead,
each undecodable byte sequence becomes :data:`MARK` in the value (or column name) that held it,
and the first node of data validation names the column and the line (``undecodable_cells``
in ``ml_on_aws.pipelines.data_validation.decoding``).

:data:`MARK` is U+FDD0, a Unicode noncharacter: valid text in any encoding does not contain it,
so a value holding it was not decoded. (U+FFFD, the usual replacement character, can be in a
file that decodes, and pandas 3's text columns cannot hold the lone surrogates that
``surrogateescape`` leaves.)
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

MARK = "\ufdd0"
# The codec error handler's name: the value of pandas' ``encoding_errors`` load argument.
MARK_UNDECODABLE = "ml_on_aws.mark_undecodable"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return MARK, error.end


# Registered on import: whatever reads a table with this handler imports this module first
# (the dataset adapter that sets it, the hook that calls the adapter).
codecs.register_error(MARK_UNDECODABLE, _mark)


def is_undecoded(value: object) -> bool:
    """A text value (or column name) that held bytes its encoding could not decode."""
    return isinstance(value, str) and MARK in value


def any_undecoded(values: Iterable[object]) -> bool:
    return any(is_undecoded(value) for value in values)


def shown(value: str) -> str:
    """The value for a message, each undecodable sequence as the replacement character."""
    return value.replace(MARK, "\ufffd")
