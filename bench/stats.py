"""Order statistics of latency samples, shared by the benchmarks so their figures compare."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): a value that was measured, never an interpolation,
    and defined for a single sample (statistics.quantiles needs two)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, samples: list[float]) -> Summary:
        if not samples:
            raise ValueError("no samples to summarize")
        return cls(
            n=len(samples),
            mean=statistics.fmean(samples),
            p50=statistics.median(samples),
            p95=percentile(samples, 0.95),
            p99=percentile(samples, 0.99),
        )

    def as_dict(self, digits: int = 3) -> dict[str, float]:
        return {k: round(v, digits) for k, v in asdict(self).items()}
