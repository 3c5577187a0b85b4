"""``process PIPELINE --params k=v,...``: runtime parameters for a processing job's run.

The syntax and typing are those of ``kedro run --params``: items separated by commas, each
``key=value`` (the first ``=`` splits, so a value may contain more), dotted keys for nested
parameters, values typed as YAML by OmegaConf (``24`` is a number, ``null`` is None, an ISO
timestamp stays a string). Kedro's own parser (``kedro.framework.cli.utils._split_params``) is
private and a click callback, so this is the same two steps on OmegaConf's public API; a test
checks that both agree. ``--params`` may be given more than once: later items win, so a job's
configured ``arguments`` can carry defaults that a scheduled run's window overrides.
"""

from __future__ import annotations

from typing import Any

from ml_on_aws.core.config import ConfigurationError

FLAG = "--params"


def runtime_params(values: list[str] | None) -> dict[str, Any]:
    """The nested parameters of every ``--params`` value, in order; ConfigurationError names a bad item."""
    from omegaconf import OmegaConf

    dotlist = []
    for value in values or []:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            key, equals, given = item.partition("=")
            if not equals or not key.strip():
                raise ConfigurationError(f"{FLAG} item {item!r} is not key=value; write e.g. "
                                 f"{FLAG} monitoring.window.hours=24,monitoring.window.end=null")
            dotlist.append(f"{key.strip()}={given}")
    return OmegaConf.to_container(OmegaConf.from_dotlist(dotlist)) if dotlist else {}
