"""S3 answers as the S3 API reference documents (what the Rust SDK parses strictly)."""

import xml.etree.ElementTree as ET

import requests

AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261122/us-west-2/s3/aws4_request, "
                         "SignedHeaders=host, Signature=x"}
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def versioning(endpoint, bucket):
    resp = requests.get(f"{endpoint}/{bucket}?versioning", headers=AUTH, timeout=5)
    resp.raise_for_status()
    assert resp.headers.get("Content-Length") in (None, str(len(resp.content)))
    return ET.fromstring(resp.content)


def test_get_bucket_versioning_has_the_documented_root(endpoint, client):
    s3 = client("s3", "us-west-2")
    s3.create_bucket(Bucket="shop-media-usw2",
                     CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    # never versioned: an empty VersioningConfiguration
    root = versioning(endpoint, "shop-media-usw2")
    assert root.tag == f"{NS}VersioningConfiguration"
    s3.put_bucket_versioning(Bucket="shop-media-usw2",
                             VersioningConfiguration={"Status": "Enabled"})
    root = versioning(endpoint, "shop-media-usw2")
    assert root.tag == f"{NS}VersioningConfiguration"
    assert root.find(f"{NS}Status").text == "Enabled"
    # boto3 still reads it
    assert s3.get_bucket_versioning(Bucket="shop-media-usw2")["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket="shop-media-usw2",
                             VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="shop-media-usw2")["Status"] == "Suspended"
