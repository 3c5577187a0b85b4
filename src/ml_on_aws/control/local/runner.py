"""The local runner: a training, processing or transform request, or a model to serve, run to the
end on this machine as SageMaker would run it (see the package's docstring), answered with the
fields of ``describe_*``. It puts :mod:`.staging`, :mod:`.transfer`, :mod:`.containers` and
:mod:`.transform` together; ``kedro sagemaker ... --local`` calls it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ml_on_aws.control.local import Echo
from ml_on_aws.control.local.containers import (
    await_ping,
    failure_reason,
    final_metrics,
    remove_container,
    run_containers,
    start_server,
)
from ml_on_aws.control.local.staging import job_folder, stage_processing, stage_training
from ml_on_aws.control.local.transfer import download_model, upload_folder, upload_tar
from ml_on_aws.control.local.transform import transform_objects


class LocalRunner:
    """Runs training and processing requests, and serves models, with the local Docker engine."""

    def __init__(
        self,
        s3: Any,
        echo: Echo,
        *,
        docker_options: list[str] | None = None,
        workdir: Path | None = None,
        port: int = 8080,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.s3 = s3
        self.echo = echo
        self.docker_options = list(docker_options or [])
        self.workdir = workdir
        self.port = port
        # What SageMaker itself adds to a job's variables (the role's credentials, say) goes in
        # ``environment``. A local run is not the deployment: its jobs publish no CloudWatch
        # metrics (conf/sagemaker*/cloudwatch.yml) unless ``environment`` turns them on.
        self.environment = {"ML_ON_AWS_PUBLISH_METRICS": "false", **(environment or {})}

    # -- jobs ---------------------------------------------------------------------------

    def run(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Run a ``create_training_job`` or ``create_processing_job`` request to the end."""
        runners = {"create_training_job": self.train, "create_processing_job": self.process}
        if operation not in runners:
            raise ValueError(f"--local runs training and processing jobs, not {operation}")
        return runners[operation](request)

    def train(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TrainingJobName"]
        with job_folder(name, self.workdir) as root:
            instances = stage_training(self.s3, request, root, self.environment)
            results = run_containers(
                request["AlgorithmSpecification"]["TrainingImage"], instances,
                request["StoppingCondition"]["MaxRuntimeInSeconds"], request.get("EnableNetworkIsolation", False),
                self.docker_options, self.echo,
            )
            description = {
                "TrainingJobName": name,
                "AlgorithmSpecification": request["AlgorithmSpecification"],
                "HyperParameters": request.get("HyperParameters", {}),
                "ResourceConfig": request["ResourceConfig"],
                "OutputDataConfig": request["OutputDataConfig"],
                "SecondaryStatusTransitions": [{"Status": "Downloading"}, {"Status": "Training"}],
                "FinalMetricDataList": final_metrics(
                    [line for result in results for line in result["logs"]],
                    request["AlgorithmSpecification"].get("MetricDefinitions", []),
                ),
            }
            reason = failure_reason(results, "failure")
            if reason:
                return {**description, "TrainingJobStatus": "Failed", "FailureReason": reason}
            output = f"{request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{name}/output"
            # As SageMaker does, the model is the first host's /opt/ml/model, and every host's
            # /opt/ml/output/data is output.tar.gz (reports, reference_data.parquet, test_predictions.parquet).
            artifact = f"{output}/model.tar.gz"
            upload_tar(self.s3, instances[0].folder / "model", artifact)
            self.echo(f"Uploaded {artifact}")
            upload_tar(self.s3, [instance.folder / "output" / "data" for instance in instances], f"{output}/output.tar.gz")
            self.echo(f"Uploaded {output}/output.tar.gz")
            return {**description, "TrainingJobStatus": "Completed", "ModelArtifacts": {"S3ModelArtifacts": artifact}}

    def process(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ProcessingJobName"]
        app = request["AppSpecification"]
        outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
        with job_folder(name, self.workdir) as root:
            instances = stage_processing(self.s3, request, root, self.environment)
            results = run_containers(
                app["ImageUri"], instances, request["StoppingCondition"]["MaxRuntimeInSeconds"],
                request.get("NetworkConfig", {}).get("EnableNetworkIsolation", False),
                self.docker_options, self.echo,
            )
            description = {
                "ProcessingJobName": name,
                "AppSpecification": app,
                "ProcessingInputs": request.get("ProcessingInputs", []),
                "ProcessingOutputConfig": request.get("ProcessingOutputConfig", {}),
                "ProcessingResources": request["ProcessingResources"],
            }
            exit_message = "".join(result["message"] for result in results)[:1024]
            if exit_message:
                description["ExitMessage"] = exit_message
            reason = failure_reason(results, "message")
            if reason:
                return {**description, "ProcessingJobStatus": "Failed", "FailureReason": reason}
            # Every instance uploads its output folders to the same prefixes.
            for instance in instances:
                for number, item in enumerate(outputs):
                    upload_folder(self.s3, instance.folder / "outputs" / str(number), item["S3Output"]["S3Uri"],
                                  self.echo)
            return {**description, "ProcessingJobStatus": "Completed"}

    # -- serving ------------------------------------------------------------------------

    def serve(self, model_request: dict[str, Any], wait: bool) -> bool:
        """Start the image's ``serve`` with the model extracted in ``/opt/ml/model``, detached,
        as an endpoint instance would run it; with ``wait``, until ``/ping`` answers."""
        name = model_request["ModelName"]
        url = self._start_server(model_request, name)
        self.echo(f"Serving {model_request['PrimaryContainer']['ModelDataUrl']} at {url}/invocations "
                  f"(container {name}; stop it with `docker rm -f {name}`)")
        if not wait:
            return True
        reason = await_ping(url, name)
        self.echo(f"endpoint {name}: {'Failed' if reason else 'InService'}")
        if reason:
            self.echo(f"FailureReason: {reason}")
        return reason is None

    def transform(self, model_request: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """Run a ``create_transform_job`` request: serve the model, send each input object's
        records to ``/invocations`` in batches as batch transform does (``SplitType``,
        ``BatchStrategy``, ``MaxPayloadInMB``), write ``<output>/<file>.out``."""
        name = request["TransformJobName"]
        description = {"TransformJobName": name, "ModelName": request["ModelName"],
                       "TransformInput": request["TransformInput"], "TransformOutput": request["TransformOutput"],
                       "TransformResources": request["TransformResources"]}
        url = self._start_server(model_request, name)
        try:
            reason = await_ping(url, name) or transform_objects(self.s3, url, request, self.echo)
            if reason:
                return {**description, "TransformJobStatus": "Failed", "FailureReason": reason}
            return {**description, "TransformJobStatus": "Completed"}
        finally:
            remove_container(name)

    def _start_server(self, model_request: dict[str, Any], name: str) -> str:
        container = model_request["PrimaryContainer"]
        model_dir = Path(tempfile.mkdtemp(prefix=f"{name}-model-", dir=self.workdir))
        model_dir.chmod(0o755)
        download_model(self.s3, container["ModelDataUrl"], model_dir)
        environment = {**container.get("Environment", {}), **self.environment}
        return start_server(name, container["Image"], model_dir, environment, self.docker_options, self.port)
