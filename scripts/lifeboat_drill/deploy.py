"""What `sam deploy` creates, as the emulator can hold it: the template's functions with the
template's environment, the state machines with their DefinitionSubstitutions filled in, the
EventBridge rules; and the home region's own copy. Everything is read from infra/template.yaml
(template.py); the drill adds only what points the functions at the emulator."""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from typing import Any

from . import template
from .harness import (CANARY_BUS, EAST, FAILBACK_STATE_MACHINE, FAILOVER_STATE_MACHINE, FUNCTIONS,
                      PLAN_PARAMETER, ROOT, SUBSTITUTIONS, WEST, DrillError, Harness)

# The functions of the home region's own copy the drill runs (as the template deploys them in
# us-east-1): the ones that act when the old region returns.
HOME_COPY = ["alarm-to-failover", "dr-scale-up", "dns-flip"]


def substitute(definition: str, values: dict[str, str]) -> str:
    """CloudFormation DefinitionSubstitutions: ${Key} -> value; every key must be filled."""
    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise DrillError(f"the state machine names ${{{key}}}, which the drill does not fill")
        return values[key]

    return re.sub(r"\$\{([A-Za-z0-9]+)\}", repl, definition)


def trigger_patterns(alarms: list[str]) -> dict[str, dict[str, Any]]:
    """The EventBridge rules of infra/template.yaml that start alarm-to-failover."""
    return {
        "lifeboat-canary-event": {"source": ["lifeboat.probe"], "detail-type": ["Primary Unhealthy"]},
        "lifeboat-alarm-event": {
            "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"alarmName": alarms, "state": {"value": ["ALARM"]}},
        },
    }



class Deploy(Harness):
    """The stack, deployed into the emulated regions."""

    def deploy(self, state_machine_arn: str) -> None:
        """What `sam deploy` creates in us-west-2, as the emulator can hold it."""
        iam = self.client("iam")
        role = iam.create_role(
            RoleName="lifeboat-drill-function",
            AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        lam = self.client("lambda")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "runs under cargo lambda watch")
        arns: dict[str, str] = {}
        for fn in FUNCTIONS:
            arns[fn] = lam.create_function(
                FunctionName=fn, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Architectures=["arm64"], Code={"ZipFile": code.getvalue()}, Timeout=60,
            )["FunctionArn"]
        definition = (ROOT / "infra/statemachine/failover.asl.json").read_text()
        values = {k: arns[fn] for k, fn in SUBSTITUTIONS.items()}
        values["ApprovalUrl"] = self.approval_url
        definition = substitute(definition, values)
        if self.execution_timeout_seconds is not None:
            doc = json.loads(definition)
            doc["TimeoutSeconds"] = self.execution_timeout_seconds
            definition = json.dumps(doc)
        sfn = self.client("stepfunctions")
        sfn.update_state_machine(stateMachineArn=state_machine_arn, definition=definition)
        failback = substitute((ROOT / "infra/statemachine/failback.asl.json").read_text(), values)
        self.failback_arn = sfn.create_state_machine(
            name=FAILBACK_STATE_MACHINE, definition=failback, roleArn=role
        )["stateMachineArn"]
        events = self.client("events")
        plan = self.plan()
        # infra/template.yaml's CanaryBus: the canary's reports have a bus of their own; the rule
        # for them listens there alone (a report on the default bus starts nothing).
        events.create_event_bus(Name=CANARY_BUS)
        for name, pattern in trigger_patterns(plan["triggers"]["alarms"]).items():
            bus = CANARY_BUS if name == "lifeboat-canary-event" else "default"
            events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)
            events.put_targets(
                Rule=name, EventBusName=bus,
                Targets=[{"Id": "alarm-to-failover", "Arn": arns["alarm-to-failover"]}]
            )
        # infra/template.yaml's RunLedger ExecutionClosed rule: the safety net for executions
        # that close without recording their run
        events.put_rule(Name="lifeboat-execution-closed", EventPattern=json.dumps({
            "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"stateMachineArn": [state_machine_arn, self.failback_arn],
                       "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
        }))
        events.put_targets(Rule="lifeboat-execution-closed",
                           Targets=[{"Id": "run-ledger", "Arn": arns["run-ledger"]}])

    def function_env(self, fn: str, region: str = WEST) -> dict[str, str]:
        """What infra/template.yaml configures for the function in `region`'s copy (its
        parameters at their defaults, the seeded hosted zone, polls and step deadlines
        time-scaled), pointed at the emulator with the function's own access key; the Runtime
        API's variables left out."""
        stack = template.Context(
            template.load_template(), region=region, other_region=EAST if region == WEST else WEST,
            overrides={
                **self.stack_parameters(),
                "PollSeconds": "1",
                # Each step's deadline: 10 simulated minutes (at least 2 real ones).
                "StepDeadlineSeconds": str(max(120, math.ceil(600 * self.time_scale))),
            })
        try:
            configured = template.function_environment(fn, stack)
        except template.TemplateError as e:
            raise DrillError(str(e)) from e
        if self.dns:
            # dns-flip's DigitalOcean or Linode API (the adapters take http:// only to loopback)
            configured[self.dns.api_url_env] = self.dns.base_url
        return {
            **configured,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # the drill's pace: fewer SDK attempts, the canary's probes close together
            "LIFEBOAT_AWS_MAX_ATTEMPTS": "2",
            "LIFEBOAT_PROBE_INTERVAL_MS": "50",
            # the drill invokes the canary itself, as its schedule would: n rounds, no watch
            "LIFEBOAT_CANARY_WATCH_MS": "1",
            "LIFEBOAT_PROBE_TIMEOUT_MS": "2000",
        }

    def runtime_env(self, fn: str, port: int, region: str) -> dict[str, str]:
        """The Lambda runtime's variables for a function attached to the Lambda API on `port`,
        with its configured environment."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt/{fn}",
            "AWS_LAMBDA_FUNCTION_NAME": fn,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_STREAM_NAME": "drill" if region == WEST else "drill-home",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn}",
            **self.function_env(fn, region),
        }

    def start_functions(self, state_machine_arn: str) -> None:
        for fn in FUNCTIONS:
            env = self.runtime_env(fn, self.invoke_port, WEST)
            for var, deployed in (("LIFEBOAT_STATE_MACHINE_ARN", state_machine_arn),
                                  ("LIFEBOAT_FAILBACK_STATE_MACHINE_ARN", self.failback_arn)):
                if env.get(var, deployed) != deployed:
                    raise DrillError(f"{fn}: the template's {var} {env[var]} is not the deployed "
                                     f"machine {deployed}")
            self.spawn([str(self.bin_dir / fn)], "functions.log", env)

    def deploy_home_copy(self, plan: dict[str, Any], state_machine_arn: str) -> None:
        """The copy of lifeboat in us-east-1 (the template deployed there): its plan, its failover
        machine (any execution there is a run this copy started), its functions, behind their own
        Lambda APIs (a second cargo lambda watch; the emulator's lambda.region_forward_urls)."""
        home_port = self.start_watch(log="watch-home.log")
        self.control("/_lifeboat/config", {
            "lambda": {"region_forward_urls": {EAST: f"http://127.0.0.1:{home_port}"}}})
        self.deploy_home_machines(plan)
        role = self.client("iam").get_role(RoleName="lifeboat-drill-function")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("bootstrap", "runs under cargo lambda watch")
        lam = self.client("lambda", EAST)
        for fn in HOME_COPY:
            lam.create_function(
                FunctionName=fn, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                Architectures=["arm64"], Code={"ZipFile": code.getvalue()}, Timeout=60)
            env = self.runtime_env(fn, home_port, EAST)
            if env.get("LIFEBOAT_STATE_MACHINE_ARN", self.home_sm) != self.home_sm:
                raise DrillError(f"home copy {fn}: the template's state machine is not {self.home_sm}")
            self.spawn([str(self.bin_dir / fn)], "functions.log", env)

    def deploy_home_machines(self, plan: dict[str, Any]) -> None:
        """The home copy's plan and state machines in us-east-1, as the template deploys them
        there. Any execution of these machines is a run the home copy started (each a Pass)."""
        if self.home_sm:
            return
        self.client("ssm", EAST).put_parameter(
            Name=PLAN_PARAMETER, Value=json.dumps(plan), Type="String", Overwrite=True)
        role = self.client("iam").get_role(RoleName="lifeboat-drill-function")["Role"]["Arn"]
        sfn = self.client("stepfunctions", EAST)
        ran = {"StartAt": "Ran", "States": {"Ran": {"Type": "Pass", "End": True}}}
        self.home_sm = sfn.create_state_machine(
            name=FAILOVER_STATE_MACHINE, roleArn=role,
            definition=json.dumps({"Comment": "the home copy's failover machine", **ran}))["stateMachineArn"]
        self.home_failback_sm = sfn.create_state_machine(
            name=FAILBACK_STATE_MACHINE, roleArn=role,
            definition=json.dumps({"Comment": "the home copy's failback machine", **ran}))["stateMachineArn"]

    def home_copy(self, fn: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Invoke the home copy's function (through us-east-1's Lambda)."""
        resp = self.client("lambda", EAST).invoke(FunctionName=fn, Payload=json.dumps(payload))
        body = json.loads(resp["Payload"].read() or b"{}")
        if resp.get("FunctionError"):
            raise DrillError(f"home copy {fn} failed: {body}")
        return body
