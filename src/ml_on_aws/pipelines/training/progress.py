"""Hyperparameter searches that log a line per finished candidate.

scikit-learn's searches hand every (candidate, fold) fit to the workers at once and say
nothing until all are done: on a large table the log stayed silent for minutes. These
searches evaluate the candidates in small batches, just enough that their folds keep every
worker busy (one candidate at a time when the folds alone fill the workers), and log each
candidate's score, the batch's time and an estimate of the time left (ml_on_aws.core.progress).
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

from ml_on_aws.core.progress import Steps, activity

logger = logging.getLogger(__name__)


class _ProgressSearch:
    """Mixin for a scikit-learn search: ``_run_search`` in small batches, logging each candidate."""

    def _candidates(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def fit(self, X, y=None, **params):
        self._progress_rows = len(X)
        with activity(f"search on {len(X)} rows"):
            return super().fit(X, y, **params)

    def _run_search(self, evaluate_candidates) -> None:
        candidates = list(self._candidates())
        scoring = self.scoring if isinstance(self.scoring, str) else "score"
        batch = _batch_size(self.n_jobs, self.cv)
        steps, best = Steps(logger, "Search candidate", len(candidates)), -math.inf
        for first in range(0, len(candidates), batch):
            began = time.monotonic()
            done = min(first + batch, len(candidates))
            with activity(f"search candidate {first + 1}/{len(candidates)}" if done == first + 1 else
                          f"search candidates {first + 1}-{done}/{len(candidates)}"):
                results = evaluate_candidates(candidates[first:done])
            for index in range(first, done):
                mean, std = float(results["mean_test_score"][index]), float(results["std_test_score"][index])
                if not math.isnan(mean):
                    best = max(best, mean)
                steps.finished(1, f"{index + 1}/{len(candidates)}: {scoring} {mean:.4f} ± {std:.4f} "
                                  f"in {time.monotonic() - began:.1f} s (best {best:.4f})", estimate=index + 1 == done)
        if self.refit:
            logger.info("Search: refitting the best candidate on all %d rows.", self._progress_rows)


def _batch_size(n_jobs: int | None, cv: Any) -> int:
    """Candidates per batch: enough (candidate, fold) fits to occupy every worker."""
    from joblib import effective_n_jobs

    folds = cv if isinstance(cv, int) else getattr(cv, "n_splits", None) or 5
    return max(1, math.ceil(effective_n_jobs(n_jobs) / folds))


class ProgressGridSearchCV(_ProgressSearch, GridSearchCV):
    def _candidates(self) -> list[dict[str, Any]]:
        return list(ParameterGrid(self.param_grid))


class ProgressRandomizedSearchCV(_ProgressSearch, RandomizedSearchCV):
    def _candidates(self) -> list[dict[str, Any]]:
        return list(ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state))
