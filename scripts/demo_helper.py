"""Helpers for scripts/demo.sh that stand in for the parts issue 4's infra will provide:
a Step Functions state that waits on a task token, the inbox a person reads, and the shop's
health endpoints. Loopback only; talks to the emulator with boto3.

    demo_helper.py ENDPOINT wait-for-approval STATE_MACHINE_ARN   -> {"execution", "task_token", "run"}
    demo_helper.py ENDPOINT approval-link INBOX_URL LABEL          -> the link from the e-mail
    demo_helper.py ENDPOINT execution EXECUTION_ARN                -> {"status", "output", "error"}
    demo_helper.py ENDPOINT status EXECUTION_ARN                   -> RUNNING, SUCCEEDED, ... (now)
    demo_helper.py ENDPOINT secret PARAMETER                       -> a SecureString's value
    demo_helper.py ENDPOINT point-plan-at BASE_URL                 -> rewrites the plan's endpoints
    demo_helper.py serve-shop PORT_FILE                            -> health endpoints (us-east-1 dark)
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGION = "us-west-2"
PLAN = "/lifeboat/shop/plan"


def client(endpoint, service):
    import boto3

    return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def wait_for_approval(endpoint, failover_sm):
    sfn, sqs = client(endpoint, "stepfunctions"), client(endpoint, "sqs")
    run_input = None
    for e in sfn.list_executions(stateMachineArn=failover_sm)["executions"]:
        run_input = sfn.describe_execution(executionArn=e["executionArn"])["input"]
    queue = sqs.create_queue(QueueName="approval-tasks")["QueueUrl"]
    definition = {"StartAt": "Approval", "States": {"Approval": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue,
                       "MessageBody": {"task_token.$": "$$.Task.Token", "run.$": "$.run"}},
        "TimeoutSeconds": 300, "End": True}}}
    sm = sfn.create_state_machine(name="demo-approval", definition=json.dumps(definition),
                                  roleArn="arn:aws:iam::123456789012:role/lifeboat")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=sm, name="demo-approval-1",
                                    input=run_input)["executionArn"]
    for _ in range(100):
        msgs = sqs.receive_message(QueueUrl=queue).get("Messages", [])
        if msgs:
            task = json.loads(msgs[0]["Body"])
            return {"execution": execution, "task_token": task["task_token"], "run": task["run"]}
        time.sleep(0.05)
    raise SystemExit("the approval state never asked")


def approval_link(endpoint, inbox, label):
    sqs = client(endpoint, "sqs")
    for _ in range(100):
        for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10,
                                     VisibilityTimeout=0).get("Messages", []):
            text = json.loads(m["Body"]).get("Message", "")
            for line in text.splitlines():
                if line.startswith(label):
                    return line[len(label):].strip()
        time.sleep(0.05)
    raise SystemExit("no approval request in the inbox")


def secret(endpoint, name):
    return client(endpoint, "ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def status(endpoint, arn):
    return client(endpoint, "stepfunctions").describe_execution(executionArn=arn)["status"]


def execution(endpoint, arn):
    sfn = client(endpoint, "stepfunctions")
    for _ in range(100):
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            break
        time.sleep(0.05)
    return {"status": d["status"], "output": d.get("output"), "error": d.get("error")}


def point_plan_at(endpoint, base):
    ssm = client(endpoint, "ssm")
    import yaml  # PyYAML comes with moto

    plan = yaml.safe_load(ssm.get_parameter(Name=PLAN)["Parameter"]["Value"])
    for region, short in (("us-east-1", "use1"), ("us-west-2", "usw2")):
        plan["regions"][region]["health_endpoints"] = [
            {"url": f"{base}/{short}/healthz", "expect_status": 200,
             "expect_body_contains": "ok", "timeout_ms": 500}]
        plan["regions"][region]["public_checks"] = [
            {"url": f"{base}/www/healthz", "expect_status": 200,
             "expect_body_contains": f"region={region}", "timeout_ms": 500}]
    ssm.put_parameter(Name=PLAN, Value=json.dumps(plan), Type="String", Overwrite=True)
    return {"plan": "updated"}


class Shop(BaseHTTPRequestHandler):
    """us-east-1 is dark (503); us-west-2 and the public name answer from us-west-2."""

    def do_GET(self):  # noqa: N802
        answers = {"/usw2/healthz": (200, "ok region=us-west-2"),
                   "/www/healthz": (200, "ok region=us-west-2"),
                   "/use1/healthz": (503, "unavailable")}
        status, body = answers.get(self.path, (404, "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    if sys.argv[1] == "serve-shop":
        server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
        with open(sys.argv[2], "w") as f:
            f.write(str(server.server_port))
        server.serve_forever()
        return
    endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if not endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("the emulator runs on loopback only")
    result = {
        "wait-for-approval": wait_for_approval,
        "approval-link": approval_link,
        "execution": execution,
        "status": status,
        "secret": secret,
        "point-plan-at": point_plan_at,
    }[command](endpoint, *args)
    print(result if isinstance(result, str) else json.dumps(result))


if __name__ == "__main__":
    main()
