"""A minimal Lambda runtime loop (what awslambdaric does for Python handlers), speaking the Runtime
API of AWS_LAMBDA_RUNTIME_API: init the handler module, then next -> handle -> response/error."""

import http.client
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
api = os.environ["AWS_LAMBDA_RUNTIME_API"].removeprefix("http://").rstrip("/")
base = "/2018-06-01/runtime"
conn = http.client.HTTPConnection(api, timeout=None)


def post(path, body):
    conn.request("POST", base + path, body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    conn.getresponse().read()


try:
    import handler  # noqa: E402 - init: boto3 and the clients
except Exception as exc:  # noqa: BLE001 - reported to the Runtime API, as awslambdaric does
    post("/init/error", {"errorType": type(exc).__name__, "errorMessage": str(exc)})
    sys.exit(1)

while True:
    conn.request("GET", base + "/invocation/next")
    resp = conn.getresponse()
    event = json.loads(resp.read() or b"null")
    request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    try:
        result = handler.handler(event, None)
        post(f"/invocation/{request_id}/response", result)
    except Exception as exc:  # noqa: BLE001
        post(f"/invocation/{request_id}/error", {
            "errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exc().splitlines()})
