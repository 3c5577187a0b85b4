"""The Lambda runtime: the handlers that turn S3 events and CloudWatch alarms (:mod:`.handlers`)
and the monitoring schedule (:mod:`.monitoring`) into SageMaker jobs, reading the events with
:mod:`.events` and starting the jobs with :mod:`.jobs`, and only what they import: ``sagemaker``
(configuration schema and request builders, so a job started here is the request ``kedro
sagemaker`` sends) and ``core.config``. The Lambda package holds exactly these modules (read from
the imports), with pydantic and PyYAML vendored and boto3 from the runtime: no Kedro, pandas or
scikit-learn may be imported here.
"""
