"""STS GetCallerIdentity by presigned URL (sts_presigned.py): what EKS's authenticator sends to
STS to learn who signed a bearer token. Tokens are made as the AWS CLI makes them (botocore); the
emulator honours exactly those STS would: signed with the key's secret, for the cluster named in
the request's x-k8s-aws-id header, within 15 minutes of their date."""

import base64
import datetime

import requests

from sts_presigned import aws_cli_token

KEY = "LBFNDRSCALEUP"


def url_of(token):
    b64 = token[len("k8s-aws-v1."):]
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()


def ask(url, cluster, accept="application/json"):
    return requests.get(url, headers={"x-k8s-aws-id": cluster, "accept": accept}, timeout=5)


def test_a_token_the_aws_cli_makes_answers_the_role_that_signed_it(endpoint):
    url = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY))
    r = ask(url, "shop-usw2")
    assert r.status_code == 200, r.text
    result = r.json()["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    assert result["Arn"] == f"arn:aws:sts::123456789012:assumed-role/{KEY}/{KEY}"
    assert result["Account"] == "123456789012"
    # XML unless JSON is asked for, as STS's query API answers
    xml = ask(url, "shop-usw2", accept="*/*")
    assert xml.status_code == 200 and "<Arn>arn:aws:sts::123456789012:assumed-role/" in xml.text


def test_a_token_for_another_cluster_a_wrong_secret_or_an_altered_url_is_refused(endpoint):
    url = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY))
    other = ask(url, "shop-use1")
    assert other.status_code == 403 and other.json()["Error"]["Code"] == "SignatureDoesNotMatch"
    forged = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY, secret="not-the-secret"))
    assert ask(forged, "shop-usw2").status_code == 403
    assert ask(url.replace("Version=2011-06-15", "Version=2011-06-16"), "shop-usw2").status_code == 403
    assert ask(url.replace(f"X-Amz-Credential={KEY}", "X-Amz-Credential=LBFNOTHER"),
               "shop-usw2").status_code == 403


def test_a_token_older_than_15_minutes_is_refused_whatever_it_says_of_its_expiry(endpoint):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    fresh = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY, at=now - datetime.timedelta(minutes=14)))
    assert ask(fresh, "shop-usw2").status_code == 200
    stale = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY, at=now - datetime.timedelta(minutes=16)))
    r = ask(stale, "shop-usw2")
    assert r.status_code == 403 and "Signature expired" in r.json()["Error"]["Message"]


def test_sts_in_a_dark_region_answers_503(endpoint):
    requests.post(f"{endpoint}/_lifeboat/outage", json={"region": "us-west-2"}, timeout=5).raise_for_status()
    url = url_of(aws_cli_token(endpoint, "shop-usw2", key=KEY))
    assert ask(url, "shop-usw2").status_code == 503
