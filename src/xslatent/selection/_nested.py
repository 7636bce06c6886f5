"""Nested models that respect their nesting: warm starts from the contained model.

NNCA is an EDNN with a linear orthonormal encoder, ECA is a linear orthonormal projection in
front of the emulator (an NNCA whose decoder is the emulator), and ridge regression is an MLP
emulator without hidden nonlinearity: the larger model can always do at least as well. A randomized
search with a small budget may still return a larger model that scores *below* the
contained one. The rule used by the pipelines (:func:`xslatent.pipeline.analysis.analyse_target`):

1. the searches run as usual (each model with its own space);
2. if the searched container's mean CV score is below the contained model's (EDNN k below
   NNCA k; the emulator below ridge), the container is refitted on the whole training split
   **warm-started** from the contained model (:meth:`xslatent.EDNN.fit` /
   :meth:`xslatent.MLPEmulator.fit` with ``init_from``): it starts out computing exactly the
   contained model's predictions and trains on with early stopping, at a learning rate of at
   most :data:`WARM_LEARNING_RATE`. ECA has no CV score (it is fitted once, on the frozen
   emulator), so NNCA k is compared with the ECA fitted on the training split by the
   quantity ECA maximises, the R2 on the training split at rank k; an NNCA below it did not
   find what its own architecture can express and is refitted from the ECA
   (:meth:`xslatent.NNCA.fit` with ``init_from``, decoder = the emulator); an EDNN is then
   compared with that refitted NNCA by training-split R2 as well (it has no CV score);
3. the choice is reported per run (:class:`Fallback`) in the log, the table notes and the
   model file's metadata. The test-split checks of :func:`~xslatent.selection._baselines.check_nesting`
   still run afterwards and flag whatever remains violated.

Only CV scores and training-split scores (never the test split) decide.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from sklearn.base import clone

from .._validation import layer_sizes_tuple
from ..exceptions import ConvergenceWarning, InvalidParameterError

__all__ = ["WARM_LEARNING_RATE", "Fallback", "warm_started_ednn", "warm_started_emulator", "warm_started_nnca"]

#: largest learning rate of a warm-started refit (a larger step would leave the start at once)
WARM_LEARNING_RATE = 1e-3


@dataclass
class Fallback:
    """Which model a run kept, and why.

    Attributes
    ----------
    model : str
        ``"emulator"`` or ``"EDNN k=2"`` …
    used : str
        ``"search"`` (the searched model kept) or ``"warm start from <model>"``.
    reason : str
        The CV scores behind the choice.
    """

    model: str
    used: str
    reason: str

    def line(self) -> str:
        """One line for logs and reports."""
        return f"{self.model}: {self.used} ({self.reason})"


def _widen(sizes, minimum: int) -> tuple:
    return tuple(max(int(w), int(minimum)) for w in layer_sizes_tuple(sizes))


def warm_started_ednn(template, nnca, X, Y):
    """An EDNN refitted on ``X``, ``Y`` from a fitted NNCA (see module docstring).

    Parameters
    ----------
    template : EDNN
        The searched EDNN (its encoder widths, widened to ``2 * n_components`` where needed,
        and its training settings are kept).
    nnca : NNCA
        Fitted; its decoder architecture, activation, ``alpha`` and learning rate (capped at
        :data:`WARM_LEARNING_RATE`) are used.
    X, Y : ndarray
        The training rows and their targets.

    Returns
    -------
    EDNN
        Fitted.
    """
    k = int(nnca.n_components_)
    est = clone(template).set_params(
        n_components=k,
        encoder_layer_sizes=_widen(template.encoder_layer_sizes, 2 * k),
        decoder_layer_sizes=layer_sizes_tuple(nnca.decoder_layer_sizes),
        activation=nnca.activation,
        alpha=float(nnca.alpha),
        learning_rate_init=min(float(nnca.learning_rate_init), WARM_LEARNING_RATE),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y, init_from=nnca)


def warm_started_emulator(template, linear, X, Y):
    """An MLP emulator refitted on ``X``, ``Y`` from a fitted linear model (ridge).

    Parameters
    ----------
    template : MLPEmulator
        The searched emulator (hidden widths widened to ``2 * min(n_features, n_outputs)``
        where needed; learning rate capped at :data:`WARM_LEARNING_RATE`).
    linear : fitted linear model with ``coef_`` and ``intercept_``
    X, Y : ndarray

    Returns
    -------
    MLPEmulator
        Fitted.
    """
    m = min(X.shape[1], Y.shape[1])
    est = clone(template).set_params(
        hidden_layer_sizes=_widen(template.hidden_layer_sizes, 2 * m),
        learning_rate_init=min(float(template.learning_rate_init), WARM_LEARNING_RATE),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y, init_from=linear)


def warm_started_nnca(template, eca, X, Y):
    """An NNCA refitted on ``X``, ``Y`` from a fitted ECA (see module docstring).

    Parameters
    ----------
    template : NNCA
        The searched NNCA (its ``n_components``, ``hierarchical`` and training settings are
        kept).
    eca : ECA
        Fitted on ``X``, ``Y`` with an :class:`xslatent.MLPEmulator`; the decoder takes the
        emulator's hidden widths, ``alpha`` and learning rate (capped at
        :data:`WARM_LEARNING_RATE`), activation ReLU.
    X, Y : ndarray
        The rows the ECA was fitted on (the training split) and their targets.

    Returns
    -------
    NNCA
        Fitted.
    """
    em = getattr(eca, "emulator_", None)
    if em is None or not all(hasattr(em, a) for a in ("hidden_layer_sizes", "alpha", "learning_rate_init")):
        raise InvalidParameterError(
            f"The 'eca' argument of warm_started_nnca must be a fitted ECA on an MLPEmulator. Got "
            f"{type(eca).__name__}{'' if em is None else ' on ' + type(em).__name__} instead."
        )
    est = clone(template).set_params(
        decoder_layer_sizes=layer_sizes_tuple(em.hidden_layer_sizes),
        activation="relu",
        alpha=float(em.alpha),
        learning_rate_init=min(float(em.learning_rate_init), WARM_LEARNING_RATE),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y, init_from=eca)
