#!/usr/bin/env python3
"""An OTLP/HTTP receiver for the tests, JSON and protobuf: checks every request against the
official schema (the opentelemetry-proto package's messages, unknown fields rejected), records
what it got, and can answer any status, 413 above a size, or hang.

  receiver.py serve [PORT] [--tls CERT KEY]
                             listens on 127.0.0.1 (PORT, else any; https with --tls), prints its
                             port, serves until killed
  receiver.py check logs|traces [--protobuf]
                             validates one request body on stdin; exit 1 with the reason
  receiver.py check-pairs logs|traces DIR
                             validates each DIR/<n>.pb and that it is the message DIR/<n>.json is

Served paths: POST /v1/logs, POST /v1/traces; GET /received (every request as
{"path", "ok", "status", "error", "invalid", "content_type", "items", "body"}: `invalid` is why
it is not a valid request, `error` why it was not taken; a protobuf body as its JSON form with
hex ids); POST /mode with {"mode": "ok"|"hang"|"<status>", "retry_after": seconds,
"max_items": n} sets how later requests are answered: a status answers with it (and
Retry-After when it is retryable, in which case the request is not recorded), to a protobuf
request as a google.rpc.Status; max_items answers 413 to a request
of more log records or spans than that and takes the rest.

OTLP/HTTP's JSON differs from protobuf's canonical JSON in one way: trace and span ids are hex,
not base64. The ids are checked as hex of the right length and converted before parsing.

A protobuf body must be exactly the official serialization of the message it parses to (after a
round trip through JSON, which drops unknown fields): same fields, same order, same bytes.
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
    """None if `body` is a valid JSON request of `signal`, else why not."""
    try:
        parse_json(signal, body)
    except Exception as e:  # any failure is the answer
        return f"{type(e).__name__}: {e}"
    return None


def parse_json(signal, body):
    doc = json.loads(body)
    return json_format.Parse(json.dumps(hex_ids_to_base64(doc)), MESSAGES[signal](), ignore_unknown_fields=False)


def parse_protobuf(signal, body):
    """The message `body` is, when it is byte for byte the official serialization of it."""
    message = MESSAGES[signal].FromString(body)
    known = json_format.Parse(json_format.MessageToJson(message), MESSAGES[signal]())
    official = known.SerializeToString(deterministic=True)
    if official != body:
        at = next((i for i, (a, b) in enumerate(zip(official, body)) if a != b), min(len(official), len(body)))
        raise ValueError(
            f"not the official serialization: {len(body)} bytes, official {len(official)}, first difference at "
            f"byte {at}: ours {body[at:at + 16].hex()} official {official[at:at + 16].hex()}")
    return message


def as_json(message):
    """A parsed message in OTLP/HTTP's JSON form (hex ids, enums as numbers), as a JSON request is."""
    doc = json_format.MessageToDict(message, use_integers_for_enums=True)
    return base64_ids_to_hex(doc)


def base64_ids_to_hex(node):
    if isinstance(node, dict):
        return {k: base64.b64decode(v).hex() if k in ID_LENGTHS else base64_ids_to_hex(v) for k, v in node.items()}
    if isinstance(node, list):
        return [base64_ids_to_hex(v) for v in node]
    return node


def items(signal, message):
    if signal == "logs":
        return sum(len(s.log_records) for r in message.resource_logs for s in r.scope_logs)
    return sum(len(s.spans) for r in message.resource_spans for s in r.scope_spans)


def rpc_status(code, text):
    """A google.rpc.Status {code = 1, message = 2}, written out (googleapis is not a dependency)."""
    data = text.encode()
    out = bytearray(b"\x08") + varint(code) + b"\x12" + varint(len(data)) + data
    return bytes(out)


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class State:
    lock = threading.Lock()
    received = []
    mode = "ok"
    retry_after = 1
    max_items = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=(), content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
                State.max_items = doc.get("max_items")
            return self.answer(200, b"{}")
        signal = {"/v1/logs": "logs", "/v1/traces": "traces"}.get(self.path)
        if signal is None:
            return self.answer(404)
        with State.lock:
            mode, retry_after, max_items = State.mode, State.retry_after, State.max_items
        if mode == "hang":
            time.sleep(3600)
            return
        content_type = self.headers.get("Content-Type")
        protobuf = content_type == "application/x-protobuf"
        if mode in ("429", "502", "503", "504"):
            # Retryable: answered before reading, and not recorded (the request comes again).
            headers = [("Retry-After", str(retry_after))]
            if protobuf:
                return self.answer(int(mode), rpc_status(14, "busy"), headers, "application/x-protobuf")
            return self.answer(int(mode), b'{"message":"busy"}', headers)
        error, message = None, None
        try:
            if protobuf:
                message = parse_protobuf(signal, body)
            elif content_type == "application/json":
                message = parse_json(signal, body)
            else:
                error = f"Content-Type: {content_type}"
        except Exception as e:  # any failure is the answer
            error = f"{type(e).__name__}: {e}"
        count = items(signal, message) if message is not None else 0
        status = 400 if error is not None else 200
        if error is None and mode.isdigit():
            status, error = int(mode), f"answering {mode} as told"
        elif error is None and max_items is not None and count > max_items:
            status, error = 413, f"{count} items, more than {max_items}"
        with State.lock:
            State.received.append({
                "path": self.path, "ok": status == 200, "error": error, "mode": mode, "status": status,
                "invalid": error if message is None else None,
                "content_type": content_type, "items": count,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": (as_json(message) if protobuf else json.loads(body)) if message is not None
                else body.decode("utf-8", "replace"),
            })
        if status == 200:
            return self.answer(200, b"", content_type=content_type) if protobuf else self.answer(200, b"{}")
        text = error or "rejected"
        if protobuf:
            return self.answer(status, rpc_status(3, text), content_type="application/x-protobuf")
        self.answer(status, json.dumps({"message": text}).encode())


def check_pairs(signal, directory):
    """None if every `<n>.pb` in `directory` is a valid protobuf request of `signal` that is the same
    message as the JSON request `<n>.json` beside it, else why not."""
    import os
    names = sorted(n[:-3] for n in os.listdir(directory) if n.endswith(".pb"))
    if not names:
        return "no pairs"
    for name in names:
        with open(os.path.join(directory, name + ".pb"), "rb") as f:
            body = f.read()
        with open(os.path.join(directory, name + ".json"), "rb") as f:
            like = f.read()
        try:
            message = parse_protobuf(signal, body)
            if message != parse_json(signal, like):
                return f"{name}: not the message its JSON request is:\n{as_json(message)}\n{json.loads(like)}"
        except Exception as e:  # any failure is the answer
            return f"{name}: {type(e).__name__}: {e}"
    return None


def main():
    if sys.argv[1:2] == ["check-pairs"]:
        error = check_pairs(sys.argv[2], sys.argv[3])
        if error:
            print(error)
            sys.exit(1)
        return
    if sys.argv[1:2] == ["check"]:
        body = sys.stdin.buffer.read()
        error = check(sys.argv[2], body)
        if sys.argv[3:4] == ["--protobuf"]:
            error = None
            try:
                parse_protobuf(sys.argv[2], body)
            except Exception as e:  # any failure is the answer
                error = f"{type(e).__name__}: {e}"
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
