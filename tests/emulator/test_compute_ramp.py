"""ECS services and Auto Scaling groups ramp up over time, as they do on AWS."""

import time

import pytest
import requests

WEST = "us-west-2"


@pytest.fixture
def ramp(endpoint):
    """ECS tasks take 0.8 s to start, instances 0.8 s to boot."""
    requests.post(
        f"{endpoint}/_lifeboat/config",
        json={"time_scale": 0.01, "ecs": {"task_start_seconds": 80, "task_stop_seconds": 40},
              "autoscaling": {"instance_start_seconds": 80}},
        timeout=5,
    ).raise_for_status()


def service(ecs, name="web"):
    return ecs.describe_services(cluster="shop", services=[name])["services"][0]


@pytest.fixture
def ecs(client):
    ecs = client("ecs", WEST)
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}]
    )
    ecs.create_service(cluster="shop", serviceName="web", taskDefinition="web", desiredCount=1)
    return ecs


def test_a_new_service_is_steady(ecs):
    s = service(ecs)
    assert (s["desiredCount"], s["runningCount"], s["pendingCount"]) == (1, 1, 0)
    primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"][0]
    assert primary["rolloutState"] == "COMPLETED"


def test_a_new_desired_count_ramps_up_then_settles(ecs, ramp):
    ecs.update_service(cluster="shop", service="web", desiredCount=6)
    s = service(ecs)
    assert s["desiredCount"] == 6
    assert s["runningCount"] < 6 and s["pendingCount"] == 6 - s["runningCount"]
    seen = {s["runningCount"]}
    deadline = time.monotonic() + 10
    while s["runningCount"] < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
        s = service(ecs)
        seen.add(s["runningCount"])
        primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"][0]
        assert primary["runningCount"] == s["runningCount"]
    assert (s["runningCount"], s["pendingCount"]) == (6, 0)
    assert len(seen) > 2, f"expected intermediate counts, saw {sorted(seen)}"


def test_a_lower_desired_count_drains(ecs, ramp):
    ecs.update_service(cluster="shop", service="web", desiredCount=4)
    time.sleep(1.0)
    ecs.update_service(cluster="shop", service="web", desiredCount=1)
    assert service(ecs)["runningCount"] > 1
    time.sleep(0.6)
    assert service(ecs)["runningCount"] == 1


@pytest.fixture
def asg(client):
    image = "ami-12c6146b"  # not validated by moto; no public images are loaded (server.py)
    a = client("autoscaling", WEST)
    a.create_launch_configuration(
        LaunchConfigurationName="workers", ImageId=image, InstanceType="t3.micro"
    )
    a.create_auto_scaling_group(
        AutoScalingGroupName="workers", LaunchConfigurationName="workers",
        MinSize=1, MaxSize=10, DesiredCapacity=1, AvailabilityZones=["us-west-2a"],
    )
    return a


def states(a):
    g = a.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])["AutoScalingGroups"][0]
    return sorted(i["LifecycleState"] for i in g["Instances"])


def test_a_new_group_is_in_service_and_new_instances_boot_first(asg, ramp):
    assert states(asg) == ["InService"]
    asg.update_auto_scaling_group(AutoScalingGroupName="workers", MinSize=4, DesiredCapacity=6)
    assert states(asg) == ["InService"] + ["Pending"] * 5
    time.sleep(1.0)
    assert states(asg) == ["InService"] * 6
