"""The SageMaker job contract, shared by the control side, the container and the Lambda: the schema
of ``conf/<env>/sagemaker.yml`` and the channel names (:mod:`.config`), pure builders of the boto3
request dictionaries (:mod:`.requests`), hyperparameters as runtime parameters
(:mod:`.hyperparameters`), the model a scoring job reads (:mod:`.models`) and the instance a job runs
on (:mod:`.hosts`). It imports only ``core``; it must stay importable in the Lambda (no Kedro at
import time, no pandas).
"""
