"""Publish the trained model: metrics to MLflow, an MLflow model directory, a registry version."""

from ml_on_aws.pipelines.registry import pipeline

__all__ = ["pipeline"]
