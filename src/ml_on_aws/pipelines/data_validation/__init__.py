"""Check raw tables against an expectation suite kept in ``conf/<env>/expectations/``."""

from . import pipeline

__all__ = ["pipeline"]
