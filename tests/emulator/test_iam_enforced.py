"""A role enforced at the moment of the call (POST /_lifeboat/iam {"policies": ...}): a call its
policy does not allow is answered as AWS answers it, in the service's own protocol, names the
action and the resource, and changes nothing. These fail on bfc4edf (the emulator only recorded
calls, so every call was served whatever the role)."""

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

WEST = "us-west-2"
ACCOUNT = "123456789012"
KEY = "LBFNRUNLEDGER"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"],
     "Resource": f"arn:aws:ssm:{WEST}:{ACCOUNT}:parameter/lifeboat/shop/*"},
    {"Effect": "Deny", "Action": "ssm:PutParameter",
     "Resource": f"arn:aws:ssm:{WEST}:{ACCOUNT}:parameter/lifeboat/shop/approval-link-secret"},
    {"Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"},
]}


def iam(endpoint, body=None, method="POST"):
    return requests.request(method, f"{endpoint}/_lifeboat/iam", json=body, timeout=5)


def as_key(endpoint, service, key=KEY):
    return boto3.client(service, region_name=WEST, endpoint_url=endpoint,
                        aws_access_key_id=key, aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1}))


def refused(err: pytest.ExceptionInfo) -> tuple[str, str]:
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_a_call_its_role_allows_is_served_and_one_it_does_not_is_denied_as_aws_denies(endpoint, client):
    client("ssm", WEST).put_parameter(Name="/lifeboat/shop/plan", Value="{}", Type="String")
    client("ssm", WEST).put_parameter(Name="/other/plan", Value="{}", Type="String")
    assert iam(endpoint, {"record": "LBFN", "policies": {KEY: POLICY}}).status_code == 200
    ssm = as_key(endpoint, "ssm")

    assert ssm.get_parameter(Name="/lifeboat/shop/plan")["Parameter"]["Value"] == "{}"
    with pytest.raises(ClientError) as err:
        ssm.get_parameter(Name="/other/plan")
    code, message = refused(err)
    assert code == "AccessDeniedException"
    assert "ssm:GetParameter" in message
    assert f"arn:aws:ssm:{WEST}:{ACCOUNT}:parameter/other/plan" in message

    # an explicit deny wins over the allow, and the refused write changed nothing
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/lifeboat/shop/approval-link-secret", Value="x", Type="String")
    assert refused(err)[0] == "AccessDeniedException"
    assert "explicit deny" in refused(err)[1]
    with pytest.raises(ClientError) as err:
        client("ssm", WEST).get_parameter(Name="/lifeboat/shop/approval-link-secret")
    assert refused(err)[0] == "ParameterNotFound"

    got = iam(endpoint, method="GET").json()
    assert got["enforced"] == [KEY]
    assert [(d["access_key"], d["operation"]) for d in got["denied"]] == [
        (KEY, "GetParameter"), (KEY, "PutParameter")]
    # refused calls are recorded too: the check afterwards names them
    assert sum(c["count"] for c in got["calls"]) == 3


def test_each_protocol_answers_its_own_denial(endpoint, client):
    topic = client("sns", WEST).create_topic(Name="lifeboat-shop")["TopicArn"]
    assert iam(endpoint, {"policies": {KEY: POLICY}}).status_code == 200
    with pytest.raises(ClientError) as err:  # query protocol, SNS's own code
        as_key(endpoint, "sns").publish(TopicArn=topic, Message="hi")
    assert refused(err)[0] == "AuthorizationError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:  # query protocol
        as_key(endpoint, "rds").describe_global_clusters()
    assert refused(err)[0] == "AccessDenied"
    r53 = as_key(endpoint, "route53")  # REST-XML
    r53.list_hosted_zones()
    with pytest.raises(ClientError) as err:
        r53.get_health_check(HealthCheckId="abc")
    assert refused(err)[0] == "AccessDenied"
    assert "route53:GetHealthCheck on resource: arn:aws:route53:::healthcheck/abc" in refused(err)[1]
    with pytest.raises(ClientError) as err:  # JSON protocol
        as_key(endpoint, "stepfunctions").list_state_machines()
    assert refused(err)[0] == "AccessDeniedException"


def test_an_operation_it_cannot_judge_is_denied_and_other_keys_are_not_enforced(endpoint, client):
    client("ssm", WEST).put_parameter(Name="/lifeboat/shop/plan", Value="{}", Type="String")
    assert iam(endpoint, {"policies": {KEY: POLICY}}).status_code == 200
    with pytest.raises(ClientError) as err:
        as_key(endpoint, "ssm").label_parameter_version(Name="/lifeboat/shop/plan", Labels=["x"])
    assert refused(err)[0] == "AccessDeniedException"
    assert "cannot be judged" in refused(err)[1]
    # a key with no role enforced (the harness, the operator) is served as before
    assert as_key(endpoint, "ssm", key="testing").get_parameter(Name="/lifeboat/shop/plan")


def test_a_bad_body_is_refused_and_enforces_nothing(endpoint, client):
    client("ssm", WEST).put_parameter(Name="/other/plan", Value="{}", Type="String")
    for body in [{}, {"record": ""}, {"policies": {KEY: "allow all"}},
                 {"policies": {KEY: {"Version": "2012-10-17"}}}, {"policies": [KEY]}]:
        resp = iam(endpoint, body)
        assert resp.status_code == 400, body
    assert iam(endpoint, method="GET").json()["enforced"] == []
    assert as_key(endpoint, "ssm").get_parameter(Name="/other/plan")
