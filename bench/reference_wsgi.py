"""The Python limit: a bare WSGI callable answering with the bytes and headers captured from BioMuseum.

Served by the same gunicorn.conf.py as BioMuseum (`BENCH_CAPTURED` names the capture file the harness
wrote), it shows what gunicorn and Python cost with no framework at all.
"""

import base64
import json
import os

NOT_FOUND = ("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")], b"not found")


def load_responses(path: str) -> dict[str, tuple[str, list[tuple[str, str]], bytes]]:
    with open(path, encoding="utf-8") as capture:
        responses = json.load(capture)["responses"]
    return {
        response["target"]: (
            f"{response['status']} {response['reason']}",
            [(name, value) for name, value in response["headers"]],
            base64.b64decode(response["body"]),
        )
        for response in responses
    }


RESPONSES = load_responses(os.environ["BENCH_CAPTURED"])


def application(environ, start_response):
    target = environ.get("RAW_URI") or environ["PATH_INFO"] + (
        f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""
    )
    status, headers, body = RESPONSES.get(target, NOT_FOUND)
    start_response(status, headers)
    return [body]
