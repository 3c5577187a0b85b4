"""The Kedro integration: one module per hook concern, registered in ``settings.py``. Checks of the
configuration against the inputs' headers before the first node (:mod:`.config_checks`), S3 checks
in the ``aws`` environment (:mod:`.s3`, :mod:`.s3_checks`), MLflow run identity (:mod:`.tracking`),
memory release between nodes (:mod:`.memory`), where the reports went (:mod:`.reports`), registered model names (:mod:`.model_names`) and
log filters (:mod:`.logs`); the run commit hook lives with the run store in
:mod:`ml_on_aws.datasets.runs`. It may import the ML core (``core``, ``pipelines``, ``datasets``),
``aws`` and ``sagemaker``; nothing that runs only in the container, the Lambda or the control side.
"""
