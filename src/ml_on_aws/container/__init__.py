"""The container runtime: what runs inside the image on SageMaker. The entry point
``python -m ml_on_aws.container {train | process PIPELINE | serve}`` (:mod:`.entrypoint`: the
``/opt/ml`` contract, the failure file, signals, running the registered pipelines) and the prediction
server (:mod:`.serving`). It may import the ML core, ``aws``, ``sagemaker`` (the job contract),
``hooks`` and the pipeline registry; never the control side or the Lambda runtime.
"""
