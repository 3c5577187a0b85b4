"""The `training` pipeline."""

from . import pipeline

__all__ = ["pipeline"]
