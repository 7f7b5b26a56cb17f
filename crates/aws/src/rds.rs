//! Aurora global database over RDS.

use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::GlobalCluster;
use lifeboat_core::plan::AcuRange;
use lifeboat_core::plan::cluster_id_from_arn;
use lifeboat_core::ports::{
    ClusterCapacityView, ClusterView, DatabaseCapacity, DbInstanceView, GlobalClusterView,
    GlobalDatabase, GlobalMember, GlobalOperation,
};
use lifeboat_core::{Error, ErrorKind, Result};

use crate::config::Regional;
use crate::error::classify;

/// [`GlobalDatabase`] over the RDS API.
#[derive(Debug, Clone)]
pub struct RdsGlobalDatabase {
    clients: Regional<Client>,
    probe_timeout: Duration,
}

/// Every database provider's adapter as one port value: Aurora Global Database through RDS,
/// PostgreSQL under Patroni through its REST API, MySQL / MariaDB through its own protocol. The
/// plan's provider chooses which one a step asks ([`lifeboat_core::database`]).
pub type Databases = lifeboat_core::ports::Databases<
    RdsGlobalDatabase,
    lifeboat_http::patroni::PatroniRest,
    lifeboat_mysql::MysqlAdapter,
>;

/// The one place that builds [`Databases`]: `probe_timeout` bounds an RDS probe, a request to a
/// Patroni member and a MySQL connection (a dark region's server must not hold a step longer).
pub fn databases(base: &aws_config::SdkConfig, probe_timeout: Duration) -> Result<Databases> {
    Ok(lifeboat_core::ports::Databases {
        aurora: RdsGlobalDatabase::new(base, probe_timeout),
        patroni: lifeboat_http::patroni::PatroniRest::new(probe_timeout)?,
        mysql: lifeboat_mysql::MysqlAdapter::new(probe_timeout),
    })
}

impl RdsGlobalDatabase {
    /// `probe_timeout` bounds [`GlobalDatabase::describe_cluster`], which lifeboat uses to ask
    /// whether a (possibly dark) region's cluster answers.
    pub fn new(base: &aws_config::SdkConfig, probe_timeout: Duration) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                Client::from_conf(aws_sdk_rds::config::Builder::from(c).region(r).build())
            }),
            probe_timeout,
        }
    }

    /// Build from a ready client (tests with `aws-smithy-mocks`): every region uses it.
    pub fn from_client(client: Client, probe_timeout: Duration) -> Self {
        Self {
            clients: Regional::fixed(client),
            probe_timeout,
        }
    }
}

fn view(gc: &GlobalCluster) -> GlobalClusterView {
    GlobalClusterView {
        id: gc
            .global_cluster_identifier()
            .unwrap_or_default()
            .to_string(),
        status: gc.status().unwrap_or_default().to_string(),
        members: gc
            .global_cluster_members()
            .iter()
            // A member is matched to the plan's regions by its ARN: one RDS names without an
            // ARN matches no region and is left out (a writer left out is "writer unknown",
            // which refuses every move), never matched as "".
            .filter_map(|m| {
                Some(GlobalMember {
                    cluster_arn: m.db_cluster_arn()?.to_string(),
                    is_writer: m.is_writer().unwrap_or(false),
                    synchronization_status: m
                        .synchronization_status()
                        .map(|s| s.as_str().to_string()),
                })
            })
            .collect(),
        operation: gc.failover_state().and_then(|f| {
            f.status().map(|s| GlobalOperation {
                status: s.as_str().to_string(),
                from_cluster_arn: f.from_db_cluster_arn().map(str::to_string),
                to_cluster_arn: f.to_db_cluster_arn().map(str::to_string),
                data_loss_allowed: f.is_data_loss_allowed().unwrap_or(false),
            })
        }),
    }
}

fn cluster_id(arn: &str) -> Result<&str> {
    cluster_id_from_arn(arn)
        .ok_or_else(|| Error::invalid_input(format!("'{arn}' is not an RDS cluster ARN")))
}

impl GlobalDatabase for RdsGlobalDatabase {
    /// A TCP connection to the cluster endpoint, within the probe timeout (no credentials, no
    /// query: whether the database's data plane accepts connections at all).
    async fn endpoint_accepts(&self, endpoint: &str) -> std::result::Result<(), String> {
        let shown = lifeboat_core::text::inert(endpoint, 260);
        match tokio::time::timeout(self.probe_timeout, tokio::net::TcpStream::connect(endpoint))
            .await
        {
            Ok(Ok(_stream)) => Ok(()),
            Ok(Err(e)) => Err(format!("{shown}: {e}")),
            Err(_) => Err(format!(
                "{shown}: no connection within {} ms",
                self.probe_timeout.as_millis()
            )),
        }
    }

    async fn describe_global(&self, region: &str, id: &str) -> Result<GlobalClusterView> {
        let out = self
            .clients
            .get(region)?
            .describe_global_clusters()
            .global_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| classify("DescribeGlobalClusters", e))?;
        out.global_clusters()
            .first()
            .map(view)
            .ok_or_else(|| Error::not_found(format!("global cluster {id} not found in {region}")))
    }

    async fn describe_cluster(&self, region: &str, arn: &str) -> Result<ClusterView> {
        let id = cluster_id(arn)?;
        let call = self
            .clients
            .get(region)?
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send();
        let out = tokio::time::timeout(self.probe_timeout, call)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Transient,
                    format!(
                        "DescribeDBClusters in {region}: no answer within {} ms",
                        self.probe_timeout.as_millis()
                    ),
                )
            })?
            .map_err(|e| classify("DescribeDBClusters", e))?;
        let cluster = out
            .db_clusters()
            .first()
            .ok_or_else(|| Error::not_found(format!("cluster {arn} not found in {region}")))?;
        Ok(ClusterView {
            arn: cluster.db_cluster_arn().unwrap_or(arn).to_string(),
            status: cluster.status().unwrap_or_default().to_string(),
        })
    }

    async fn switchover(&self, region: &str, id: &str, target: &str) -> Result<GlobalClusterView> {
        let out = self
            .clients
            .get(region)?
            .switchover_global_cluster()
            .global_cluster_identifier(id)
            .target_db_cluster_identifier(target)
            .send()
            .await
            .map_err(|e| classify("SwitchoverGlobalCluster", e))?;
        out.global_cluster()
            .map(view)
            .ok_or_else(|| Error::internal("SwitchoverGlobalCluster returned no GlobalCluster"))
    }

    async fn failover_allow_data_loss(
        &self,
        region: &str,
        id: &str,
        target: &str,
    ) -> Result<GlobalClusterView> {
        let out = self
            .clients
            .get(region)?
            .failover_global_cluster()
            .global_cluster_identifier(id)
            .target_db_cluster_identifier(target)
            .allow_data_loss(true)
            .send()
            .await
            .map_err(|e| classify("FailoverGlobalCluster", e))?;
        out.global_cluster()
            .map(view)
            .ok_or_else(|| Error::internal("FailoverGlobalCluster returned no GlobalCluster"))
    }
}

impl DatabaseCapacity for RdsGlobalDatabase {
    async fn describe_capacity(&self, region: &str, arn: &str) -> Result<ClusterCapacityView> {
        let id = cluster_id(arn)?;
        let client = self.clients.get(region)?;
        let out = client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| classify("DescribeDBClusters", e))?;
        let cluster = out
            .db_clusters()
            .first()
            .ok_or_else(|| Error::not_found(format!("cluster {arn} not found in {region}")))?;
        let serverless = cluster.serverless_v2_scaling_configuration().and_then(|c| {
            match (c.min_capacity(), c.max_capacity()) {
                (Some(min_acu), Some(max_acu)) => Some(AcuRange { min_acu, max_acu }),
                _ => None,
            }
        });
        let instances: Vec<_> = client
            .describe_db_instances()
            .filters(
                aws_sdk_rds::types::Filter::builder()
                    .name("db-cluster-id")
                    .values(id)
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| classify("DescribeDBInstances", e))?;
        Ok(ClusterCapacityView {
            cluster_arn: cluster.db_cluster_arn().unwrap_or(arn).to_string(),
            status: cluster.status().unwrap_or_default().to_string(),
            serverless,
            instances: instances
                .iter()
                // An instance RDS names without an identifier cannot be modified: left out.
                .filter_map(|i| {
                    Some(DbInstanceView {
                        id: i.db_instance_identifier()?.to_string(),
                        class: i.db_instance_class().unwrap_or_default().to_string(),
                        status: i.db_instance_status().unwrap_or_default().to_string(),
                        pending_class: i
                            .pending_modified_values()
                            .and_then(|p| p.db_instance_class())
                            .map(str::to_string),
                    })
                })
                .collect(),
        })
    }

    async fn modify_instance_class(&self, region: &str, id: &str, class: &str) -> Result<()> {
        self.clients
            .get(region)?
            .modify_db_instance()
            .db_instance_identifier(id)
            .db_instance_class(class)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| classify("ModifyDBInstance", e))?;
        Ok(())
    }

    async fn modify_serverless_range(
        &self,
        region: &str,
        arn: &str,
        range: AcuRange,
    ) -> Result<()> {
        self.clients
            .get(region)?
            .modify_db_cluster()
            .db_cluster_identifier(cluster_id(arn)?)
            .serverless_v2_scaling_configuration(
                aws_sdk_rds::types::ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(range.min_acu)
                    .max_capacity(range.max_acu)
                    .build(),
            )
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| classify("ModifyDBCluster", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
