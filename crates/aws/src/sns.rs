//! SNS notifications.

use aws_sdk_sns::Client;
use lifeboat_core::ports::{Notifier, Topics};
use lifeboat_core::{Error, Result};

use crate::config::Regional;
use crate::error::classify;

/// [`Notifier`] over SNS; publishes through the topic's own region.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    clients: Regional<Client>,
}

impl SnsNotifier {
    pub fn new(base: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Regional::new(base, |c, r| {
                Client::from_conf(aws_sdk_sns::config::Builder::from(c).region(r).build())
            }),
        }
    }

    pub fn from_client(client: Client) -> Self {
        Self {
            clients: Regional::fixed(client),
        }
    }
}

/// SNS subjects: ASCII, no line breaks, at most 100 characters.
pub fn subject_line(subject: &str) -> String {
    let clean: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.len() <= 100 {
        clean.to_string()
    } else {
        format!("{}...", &clean[..97])
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<String> {
        let region = lifeboat_core::plan::Arn::parse(topic_arn)
            .map(|a| a.region)
            .ok_or_else(|| Error::invalid_input(format!("'{topic_arn}' is not a topic ARN")))?;
        let out = self
            .clients
            .get(region)?
            .publish()
            .topic_arn(topic_arn)
            .subject(subject_line(subject))
            .message(message)
            .send()
            .await
            .map_err(|e| classify("Publish", e))?;
        // SNS answers every accepted publish with its id; the id is only ever logged.
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

impl Topics for SnsNotifier {
    async fn topic_exists(&self, topic_arn: &str) -> Result<bool> {
        let region = lifeboat_core::plan::Arn::parse(topic_arn)
            .map(|a| a.region)
            .ok_or_else(|| Error::invalid_input(format!("'{topic_arn}' is not a topic ARN")))?;
        match self
            .clients
            .get(region)?
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = classify("GetTopicAttributes", e);
                if err.kind() == lifeboat_core::ErrorKind::NotFound {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
    use aws_sdk_sns::types::error::NotFoundException;
    use aws_smithy_mocks::{mock, mock_client};
    use lifeboat_core::ErrorKind;

    const TOPIC: &str = "arn:aws:sns:us-west-2:123456789012:lifeboat-shop";

    #[tokio::test]
    async fn a_topic_exists_unless_sns_says_not_found() {
        use aws_sdk_sns::operation::get_topic_attributes::{
            GetTopicAttributesError, GetTopicAttributesOutput,
        };
        let found = mock!(Client::get_topic_attributes)
            .match_requests(|r| r.topic_arn() == Some(TOPIC))
            .then_output(|| GetTopicAttributesOutput::builder().build());
        let sns = SnsNotifier::from_client(mock_client!(aws_sdk_sns, [&found]));
        assert!(sns.topic_exists(TOPIC).await.expect("answers"));

        let missing = mock!(Client::get_topic_attributes).then_error(|| {
            GetTopicAttributesError::NotFoundException(
                NotFoundException::builder()
                    .meta(crate::error::test_meta("NotFound"))
                    .build(),
            )
        });
        let sns = SnsNotifier::from_client(mock_client!(aws_sdk_sns, [&missing]));
        assert!(!sns.topic_exists(TOPIC).await.expect("answers"));
        assert_eq!(
            sns.topic_exists("not-an-arn")
                .await
                .expect_err("bad")
                .kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn subjects_are_made_safe() {
        assert_eq!(subject_line("lifeboat: ok"), "lifeboat: ok");
        assert_eq!(subject_line("a\nb — c"), "a b   c");
        let long = subject_line(&"x".repeat(300));
        assert_eq!(long.len(), 100);
    }

    #[tokio::test]
    async fn publishes_to_the_topic() {
        let rule = mock!(Client::publish)
            .match_requests(|r| r.topic_arn() == Some(TOPIC) && r.subject() == Some("s"))
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let sns = SnsNotifier::from_client(mock_client!(aws_sdk_sns, [&rule]));
        assert_eq!(sns.publish(TOPIC, "s", "body").await.expect("ok"), "m-1");
    }

    #[tokio::test]
    async fn missing_topic_is_not_found_and_bad_arn_is_invalid() {
        let rule = mock!(Client::publish).then_error(|| {
            PublishError::NotFoundException(
                NotFoundException::builder()
                    .meta(crate::error::test_meta("NotFound"))
                    .build(),
            )
        });
        let sns = SnsNotifier::from_client(mock_client!(aws_sdk_sns, [&rule]));
        assert_eq!(
            sns.publish(TOPIC, "s", "b").await.expect_err("nf").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            sns.publish("nope", "s", "b").await.expect_err("bad").kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(rule.num_calls(), 1, "a bad ARN makes no call");
    }
}
