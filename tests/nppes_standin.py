"""A local stand-in for the NPPES NPI Registry API v2.1, serving recorded response shapes over
real HTTP (http.server in a thread): the records in tests/fixtures/nppes/, the not-found
answer, and the errors-as-HTTP-200 answers. `fail_next` makes the next N requests answer 503;
`requests` counts what reached it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

RECORDED = Path(__file__).parent / "fixtures" / "nppes"


@dataclass
class StandIn:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0


def _answer(query: dict[str, str]) -> dict[str, object]:
    if query.get("version") != "2.1":
        return json.loads((RECORDED / "errors_version.json").read_text())
    if "number" not in query and set(query) <= {"version", "state"}:
        return {"Errors": [{"description": "No valid search criteria", "number": "07"}]}
    number = query.get("number", "")
    if not (len(number) == 10 and number.isdigit()):
        # The shape of every NPPES refusal; the code here is the stand-in's own.
        return {"Errors": [{"description": "Invalid number", "field": "number", "number": "XX"}]}
    recorded = RECORDED / f"{number}.json"
    source = recorded if recorded.exists() else RECORDED / "not_found.json"
    return json.loads(source.read_text())


@contextmanager
def nppes_standin() -> Iterator[StandIn]:
    stand_in = StandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            stand_in.requests.append(query)
            if stand_in.fail_next > 0:
                stand_in.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            body = json.dumps(_answer(query)).encode()
            self.send_response(200)  # NPPES answers 200, errors included
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
