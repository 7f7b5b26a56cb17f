"""Create the approval-link signing key before `sam deploy` (CloudFormation cannot create
SecureString parameters). Idempotent: an existing key is left alone; the key is never printed.

    python scripts/deploy_secret.py --config infra/samconfig.toml --env usw2

Uses the standard AWS credential chain (profiles, environment); AWS_ENDPOINT_URL is honoured,
so it also runs against the emulator.
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
import tomllib

DEFAULT_PARAMETER = "/lifeboat/shop/approval-link-secret"


def target(config_path: str, env: str) -> tuple[str, str]:
    with open(config_path, "rb") as f:
        config = tomllib.load(f)
    try:
        deploy = config[env]["deploy"]["parameters"]
    except KeyError:
        sys.exit(f"{config_path} has no [{env}.deploy.parameters]")
    overrides = dict(
        item.split("=", 1) for item in shlex.split(deploy.get("parameter_overrides", "")) if "=" in item
    )
    return deploy["region"], overrides.get("LinkSecretParameterName", DEFAULT_PARAMETER)


def ensure_secret(ssm: object, name: str) -> bool:
    """True when created, False when it existed."""
    try:
        ssm.put_parameter(  # type: ignore[attr-defined]
            Name=name,
            Value=secrets.token_urlsafe(48),
            Type="SecureString",
            Overwrite=False,
            Description="lifeboat: key that signs approval links (rotate: overwrite, then cold-start failover-approval)",
        )
        return True
    except ssm.exceptions.ParameterAlreadyExists:  # type: ignore[attr-defined]
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--env", required=True)
    args = parser.parse_args()
    region, name = target(args.config, args.env)
    import boto3

    created = ensure_secret(boto3.client("ssm", region_name=region), name)
    print(f"{name} in {region}: {'created' if created else 'exists, left alone'}")


if __name__ == "__main__":
    main()
