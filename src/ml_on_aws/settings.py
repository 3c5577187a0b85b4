"""Project settings: hooks and how configuration is loaded."""

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from ml_on_aws.hooks import ConfigCheckHooks

HOOKS = (ConfigCheckHooks(),)

# kedro-viz writes run metadata into .viz/ when its hooks run; a pipeline run has no use for it.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-viz",)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys of the base parameters, not whole sections.
    "merge_strategy": {"parameters": "soft", "sagemaker": "soft"},
    # ${oc.env:NAME,default} everywhere (Kedro allows it only in credentials by default).
    "custom_resolvers": {"oc.env": oc.env},
    # SageMaker jobs (`kedro sagemaker ...`): conf/<env>/sagemaker.yml.
    "config_patterns": {"sagemaker": ["sagemaker*", "sagemaker*/**"]},
}
