import os
import sys
import threading

import boto3
import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import server  # noqa: E402

ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def endpoint():
    srv = server.build_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(autouse=True)
def reset(endpoint):
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    yield


@pytest.fixture
def client(endpoint):
    def make(service, region):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make
