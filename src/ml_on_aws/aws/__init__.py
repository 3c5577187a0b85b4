"""Low-level AWS access used by the Kedro hooks, the container and the control side: boto3 clients
and sessions that honour ``AWS_ENDPOINT_URL*`` (:mod:`.session`), the S3 locations of the ``aws``
environment (:mod:`.locations`) and CloudWatch metric publishing (:mod:`.cloudwatch`). It imports
only ``core``.
"""
