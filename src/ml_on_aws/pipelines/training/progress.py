"""Hyperparameter searches that log a line per finished candidate.

scikit-learn's searches hand every (candidate, fold) fit to the workers at once and say
nothing until all are done: on a large table the log stayed silent for minutes. These
searches evaluate one candidate at a time (its folds still run in parallel) and log its
score, its time and an estimate of the time left after each.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
)

logger = logging.getLogger(__name__)


class _ProgressSearch:
    """Mixin for a scikit-learn search: ``_run_search`` one candidate at a time, logging each."""

    def _candidates(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _run_search(self, evaluate_candidates) -> None:
        candidates = list(self._candidates())
        scoring = self.scoring if isinstance(self.scoring, str) else "score"
        started, best = time.monotonic(), -math.inf
        for done, params in enumerate(candidates, start=1):
            began = time.monotonic()
            results = evaluate_candidates([params])
            mean, std = float(results["mean_test_score"][-1]), float(results["std_test_score"][-1])
            if not math.isnan(mean):
                best = max(best, mean)
            left = len(candidates) - done
            per_candidate = (time.monotonic() - started) / done
            logger.info(
                "Search candidate %d/%d: %s %.4f ± %.4f in %.1f s (best %.4f)%s",
                done, len(candidates), scoring, mean, std, time.monotonic() - began, best,
                f"; {left} left, about {per_candidate * left:.0f} s." if left else ".",
            )


class ProgressGridSearchCV(_ProgressSearch, GridSearchCV):
    def _candidates(self) -> list[dict[str, Any]]:
        return list(ParameterGrid(self.param_grid))


class ProgressRandomizedSearchCV(_ProgressSearch, RandomizedSearchCV):
    def _candidates(self) -> list[dict[str, Any]]:
        return list(ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state))
