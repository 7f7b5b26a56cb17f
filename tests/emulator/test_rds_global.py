"""The Aurora global database extension behaves as the RDS API reference documents."""

import time

import pytest
import requests
from botocore.exceptions import ClientError

GLOBAL = "shop-global"
EAST, WEST = "us-east-1", "us-west-2"


@pytest.fixture
def fast(endpoint):
    """Durations of a few tens of milliseconds."""
    requests.post(
        f"{endpoint}/_lifeboat/config",
        # phases of 0.6-1 s, polled every 5 ms: a loaded machine cannot skip one
        json={"time_scale": 0.01, "rds": {"pending_seconds": 60, "switchover_seconds": 100,
                                           "failover_seconds": 100, "cancel_seconds": 100,
                                           "resync_seconds": 80}},
        timeout=5,
    ).raise_for_status()


@pytest.fixture
def gdb(client):
    east, west = client("rds", EAST), client("rds", WEST)
    primary = east.create_db_cluster(
        DBClusterIdentifier="shop-use1", Engine="aurora-postgresql",
        MasterUsername="admin", MasterUserPassword="not-a-secret-123",
    )["DBCluster"]
    east.create_global_cluster(GlobalClusterIdentifier=GLOBAL,
                               SourceDBClusterIdentifier=primary["DBClusterArn"])
    secondary = west.create_db_cluster(
        DBClusterIdentifier="shop-usw2", Engine="aurora-postgresql",
        GlobalClusterIdentifier=GLOBAL,
    )["DBCluster"]
    return {"east": east, "west": west, "primary": primary["DBClusterArn"],
            "secondary": secondary["DBClusterArn"]}


def describe(rds):
    return rds.describe_global_clusters(GlobalClusterIdentifier=GLOBAL)["GlobalClusters"][0]


def writer(gc):
    return [m["DBClusterArn"] for m in gc["GlobalClusterMembers"] if m["IsWriter"]]


def wait_until(rds, predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        gc = describe(rds)
        status = (gc.get("FailoverState") or {}).get("Status")
        if not seen or seen[-1] != status:
            seen.append(status)
        if predicate(gc):
            return gc, seen
        time.sleep(0.005)
    raise AssertionError(f"condition not reached; statuses seen {seen}")


def test_no_failover_state_when_idle(gdb):
    gc = describe(gdb["west"])
    assert "FailoverState" not in gc
    assert gc["Status"] == "available"
    assert writer(gc) == [gdb["primary"]]


def test_switchover_moves_the_writer_through_documented_states(gdb, fast):
    out = gdb["west"].switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"]
    )["GlobalCluster"]
    fs = out["FailoverState"]
    assert fs["Status"] == "pending"
    assert fs["FromDbClusterArn"] == gdb["primary"]
    assert fs["ToDbClusterArn"] == gdb["secondary"]
    assert fs["IsDataLossAllowed"] is False
    gc, seen = wait_until(gdb["west"], lambda g: "FailoverState" not in g)
    assert "switching-over" in seen
    assert set(seen) <= {"pending", "switching-over", None}, seen
    assert writer(gc) == [gdb["secondary"]]
    old = [m for m in gc["GlobalClusterMembers"] if m["DBClusterArn"] == gdb["primary"]][0]
    assert old["IsWriter"] is False
    assert old["SynchronizationStatus"] == "connected"
    assert gc["Status"] == "available"


def test_failover_with_data_loss_leaves_old_primary_pending_resync(gdb, fast):
    out = gdb["west"].failover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"],
        AllowDataLoss=True,
    )["GlobalCluster"]
    assert out["FailoverState"]["IsDataLossAllowed"] is True
    gc, seen = wait_until(gdb["west"], lambda g: "FailoverState" not in g)
    assert "failing-over" in seen
    assert writer(gc) == [gdb["secondary"]]
    old = [m for m in gc["GlobalClusterMembers"] if m["DBClusterArn"] == gdb["primary"]][0]
    assert old["SynchronizationStatus"] == "pending-resync"
    gc, _ = wait_until(gdb["west"], lambda g: all(
        m.get("SynchronizationStatus", "connected") == "connected"
        for m in g["GlobalClusterMembers"]))


def test_failover_without_allow_data_loss_is_a_switchover(gdb, fast):
    out = gdb["west"].failover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"],
        Switchover=True,
    )["GlobalCluster"]
    assert out["FailoverState"]["IsDataLossAllowed"] is False
    _, seen = wait_until(gdb["west"], lambda g: "FailoverState" not in g)
    assert "switching-over" in seen


def test_switchover_is_cancelled_when_the_primary_region_is_dark(gdb, fast, endpoint, client):
    # a long pending phase (2 s), so the outage surely begins before RDS verifies the clusters
    requests.post(f"{endpoint}/_lifeboat/config", json={"rds": {"pending_seconds": 200}},
                  timeout=5).raise_for_status()
    gdb["west"].switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"])
    requests.post(f"{endpoint}/_lifeboat/outage", json={"region": EAST}, timeout=5)
    gc, seen = wait_until(gdb["west"], lambda g: "FailoverState" not in g)
    assert "cancelling" in seen
    assert writer(gc) == [gdb["primary"]], "nothing moves when a switchover is cancelled"


def test_old_primary_resyncs_only_after_its_region_returns(gdb, fast, endpoint):
    requests.post(f"{endpoint}/_lifeboat/outage", json={"region": EAST}, timeout=5)
    gdb["west"].failover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"],
        AllowDataLoss=True)
    wait_until(gdb["west"], lambda g: "FailoverState" not in g)
    time.sleep(1.6)  # twice resync_seconds at this scale
    old = [m for m in describe(gdb["west"])["GlobalClusterMembers"]
           if m["DBClusterArn"] == gdb["primary"]][0]
    assert old["SynchronizationStatus"] == "pending-resync"
    requests.delete(f"{endpoint}/_lifeboat/outage", timeout=5)
    wait_until(gdb["west"], lambda g: all(
        m.get("SynchronizationStatus", "connected") == "connected"
        for m in g["GlobalClusterMembers"]))


def error_code(call):
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_documented_errors(gdb, fast):
    west = gdb["west"]
    assert error_code(lambda: west.switchover_global_cluster(
        GlobalClusterIdentifier="nope", TargetDbClusterIdentifier=gdb["secondary"])
    ) == ("GlobalClusterNotFoundFault", 404)
    assert error_code(lambda: west.switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL,
        TargetDbClusterIdentifier="arn:aws:rds:eu-west-1:123456789012:cluster:other")
    ) == ("DBClusterNotFoundFault", 404)
    assert error_code(lambda: west.switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["primary"])
    ) == ("InvalidDBClusterStateFault", 400)
    assert error_code(lambda: west.failover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"],
        AllowDataLoss=True, Switchover=True)
    ) == ("InvalidParameterCombination", 400)
    west.switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"])
    assert error_code(lambda: west.failover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"],
        AllowDataLoss=True)
    ) == ("InvalidGlobalClusterStateFault", 400)


def test_target_by_identifier_is_accepted(gdb, fast):
    out = gdb["west"].switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier="shop-usw2")["GlobalCluster"]
    assert out["FailoverState"]["ToDbClusterArn"] == gdb["secondary"]


def test_dark_region_answers_503_for_its_services_only(gdb, endpoint, client):
    requests.post(f"{endpoint}/_lifeboat/outage",
                  json={"region": EAST, "services": ["rds"]}, timeout=5)
    east = client("rds", EAST)
    east.meta.events  # noqa: B018
    with pytest.raises(ClientError) as info:
        client("rds", EAST).describe_db_clusters()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert gdb["west"].describe_db_clusters()["DBClusters"]
    client("sns", EAST).list_topics()  # other services in the region still answer
    requests.delete(f"{endpoint}/_lifeboat/outage", timeout=5)
    client("rds", EAST).describe_db_clusters()


def test_reset_clears_outages_and_config(endpoint):
    requests.post(f"{endpoint}/_lifeboat/outage", json={"region": EAST}, timeout=5)
    requests.post(f"{endpoint}/_lifeboat/config", json={"time_scale": 1}, timeout=5)
    requests.post(f"{endpoint}/moto-api/reset", timeout=5)
    assert requests.get(f"{endpoint}/_lifeboat/config", timeout=5).json()["time_scale"] == 0.01
    assert requests.delete(f"{endpoint}/_lifeboat/outage", timeout=5).json() == {}


def test_bad_control_requests_are_400(endpoint):
    r = requests.post(f"{endpoint}/_lifeboat/config", json={"time_scale": -1}, timeout=5)
    assert r.status_code == 400
    r = requests.post(f"{endpoint}/_lifeboat/outage", json={}, timeout=5)
    assert r.status_code == 400
    r = requests.post(f"{endpoint}/_lifeboat/config", data="[", timeout=5)
    assert r.status_code == 400


def test_every_response_is_a_consistent_snapshot(gdb, fast):
    """Once a switchover has started, no answer may show the old writer with no operation (a torn
    read of a state that advanced in the middle of serialising one response)."""
    gdb["west"].switchover_global_cluster(
        GlobalClusterIdentifier=GLOBAL, TargetDbClusterIdentifier=gdb["secondary"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        gc = describe(gdb["west"])
        if "FailoverState" in gc:
            assert writer(gc) == [gdb["primary"]], gc
            continue
        assert writer(gc) == [gdb["secondary"]], f"torn snapshot: {gc}"
        return
    raise AssertionError("the switchover did not finish")


def test_an_instance_class_change_takes_its_time_and_a_busy_instance_refuses_another(
        endpoint, client, gdb):
    requests.post(f"{endpoint}/_lifeboat/config",
                  json={"time_scale": 0.01, "rds": {"instance_modify_seconds": 100}},
                  timeout=5).raise_for_status()
    west = gdb["west"]
    west.create_db_instance(DBInstanceIdentifier="usw2-1", DBInstanceClass="db.r6g.large",
                            Engine="aurora-postgresql", DBClusterIdentifier="shop-usw2")

    def instance():
        found = west.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": ["shop-usw2"]}])["DBInstances"]
        assert [i["DBInstanceIdentifier"] for i in found] == ["usw2-1"]
        return found[0]

    assert instance()["DBInstanceStatus"] == "available"
    west.modify_db_instance(DBInstanceIdentifier="usw2-1", DBInstanceClass="db.r6g.2xlarge",
                            ApplyImmediately=True)
    during = instance()
    assert during["DBInstanceStatus"] == "modifying"
    assert during["DBInstanceClass"] == "db.r6g.large"
    assert during["PendingModifiedValues"]["DBInstanceClass"] == "db.r6g.2xlarge"
    with pytest.raises(ClientError) as busy:
        west.modify_db_instance(DBInstanceIdentifier="usw2-1", DBInstanceClass="db.r6g.4xlarge",
                                ApplyImmediately=True)
    assert busy.value.response["Error"]["Code"] == "InvalidDBInstanceState"
    deadline = time.monotonic() + 10
    while instance()["DBInstanceStatus"] != "available":
        assert time.monotonic() < deadline, "the change never completed"
        time.sleep(0.05)
    after = instance()
    assert after["DBInstanceClass"] == "db.r6g.2xlarge"
    assert not after.get("PendingModifiedValues", {}).get("DBInstanceClass")
    # The Serverless v2 range applies at once.
    west.modify_db_cluster(DBClusterIdentifier="shop-usw2", ApplyImmediately=True,
                           ServerlessV2ScalingConfiguration={"MinCapacity": 8, "MaxCapacity": 64})
    cluster = west.describe_db_clusters(DBClusterIdentifier="shop-usw2")["DBClusters"][0]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 8.0, "MaxCapacity": 64.0}
    assert cluster["Status"] == "available"
