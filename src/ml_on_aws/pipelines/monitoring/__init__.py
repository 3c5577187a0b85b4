"""Drift and quality of the traffic an endpoint received (its data capture)."""

from . import pipeline

__all__ = ["pipeline"]
