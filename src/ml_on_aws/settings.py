"""Project settings: hooks and how configuration is loaded."""

import os
import warnings

# MLflow sends usage telemetry unless told not to, and Kedro imports these settings before
# MLflow (kedro-mlflow), so this covers every `kedro` command, not only `make` and the image.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from ml_on_aws.aws.cloudwatch import CloudWatchHooks
from ml_on_aws.aws.locations import RESOLVERS as AWS_RESOLVERS
from ml_on_aws.datasets.runs import RunCommitHooks
from ml_on_aws.hooks.config_checks import ConfigCheckHooks
from ml_on_aws.hooks.heartbeat import HeartbeatHooks
from ml_on_aws.hooks.lineage import LineageHooks
from ml_on_aws.hooks.logs import quiet_irrelevant_noise, use_plain_lines_unless_terminal
from ml_on_aws.hooks.memory import MemoryHooks
from ml_on_aws.hooks.model_names import RegisteredModelNameHooks
from ml_on_aws.hooks.reports import ReportLocationHooks
from ml_on_aws.hooks.s3 import S3Hooks
from ml_on_aws.hooks.tracking import RunIdentityHooks, local_artifact_location
from ml_on_aws.sagemaker.hosts import current_host

# Kedro and kedro-mlflow register their resolvers through OmegaConf's deprecated API: four
# identical warnings per run that no user of this project can act on.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)
# Kedro imports these settings before it loads its plugins (kedro-mlflow): this covers their warnings.
quiet_irrelevant_noise()
use_plain_lines_unless_terminal()

# RegisteredModelNameHooks: a registered model without a catalog model_name is named after raw_data's file.
# RunCommitHooks: a run's versions and published outputs become current only when it completes.
# LineageHooks: each run's lineage record (data, runs, code, image) in its model directory and in MLflow.
# HeartbeatHooks: a line saying what runs whenever the log has been silent for 25 s.
HOOKS = (ConfigCheckHooks(), ReportLocationHooks(), RunIdentityHooks(), S3Hooks(), CloudWatchHooks(), MemoryHooks(),
         RegisteredModelNameHooks(), LineageHooks(), RunCommitHooks(), HeartbeatHooks())

# kedro-viz writes run metadata into .viz/ when its hooks run; a pipeline run has no use for it.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-viz",)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys of the base parameters, not whole sections.
    # conf/aws/mlflow.yml changes only the experiment's name and artifact location.
    "merge_strategy": {"parameters": "soft", "mlflow": "soft", "sagemaker": "soft", "cloudwatch": "soft"},
    # ${oc.env:NAME,default} everywhere (Kedro allows it only in credentials by default).
    # s3_root: the bucket and prefix of the `aws` environment (conf/aws/globals.yml).
    # sagemaker_host: algo-1, algo-2, ... in a SageMaker job, to name per-instance outputs.
    "custom_resolvers": {
        "oc.env": oc.env, "local_artifacts": local_artifact_location, "sagemaker_host": current_host, **AWS_RESOLVERS,
    },
    # SageMaker jobs (`kedro sagemaker ...`): conf/<env>/sagemaker.yml.
    "config_patterns": {"sagemaker": ["sagemaker*", "sagemaker*/**"],
                        # CloudWatch metrics (src/ml_on_aws/aws/cloudwatch.py): conf/<env>/cloudwatch.yml.
                        "cloudwatch": ["cloudwatch*", "cloudwatch*/**"]},
}
