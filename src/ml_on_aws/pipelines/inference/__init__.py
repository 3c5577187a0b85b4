"""The `inference` pipeline."""

from . import pipeline

__all__ = ["pipeline"]
