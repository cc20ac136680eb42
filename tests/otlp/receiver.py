#!/usr/bin/env python3
"""An OTLP/HTTP JSON receiver for the tests: checks every request against the official schema
(the opentelemetry-proto package's messages, parsed with unknown fields rejected), records what it
got, and can answer 503 or 429 with Retry-After, 400, or hang.

  receiver.py serve [PORT] [--tls CERT KEY]
                             listens on 127.0.0.1 (PORT, else any; https with --tls), prints its
                             port, serves until killed
  receiver.py check logs     validates one request body on stdin; exit 1 with the reason

Served paths: POST /v1/logs, POST /v1/traces; GET /received (every request as
{"path", "ok", "error", "body"}); POST /mode with {"mode": "ok"|"503"|"429"|"400"|"hang",
"retry_after": seconds} sets how later requests are answered.

OTLP/HTTP's JSON differs from protobuf's canonical JSON in one way: trace and span ids are hex,
not base64. The ids are checked as hex of the right length and converted before parsing.
"""

import base64
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

MESSAGES = {"logs": ExportLogsServiceRequest, "traces": ExportTraceServiceRequest}
ID_LENGTHS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
# 64-bit integers must be JSON strings in OTLP's JSON (a number would lose precision in JS).
INT64_KEYS = {"timeUnixNano", "observedTimeUnixNano", "startTimeUnixNano", "endTimeUnixNano", "intValue"}


def hex_ids_to_base64(node, where="$"):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            at = f"{where}.{key}"
            if key in ID_LENGTHS:
                if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{%d}" % ID_LENGTHS[key], value):
                    raise ValueError(f"{at}: not {ID_LENGTHS[key]} lowercase hex digits: {value!r}")
                if set(value) == {"0"}:
                    raise ValueError(f"{at}: an all-zero id is invalid")
                value = base64.b64encode(bytes.fromhex(value)).decode()
            elif key in INT64_KEYS and not isinstance(value, str):
                raise ValueError(f"{at}: a 64-bit integer must be a string: {value!r}")
            out[key] = hex_ids_to_base64(value, at)
        return out
    if isinstance(node, list):
        return [hex_ids_to_base64(v, f"{where}[{i}]") for i, v in enumerate(node)]
    return node


def check(signal, body):
    """None if `body` is a valid request of `signal`, else why not."""
    try:
        doc = json.loads(body)
        json_format.Parse(json.dumps(hex_ids_to_base64(doc)), MESSAGES[signal](), ignore_unknown_fields=False)
    except Exception as e:  # any failure is the answer
        return f"{type(e).__name__}: {e}"
    return None


class State:
    lock = threading.Lock()
    received = []
    mode = "ok"
    retry_after = 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/received":
            with State.lock:
                body = json.dumps(State.received).encode()
            return self.answer(200, body)
        self.answer(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/mode":
            doc = json.loads(body)
            with State.lock:
                State.mode = doc["mode"]
                State.retry_after = doc.get("retry_after", 1)
            return self.answer(200, b"{}")
        signal = {"/v1/logs": "logs", "/v1/traces": "traces"}.get(self.path)
        if signal is None:
            return self.answer(404)
        with State.lock:
            mode, retry_after = State.mode, State.retry_after
        if mode == "hang":
            time.sleep(3600)
            return
        if mode in ("503", "429"):
            return self.answer(int(mode), b'{"message":"busy"}', [("Retry-After", str(retry_after))])
        error = check(signal, body)
        if self.headers.get("Content-Type") != "application/json":
            error = error or f"Content-Type: {self.headers.get('Content-Type')}"
        ok = error is None and mode == "ok"
        with State.lock:
            State.received.append({
                "path": self.path, "ok": ok, "error": error, "mode": mode,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": json.loads(body) if error is None else body.decode("utf-8", "replace"),
            })
        if error is not None or mode == "400":
            return self.answer(400, json.dumps({"message": error or "rejected"}).encode())
        self.answer(200, b"{}")


def main():
    if sys.argv[1:2] == ["check"]:
        error = check(sys.argv[2], sys.stdin.buffer.read())
        if error:
            print(error)
            sys.exit(1)
        return
    args = sys.argv[2:]
    tls = None
    if "--tls" in args:
        i = args.index("--tls")
        tls, args = args[i + 1:i + 3], args[:i] + args[i + 3:]
    port = int(args[0]) if args else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
