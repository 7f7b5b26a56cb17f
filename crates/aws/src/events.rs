//! EventBridge: the canary's `lifeboat.probe` events.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lifeboat_core::ports::EventPublisher;
use lifeboat_core::{Error, ErrorKind, Result};

use crate::config::Regional;
use crate::error::{classify, kind_of};

/// [`EventPublisher`] over EventBridge, one client per region: the default bus, or the bus
/// named with [`EventBridgePublisher::on_bus`] (the canary's own bus, whose resource policy lets
/// only the canary put events on it).
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    clients: Regional<Client>,
    bus: Option<String>,
}

impl EventBridgePublisher {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                Client::from_conf(
                    aws_sdk_eventbridge::config::Builder::from(c)
                        .region(r)
                        .build(),
                )
            }),
            bus: None,
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self {
            clients: Regional::fixed(client),
            bus: None,
        }
    }

    /// Put events on `bus` (a name or ARN) instead of the default bus; `None`: the default bus.
    pub fn on_bus(mut self, bus: Option<String>) -> Self {
        self.bus = bus;
        self
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn put_event(
        &self,
        region: &str,
        source: &str,
        detail_type: &str,
        detail_json: &str,
    ) -> Result<()> {
        let out = self
            .clients
            .get(region)?
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .source(source)
                    .detail_type(detail_type)
                    .detail(detail_json)
                    .set_event_bus_name(self.bus.clone())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            // A partial failure comes back as 200 with a per-entry error code.
            let entry = out.entries().iter().find(|e| e.error_code().is_some());
            let code = entry.and_then(|e| e.error_code());
            let kind = match kind_of(code, 500) {
                ErrorKind::Internal => ErrorKind::Transient,
                k => k,
            };
            return Err(Error::new(
                kind,
                format!(
                    "PutEvents: entry failed: {} {}",
                    code.unwrap_or("unknown"),
                    entry.and_then(|e| e.error_message()).unwrap_or("")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{mock, mock_client};

    #[tokio::test]
    async fn an_event_is_put_with_source_and_detail_type() {
        let rule = mock!(Client::put_events)
            .match_requests(|r| {
                let e = &r.entries()[0];
                e.source() == Some("lifeboat.probe")
                    && e.detail_type() == Some("Primary Unhealthy")
                    && e.detail() == Some("{}")
            })
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        let p = EventBridgePublisher::from_client(mock_client!(aws_sdk_eventbridge, [&rule]));
        p.put_event("us-west-2", "lifeboat.probe", "Primary Unhealthy", "{}")
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn the_canary_puts_its_reports_on_its_own_bus() {
        let rule = mock!(Client::put_events)
            .match_requests(|r| r.entries()[0].event_bus_name() == Some("lifeboat-shop-canary"))
            .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
        let p = EventBridgePublisher::from_client(mock_client!(aws_sdk_eventbridge, [&rule]))
            .on_bus(Some("lifeboat-shop-canary".into()));
        p.put_event("us-west-2", "lifeboat.probe", "Primary Unhealthy", "{}")
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_failed_entry_is_an_error_not_a_success() {
        let rule = mock!(Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("InternalFailure")
                        .error_message("try again")
                        .build(),
                )
                .build()
        });
        let p = EventBridgePublisher::from_client(mock_client!(aws_sdk_eventbridge, [&rule]));
        let err = p
            .put_event("us-west-2", "lifeboat.probe", "Primary Unhealthy", "{}")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
    }
}
