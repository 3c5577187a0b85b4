"""The `feature_engineering` pipeline."""

from . import pipeline

__all__ = ["pipeline"]
