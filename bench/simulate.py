"""A portfolio simulated for decades in the sandbox: N enrollments, an operator who records claims
and files revalidations (on time for most, late or never for some), the clock advanced 20 years.

The sandbox runs as `enroll sandbox` runs it (cli/sandbox.py: the time-skipping test server, the
worker and the API of `sandbox_stack`, a SQLite read model), in a child process of this script;
everything the operator does goes through its HTTP API:

- import: the portfolio through `POST /v1/imports` (roster CSV with revalidation due dates spread
  over five years), in chunks;
- every stop (--stop-days apart, a quarter by default): each billing enrollment whose latest
  recorded claim is 10+ months old gets `claim_activity`; each one whose revalidation due date
  is within the window gets `revalidation_submitted` then `revalidation_approved` (filed on time
  by most; --missed of them never file and are deactivated at the due date; --stop-billing of
  them stop billing at some point and are deactivated for 12 months without claims); then one
  `POST /v1/sandbox/clock/advance` to the next stop.

Prints wall time (total and per phase), operator events/s, advances (clocks fired, notices, the
slowest advance and its settle time), history events per run (max/median, read from the test
server afterwards, outside the timed phases), API 5xx and other failures, CPU seconds and peak
RSS per process (the sandbox process, the test server, this driver). Nothing is asserted.

    python bench/simulate.py                              # 1,000 enrollments x 20 years
    python bench/simulate.py --enrollments 100 --years 5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.simulate_operator import (  # before the engine root can shadow `bench`
    Enrollment,
    Tally,
    add_workload_options,
    operator_round,
    portfolio,
)
from bench.simulate_stack import (
    children,
    cpu_and_peak,
    history_lengths,
    serve,
    threads_cpu,
)

if os.environ.get("SIMULATE_ENGINE_ROOT"):  # --engine-root: the engine of another checkout
    sys.path.insert(0, os.environ["SIMULATE_ENGINE_ROOT"])

import httpx

ROOT = Path(__file__).resolve().parent.parent
OPERATOR_KEY = "simulate-operator-key-" + "o" * 24
API_KEYS = json.dumps({OPERATOR_KEY: {"actor": "operator@example.org", "role": "operator"}})
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}
IMPORT_CHUNK = 250


# --- The operator, over HTTP --------------------------------------------------------------------


def _npi(n: int) -> str:
    from models.identifiers import npi_check_digit

    first9 = f"1{n:08d}"
    return f"{first9}{npi_check_digit(first9)}"


def roster_csv(enrollments: list[Enrollment], day0: date, rng: random.Random) -> str:
    lines = ["enrollment_id,npi,ptan,form,state,effective_date,revalidation_due_date"]
    for i, e in enumerate(enrollments):
        effective = day0 - timedelta(days=rng.randrange(400, 4000))
        lines.append(
            f"{e.enrollment_id},{_npi(i)},PT{i:07d},{e.form},FL,{effective.isoformat()},"
            f"{e.due.isoformat()}"
        )
    return "\n".join(lines) + "\n"


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any], tally: Tally,
               what: str, timeout: float = 120) -> dict[str, Any] | None:  # fmt: skip
    try:
        r = await http.post(path, json=body, headers=AUTH, timeout=timeout)
    except httpx.HTTPError:
        tally.note(what, None)
        return None
    if not tally.note(what, r):
        return None
    out: dict[str, Any] = r.json()
    return out


async def event(http: httpx.AsyncClient, tally: Tally, e: Enrollment, name: str,
                **data: str) -> dict[str, Any] | None:  # fmt: skip
    body = {"event": name, "data": data, "reason": f"simulated {name}"}
    return await post(http, f"/v1/enrollments/{e.enrollment_id}/events", body, tally, name)


# --- The run ---------------------------------------------------------------------------------


async def simulate(args: argparse.Namespace, base: str, sandbox_pid: int) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tally = Tally()
    phases: dict[str, float] = {}
    advances: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=args.concurrency + 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        clock = (await http.get("/v1/sandbox/clock", headers=AUTH)).json()
        day0 = date.fromisoformat(clock["today"])
        folks = portfolio(args.enrollments, day0, rng, args.missed, args.stop_billing, args.years)
        started = time.monotonic()
        csv_rows = roster_csv(folks, day0, rng).splitlines()
        header, rows = csv_rows[0], csv_rows[1:]
        for i in range(0, len(rows), IMPORT_CHUNK):
            body = {"roster_csv": "\n".join([header, *rows[i : i + IMPORT_CHUNK]]) + "\n",
                    "reason": "simulated portfolio"}  # fmt: skip
            report = await post(http, "/v1/imports", body, tally, "import", timeout=600)
            chunk = len(rows[i : i + IMPORT_CHUNK])
            if (
                report is not None
                and report["counts"]["created"] + report["counts"]["past_due"] < chunk
            ):
                tally.failures.append(f"import: {report['counts']} {report['problems'][:2]}")
        phases["import"] = time.monotonic() - started

        phases["operator"] = phases["advance"] = 0.0
        operator_events = 0
        horizon = day0 + timedelta(days=args.years * 365)
        today = day0
        while today < horizon:
            t = time.monotonic()
            if not args.idle:
                operator_events += await operator_round(
                    functools.partial(event, http, tally), folks, today, tally, args.concurrency
                )
            phases["operator"] += time.monotonic() - t
            days = min(args.stop_days, (horizon - today).days)
            t = time.monotonic()
            report = await post(http, "/v1/sandbox/clock/advance", {"days": days}, tally,
                                f"advance {today}", timeout=3600)  # fmt: skip
            wall = time.monotonic() - t
            phases["advance"] += wall
            if report is None:
                break
            advances.append({"wall": wall, **{k: report[k] for k in (
                "days", "steps", "deadlines_passed", "notices_count", "status_changes_count",
                "settle_seconds")}})  # fmt: skip
            today = date.fromisoformat(report["to"]["today"])
        phases["total"] = time.monotonic() - started
    statuses = Counter[str]()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
            try:
                page = (await http.get("/v1/enrollments", params=params, headers=AUTH)).json()
            except httpx.HTTPError:
                statuses["(the list did not answer)"] += 1
                break
            statuses.update(i["status"] for i in page["items"])
            if not (cursor := page.get("next_cursor")):
                break
    processes = {"sandbox (API + worker)": sandbox_pid}
    processes |= {f"test server ({p})": p for p in children(sandbox_pid)}
    usage = {name: cpu_and_peak(pid) for name, pid in processes.items()}
    threads = threads_cpu(sandbox_pid)
    own = resource.getrusage(resource.RUSAGE_SELF)
    usage["driver"] = (own.ru_utime + own.ru_stime, own.ru_maxrss // 1024)
    return {
        "enrollments": args.enrollments,
        "operator": "none (--idle)" if args.idle else "realistic",
        "years": args.years,
        "stop_days": args.stop_days,
        "concurrency": args.concurrency,
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "operator_events": operator_events,
        "events_by_kind": dict(tally.events),
        "operator_events_per_s": round(operator_events / max(phases["operator"], 1e-9), 1),
        "advances": len(advances),
        "clocks_fired": sum(a["deadlines_passed"] for a in advances),
        "notices": sum(a["notices_count"] for a in advances),
        "status_changes": sum(a["status_changes_count"] for a in advances),
        "slowest_advance_s": round(max((a["wall"] for a in advances), default=0), 2),
        "slowest_settle_s": round(max((a["settle_seconds"] for a in advances), default=0), 2),
        "most_clocks_in_one_advance": max((a["deadlines_passed"] for a in advances), default=0),
        "final_statuses": dict(statuses),
        "http_statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "http_5xx": sum(v for k, v in tally.statuses.items() if k >= 500),
        "transport_errors": tally.transport_errors,
        "failures": tally.failures[:10],
        "cpu_s": {k: round(v[0], 1) for k, v in usage.items()},
        "peak_rss_mb": {k: v[1] for k, v in usage.items()},
        "sandbox_cpu_s_by_thread": threads,
        "ids": [e.enrollment_id for e in folks],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _drain(stream: Any, path: Path) -> None:
    with path.open("w") as out:
        for line in stream:
            out.write(line)
            out.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_options(parser)
    parser.add_argument(
        "--idle",
        action="store_true",
        help="no operator at all: every enrollment's no-claims clock fires in the same step",
    )
    parser.add_argument("--no-histories", action="store_true", help="skip reading histories")
    parser.add_argument(
        "--with-floor", action="store_true", help="then bench/simulate_floor.py, and the ratios"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--engine-root",
        help="run the sandbox from this checkout (e.g. main, for a before/after in one run)",
    )
    parser.add_argument("--keep-log", help="copy the sandbox's log here")
    parser.add_argument("--profile", help="cProfile the sandbox's event loop into this file")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(int(args.serve[0]), Path(args.serve[1]), args.profile))
        return 0

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="simulate-") as data_dir:
        env = {**os.environ, "ENROLL_API_KEYS": API_KEYS, "ENROLL_LOG_JSON": "true"}
        env.pop("ENROLL_DATABASE_URL", None)
        engine_root = Path(args.engine_root).resolve() if args.engine_root else ROOT
        env["SIMULATE_ENGINE_ROOT"] = str(engine_root)
        log = open(Path(data_dir) / "sandbox.log", "w")
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), data_dir]
            + (["--profile", str(Path(args.profile).resolve())] if args.profile else []),
            cwd=engine_root, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            while line and not line.startswith("SANDBOX-READY "):
                line = proc.stdout.readline()
            if not line:
                proc.wait(timeout=30)
                print(Path(data_dir, "sandbox.log").read_text()[-3000:], file=sys.stderr)
                return 1
            target = json.loads(line.split(" ", 1)[1])["temporal"]
            # Keep reading: a pipe nobody reads fills, and whatever in the sandbox writes to its
            # stdout then blocks (the SDK's core did, from its workflow thread: issue 22).
            stdout_log = Path(data_dir) / "sandbox.stdout"
            threading.Thread(target=_drain, args=(proc.stdout, stdout_log), daemon=True).start()
            load = os.getloadavg()
            try:
                result = asyncio.run(simulate(args, f"http://127.0.0.1:{port}", proc.pid))
            except Exception:
                tail = Path(data_dir, "sandbox.log").read_text()[-4000:]
                print(
                    f"the sandbox exited with {proc.poll()}; its log ends:\n{tail}", file=sys.stderr
                )
                raise
            ids = result.pop("ids")
            if not args.no_histories:
                t = time.monotonic()
                lengths, missing = asyncio.run(history_lengths(target, ids))
                result["history_events_per_run"] = {
                    "runs": len(lengths),
                    "max": max(lengths, default=0),
                    "median": statistics.median(lengths) if lengths else 0,
                    "workflows_not_found": missing,
                }
                result["phases_s"]["histories (untimed)"] = round(time.monotonic() - t, 1)
            result["load_average"] = {"start": load, "end": os.getloadavg()}
            errors = [x for x in Path(data_dir, "sandbox.log").read_text().splitlines()
                      if '"level": "error"' in x or "Traceback" in x]  # fmt: skip
            result["sandbox_log_errors"] = len(errors)
            if args.keep_log:
                Path(args.keep_log).write_text(Path(data_dir, "sandbox.log").read_text())
            result["sandbox_log_first_errors"] = [x[:300] for x in errors[:3]]
        finally:
            test_servers = children(proc.pid)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for pid in test_servers:  # orphaned when the sandbox is killed mid-shutdown
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            log.close()
    if args.with_floor:  # the same workload on bare workflows, after this run: its baseline
        from bench.simulate_floor import in_child

        floor = result["floor"] = in_child(args)
        if "error" not in floor:
            engine_cpu = sum(v for k, v in result["cpu_s"].items() if k != "driver")
            result["engine_over_floor"] = {
                "total_s": round(result["phases_s"]["total"] / floor["phases_s"]["total"], 2),
                "cpu_s": round(engine_cpu / sum(floor["cpu_s"].values()), 2),
            }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
