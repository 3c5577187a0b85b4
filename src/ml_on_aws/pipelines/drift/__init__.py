"""Compare a new batch with the data the current model was trained on."""

from . import pipeline

__all__ = ["pipeline"]
