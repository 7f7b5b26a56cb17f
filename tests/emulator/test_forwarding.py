"""Lambda invocations forwarded to real binaries, EventBridge Lambda targets, Route 53 change
propagation and the RDS fault, as lifeboat_ext.py documents them."""

import io
import json
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from botocore.exceptions import ClientError

WEST = "us-west-2"


class InvokeApi:
    """A stand-in for cargo lambda watch's Invoke API: records calls, answers per function."""

    def __init__(self):
        self.calls = []
        self.called_at: list[tuple[str, float]] = []  # (function, time.monotonic()) per call
        # invocations of each function being answered at once, and the most seen
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = self.path.split("/")[3]
                api.calls.append((self.path, body))
                api.called_at.append((name, time.monotonic()))
                with lock:
                    api.active[name] = api.active.get(name, 0) + 1
                    api.peak[name] = max(api.peak.get(name, 0), api.active[name])
                if name == "slow":
                    time.sleep(3.0)
                if name == "busy":
                    time.sleep(0.3)
                with lock:
                    api.active[name] -= 1
                if name == "broken":
                    status, out = 500, {"errorType": "PreconditionFailed", "errorMessage": "no"}
                else:
                    status, out = 200, {"echo": body}
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def invoke_api(endpoint):
    api = InvokeApi()
    requests.post(f"{endpoint}/_lifeboat/config", json={"lambda": {"forward_url": api.url}},
                  timeout=5).raise_for_status()
    yield api
    api.server.shutdown()


def create_function(client, name, region=WEST):
    role = client("iam", WEST).create_role(
        RoleName=f"fn-{name}-{region}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", "x")
    return client("lambda", region).create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]


def test_invoke_reaches_the_binary_and_a_function_error_keeps_its_error_type(client, invoke_api):
    create_function(client, "worker")
    create_function(client, "broken")
    lam = client("lambda", WEST)
    ok = lam.invoke(FunctionName="worker", Payload=b'{"n": 1}')
    assert json.loads(ok["Payload"].read()) == {"echo": {"n": 1}}
    assert "FunctionError" not in ok
    bad = lam.invoke(FunctionName="broken", Payload=b"{}")
    assert bad["FunctionError"] == "Unhandled"
    assert json.loads(bad["Payload"].read())["errorType"] == "PreconditionFailed"
    assert [p for p, _ in invoke_api.calls] == [
        "/2015-03-31/functions/worker/invocations", "/2015-03-31/functions/broken/invocations"]
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="missing", Payload=b"{}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_each_regions_copy_answers_from_its_own_invoke_api(client, invoke_api, endpoint):
    home = InvokeApi()
    try:
        r = requests.post(f"{endpoint}/_lifeboat/config", json={
            "lambda": {"region_forward_urls": {"us-east-1": home.url}}}, timeout=5)
        assert r.status_code == 200
        create_function(client, "worker")
        create_function(client, "worker", "us-east-1")
        client("lambda", "us-east-1").invoke(FunctionName="worker", Payload=b'{"copy": "home"}')
        client("lambda", WEST).invoke(FunctionName="worker", Payload=b'{"copy": "dr"}')
        assert [b for _, b in home.calls] == [{"copy": "home"}]
        assert [b for _, b in invoke_api.calls] == [{"copy": "dr"}]
        for bad in ({"us-east-1": "http://10.0.0.1:9"}, {"nowhere": home.url}, ["us-east-1"]):
            r = requests.post(f"{endpoint}/_lifeboat/config",
                              json={"lambda": {"region_forward_urls": bad}}, timeout=5)
            assert r.status_code == 400, bad
    finally:
        home.server.shutdown()


def test_invoke_faults_answer_once_and_start_an_outage_once(client, invoke_api, endpoint):
    create_function(client, "worker")
    lam = client("lambda", WEST)
    r = requests.post(f"{endpoint}/_lifeboat/faults", json={
        "result_on_invoke": {"function": "worker", "payload_contains": '"assess"',
                             "result": {"not": "what the machine reads"}},
        "outage_on_invoke": {"function": "worker", "payload_contains": '"record"',
                             "region": "us-east-1", "services": ["ssm"]}}, timeout=5)
    assert r.status_code == 200
    # another payload runs the function; the matching one is answered without running it, once
    assert json.loads(lam.invoke(FunctionName="worker", Payload=b'{"action": "x"}')["Payload"].read()) \
        == {"echo": {"action": "x"}}
    assert json.loads(lam.invoke(FunctionName="worker", Payload=b'{"action": "assess"}')["Payload"].read()) \
        == {"not": "what the machine reads"}
    assert json.loads(lam.invoke(FunctionName="worker", Payload=b'{"action": "assess"}')["Payload"].read()) \
        == {"echo": {"action": "assess"}}
    assert len(invoke_api.calls) == 2
    # the outage begins with the matching invocation
    client("ssm", "us-east-1").describe_parameters()
    lam.invoke(FunctionName="worker", Payload=b'{"action": "record"}')
    with pytest.raises(ClientError) as err:
        client("ssm", "us-east-1").describe_parameters()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    bad = requests.post(f"{endpoint}/_lifeboat/faults",
                        json={"result_on_invoke": {"function": "worker"}}, timeout=5)
    assert bad.status_code == 400 and "result_on_invoke needs" in bad.json()["error"]


def test_an_event_invocation_returns_at_once_and_runs(client, invoke_api):
    create_function(client, "worker")
    resp = client("lambda", WEST).invoke(FunctionName="worker", InvocationType="Event",
                                        Payload=b'{"async": true}')
    assert resp["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while not invoke_api.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert invoke_api.calls[0][1] == {"async": True}


def test_an_event_invocation_that_errs_is_retried_twice_as_lambda_does(client, invoke_api, endpoint):
    """AWS: "If the function returns an error, by default Lambda attempts to run it two more
    times, with a one-minute wait between the first two attempts, and two minutes between the
    second and third" (here x time_scale, 0.01). Without it one throttled read in
    alarm-to-failover lost the canary's only event: no run (chaos seeds 93, 103, 118, 123, 180
    at 4f4efef)."""
    create_function(client, "broken")
    create_function(client, "worker")
    lam = client("lambda", WEST)
    sent = time.monotonic()
    lam.invoke(FunctionName="broken", InvocationType="Event", Payload=b'{"n": 1}')
    lam.invoke(FunctionName="worker", InvocationType="Event", Payload=b'{"n": 2}')
    pending = requests.get(f"{endpoint}/_lifeboat/events-pending", timeout=5).json()["pending"]
    assert pending.get(f"{WEST}:broken") == 1, pending  # queued, running or waiting to retry

    def attempts():
        return [c for c in invoke_api.calls if "/broken/" in c[0]]

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(attempts()) < 3:
        time.sleep(0.05)
    time.sleep(2.5)  # no fourth attempt
    assert len(attempts()) == 3, f"{len(attempts())} attempts of an erring event"
    assert all(body == {"n": 1} for _, body in attempts())
    seen = [at for name, at in invoke_api.called_at if name == "broken"]
    assert seen[1] - seen[0] >= 0.55 and seen[2] - seen[1] >= 1.15, (sent, seen)
    # a function that answers is run once
    assert [body for p, body in invoke_api.calls if "/worker/" in p] == [{"n": 2}]
    # and nothing is left pending once the last attempt is done
    assert requests.get(f"{endpoint}/_lifeboat/events-pending", timeout=5).json() == {"pending": {}}


def test_an_eventbridge_rule_invokes_its_lambda_target_with_the_event(client, invoke_api):
    arn = create_function(client, "alarm-to-failover")
    events = client("events", WEST)
    events.put_rule(Name="canary", EventPattern=json.dumps(
        {"source": ["lifeboat.probe"], "detail-type": ["Primary Unhealthy"]}))
    events.put_targets(Rule="canary", Targets=[{"Id": "fn", "Arn": arn}])
    events.put_events(Entries=[
        {"Source": "lifeboat.probe", "DetailType": "Primary Unhealthy", "Detail": '{"failures": 3}'},
        {"Source": "other", "DetailType": "Primary Unhealthy", "Detail": "{}"},
    ])
    deadline = time.monotonic() + 10
    while not invoke_api.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert len(invoke_api.calls) == 1, invoke_api.calls
    event = invoke_api.calls[0][1]
    assert event["source"] == "lifeboat.probe" and event["detail"] == {"failures": 3}
    time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601, as EventBridge delivers


def test_a_record_change_is_pending_until_it_has_propagated(client, endpoint):
    requests.post(f"{endpoint}/_lifeboat/config",
                  json={"time_scale": 0.01, "route53": {"propagation_seconds": 60}},
                  timeout=5).raise_for_status()
    r53 = client("route53", "us-east-1")
    zone = r53.create_hosted_zone(Name="shop.example.com", CallerReference="t")["HostedZone"]["Id"]
    change = r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "www.shop.example.com", "Type": "CNAME", "TTL": 60,
            "ResourceRecords": [{"Value": "usw2.shop.example.com"}]}}]})["ChangeInfo"]
    assert change["Status"] == "PENDING"
    assert r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"] == "PENDING"
    time.sleep(0.7)
    assert r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    with pytest.raises(ClientError) as err:
        r53.get_change(Id="/change/CNOSUCHCHANGE")
    assert err.value.response["Error"]["Code"] == "NoSuchChange"


def test_an_injected_fault_cancels_the_next_global_operation(client, endpoint):
    requests.post(f"{endpoint}/_lifeboat/config",
                  json={"time_scale": 0.01, "rds": {"pending_seconds": 30, "cancel_seconds": 30}},
                  timeout=5).raise_for_status()
    requests.post(f"{endpoint}/_lifeboat/faults", json={"cancel_next_rds_operations": 1},
                  timeout=5).raise_for_status()
    east, west = client("rds", "us-east-1"), client("rds", WEST)
    primary = east.create_db_cluster(DBClusterIdentifier="a", Engine="aurora-postgresql",
                                     MasterUsername="u", MasterUserPassword="not-a-secret-1")
    east.create_global_cluster(GlobalClusterIdentifier="g",
                               SourceDBClusterIdentifier=primary["DBCluster"]["DBClusterArn"])
    target = west.create_db_cluster(DBClusterIdentifier="b", Engine="aurora-postgresql",
                                    GlobalClusterIdentifier="g")["DBCluster"]["DBClusterArn"]
    west.failover_global_cluster(GlobalClusterIdentifier="g", TargetDbClusterIdentifier=target,
                                 AllowDataLoss=True)
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        gc = west.describe_global_clusters(GlobalClusterIdentifier="g")["GlobalClusters"][0]
        state = (gc.get("FailoverState") or {}).get("Status")
        seen.add(state)
        if state is None and "cancelling" in seen:
            break
        time.sleep(0.01)
    assert "cancelling" in seen
    writers = [m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers == [primary["DBCluster"]["DBClusterArn"]]


def test_forwarding_accepts_loopback_only(endpoint):
    resp = requests.post(f"{endpoint}/_lifeboat/config",
                         json={"lambda": {"forward_url": "http://10.0.0.1:9000"}}, timeout=5)
    assert resp.status_code == 400


def test_states_all_never_catches_a_runtime_error(client, invoke_api):
    """AWS: States.ALL cannot catch States.Runtime (a Parameters path that does not exist): the
    execution fails. A Task error is still caught."""
    arn = create_function(client, "worker")
    sfn = client("stepfunctions", WEST)
    role = client("iam", WEST).create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def machine(name, payload, function=arn):
        return sfn.create_state_machine(name=name, roleArn=role, definition=json.dumps({
            "StartAt": "Call", "States": {
                "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         "Parameters": {"FunctionName": function, "Payload": payload},
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
                "Caught": {"Type": "Succeed"}}}))["stateMachineArn"]

    def run(sm):
        ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        deadline = time.monotonic() + 20
        while (d := sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return d

    broken = run(machine("missing-path", {"x.$": "$.missing"}))
    assert broken["status"] == "FAILED" and broken["error"] == "States.Runtime", broken
    assert not invoke_api.calls  # nothing was invoked
    caught = run(machine("task-error", {"n": 1}, create_function(client, "broken")))
    assert caught["status"] == "SUCCEEDED", caught
    assert len(invoke_api.calls) == 1


def test_a_crashed_sandbox_answers_its_invocation_in_flight_as_lambda_does(client, invoke_api, endpoint):
    """make chaos kills a function's process mid-step: the invocation in flight answers at once
    with Runtime.ExitError (what Step Functions then matches on), not when the runtime is gone."""
    create_function(client, "slow")
    got = {}

    def invoke():
        resp = client("lambda", WEST).invoke(FunctionName="slow", Payload=b'{"action": "notify", "step": 1}')
        got["error"] = resp.get("FunctionError")
        got["payload"] = json.loads(resp["Payload"].read())
        got["at"] = time.monotonic()

    t = threading.Thread(target=invoke)
    t.start()
    time.sleep(0.5)
    crashed_at = time.monotonic()
    lost = requests.post(f"{endpoint}/_lifeboat/faults", json={
        "sandbox_crashed": {"function": "slow", "region": WEST}}, timeout=5).json()
    t.join(timeout=10)
    assert lost["invocations_lost"] == 1
    assert lost["requests_lost"] == ["notify"], "says what the lost invocation asked"
    assert got["error"] == "Unhandled"
    assert got["payload"]["errorType"] == "Runtime.ExitError"
    assert got["at"] - crashed_at < 1.5, "answered when the sandbox crashed, not when the call ended"
    # a bad request changes nothing
    bad = requests.post(f"{endpoint}/_lifeboat/faults", json={
        "cancel_next_rds_operations": 2, "sandbox_crashed": {"function": 3}}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{endpoint}/_lifeboat/faults", json={},
                         timeout=5).json()["cancel_next_rds_operations"] == 0


def test_a_storm_of_invocations_waits_in_the_emulator_not_in_the_invoke_api(client, invoke_api):
    """A storm of events (make chaos sends 100 in a second) is Lambda's asynchronous queue: the
    emulator forwards at most 8 of one function's invocations at once and holds the rest.
    cargo lambda watch keeps 100 per function and, past that, stalls every function's
    invocations (its scheduler waits for room while holding the queue map), so a run's
    run-ledger step never ran (chaos seeds 57 and 59 at 3e405ee)."""
    create_function(client, "busy")
    create_function(client, "worker")
    storm = 130
    lam = client("lambda", WEST)

    def send(first):
        for i in range(first, storm, 26):
            lam.invoke(FunctionName="busy", InvocationType="Event",
                       Payload=json.dumps({"i": i}).encode())

    senders = [threading.Thread(target=send, args=(k,)) for k in range(26)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()

    def delivered():
        return sorted(body["i"] for path, body in invoke_api.calls if "/busy/" in path)

    # another function is not held behind the storm
    resp = client("lambda", WEST).invoke(FunctionName="worker", Payload=b'{"step": "record"}')
    assert json.loads(resp["Payload"].read()) == {"echo": {"step": "record"}}
    # and every held invocation runs, none lost
    deadline = time.monotonic() + 30
    while len(delivered()) < storm and time.monotonic() < deadline:
        time.sleep(0.1)
    assert delivered() == list(range(storm))
    assert invoke_api.peak["busy"] <= 8, f"{invoke_api.peak['busy']} invocations of one function at once"
