"""bench/throughput.py's figures: rounds summed up per side and concurrency, and the ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Summary

# The side measured and its baseline, by default.
SIDES = ("engine", "bare")
# What the table calls the engine's CPU: the processes a deployment runs for it.
CORE_GROUPS = ("worker", "temporal server", "API")


@dataclass
class Round:
    side: str
    applications: int
    concurrency: int
    seconds: float = 0.0
    events: list[float] = field(default_factory=list)  # ms, each event request
    creates: list[float] = field(default_factory=list)  # ms
    cpu: dict[str, float] = field(default_factory=dict)  # seconds per process group
    retries: int = 0  # requests sent again: answered 503, or their connection was dropped
    accepted_not_finished: int = 0  # 202s
    ids: list[str] = field(default_factory=list)

    @property
    def applications_per_second(self) -> float:
        return self.applications / self.seconds


def _side(rounds: list[Round]) -> dict[str, Any]:
    applications = sum(r.applications for r in rounds)
    cpu = {k: sum(r.cpu[k] for r in rounds) / applications for k in rounds[0].cpu}
    return {
        "rounds": len(rounds),
        "applications_per_s": statistics.median(r.applications_per_second for r in rounds),
        "applications_per_s_each_round": [round(r.applications_per_second, 3) for r in rounds],
        "event_ms": Summary.of([ms for r in rounds for ms in r.events]).as_dict(),
        "create_ms": Summary.of([ms for r in rounds for ms in r.creates]).as_dict(),
        "cpu_seconds_per_application": {k: round(v, 5) for k, v in cpu.items()},
        "cpu_seconds_per_application_core": round(sum(cpu[k] for k in CORE_GROUPS), 5),
        "requests_sent_again": sum(r.retries for r in rounds),
        "answered_202": sum(r.accepted_not_finished for r in rounds),
    }


def summary(
    rounds: list[Round], shapes: dict[str, dict[str, float]], names: tuple[str, str] = SIDES
) -> dict[str, Any]:
    by_concurrency: dict[str, Any] = {}
    for concurrency in sorted({r.concurrency for r in rounds}):
        sides = {
            side: _side([r for r in rounds if r.side == side and r.concurrency == concurrency])
            for side in names
        }
        measured, baseline = sides[names[0]], sides[names[1]]
        by_concurrency[str(concurrency)] = {
            **sides,
            ratio_key(names): {
                "throughput": round(
                    measured["applications_per_s"] / baseline["applications_per_s"], 3
                ),
                "event_p50": round(measured["event_ms"]["p50"] / baseline["event_ms"]["p50"], 3),
                "event_p99": round(measured["event_ms"]["p99"] / baseline["event_ms"]["p99"], 3),
                "cpu_per_application": round(
                    measured["cpu_seconds_per_application_core"]
                    / baseline["cpu_seconds_per_application_core"],
                    3,
                ),
            },
        }
    return {"sides": list(names), "by_concurrency": by_concurrency, "history_shape": shapes}


def ratio_key(names: tuple[str, str]) -> str:
    return f"ratio_{names[0]}_over_{names[1]}"


def print_report(document: dict[str, Any]) -> None:
    plan = document["plan"]
    load = document["load_average"]
    print(
        f"commit {document['commit']}, {document['day']}, {document['cores']} cores, "
        f"load average {load['start'][0]:.2f} at start, {load['end'][0]:.2f} at end; "
        f"{plan['applications']} applications per round, {plan['rounds']} round(s) of each side "
        f"per concurrency, warm-up {plan['warmup']}"
    )
    first, second = names = tuple(document["sides"])
    over = f"{first}/{second}"
    for concurrency, row in document["by_concurrency"].items():
        measured, baseline, ratio = row[first], row[second], row[ratio_key(names)]
        print(f"\nconcurrency {concurrency}{'':<22}{first:>10}{second:>10}{over:>13}")
        _line(
            "applications/s (median)",
            measured["applications_per_s"],
            baseline["applications_per_s"],
            ratio["throughput"],
        )
        for q in ("p50", "p95", "p99"):
            _line(
                f"event {q} ms",
                measured["event_ms"][q],
                baseline["event_ms"][q],
                ratio.get(f"event_{q}"),
            )
        for q in ("p50", "p99"):
            _line(f"create {q} ms", measured["create_ms"][q], baseline["create_ms"][q], None)
        print("  CPU ms per application")
        ecpu, bcpu = (
            measured["cpu_seconds_per_application"],
            baseline["cpu_seconds_per_application"],
        )
        for group in ecpu:
            _line(f"  {group}", ecpu[group] * 1000, bcpu[group] * 1000, None)
        _line(
            "  worker + server + API",
            measured["cpu_seconds_per_application_core"] * 1000,
            baseline["cpu_seconds_per_application_core"] * 1000,
            ratio["cpu_per_application"],
        )
        for name in ("requests_sent_again", "answered_202"):
            if measured[name] or baseline[name]:
                print(f"  {name}: {first} {measured[name]}, {second} {baseline[name]}")
    shapes = document["history_shape"]
    print(f"\nhistory per application (with its child, mean){'':<1}{first:>10}{second:>10}")
    for kind in shapes[first]:
        print(f"  {kind:<44}{shapes[first][kind]:>10.1f}{shapes[second][kind]:>10.1f}")


def _line(label: str, engine: float, bare: float, ratio: float | None) -> None:
    tail = f"{ratio:>12.2f}x" if ratio is not None else ""
    print(f"  {label:<34}{engine:>10.1f}{bare:>10.1f}{tail}")
