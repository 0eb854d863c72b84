"""How minibatches are drawn: the named samplings, and which of them trained the runs a claim read.

The stability theory of Wu, Ma & E (2018) assumes a fresh uniform B-subset at every step, independent of
the last ("subsets"); data loaders reshuffle the data every epoch ("reshuffling"); Chaudhari's notes and
the Langevin analogies draw i.i.d. samples ("replacement"). The three give different dynamics near a
minimum (over an epoch of reshuffling the product of the steps' maps is fixed), so every training loop
names its sampling, every run's configuration records it, and a claim's report entry lists the samplings
that trained the runs it read (:func:`note`, :func:`used`).
"""
from __future__ import annotations

from .errors import InvalidArgumentError

SAMPLINGS = {
    "subsets": "an independent uniform B-subset of the n samples at every step: the sampling that Wu, Ma & E "
               "(2018) assume in Theorem 1 and eq. 7-9, where the batch mean's variance is (n-B)/(B(n-1)) Sigma",
    "reshuffling": "random reshuffling: every epoch a fresh random permutation cut into n // B batches (what data "
                   "loaders do; consecutive batches are not independent, so the i.i.d. stability formulas do not "
                   "apply)",
    "replacement": "B indices drawn independently and uniformly, with replacement, at every step (the batch mean's "
                   "variance is Sigma / B)",
}
THEORY_SAMPLING = "subsets"

_USED: set[str] = set()


def checked(sampling: str) -> str:
    """The sampling, or an error naming the known ones."""
    if sampling not in SAMPLINGS:
        raise InvalidArgumentError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    return sampling


def note(sampling: str | None) -> None:
    """Remember that minibatches drawn this way trained (or were read by) the claim under way."""
    if sampling is not None:
        _USED.add(sampling)


def used(clear: bool = True) -> list[str]:
    """The samplings noted since the last call (for a claim's report entry)."""
    names = sorted(_USED)
    if clear:
        _USED.clear()
    return names
