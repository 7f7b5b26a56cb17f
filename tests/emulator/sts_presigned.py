"""STS ``GetCallerIdentity`` by presigned URL (SigV4 in the query), as EKS's authenticator sends
the URL inside a bearer token to STS (aws-iam-authenticator's ``Verify``): moto answers
``GetCallerIdentity`` without looking at a query signature at all, so a forged or altered token
would pass. This extension checks what STS checks before it answers:

* the SigV4 query signature, recomputed over the request as received (method, path, the query
  without ``X-Amz-Signature``, every header named in ``X-Amz-SignedHeaders`` (``host`` and
  ``x-k8s-aws-id`` for EKS), the payload hash that of the empty body (as botocore presigns
  STS) or ``UNSIGNED-PAYLOAD`` (as some SDKs presign), with the signing key of the access key's
  secret;
* the date: a presigned STS request is honoured for 15 minutes after ``X-Amz-Date`` at most
  (whatever ``X-Amz-Expires`` says, as aws-iam-authenticator notes), and never before it
  (5 minutes of clock skew allowed).

Secrets: every access key's is ``testing`` (the drill's and the tests' credentials). A region
that is dark for ``sts`` (or wholly) answers 503 as elsewhere.

The answer is the signer's identity, as the emulator names a function's key everywhere else (see
``lifeboat_ext._count_call``): ``arn:aws:sts::123456789012:assumed-role/<key>/<key>`` (the role
named by the key), in XML, or in JSON when the request accepts ``application/json`` (as
aws-iam-authenticator asks). A failed check is 403 ``SignatureDoesNotMatch`` (``Signature
expired`` for the date), in the same form, and nothing else is said.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import urllib.parse
from typing import Any

ACCOUNT = "123456789012"
WINDOW = datetime.timedelta(minutes=15)
SKEW = datetime.timedelta(minutes=5)
UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()


def is_presigned_sts(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") != "GET":
        return False
    q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    cred = (q.get("X-Amz-Credential") or [""])[0].split("/")
    return "X-Amz-Signature" in q and len(cred) == 5 and cred[3] == "sts"


def _uri_encode(s: str) -> str:
    return urllib.parse.quote(s, safe="-_.~")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "host":
        return environ.get("HTTP_HOST")
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


def _signature(secret: str, date: str, region: str, string_to_sign: str) -> str:
    key = f"AWS4{secret}".encode()
    for part in (date, region, "sts", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def check(environ: dict[str, Any], secret: str, now: datetime.datetime | None = None) -> tuple[str | None, str]:
    """(None, access key) when the presigned request is one STS would honour; else (why, key)."""
    pairs = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    q = dict(pairs)
    key, date, region, _service, _term = q["X-Amz-Credential"].split("/")
    if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return "X-Amz-Algorithm must be AWS4-HMAC-SHA256", key
    try:
        stamp = datetime.datetime.strptime(q.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return "X-Amz-Date is not a SigV4 timestamp", key
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if now > stamp + WINDOW or stamp > now + SKEW:
        return (f"Signature expired: {q['X-Amz-Date']} is now earlier than "
                f"{(now - WINDOW).strftime('%Y%m%dT%H%M%SZ')}"), key
    signed = q.get("X-Amz-SignedHeaders", "").split(";")
    if "host" not in signed:
        return "the host header must be signed", key
    headers = []
    for name in signed:
        value = _header(environ, name)
        if value is None:
            return f"the signed header {name} is missing from the request", key
        headers.append(f"{name}:{' '.join(value.strip().split())}\n")
    for payload in (EMPTY_HASH, UNSIGNED):
        canonical = "\n".join([environ.get("REQUEST_METHOD", "GET"),
                               urllib.parse.quote(environ.get("PATH_INFO", "/") or "/", safe="/-_.~"),
                               _canonical_query(pairs), "".join(headers), ";".join(signed), payload])
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256", q["X-Amz-Date"],
                                    f"{date}/{region}/sts/aws4_request",
                                    hashlib.sha256(canonical.encode()).hexdigest()])
        if hmac.compare_digest(_signature(secret, date, region, string_to_sign), q["X-Amz-Signature"]):
            return None, key
    return ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."), key


def respond(environ: dict[str, Any], start_response: Any, secret: str) -> list[bytes]:
    why, key = check(environ, secret)
    as_json = "application/json" in environ.get("HTTP_ACCEPT", "")
    if why is None:
        result = {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{key}/{key}",
                  "UserId": f"AROA{key.upper()[:17]}:{key}", "Account": ACCOUNT}
        if as_json:
            body = json.dumps({"GetCallerIdentityResponse": {
                "GetCallerIdentityResult": result,
                "ResponseMetadata": {"RequestId": "lifeboat-emulated-sts"}}}).encode()
        else:
            fields = "".join(f"<{k}>{v}</{k}>" for k, v in result.items())
            body = (f'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                    f"<GetCallerIdentityResult>{fields}</GetCallerIdentityResult>"
                    f"<ResponseMetadata><RequestId>lifeboat-emulated-sts</RequestId></ResponseMetadata>"
                    f"</GetCallerIdentityResponse>").encode()
        status = "200 OK"
    else:
        error = {"Type": "Sender", "Code": "SignatureDoesNotMatch", "Message": why}
        if as_json:
            body = json.dumps({"Error": error, "RequestId": "lifeboat-emulated-sts"}).encode()
        else:
            fields = "".join(f"<{k}>{v}</{k}>" for k, v in error.items())
            body = (f"<ErrorResponse><Error>{fields}</Error>"
                    f"<RequestId>lifeboat-emulated-sts</RequestId></ErrorResponse>").encode()
        status = "403 Forbidden"
    start_response(status, [("Content-Type", "application/json" if as_json else "text/xml"),
                            ("Content-Length", str(len(body)))])
    return [body]


def aws_cli_token(endpoint: str, cluster: str, key: str = "testing", secret: str = "testing",
                  region: str = "us-west-2", at: datetime.datetime | None = None) -> str:
    """The token ``aws eks get-token --cluster-name <cluster>`` makes (the AWS CLI's
    awscli/customizations/eks/get_token.py: botocore presigns GetCallerIdentity for 60 s with the
    ``x-k8s-aws-id`` header injected before signing), against `endpoint`; `at` freezes the
    signing time. For tests: lifeboat's tokens are compared with these."""
    import base64

    import botocore.auth
    import botocore.session

    client = botocore.session.get_session().create_client(
        "sts", region_name=region, endpoint_url=endpoint, aws_access_key_id=key,
        aws_secret_access_key=secret)

    def inject(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    client.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    real = botocore.auth.get_current_datetime
    if at is not None:
        botocore.auth.get_current_datetime = lambda *a, **k: at  # type: ignore[assignment]
    try:
        url = client.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60,
                                            HttpMethod="GET")
    finally:
        botocore.auth.get_current_datetime = real
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
