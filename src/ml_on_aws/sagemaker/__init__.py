"""Run the project's container on SageMaker: the container contract, configuration, request builders, launcher, local runner.

- :mod:`.entrypoint`: ``python -m ml_on_aws.container {train,process PIPELINE,serve}``, the
  container side (training, processing and serving from one image; docs/container.md).
- :mod:`.config`: the schema of ``conf/<env>/sagemaker.yml``, validated before any AWS call.
- :mod:`.requests`: pure functions that build boto3 request dictionaries (also used by Lambda).
- :mod:`.launcher`: submits the requests with boto3 and follows the jobs.
- :mod:`.local`: runs the very same requests on this machine with Docker.
- :mod:`.image`: builds the image and pushes it to ECR or any OCI registry.
"""
