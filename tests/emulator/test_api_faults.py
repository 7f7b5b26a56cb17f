"""Seeded API faults (api_faults.py), seen through boto3: each service's SDK reads the injected
error as that service's own throttling or server error, so the SDK's retry rules apply as on AWS;
the same seed draws the same faults for the same calls."""

import time

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

import boto3

ONE = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(endpoint, service, region="us-west-2", key="testing"):
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id=key, aws_secret_access_key="testing", config=ONE)


def faults(endpoint, body):
    r = requests.post(f"{endpoint}/_lifeboat/api-faults", json=body, timeout=5)
    r.raise_for_status()
    return r.json()


def code(err):
    return err.value.response["Error"]["Code"]


@pytest.mark.parametrize("service,call,expected", [
    ("ssm", lambda c: c.get_parameter(Name="/x"), "ThrottlingException"),        # JSON
    ("rds", lambda c: c.describe_db_clusters(), "Throttling"),                  # query XML
    ("route53", lambda c: c.list_hosted_zones(), "Throttling"),                 # REST XML
    ("s3", lambda c: c.list_buckets(), "SlowDown"),                             # S3
    ("lambda", lambda c: c.list_functions(), "TooManyRequestsException"),       # REST JSON
])
def test_a_throttle_is_the_services_own_throttling_error(endpoint, service, call, expected):
    faults(endpoint, {"seed": 1, "rules": [{"service": service, "kind": "throttle", "rate": 1.0}]})
    try:
        with pytest.raises(ClientError) as err:
            call(client(endpoint, service))
        assert code(err) == expected
        assert requests.get(f"{endpoint}/_lifeboat/api-faults", timeout=5).json()["injected"]["throttle"] == 1
    finally:
        requests.delete(f"{endpoint}/_lifeboat/api-faults", timeout=5)


def test_errors_match_only_their_rule_and_the_same_seed_draws_the_same_faults(endpoint):
    rules = [{"service": "ssm", "operation": "GetParameter", "access_key": "AKIAFN",
              "kind": "error", "rate": 0.5}]

    def run():
        faults(endpoint, {"seed": 42, "rules": rules})
        got = []
        for _ in range(30):
            try:
                client(endpoint, "ssm", key="AKIAFNDNSFLIP").get_parameter(Name="/nope")
            except ClientError as e:
                got.append(e.response["Error"]["Code"])
        return got

    try:
        first, second = run(), run()
        assert first == second
        assert 5 < first.count("InternalFailure") < 25
        assert set(first) == {"InternalFailure", "ParameterNotFound"}
        # another caller (the drill, the test harness) and another operation are untouched
        faults(endpoint, {"seed": 42, "rules": [dict(rules[0], rate=1.0)]})
        with pytest.raises(ClientError) as err:
            client(endpoint, "ssm").get_parameter(Name="/nope")
        assert code(err) == "ParameterNotFound"
        client(endpoint, "ssm", key="AKIAFNDNSFLIP").describe_parameters()
    finally:
        requests.delete(f"{endpoint}/_lifeboat/api-faults", timeout=5)


def test_latency_delays_and_a_timeout_answers_504_late(endpoint):
    try:
        faults(endpoint, {"seed": 3, "rules": [
            {"service": "sns", "kind": "latency", "rate": 1.0, "latency_ms": 300},
            {"service": "sqs", "kind": "timeout", "rate": 1.0, "timeout_ms": 300}]})
        t = time.monotonic()
        client(endpoint, "sns").list_topics()
        assert time.monotonic() - t >= 0.3
        t = time.monotonic()
        with pytest.raises(ClientError) as err:
            client(endpoint, "sqs").list_queues()
        assert time.monotonic() - t >= 0.3
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 504
        injected = requests.get(f"{endpoint}/_lifeboat/api-faults", timeout=5).json()["injected"]
        assert (injected["latency"], injected["timeout"]) == (1, 1)
    finally:
        requests.delete(f"{endpoint}/_lifeboat/api-faults", timeout=5)


def test_bad_rules_are_refused(endpoint):
    for bad in ({"rules": [{"kind": "melt", "rate": 1}]}, {"rules": [{"kind": "error", "rate": 2}]},
                {"rules": [{"kind": "error", "rate": 1, "colour": "red"}]}, {"seed": "x", "rules": []}):
        assert requests.post(f"{endpoint}/_lifeboat/api-faults", json=bad, timeout=5).status_code == 400
