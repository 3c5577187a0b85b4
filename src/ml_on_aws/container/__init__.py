"""The container runtime: what runs inside the image on SageMaker. The entry point
``python -m ml_on_aws.container {train | process PIPELINE | serve}`` (:mod:`.entrypoint`: the
command line and the training and processing jobs) with the ``/opt/ml`` contract
(:mod:`.contract`), the failure file and signals (:mod:`.job_runner`) and the Kedro bootstrap
(:mod:`.kedro_project`), and the prediction server (:mod:`.serving`). It may import the ML core,
``aws``, ``sagemaker`` (the job contract), ``hooks`` and the pipeline registry; never the control
side or the Lambda runtime.
"""
