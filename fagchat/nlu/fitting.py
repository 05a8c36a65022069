"""The intent classifier's logistic-regression fits, and running one in a process of its own.

The classifier fits two models on the same labels: one over n-grams (about 55 s for 4,521
examples on this data) and one over the meaning vectors (about 15 s). Each is one thread
of work: L-BFGS in SciPy holds the GIL between its steps, so two threads fitted them no
faster (71.5 against 73 s), and a second BLAS thread only spins (intent_classifier.py). A
second *process* uses the second core: the meaning model is fitted in a fresh
interpreter ("spawn": the parent has loaded OpenMP and TensorFlow, which are not safe to
fork) while the parent fits the n-gram model. This module imports only NumPy and
scikit-learn, so the child starts in about a second.
"""

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, List, Sequence, Tuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

Fitted = Tuple[List[str], np.ndarray, np.ndarray]  # classes, coefficients, intercepts


def logistic(C: float) -> LogisticRegression:
    """The multinomial logistic regression both models use."""
    return LogisticRegression(C=float(C), max_iter=3000, multi_class="multinomial", random_state=42)


def fit(C: float, features: Any, labels: Sequence[str]) -> Fitted:
    """Fit one model with one BLAS thread; return its arrays (picklable, no estimator)."""
    with threadpool_limits(limits=1, user_api="blas"):
        clf = logistic(C).fit(features, list(labels))
    return [str(c) for c in clf.classes_], clf.coef_, clf.intercept_


def rebuilt(fitted: Fitted) -> LogisticRegression:
    """A logistic regression from its arrays (a fit from another process, or a stored model)."""
    classes, coef, intercept = fitted
    clf = LogisticRegression(multi_class="multinomial")
    clf.classes_ = np.array(classes)
    clf.coef_, clf.intercept_ = coef, intercept
    return clf


class Elsewhere:
    """One fit in a process of its own: `with Elsewhere() as pool: future = pool.fit(...)`."""

    def __enter__(self) -> "Elsewhere":
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self

    def fit(self, C: float, features: Any, labels: Sequence[str]) -> "Future[Fitted]":
        """Start the fit; `.result()` gives its arrays, or raises what went wrong (also
        when no process could be started: the caller then fits in its own)."""
        try:
            return self._pool.submit(fit, C, features, list(labels))
        except Exception as error:  # noqa: BLE001 - handed to the caller through the future
            failed: "Future[Fitted]" = Future()
            failed.set_exception(error)
            return failed

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
