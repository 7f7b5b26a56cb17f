//! Fakes: What goes out: topics and their messages, events put, webhook posts.

use super::prelude::*;

/// A message published on a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub topic: String,
    pub subject: String,
    pub message: String,
}

/// Messages published, in order.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    pub published: Mutex<Vec<Published>>,
    /// When set, the next publish fails with this kind.
    pub fail_next: Mutex<Option<ErrorKind>>,
}

impl FakeNotifier {
    pub fn messages(&self) -> Vec<Published> {
        self.published.lock().unwrap().clone()
    }

    pub fn fail_next(&self, kind: ErrorKind) {
        *self.fail_next.lock().unwrap() = Some(kind);
    }
}

impl Notifier for FakeNotifier {
    async fn publish(&self, topic: &str, subject: &str, message: &str) -> Result<String> {
        if let Some(kind) = self.fail_next.lock().unwrap().take() {
            return Err(Error::new(kind, "Publish: service unavailable"));
        }
        let mut all = self.published.lock().unwrap();
        all.push(Published {
            topic: topic.to_string(),
            subject: subject.to_string(),
            message: message.to_string(),
        });
        Ok(format!("msg-{}", all.len()))
    }
}

/// An event put on a bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEvent {
    pub region: String,
    pub source: String,
    pub detail_type: String,
    pub detail: String,
}

/// Events put, in order.
#[derive(Debug, Default)]
pub struct FakeEvents {
    pub put: Mutex<Vec<PutEvent>>,
}

impl FakeEvents {
    pub fn events(&self) -> Vec<PutEvent> {
        self.put.lock().unwrap().clone()
    }
}

impl EventPublisher for FakeEvents {
    async fn put_event(&self, region: &str, source: &str, dt: &str, detail: &str) -> Result<()> {
        self.put.lock().unwrap().push(PutEvent {
            region: region.into(),
            source: source.into(),
            detail_type: dt.into(),
            detail: detail.into(),
        });
        Ok(())
    }
}

/// A webhook post received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub url: String,
    pub body: String,
}

/// Webhook posts received, in order.
#[derive(Debug, Default)]
pub struct FakeWebhook {
    pub received: Mutex<Vec<Post>>,
}

impl FakeWebhook {
    pub fn posts(&self) -> Vec<Post> {
        self.received.lock().unwrap().clone()
    }
}

impl WebhookPoster for FakeWebhook {
    async fn post_json(&self, url: &Secret, body: &str) -> Result<()> {
        self.received.lock().unwrap().push(Post {
            url: url.expose().to_string(),
            body: body.to_string(),
        });
        Ok(())
    }
}

/// Topics that exist, by ARN.
#[derive(Debug, Default)]
pub struct FakeTopics {
    pub arns: Mutex<BTreeSet<String>>,
}

impl FakeTopics {
    pub fn add(&self, arn: &str) {
        self.arns.lock().unwrap().insert(arn.into());
    }

    pub fn remove(&self, arn: &str) {
        self.arns.lock().unwrap().remove(arn);
    }
}

impl Topics for FakeTopics {
    async fn topic_exists(&self, arn: &str) -> Result<bool> {
        Ok(self.arns.lock().unwrap().contains(arn))
    }
}
