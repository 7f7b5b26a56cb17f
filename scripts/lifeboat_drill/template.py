"""infra/template.yaml, read as CloudFormation reads it, for the harness: the functions it
deploys (each one binary) and their environment, the state machines' DefinitionSubstitutions, and a resolver of its
intrinsics (``!Sub``, ``!Ref``, ``!GetAtt``, ``!If`` ...) for the emulated stack. The drill deploys
what it finds here, and the IAM check resolves each function's role with it: nothing re-types
the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra/template.yaml"
ACCOUNT = "123456789012"


class TemplateError(Exception):
    """The template says something this reader does not model (named, never guessed)."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (!Sub, !Ref, !GetAtt, ...)."""


def _intrinsic(loader: _Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else ("Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}")
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Context:
    """What CloudFormation would fill in for the emulated stack in us-west-2."""

    template: dict[str, Any]
    region: str = "us-west-2"
    other_region: str = "us-east-1"
    overrides: dict[str, str] = field(default_factory=dict)

    def parameter(self, name: str) -> str:
        if name in self.overrides:
            return self.overrides[name]
        if name == "OtherRegion":
            return self.other_region
        spec = self.template.get("Parameters", {}).get(name)
        if spec is None or "Default" not in spec:
            raise TemplateError(f"parameter {name} has no value for the emulated stack")
        return str(spec["Default"])

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "lifeboat-shop"}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        res = self.template.get("Resources", {}).get(name)
        if res is None:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        props = self.resolve(res.get("Properties", {}))
        kind = res["Type"]
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{props['TopicName']}"
        if kind == "AWS::Logs::LogGroup":
            return props["LogGroupName"]
        if kind == "AWS::Events::EventBus":
            return props["Name"]
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return f"arn:aws:states:{self.region}:{ACCOUNT}:stateMachine:{props['Name']}"
        raise TemplateError(f"!Ref {name} ({kind}) is not modelled")

    def get_att(self, name: str, attr: str) -> Any:
        res = self.template.get("Resources", {}).get(name)
        if res is None:
            raise TemplateError(f"!GetAtt {name}.{attr}: no such resource")
        kind = res["Type"]
        props = self.resolve(res.get("Properties", {}))
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{props['LogGroupName']}:*"
        if kind == "AWS::Events::EventBus" and attr == "Arn":
            return f"arn:aws:events:{self.region}:{ACCOUNT}:event-bus/{props['Name']}"
        if kind == "AWS::SNS::Topic" and attr == "TopicArn":
            return self.ref(name)
        raise TemplateError(f"!GetAtt {name}.{attr} ({kind}) is not modelled")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return _sub(text, lambda n: extra[n] if n in extra else (
                    self.get_att(*n.split(".", 1)) if "." in n else self.ref(n)))
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Condition":
                return self.condition(arg)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not _NO_VALUE}


_NO_VALUE = object()


def _sub(text: str, lookup: Any) -> str:
    out, i = [], 0
    while True:
        j = text.find("${", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        k = text.index("}", j)
        out.append(text[i:j])
        name = text[j + 2:k]
        out.append(name[1:] if name.startswith("!") else str(lookup(name)))
        i = k + 1


def functions(template: dict[str, Any] | None = None) -> list[str]:
    """The binaries of the template's functions (``Metadata.BuildProperties.Binary``), in its order."""
    template = template or load_template()
    out = [res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
           for res in template["Resources"].values() if res.get("Type") == "AWS::Serverless::Function"]
    if not all(out):
        raise TemplateError("a function of infra/template.yaml names no BuildProperties.Binary")
    return out


def function_substitutions(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Every state machine's DefinitionSubstitutions that is a function's ARN: key -> binary."""
    template = template or load_template()
    resources = template["Resources"]
    out: dict[str, str] = {}
    for res in resources.values():
        if res.get("Type") not in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            continue
        for key, value in res.get("Properties", {}).get("DefinitionSubstitutions", {}).items():
            att = value.get("Fn::GetAtt") if isinstance(value, dict) else None
            if not att or att[1] != "Arn":
                continue
            target = resources.get(att[0], {})
            if target.get("Type") != "AWS::Serverless::Function":
                raise TemplateError(f"substitution {key}: {att[0]} is not a function")
            out[key] = target["Metadata"]["BuildProperties"]["Binary"]
    return out


def function_environment(binary: str, context: Context) -> dict[str, str]:
    """The environment infra/template.yaml gives the function whose binary this is: the Globals'
    variables and its own, resolved for `context`'s stack."""
    template = context.template
    resources = [res for res in template["Resources"].values()
                 if res.get("Type") == "AWS::Serverless::Function"
                 and res.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == binary]
    if len(resources) != 1:
        raise TemplateError(f"infra/template.yaml has {len(resources)} functions built as {binary}")
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **resources[0].get("Properties", {}).get("Environment", {}).get("Variables", {}),
    }
    return {k: str(v) for k, v in context.resolve(variables).items()}
