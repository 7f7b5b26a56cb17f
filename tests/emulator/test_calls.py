"""GET/DELETE /_lifeboat/calls: the API calls served, by service and operation."""

import requests


def calls(endpoint, method="GET"):
    resp = requests.request(method, f"{endpoint}/_lifeboat/calls", timeout=5)
    resp.raise_for_status()
    return resp.json()


def test_calls_are_counted_by_service_and_operation(endpoint, client):
    r53 = client("route53", "us-east-1")
    zone = r53.create_hosted_zone(Name="shop.example.com", CallerReference="c1")["HostedZone"]["Id"]
    change = r53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "www.shop.example.com", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.1"}]}}]},
    )["ChangeInfo"]["Id"]
    r53.get_change(Id=change)
    r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="www.shop.example.com")
    r53.list_resource_record_sets(HostedZoneId=zone)
    ecs = client("ecs", "us-west-2")  # JSON protocol: X-Amz-Target
    ecs.create_cluster(clusterName="bench")
    rds = client("rds", "us-west-2")  # query protocol: Action in the form body
    rds.describe_global_clusters()
    # moto still served the form-encoded call (the body was read twice)
    assert rds.describe_db_clusters()["DBClusters"] == []

    got = calls(endpoint, "DELETE")
    assert got["route53:CreateHostedZone"] == 1
    assert got["route53:ChangeResourceRecordSets"] == 1
    assert got["route53:GetChange"] == 1
    assert got["route53:ListResourceRecordSets"] == 2
    assert got["ecs:CreateCluster"] == 1
    assert got["rds:DescribeGlobalClusters"] == 1
    assert got["rds:DescribeDBClusters"] == 1
    # DELETE started afresh
    assert calls(endpoint) == {}


def test_a_reset_clears_the_counts(endpoint, client):
    client("ecs", "us-west-2").list_clusters()
    assert calls(endpoint) == {"ecs:ListClusters": 1}
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    assert calls(endpoint) == {}
