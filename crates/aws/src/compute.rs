//! ECS services and EC2 Auto Scaling groups (dr-scale-up).

use aws_sdk_autoscaling::types::LifecycleState;
use lifeboat_core::ports::{
    AsgView, AutoScalingGroups, DESCRIBE_SERVICES_MAX, EcsServiceView, EcsServices,
};
use lifeboat_core::{Error, Result};

use crate::config::Regional;
use crate::error::classify;

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn to_i32(n: u32, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::invalid_input(format!("{what} {n} is too large")))
}

/// [`EcsServices`] over ECS, one client per region.
#[derive(Debug, Clone)]
pub struct EcsAdapter {
    clients: Regional<aws_sdk_ecs::Client>,
}

impl EcsAdapter {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                aws_sdk_ecs::Client::from_conf(
                    aws_sdk_ecs::config::Builder::from(c).region(r).build(),
                )
            }),
        }
    }

    pub fn from_client(client: aws_sdk_ecs::Client) -> Self {
        Self {
            clients: Regional::fixed(client),
        }
    }
}

impl EcsServices for EcsAdapter {
    async fn describe_service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<EcsServiceView>> {
        let found = self
            .describe_services(region, cluster, &[service.to_string()])
            .await?;
        // One service asked (by name or ARN): what ECS answers is it.
        Ok(found.into_iter().next())
    }

    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> Result<Vec<EcsServiceView>> {
        let client = self.clients.get(region)?;
        let calls = services.chunks(DESCRIBE_SERVICES_MAX).map(|names| {
            client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(names.to_vec()))
                .send()
        });
        let mut views = Vec::with_capacity(services.len());
        for answer in futures::future::join_all(calls).await {
            let out = answer.map_err(|e| classify("DescribeServices", e))?;
            views.extend(
                out.services()
                    .iter()
                    .filter(|s| s.status() != Some("INACTIVE"))
                    .map(|s| ecs_view(cluster, s)),
            );
        }
        Ok(views)
    }

    async fn set_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<()> {
        self.clients
            .get(region)?
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(to_i32(desired, "desired count")?)
            .send()
            .await
            .map_err(|e| classify("UpdateService", e))?;
        Ok(())
    }
}

/// What lifeboat reads of a described service.
fn ecs_view(cluster: &str, s: &aws_sdk_ecs::types::Service) -> EcsServiceView {
    let primary = s
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    EcsServiceView {
        cluster: cluster.to_string(),
        service: s.service_name().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        desired: count(s.desired_count()),
        running: count(s.running_count()),
        pending: count(s.pending_count()),
        rollout_state: primary
            .and_then(|d| d.rollout_state())
            .map(|r| r.as_str().to_string()),
        deployments: u32::try_from(s.deployments().len()).unwrap_or(u32::MAX),
    }
}

/// [`AutoScalingGroups`] over EC2 Auto Scaling, one client per region.
#[derive(Debug, Clone)]
pub struct AsgAdapter {
    clients: Regional<aws_sdk_autoscaling::Client>,
}

impl AsgAdapter {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                aws_sdk_autoscaling::Client::from_conf(
                    aws_sdk_autoscaling::config::Builder::from(c)
                        .region(r)
                        .build(),
                )
            }),
        }
    }

    pub fn from_client(client: aws_sdk_autoscaling::Client) -> Self {
        Self {
            clients: Regional::fixed(client),
        }
    }
}

impl AutoScalingGroups for AsgAdapter {
    async fn describe_group(&self, region: &str, name: &str) -> Result<Option<AsgView>> {
        let out = self
            .clients
            .get(region)?
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|e| classify("DescribeAutoScalingGroups", e))?;
        let Some(g) = out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(name))
        else {
            return Ok(None);
        };
        let in_service = g
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
            .count();
        Ok(Some(AsgView {
            name: name.to_string(),
            min: count(g.min_size().unwrap_or(0)),
            max: count(g.max_size().unwrap_or(0)),
            desired: count(g.desired_capacity().unwrap_or(0)),
            in_service: u32::try_from(in_service).unwrap_or(u32::MAX),
            instances: u32::try_from(g.instances().len()).unwrap_or(u32::MAX),
        }))
    }

    async fn set_capacity(&self, region: &str, name: &str, min: u32, desired: u32) -> Result<()> {
        self.clients
            .get(region)?
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(to_i32(min, "min size")?)
            .desired_capacity(to_i32(desired, "desired capacity")?)
            .send()
            .await
            .map_err(|e| classify("UpdateAutoScalingGroup", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::types::{AutoScalingGroup, Instance};
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceError;
    use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service};
    use aws_smithy_mocks::{mock, mock_client};
    use lifeboat_core::ErrorKind;

    #[tokio::test]
    async fn an_ecs_service_reports_its_primary_deployment() {
        let rule = mock!(aws_sdk_ecs::Client::describe_services)
            .match_requests(|r| r.cluster() == Some("shop") && r.services() == ["web"])
            .then_output(|| {
                DescribeServicesOutput::builder()
                    .services(
                        Service::builder()
                            .service_name("web")
                            .status("ACTIVE")
                            .desired_count(6)
                            .running_count(4)
                            .pending_count(2)
                            .deployments(
                                Deployment::builder()
                                    .status("PRIMARY")
                                    .rollout_state(DeploymentRolloutState::InProgress)
                                    .build(),
                            )
                            .deployments(Deployment::builder().status("ACTIVE").build())
                            .build(),
                    )
                    .build()
            });
        let ecs = EcsAdapter::from_client(mock_client!(aws_sdk_ecs, [&rule]));
        let view = ecs
            .describe_service("us-west-2", "shop", "web")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((view.desired, view.running, view.pending), (6, 4, 2));
        assert_eq!(view.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(view.deployments, 2);
    }

    #[tokio::test]
    async fn a_missing_or_inactive_service_is_none() {
        let rule = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .service_name("web")
                        .status("INACTIVE")
                        .build(),
                )
                .build()
        });
        let ecs = EcsAdapter::from_client(mock_client!(aws_sdk_ecs, [&rule]));
        assert_eq!(
            ecs.describe_service("us-west-2", "shop", "web")
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_unknown_service_is_not_found_when_updated() {
        let rule = mock!(aws_sdk_ecs::Client::update_service).then_error(|| {
            UpdateServiceError::ServiceNotFoundException(
                aws_sdk_ecs::types::error::ServiceNotFoundException::builder()
                    .message("no such service")
                    .meta(crate::error::test_meta("ServiceNotFoundException"))
                    .build(),
            )
        });
        let ecs = EcsAdapter::from_client(mock_client!(aws_sdk_ecs, [&rule]));
        let err = ecs
            .set_desired_count("us-west-2", "shop", "web", 6)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn an_asg_counts_only_in_service_instances() {
        let rule =
            mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups).then_output(|| {
                let instance = |state| {
                    Instance::builder()
                        .instance_id("i-1")
                        .lifecycle_state(state)
                        .build()
                };
                DescribeAutoScalingGroupsOutput::builder()
                    .auto_scaling_groups(
                        AutoScalingGroup::builder()
                            .auto_scaling_group_name("workers")
                            .min_size(4)
                            .max_size(10)
                            .desired_capacity(6)
                            .instances(instance(LifecycleState::InService))
                            .instances(instance(LifecycleState::Pending))
                            .build(),
                    )
                    .build()
            });
        let asg = AsgAdapter::from_client(mock_client!(aws_sdk_autoscaling, [&rule]));
        let g = asg
            .describe_group("us-west-2", "workers")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((g.min, g.max, g.desired), (4, 10, 6));
        assert_eq!((g.in_service, g.instances), (1, 2));
    }

    #[tokio::test]
    async fn asg_capacity_is_sent_as_min_and_desired_only() {
        let rule = mock!(aws_sdk_autoscaling::Client::update_auto_scaling_group)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("workers")
                    && r.min_size() == Some(4)
                    && r.desired_capacity() == Some(6)
                    && r.max_size().is_none()
            })
            .then_output(|| {
                aws_sdk_autoscaling::operation::update_auto_scaling_group::UpdateAutoScalingGroupOutput::builder().build()
            });
        let asg = AsgAdapter::from_client(mock_client!(aws_sdk_autoscaling, [&rule]));
        asg.set_capacity("us-west-2", "workers", 4, 6)
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }
}
