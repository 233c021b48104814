"""Paired comparison of two systems on the same queries: mean difference, bootstrap CI, wins/losses/ties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Paired:
    """Per-query differences ``a - b`` summarized.

    Attributes:
        n: Queries compared.
        mean: Mean difference.
        low: Lower end of the bootstrap confidence interval.
        high: Upper end.
        wins: Queries where ``a`` scores higher.
        losses: Queries where ``b`` scores higher.
        ties: Equal scores.
    """

    n: int
    mean: float
    low: float
    high: float
    wins: int
    losses: int
    ties: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON."""
        return asdict(self)


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 13,
) -> Paired:
    """Paired bootstrap (percentile) CI of the mean of ``a[q] - b[q]`` over the queries both score.

    Queries are resampled with replacement ``resamples`` times with a fixed ``seed``, so the interval is
    reproducible. Ties are exact equality (after rounding to 12 decimals).

    >>> r = paired_bootstrap({"q1": 1.0, "q2": 0.5, "q3": 0.0}, {"q1": 0.5, "q2": 0.5, "q3": 0.5})
    >>> r.n, r.mean, r.wins, r.losses, r.ties
    (3, 0.0, 1, 1, 1)
    >>> r.low < 0 < r.high
    True
    >>> paired_bootstrap({"q": 1.0}, {"q": 1.0}).high
    0.0
    """
    qids = sorted(set(a) & set(b))
    if not qids:
        raise ValueError("no query is scored by both systems")
    diff = np.round(np.array([a[q] - b[q] for q in qids], dtype=np.float64), 12)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Paired(
        n=len(qids),
        mean=float(diff.mean()),
        low=float(low),
        high=float(high),
        wins=int((diff > 0).sum()),
        losses=int((diff < 0).sum()),
        ties=int((diff == 0).sum()),
    )
