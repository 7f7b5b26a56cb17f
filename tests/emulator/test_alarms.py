"""Metric alarms evaluated as lifeboat_ext.py documents it (moto stores alarms, never evaluates
them): statistics per period, missing data as the alarm says, transitions announced on
EventBridge and to the alarm's SNS actions."""

import datetime as dt
import json
import time

import requests

WEST = "us-west-2"
ACCOUNT = "123456789012"


def evaluate(endpoint):
    r = requests.post(f"{endpoint}/_lifeboat/alarms/evaluate", json={"region": WEST}, timeout=10)
    r.raise_for_status()
    return r.json()


def queue(client, name):
    sqs = client("sqs", WEST)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{WEST}:{ACCOUNT}:{name}"


def drain(client, url):
    out = []
    for _ in range(20):
        msgs = client("sqs", WEST).receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        out += [json.loads(m["Body"]) for m in msgs]
        if out:
            return out
        time.sleep(0.05)
    return out


def test_silence_alarms_the_silent_alarm_and_never_the_failover_alarm(endpoint, client):
    requests.post(f"{endpoint}/_lifeboat/config", json={"time_scale": 0.01}, timeout=5)  # 60 s -> 0.6 s
    cw = client("cloudwatch", WEST)
    topic = client("sns", WEST).create_topic(Name="lifeboat-shop")["TopicArn"]
    inbox, inbox_arn = queue(client, "inbox")
    client("sns", WEST).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    events_q, events_arn = queue(client, "alarm-events")
    ev = client("events", WEST)
    ev.put_rule(Name="alarms", EventPattern=json.dumps(
        {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}))
    ev.put_targets(Rule="alarms", Targets=[{"Id": "q", "Arn": events_arn}])
    dims = [{"Name": "App", "Value": "shop"}, {"Name": "ProbedRegion", "Value": "us-east-1"}]
    cw.put_metric_alarm(AlarmName="silent", Namespace="Lifeboat", MetricName="Probes",
                        Dimensions=dims, Statistic="SampleCount", Period=60, EvaluationPeriods=3,
                        DatapointsToAlarm=3, Threshold=1, ComparisonOperator="LessThanThreshold",
                        TreatMissingData="breaching", AlarmActions=[topic], OKActions=[topic])
    cw.put_metric_alarm(AlarmName="unhealthy", Namespace="Lifeboat", MetricName="PrimaryProbeFailures",
                        Dimensions=dims, Statistic="Maximum", Period=60, EvaluationPeriods=2,
                        DatapointsToAlarm=2, Threshold=3,
                        ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching")
    # No data at all: the silent alarm goes into ALARM (missing = breaching) and says so; the
    # failover alarm stays OK (missing = not breaching).
    changed = evaluate(endpoint)
    assert changed["silent"]["to"] == "ALARM" and "unhealthy" not in changed, changed
    said = drain(client, inbox)
    assert len(said) == 1 and said[0]["Subject"].startswith('ALARM: "silent"'), said
    seen = drain(client, events_q)
    assert [e["detail"]["alarmName"] for e in seen] == ["silent"], seen
    assert seen[0]["detail"]["state"]["value"] == "ALARM"
    assert evaluate(endpoint) == {}  # no change: nothing announced twice
    # The canary reports failures in both of the last two periods: the failover alarm fires;
    # its samples end the silence.
    now = dt.datetime.now(dt.timezone.utc)
    for ago in (0.9, 0.3):
        at = now - dt.timedelta(seconds=ago)
        cw.put_metric_data(Namespace="Lifeboat", MetricData=[
            {"MetricName": "PrimaryProbeFailures", "Dimensions": dims, "Value": 4, "Timestamp": at},
            {"MetricName": "Probes", "Dimensions": dims, "Value": 5, "Timestamp": at}])
    changed = evaluate(endpoint)
    assert changed["unhealthy"]["to"] == "ALARM", changed
    assert "Threshold Crossed: 2 of 2" in changed["unhealthy"]["reason"], changed
    # the canary's samples end the silence (3 of 3 periods must be silent to alarm): OK again
    assert changed["silent"]["to"] == "OK", changed
    assert [m["Subject"][:11] for m in drain(client, inbox)] == ['OK: "silent']
    bad = requests.post(f"{endpoint}/_lifeboat/alarms/evaluate", json={}, timeout=5)
    assert bad.status_code == 400
