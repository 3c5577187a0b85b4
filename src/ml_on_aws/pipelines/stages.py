"""Each stage of the project is a Kedro namespace named after its package.

The namespace groups a stage's nodes (``evaluation.evaluate_model``): ``kedro viz`` draws the
stage as a group a reader can open, and ``kedro run --namespaces`` or a deployment plugin takes it
as one unit. Datasets and parameters keep their catalog and ``parameters.yml`` names: every
input, output and parameter is mapped to itself, so stages still meet on the same datasets.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline


def as_stage(namespace: str, pipeline: Pipeline) -> Pipeline:
    """``pipeline`` with its nodes in ``namespace`` and its datasets and parameters unrenamed."""
    parameters = {name for name in pipeline.inputs() if name.startswith("params:")}
    return Pipeline(
        pipeline,
        namespace=namespace,
        inputs=pipeline.inputs() - parameters,
        outputs=pipeline.all_outputs(),
        parameters=parameters,
    )
