#!/usr/bin/env python3
"""An OpenTelemetry collector stand-in for scripts/sam-local: takes OTLP/HTTP protobuf `POST`s
at /v1/traces, as the ADOT layer's collector would, and decodes them with the PyPI package
opentelemetry-proto (OpenTelemetry's own generated messages, not a hand parser). Each span it
gets is appended to OUT as one JSON line, which `sam_local.py traces OUT` then checks:

  {"service": ..., "name": ..., "kind": 2, "trace_id": hex, "span_id": hex,
   "parent_span_id": hex or "", "status": 0|1|2, "attributes": {key: value as text}}

An export that does not decode is answered 400 and written as {"error": ...}, so the check
fails on it rather than on missing spans.

  otlp_receiver.py --host HOST --port PORT --out FILE

Prints "listening on PORT" once it listens (PORT 0: a free one). Runs in the virtualenv
scripts/sam-local makes for it (scripts/cached-venv otlp-venv).
"""

import argparse
import http.server
import json
import sys
import threading

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def text(value) -> str:
    """An attribute's AnyValue as text: strings as they are, numbers and booleans written out."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    inner = getattr(value, kind)
    if kind == "bool_value":
        return "true" if inner else "false"
    return str(inner)


def spans(request: ExportTraceServiceRequest):
    """Every span of an export, with its resource's service.name."""
    for resource_spans in request.resource_spans:
        service = next(
            (text(kv.value) for kv in resource_spans.resource.attributes if kv.key == "service.name"),
            "",
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "service": service,
                    "name": span.name,
                    "kind": span.kind,
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "status": span.status.code,
                    "attributes": {kv.key: text(kv.value) for kv in span.attributes},
                }


def handler(out: str):
    # One export's lines together, whichever thread wrote first.
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path != "/v1/traces":
                self.answer(404, b"")
                return
            try:
                lines = [json.dumps(s) for s in spans(ExportTraceServiceRequest.FromString(body))]
                status = 200
            except DecodeError as e:
                lines = [json.dumps({"error": f"export does not decode: {e}"})]
                status = 400
            with lock, open(out, "a") as f:
                f.writelines(line + "\n" for line in lines)
            self.answer(status, ExportTraceServiceResponse().SerializeToString())

        def answer(self, status: int, body: bytes):
            self.send_response(status)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("otlp_receiver: " + fmt % args + "\n")

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer((args.host, args.port), handler(args.out))
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
