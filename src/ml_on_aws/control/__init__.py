"""The control side: what drives AWS from a laptop or CI. The ``kedro sagemaker`` and ``kedro aws``
command groups (:mod:`.sagemaker_cli`, :mod:`.aws_cli`), the launcher that submits SageMaker jobs and
follows them (:mod:`.launcher`), the local runner that runs the same requests with Docker
(:mod:`.local`), image build and push to ECR (:mod:`.image`), stack deployment (:mod:`.stack`), the
Lambda package (:mod:`.lambda_package`, its modules read by :mod:`.imports`) and data upload
(:mod:`.upload`). It sits above everything but the CLI: it may import any lower package, including
``lambda_runtime`` (to package it); nothing imports it except ``cli``.
"""
