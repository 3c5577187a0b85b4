"""Run a SageMaker request on this machine with Docker, the way SageMaker would (``--local``).

:class:`.runner.LocalRunner` takes the very request :mod:`ml_on_aws.sagemaker.requests` builds
for SageMaker and:

- downloads each input through the S3 API into the layout SageMaker gives the container
  (training channels under ``/opt/ml/input/data/<channel>``, processing inputs at their
  ``LocalPath``), splitting ``ShardedByS3Key`` inputs across the instances (:mod:`.transfer`);
- writes the configuration files SageMaker writes (``hyperparameters.json`` with string
  values, ``inputdataconfig.json``, ``resourceconfig.json``, ``processingjobconfig.json``)
  (:mod:`.staging`);
- starts one container per instance (``docker run IMAGE train``, or the processing entry
  point and arguments), hosts named ``algo-1`` ... ``algo-N`` (:mod:`.containers`);
- uploads ``/opt/ml/model`` as ``<output>/<job>/output/model.tar.gz`` and each processing
  output directory to its S3 prefix, only when every instance succeeded (:mod:`.transfer`);
- answers with the fields of ``describe_*``: status, ``FailureReason`` (from
  ``/opt/ml/output/failure``, or ``message`` for processing, as SageMaker reads them),
  ``FinalMetricDataList`` from the metric regexes applied to the container logs
  (:mod:`.containers`).

``serve`` extracts a model.tar.gz into ``/opt/ml/model`` and runs the image's ``serve`` as
an endpoint instance would (port 8080: ``/ping`` and ``/invocations``); ``transform`` sends
each input object's records to it in batches, as batch transform does (:mod:`.transform`).
"""

from collections.abc import Callable

# How the runner reports a line (a log line of a container, an upload) to its caller.
Echo = Callable[[str], None]
