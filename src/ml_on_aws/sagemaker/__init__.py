"""SageMaker: the container contract inside the image, and the launcher outside it.

Inside the image (docs/container.md), ``python -m ml_on_aws.sagemaker {train,process
PIPELINE,serve}`` is the entry point: :mod:`.entrypoint`, :mod:`.hyperparameters`.

Outside it (docs/sagemaker.md), ``kedro sagemaker ...`` runs the image on SageMaker:

- :mod:`.config`: the schema of ``conf/<env>/sagemaker.yml``, validated before any AWS call.
- :mod:`.requests`: pure functions that build boto3 request dictionaries (also used by Lambda).
- :mod:`.launcher`: submits the requests with boto3 and follows the jobs.
- :mod:`.local`: runs the very same requests on this machine with Docker.
- :mod:`.image`: builds the image and pushes it to ECR or any OCI registry.
"""
