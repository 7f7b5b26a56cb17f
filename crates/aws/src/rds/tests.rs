use super::*;
use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
use aws_sdk_rds::operation::describe_global_clusters::DescribeGlobalClustersOutput;
use aws_sdk_rds::operation::failover_global_cluster::{
    FailoverGlobalClusterError, FailoverGlobalClusterOutput,
};
use aws_sdk_rds::operation::switchover_global_cluster::SwitchoverGlobalClusterOutput;
use aws_sdk_rds::types::error::InvalidGlobalClusterStateFault;
use aws_sdk_rds::types::{
    DbCluster, FailoverState, FailoverStatus, GlobalClusterMember,
    GlobalClusterMemberSynchronizationStatus,
};
use aws_smithy_mocks::{mock, mock_client};

use crate::error::test_meta as code;

const EAST: &str = "arn:aws:rds:us-east-1:123456789012:cluster:shop-use1";
const WEST: &str = "arn:aws:rds:us-west-2:123456789012:cluster:shop-usw2";

fn global(op: Option<FailoverState>) -> GlobalCluster {
    GlobalCluster::builder()
        .global_cluster_identifier("shop-global")
        .status("available")
        .global_cluster_members(
            GlobalClusterMember::builder()
                .db_cluster_arn(EAST)
                .is_writer(true)
                .build(),
        )
        .global_cluster_members(
            GlobalClusterMember::builder()
                .db_cluster_arn(WEST)
                .is_writer(false)
                .synchronization_status(GlobalClusterMemberSynchronizationStatus::Connected)
                .build(),
        )
        .set_failover_state(op)
        .build()
}

fn pending() -> FailoverState {
    FailoverState::builder()
        .status(FailoverStatus::Pending)
        .from_db_cluster_arn(EAST)
        .to_db_cluster_arn(WEST)
        .is_data_loss_allowed(true)
        .build()
}

#[tokio::test]
async fn describe_maps_members_and_operation() {
    let rule = mock!(Client::describe_global_clusters)
        .match_requests(|r| r.global_cluster_identifier() == Some("shop-global"))
        .then_output(|| {
            DescribeGlobalClustersOutput::builder()
                .global_clusters(global(Some(pending())))
                .build()
        });
    let db =
        RdsGlobalDatabase::from_client(mock_client!(aws_sdk_rds, [&rule]), Duration::from_secs(1));
    let v = db
        .describe_global("us-west-2", "shop-global")
        .await
        .expect("view");
    assert_eq!(v.writer_arn(), Some(EAST));
    assert_eq!(
        v.member(WEST)
            .and_then(|m| m.synchronization_status.clone())
            .as_deref(),
        Some("connected")
    );
    let op = v.operation.expect("operation");
    assert_eq!(op.status, "pending");
    assert_eq!(op.to_cluster_arn.as_deref(), Some(WEST));
    assert!(op.data_loss_allowed);
}

#[tokio::test]
async fn an_empty_describe_is_not_found() {
    let rule = mock!(Client::describe_global_clusters)
        .then_output(|| DescribeGlobalClustersOutput::builder().build());
    let db =
        RdsGlobalDatabase::from_client(mock_client!(aws_sdk_rds, [&rule]), Duration::from_secs(1));
    let err = db.describe_global("us-west-2", "x").await.expect_err("nf");
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn failover_sends_allow_data_loss_and_switchover_does_not() {
    let failover = mock!(Client::failover_global_cluster)
        .match_requests(|r| {
            r.allow_data_loss() == Some(true)
                && r.switchover().is_none()
                && r.target_db_cluster_identifier() == Some(WEST)
                && r.global_cluster_identifier() == Some("shop-global")
        })
        .then_output(|| {
            FailoverGlobalClusterOutput::builder()
                .global_cluster(global(Some(pending())))
                .build()
        });
    let switchover = mock!(Client::switchover_global_cluster)
        .match_requests(|r| r.target_db_cluster_identifier() == Some(WEST))
        .then_output(|| {
            SwitchoverGlobalClusterOutput::builder()
                .global_cluster(global(None))
                .build()
        });
    let db = RdsGlobalDatabase::from_client(
        mock_client!(aws_sdk_rds, [&failover, &switchover]),
        Duration::from_secs(1),
    );
    db.failover_allow_data_loss("us-west-2", "shop-global", WEST)
        .await
        .expect("failover");
    db.switchover("us-west-2", "shop-global", WEST)
        .await
        .expect("switchover");
    assert_eq!(failover.num_calls(), 1);
    assert_eq!(switchover.num_calls(), 1);
}

#[tokio::test]
async fn an_operation_in_progress_is_a_precondition_failure() {
    let rule = mock!(Client::failover_global_cluster).then_error(|| {
        FailoverGlobalClusterError::InvalidGlobalClusterStateFault(
            InvalidGlobalClusterStateFault::builder()
                .message("in progress")
                .meta(code("InvalidGlobalClusterStateFault"))
                .build(),
        )
    });
    let db =
        RdsGlobalDatabase::from_client(mock_client!(aws_sdk_rds, [&rule]), Duration::from_secs(1));
    let err = db
        .failover_allow_data_loss("us-west-2", "shop-global", WEST)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
    assert!(
        err.to_string().contains("InvalidGlobalClusterStateFault"),
        "{err}"
    );
}

#[tokio::test]
async fn describe_cluster_asks_by_identifier_and_a_5xx_is_transient() {
    let ok = mock!(Client::describe_db_clusters)
        .match_requests(|r| r.db_cluster_identifier() == Some("shop-use1"))
        .then_output(|| {
            DescribeDbClustersOutput::builder()
                .db_clusters(
                    DbCluster::builder()
                        .db_cluster_arn(EAST)
                        .status("available")
                        .build(),
                )
                .build()
        });
    let db =
        RdsGlobalDatabase::from_client(mock_client!(aws_sdk_rds, [&ok]), Duration::from_secs(1));
    assert_eq!(
        db.describe_cluster("us-east-1", EAST)
            .await
            .expect("ok")
            .status,
        "available"
    );

    let dark = mock!(Client::describe_db_clusters).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(503).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>down</Message></Error></ErrorResponse>",
            ),
        )
    });
    let db =
        RdsGlobalDatabase::from_client(mock_client!(aws_sdk_rds, [&dark]), Duration::from_secs(1));
    let err = db
        .describe_cluster("us-east-1", EAST)
        .await
        .expect_err("dark");
    assert_eq!(err.kind(), ErrorKind::Transient);

    let err = db
        .describe_cluster("us-east-1", "not-an-arn")
        .await
        .expect_err("bad");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
