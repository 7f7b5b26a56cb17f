"""The usual boto3 failover Lambda, as `make bench` compares lifeboat's functions with it.

Init: import boto3, create the RDS and Route 53 clients (as such functions do, outside the
handler). One event: read the Aurora global database's members, as a promotion step does first.
"""

import os

import boto3

rds = boto3.client("rds")
route53 = boto3.client("route53")
GLOBAL_CLUSTER = os.environ.get("GLOBAL_CLUSTER_ID", "shop-global")


def handler(event, context):
    found = rds.describe_global_clusters(GlobalClusterIdentifier=GLOBAL_CLUSTER)["GlobalClusters"]
    members = found[0]["GlobalClusterMembers"] if found else []
    writer = next((m["DBClusterArn"] for m in members if m.get("IsWriter")), None)
    return {"action": event.get("action", "status"), "writer": writer, "members": len(members)}
