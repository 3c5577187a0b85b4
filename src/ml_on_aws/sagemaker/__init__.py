"""The SageMaker container contract: training, processing and serving from one image.

Entry point: ``python -m ml_on_aws.sagemaker {train,process PIPELINE,serve}``; see
:mod:`ml_on_aws.sagemaker.entrypoint` and docs/container.md.
"""
