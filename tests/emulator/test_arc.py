"""Route 53 ARC routing controls (arc.py) through boto3's route53-recovery-cluster client: boto3
validates each request against the service model and parses each answer by it, so what passes
here is the API as AWS publishes it."""

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]


def seed(endpoint: str) -> dict:
    r = requests.post(f"{endpoint}/_lifeboat/arc", json={
        "endpoint_regions": REGIONS,
        "control_panel": "shop",
        "routing_controls": [{"name": "shop-use1", "state": "On"},
                             {"name": "shop-usw2", "state": "Off"}],
        "assertion_rules": [{"name": "one-region-on", "at_least": 1,
                             "controls": ["shop-use1", "shop-usw2"]}],
    }, timeout=5)
    r.raise_for_status()
    return r.json()


def cluster(ep: dict):
    return boto3.client(
        "route53-recovery-cluster", region_name=ep["region"], endpoint_url=ep["endpoint"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


def test_states_are_read_listed_and_flipped_atomically(endpoint):
    arc = seed(endpoint)
    east, west = (arc["routing_controls"][n]["arn"] for n in ("shop-use1", "shop-usw2"))
    assert east.startswith("arn:aws:route53-recovery-control::123456789012:controlpanel/")
    assert "/routingcontrol/" in east
    c = cluster(arc["cluster_endpoints"][0])
    got = c.get_routing_control_state(RoutingControlArn=east)
    assert (got["RoutingControlState"], got["RoutingControlName"]) == ("On", "shop-use1")
    listed = c.list_routing_controls(ControlPanelArn=arc["control_panel_arn"], MaxResults=1)
    assert len(listed["RoutingControls"]) == 1 and "NextToken" in listed
    rest = c.list_routing_controls(NextToken=listed["NextToken"])
    names = {x["RoutingControlName"] for x in listed["RoutingControls"] + rest["RoutingControls"]}
    assert names == {"shop-use1", "shop-usw2"} and "NextToken" not in rest

    c.update_routing_control_states(UpdateRoutingControlStateEntries=[
        {"RoutingControlArn": west, "RoutingControlState": "On"},
        {"RoutingControlArn": east, "RoutingControlState": "Off"},
    ])
    # every endpoint sees the cluster's one state; so does Route 53 (GET /_lifeboat/arc)
    for ep in arc["cluster_endpoints"]:
        assert cluster(ep).get_routing_control_state(RoutingControlArn=west)["RoutingControlState"] == "On"
    seen = requests.get(f"{endpoint}/_lifeboat/arc", timeout=5).json()["routing_controls"]
    assert (seen["shop-use1"]["state"], seen["shop-usw2"]["state"]) == ("Off", "On")


def test_a_safety_rule_refuses_an_update_that_leaves_no_region_on_and_changes_nothing(endpoint):
    arc = seed(endpoint)
    east, west = (arc["routing_controls"][n]["arn"] for n in ("shop-use1", "shop-usw2"))
    rule = arc["safety_rules"]["one-region-on"]
    c = cluster(arc["cluster_endpoints"][1])
    with pytest.raises(ClientError) as err:
        c.update_routing_control_state(RoutingControlArn=east, RoutingControlState="Off")
    assert code(err) == "ConflictException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert c.get_routing_control_state(RoutingControlArn=east)["RoutingControlState"] == "On"
    # a person may override the rule by naming it
    c.update_routing_control_state(RoutingControlArn=east, RoutingControlState="Off",
                                   SafetyRulesToOverride=[rule])
    assert c.get_routing_control_state(RoutingControlArn=east)["RoutingControlState"] == "Off"
    assert c.get_routing_control_state(RoutingControlArn=west)["RoutingControlState"] == "Off"


def test_an_unknown_control_is_not_found_and_an_update_naming_one_changes_nothing(endpoint):
    arc = seed(endpoint)
    east, west = (arc["routing_controls"][n]["arn"] for n in ("shop-use1", "shop-usw2"))
    c = cluster(arc["cluster_endpoints"][0])
    ghost = east.rsplit("/", 1)[0] + "/nosuchcontrol"
    with pytest.raises(ClientError) as err:
        c.get_routing_control_state(RoutingControlArn=ghost)
    assert code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        c.update_routing_control_states(UpdateRoutingControlStateEntries=[
            {"RoutingControlArn": west, "RoutingControlState": "On"},
            {"RoutingControlArn": ghost, "RoutingControlState": "Off"},
        ])
    assert code(err) == "ResourceNotFoundException"
    assert c.get_routing_control_state(RoutingControlArn=west)["RoutingControlState"] == "Off"


def test_a_dark_regions_endpoint_says_try_another_and_the_others_answer(endpoint):
    arc = seed(endpoint)
    east = arc["routing_controls"]["shop-use1"]["arn"]
    first, second = arc["cluster_endpoints"][0], arc["cluster_endpoints"][1]
    assert first["region"] == "us-east-1"
    try:
        requests.post(f"{endpoint}/_lifeboat/outage", json={"region": "us-east-1"}, timeout=5)
        with pytest.raises(ClientError) as err:
            cluster(first).get_routing_control_state(RoutingControlArn=east)
        assert code(err) == "EndpointTemporarilyUnavailableException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert cluster(second).get_routing_control_state(
            RoutingControlArn=east)["RoutingControlState"] == "On"
        # an outage of the ARC endpoint alone
        requests.delete(f"{endpoint}/_lifeboat/outage", timeout=5)
        requests.post(f"{endpoint}/_lifeboat/outage",
                      json={"region": "us-west-2", "services": ["arc"]}, timeout=5)
        with pytest.raises(ClientError) as err:
            cluster(second).get_routing_control_state(RoutingControlArn=east)
        assert code(err) == "EndpointTemporarilyUnavailableException"
        assert cluster(first).get_routing_control_state(
            RoutingControlArn=east)["RoutingControlState"] == "On"
    finally:
        requests.delete(f"{endpoint}/_lifeboat/outage", timeout=5)


def test_bad_seeds_and_bad_states_are_refused(endpoint):
    bad = requests.post(f"{endpoint}/_lifeboat/arc", json={"endpoint_regions": ["nowhere"],
                                                          "control_panel": "p"}, timeout=5)
    assert bad.status_code == 400
    arc = seed(endpoint)
    c = cluster(arc["cluster_endpoints"][0])
    east = arc["routing_controls"]["shop-use1"]["arn"]
    with pytest.raises(ClientError) as err:
        # boto3 lets an enum value it does not know through; the service refuses it
        c.update_routing_control_state(RoutingControlArn=east, RoutingControlState="Maybe")
    assert code(err) == "ValidationException"
    # a reset forgets the cluster
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)
    assert requests.get(f"{endpoint}/_lifeboat/arc", timeout=5).json()["cluster_endpoints"] == []
