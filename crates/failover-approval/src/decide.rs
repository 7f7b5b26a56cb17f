//! Deciding once: who may decide, the single-use marker, handing the decision to the run.

use super::*;

impl<Params, Topic, Webhook, Tasks, Time> Handler<Params, Topic, Webhook, Tasks, Time>
where
    Params: ParameterStore,
    Topic: Notifier,
    Webhook: WebhookPoster,
    Tasks: TaskCallbacks,
    Time: Clock,
{
    /// Whether the plan lets `who` decide (anyone, when it names no approvers).
    pub(crate) async fn may_decide(&self, who: Approver<'_>) -> std::result::Result<bool, Refusal> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter)
            .await
            .map_err(unavailable)?;
        Ok(plan.approval().approvers.may_decide(who))
    }

    /// Whether the plan names approvers by e-mail address (the confirmation page asks for one).
    pub(crate) async fn asks_for_address(&self) -> bool {
        store::load_plan(&self.ports.params, &self.config.plan.plan_parameter)
            .await
            .is_ok_and(|p| !p.approval().approvers.is_empty())
    }

    /// Decide once: the create-only marker makes a replay (or the other button) a no-op. The
    /// marker is written pending, the decision handed to the run, then the marker settled; a
    /// decision whose process died in between is handed over by the next press of its button.
    pub(crate) async fn decide(
        &self,
        token: &str,
        who: &str,
        via: &str,
    ) -> std::result::Result<(Decision, ApprovalRecord), Refusal> {
        let (claims, record, app) = self.check(token).await?;
        let marker = DecidedMarker {
            decision: claims.d,
            by: who.to_string(),
            via: via.to_string(),
            at: self.ports.clock.now(),
            pending: true,
        };
        let marker_json = serde_json::to_string(&marker)
            .map_err(|e| unavailable(Error::internal(e.to_string())))?;
        let marker_name = decided_parameter(&app, &claims.id);
        match self.ports.params.create(&marker_name, &marker_json).await {
            Ok(Created::Created) => {}
            Ok(Created::AlreadyExists) => {
                let seen = self
                    .ports
                    .params
                    .get(&marker_name)
                    .await
                    .map_err(unavailable)?
                    .unwrap_or_default();
                return match pending_as(&seen, claims.d) {
                    Some(recorded) => {
                        tracing::warn!(run_id = %record.run_id, approval_id = %claims.id, by = %recorded.by, "a recorded decision was never handed to the run: handing it over");
                        self.hand_over(&claims.id, &marker_name, recorded, record)
                            .await
                    }
                    None => Err(Refusal::new(
                        409,
                        "Already decided",
                        already_decided_sentence(&seen),
                    )),
                };
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.hand_over(&claims.id, &marker_name, marker, record)
            .await
    }

    /// Hand a recorded decision to the waiting run, then settle its marker.
    pub(crate) async fn hand_over(
        &self,
        approval_id: &str,
        marker_name: &str,
        marker: DecidedMarker,
        record: ApprovalRecord,
    ) -> std::result::Result<(Decision, ApprovalRecord), Refusal> {
        let sent = match marker.decision {
            Decision::Approve => {
                let output = DecisionOutput {
                    decision: marker.decision,
                    promotion: record.promotion,
                    by: marker.by.clone(),
                    via: marker.via.clone(),
                    at: marker.at,
                    run_id: record.run_id.clone(),
                    approval_id: approval_id.to_string(),
                };
                match serde_json::to_string(&output) {
                    Ok(json) => {
                        self.ports
                            .callbacks
                            .succeed(&record.task_token, &json)
                            .await
                    }
                    Err(e) => Err(Error::internal(e.to_string())),
                }
            }
            Decision::Reject => {
                let cause = format!(
                    "rejected by {} via {} at {}",
                    marker.by,
                    marker.via,
                    format_time(marker.at)
                );
                self.ports
                    .callbacks
                    .fail(&record.task_token, REJECTED_ERROR, &cause)
                    .await
            }
        };
        match sent {
            Ok(()) => {
                tracing::info!(run_id = %record.run_id, approval_id = %approval_id, decision = marker.decision.as_str(), by = %marker.by, via = %marker.via, "decided");
                self.settle(marker_name, &marker).await;
                Ok((marker.decision, record))
            }
            Err(e) if e.kind().is_retryable() => {
                // Not delivered: undo the marker so the person can press again.
                if let Err(undo) = self.ports.params.delete(marker_name).await {
                    tracing::error!(error = %undo, "could not remove the decided marker");
                }
                Err(unavailable(e))
            }
            Err(e) => {
                tracing::warn!(run_id = %record.run_id, kind = %e.kind(), error = %e, "the run no longer waits for a decision");
                self.settle(marker_name, &marker).await;
                Err(Refusal::new(
                    410,
                    "No longer waiting",
                    "The run is no longer waiting for a decision (it timed out, or was stopped). Nothing was changed.",
                ))
            }
        }
    }

    /// Mark a decision handed over (or past handing over). Not fatal when it cannot be written:
    /// a later press hands it over again, and the run, which already has it, refuses that.
    pub(crate) async fn settle(&self, marker_name: &str, marker: &DecidedMarker) {
        let settled = DecidedMarker {
            pending: false,
            ..marker.clone()
        };
        let written = match serde_json::to_string(&settled) {
            Ok(json) => self.ports.params.put(marker_name, &json).await,
            Err(e) => Err(Error::internal(e.to_string())),
        };
        if let Err(e) = written {
            tracing::warn!(kind = %e.kind(), error = %e, "could not mark the decision handed over");
        }
    }
}

/// The marker, when it is a decision recorded as `decision` and not yet handed to the run.
pub(crate) fn pending_as(marker_json: &str, decision: Decision) -> Option<DecidedMarker> {
    serde_json::from_str::<DecidedMarker>(marker_json)
        .ok()
        .filter(|m| m.pending && m.decision == decision)
}
