//! The state machine's request: keep the task token server-side, then ask a person on the
//! topic and in Slack, showing what they must weigh.

use super::*;

impl<Params, Topic, Webhook, Tasks, Time> Handler<Params, Topic, Webhook, Tasks, Time>
where
    Params: ParameterStore,
    Topic: Notifier,
    Webhook: WebhookPoster,
    Time: Clock,
{
    pub(crate) async fn request(&self, req: ApprovalRequest) -> Result<Requested> {
        if req.task_token.is_empty() || req.task_token.len() > 2048 {
            return Err(Error::invalid_input("task_token must be 1-2048 characters"));
        }
        let base_url = req
            .callback_url
            .clone()
            .or_else(|| self.config.approval_url.clone())
            .ok_or_else(|| {
                Error::invalid_input("no callback_url in the request and no LIFEBOAT_APPROVAL_URL")
            })?;
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(Error::invalid_input("callback_url must be an http(s) URL"));
        }
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        // What the person approves: the mode and evidence the workflow found just now.
        let mut bound = req.run.clone();
        if let Some(p) = req.promotion {
            bound.promotion = p;
        }
        if let Some(r) = req.readiness.clone() {
            bound.readiness = r;
        }
        let run = &bound;
        if run.app != plan.app() {
            return Err(Error::invalid_input(format!(
                "run is for app '{}', the plan is for '{}'",
                run.app,
                plan.app()
            )));
        }
        let topic = plan
            .region(&run.target_region)?
            .notification_topic_arn
            .clone();
        let now = self.ports.clock.now();
        let timeout_minutes = plan.approval().timeout_minutes;
        let deadline = now + time::Duration::minutes(i64::from(timeout_minutes));

        let id = random_id()?;
        let record = ApprovalRecord {
            run_id: run.run_id.to_string(),
            target_region: run.target_region.clone(),
            promotion: run.promotion,
            task_token: req.task_token.clone(),
            deadline: deadline.unix_timestamp(),
        };
        let record_json = serde_json::to_string(&record)
            .map_err(|e| Error::internal(format!("approval record: {e}")))?;
        match self
            .ports
            .params
            .create_secret(&approval_parameter(plan.app(), &id), &record_json)
            .await?
        {
            Created::Created => {}
            Created::AlreadyExists => {
                return Err(Error::internal("approval id collision; retry the request"));
            }
        }

        let claims = |d| Claims {
            v: 1,
            id: id.clone(),
            run: run.run_id.to_string(),
            d,
            exp: deadline.unix_timestamp(),
        };
        let approve = token::sign(&self.config.link_secret, &claims(Decision::Approve))?;
        let reject = token::sign(&self.config.link_secret, &claims(Decision::Reject))?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        let approve_link = format!("{base_url}{sep}t={approve}");
        let reject_link = format!("{base_url}{sep}t={reject}");

        let mut facts = request_facts(&plan, run, now, deadline);
        if let Some(again) = &req.asked_again {
            facts.insert(
                0,
                (
                    "ASKED AGAIN".into(),
                    lifeboat_core::text::bounded(
                        again
                            .cause
                            .as_deref()
                            .or(again.error.as_deref())
                            .unwrap_or("the workflow came back to ask"),
                        600,
                    ),
                ),
            );
        }
        // Everything shown is made inert and bounded once, here: alarm reasons, evidence and
        // names come from events and health bodies; each channel escapes it for its markup.
        for (_, v) in &mut facts {
            *v = lifeboat_core::text::inert(v, FACT_MAX_CHARS);
        }
        let title = format!(
            "APPROVAL NEEDED: {} {} to {} ({})",
            plan.app(),
            run.kind,
            run.target_region,
            match run.promotion {
                PromotionMode::Switchover => "switchover, no data loss",
                PromotionMode::Failover { .. } => "failover WITH DATA LOSS",
            }
        );
        let mut text = format!("{title}\n\n");
        for (k, v) in &facts {
            text.push_str(&format!("{k}: {v}\n"));
        }
        text.push_str(&format!(
            "\nApprove: {approve_link}\n\nReject:  {reject_link}\n\n\
             Opening a link shows a confirmation page; nothing happens until you press its \
             button. Each link works once, and only until the deadline.\n"
        ));
        let sns_message_id = self
            .ports
            .notifier
            .publish(&topic, &format!("[lifeboat] {title}"), &text)
            .await?;

        let slack = match &plan.approval().slack_webhook_parameter {
            None => "not configured".to_string(),
            Some(name) => {
                let card = slack::card(&title, &facts, &approve, &reject);
                match self.post_to_slack(name, &card).await {
                    Ok(()) => "sent".to_string(),
                    Err(e) => {
                        tracing::warn!(kind = %e.kind(), error = %e, "Slack approval card not sent; the e-mail was");
                        format!("failed ({}): {}", e.kind(), e.message())
                    }
                }
            }
        };
        tracing::info!(run_id = %run.run_id, approval_id = %id, deadline = %deadline, slack = %slack, "approval requested");
        Ok(Requested {
            approval_id: id,
            deadline,
            sns_message_id,
            slack,
        })
    }

    pub(crate) async fn post_to_slack(&self, parameter: &str, card: &Value) -> Result<()> {
        let url = self
            .ports
            .params
            .get(parameter)
            .await?
            .map(Secret::new)
            .ok_or_else(|| Error::not_found(format!("Slack webhook parameter {parameter}")))?;
        self.ports.webhook.post_json(&url, &card.to_string()).await
    }
}

pub(crate) fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("random id: {e}")))?;
    Ok(hex::encode(bytes))
}

pub(crate) fn format_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(f)
        .unwrap_or_default()
}

pub(crate) fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub(crate) fn describe_promotion(p: &PromotionMode, guard: Option<u32>) -> String {
    match p {
        PromotionMode::Switchover => {
            "planned switchover: replication catches up first, no data loss (RPO 0)".into()
        }
        PromotionMode::Failover { lag, overridden } => {
            let mut s = format!(
                "UNPLANNED FAILOVER, data loss allowed: writes of the last ~{} may be lost",
                lag.map(secs).unwrap_or_else(|| "(unknown)".into())
            );
            if let Some(g) = guard {
                s.push_str(&format!(" (RPO guard {g} s"));
                s.push_str(if *overridden {
                    ", OVERRIDDEN by a person)"
                } else {
                    ")"
                });
            }
            s
        }
    }
}

pub(crate) fn describe_trigger(t: &Trigger) -> String {
    match t {
        Trigger::Alarm {
            name,
            region,
            reason,
            at,
        } => format!(
            "alarm {name} ({region}) in ALARM since {}: {reason}",
            format_time(*at)
        ),
        Trigger::Canary {
            probed_region,
            failures,
            probes,
            evidence,
            at,
        } => {
            let mut s = format!(
                "canary: {failures} of {probes} probes of {probed_region} failed at {}",
                format_time(*at)
            );
            for e in evidence.iter().take(3) {
                s.push_str(&format!("; {e}"));
            }
            s
        }
        Trigger::Alert {
            alert,
            region,
            matching,
            at,
            ..
        } => {
            let more = if *matching > 1 {
                format!(" ({} of the plan's alerts firing)", matching)
            } else {
                String::new()
            };
            format!(
                "Alertmanager: {alert} says {region} is down, firing since {}{more}",
                format_time(*at)
            )
        }
        Trigger::Manual { requested_by, at } => {
            format!("requested by {requested_by} at {}", format_time(*at))
        }
    }
}

/// The longest a fact may be (Slack's section fields take at most 2,000 characters).
pub const FACT_MAX_CHARS: usize = 1_500;

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

/// What a person must weigh, in order.
pub(crate) fn request_facts(
    plan: &ValidPlan,
    run: &RunRequest,
    now: OffsetDateTime,
    deadline: OffsetDateTime,
) -> Vec<(String, String)> {
    let r = &run.readiness;
    let ap = plan.approval();
    let on_timeout = match ap.on_timeout {
        OnTimeout::Abort => "nothing changes; the run ends as not approved and is reported".into(),
        OnTimeout::Proceed => format!(
            "lifeboat proceeds on its own once the outage has been confirmed for {} minutes",
            ap.proceed_after_outage_minutes.unwrap_or_default()
        ),
    };
    vec![
        ("Run".into(), run.run_id.to_string()),
        ("What happened".into(), describe_trigger(&run.trigger)),
        (
            "What will happen".into(),
            format!(
                "{} from {} to {}; then scale up {}, move traffic, verify{}",
                describe_promotion(&run.promotion, Some(plan.database().rpo_guard_seconds)),
                run.source_region,
                run.target_region,
                run.target_region,
                match run.kind {
                    lifeboat_core::run::RunKind::Failover => String::new(),
                    lifeboat_core::run::RunKind::Failback => format!(
                        ", then return {} to standby capacity (failback home)",
                        run.source_region
                    ),
                }
            ),
        ),
        (
            "Replication lag (RPO risk)".into(),
            r.replication_lag
                .map(secs)
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "Target readiness".into(),
            format!(
                "target database available: {}; primary database answers: {}{}; writer now in: {}{}{}",
                yes_no(r.target_cluster_available),
                yes_no(r.primary_reachable),
                match r.primary_data_plane {
                    Some(true) =>
                        " (its RDS API does not, but its database endpoint ACCEPTS CONNECTIONS)",
                    Some(false) => " (its database endpoint does not either)",
                    None => "",
                },
                r.writer_region.as_deref().unwrap_or("none"),
                match r.alarm_still_firing {
                    Some(true) => "; alarm still firing: yes",
                    Some(false) => "; alarm still firing: NO (recovered?)",
                    None => "",
                },
                match &r.peer_lock_unread {
                    Some(why) => format!("; the other copy: UNKNOWN ({why})"),
                    None => String::new(),
                }
            ),
        ),
        (
            "Deadline".into(),
            format!(
                "{} ({} minutes from {})",
                format_time(deadline),
                (deadline - now).whole_minutes(),
                format_time(now)
            ),
        ),
        ("If nobody answers".into(), on_timeout),
    ]
}
