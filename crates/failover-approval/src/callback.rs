//! The Function URL: the confirmation page (GET), the decision from the page's form (POST) and
//! from Slack's interaction callback (POST /slack), decided once (who may decide, the single-use
//! marker, handing the decision to the run); every refusal changes nothing.

use super::*;

impl<Params, Topic, Webhook, Tasks, Time> Handler<Params, Topic, Webhook, Tasks, Time>
where
    Params: ParameterStore,
    Tasks: TaskCallbacks,
    Time: Clock,
{
    pub(crate) async fn callback(
        &self,
        req: LambdaFunctionUrlRequest,
    ) -> LambdaFunctionUrlResponse {
        let method = req
            .request_context
            .http
            .method
            .clone()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let path = req.raw_path.clone().unwrap_or_else(|| "/".into());
        let body = match raw_body(&req) {
            Some(b) => b,
            None => {
                return page(
                    400,
                    "Bad request",
                    "<p>The request body could not be read.</p>",
                );
            }
        };
        match (method.as_str(), path.as_str()) {
            ("GET", "/") => self.confirmation_page(&req).await,
            ("POST", "/") => self.decide_from_form(&body).await,
            ("POST", "/slack") => self.decide_from_slack(&req, &body).await,
            (_, "/" | "/slack") => page(405, "Method not allowed", ""),
            _ => page(404, "Not found", ""),
        }
    }

    /// Verify a token and find its approval record (same run, not yet decided).
    pub(crate) async fn check(
        &self,
        token: &str,
    ) -> std::result::Result<(Claims, ApprovalRecord, String), Refusal> {
        let now = self.ports.clock.now();
        let claims = match token::verify(&self.config.link_secret, token, now) {
            Ok(c) => c,
            Err(LinkRefusal::Forged) => {
                return Err(Refusal::new(
                    403,
                    "Not a valid link",
                    "This link is not a valid lifeboat approval link.",
                ));
            }
            Err(LinkRefusal::Expired) => {
                return Err(Refusal::new(
                    410,
                    "Link expired",
                    "This approval link has expired. Nothing was changed.",
                ));
            }
        };
        let app = self.app().await.map_err(unavailable)?;
        let record = self
            .ports
            .params
            .get(&approval_parameter(&app, &claims.id))
            .await
            .map_err(unavailable)?
            .and_then(|v| serde_json::from_str::<ApprovalRecord>(&v).ok());
        let Some(record) = record else {
            return Err(Refusal::new(
                404,
                "Unknown request",
                "There is no such approval request.",
            ));
        };
        if record.run_id != claims.run {
            return Err(Refusal::new(
                403,
                "Not a valid link",
                "This link does not belong to this run.",
            ));
        }
        Ok((claims, record, app))
    }

    pub(crate) async fn app(&self) -> Result<String> {
        let plan = store::load_plan(&self.ports.params, &self.config.plan.plan_parameter).await?;
        Ok(plan.app().to_string())
    }

    pub(crate) async fn confirmation_page(
        &self,
        req: &LambdaFunctionUrlRequest,
    ) -> LambdaFunctionUrlResponse {
        let Some(token) = query_token(req) else {
            return page(
                400,
                "Missing link token",
                "<p>This page needs the link from the approval request.</p>",
            );
        };
        let (claims, record, app) = match self.check(&token).await {
            Ok(x) => x,
            Err(r) => return refused(r),
        };
        match self
            .ports
            .params
            .get(&decided_parameter(&app, &claims.id))
            .await
        {
            // A decision recorded but never handed over is pressed again (the same button).
            Ok(Some(marker)) if pending_as(&marker, claims.d).is_none() => {
                return already_decided(&marker);
            }
            Ok(_) => {}
            Err(e) => return refused(unavailable(e)),
        }
        let (verb, class) = match claims.d {
            Decision::Approve => ("Approve failover", "approve"),
            Decision::Reject => ("Reject failover", "reject"),
        };
        let deadline = OffsetDateTime::from_unix_timestamp(record.deadline)
            .map(format_time)
            .unwrap_or_default();
        let who_field = if self.asks_for_address().await {
            "<p><label>Your e-mail address (the plan names who may decide; recorded with the \
             decision)<br><input name=\"who\" type=\"email\" required maxlength=\"254\" \
             autocomplete=\"email\"></label></p>"
        } else {
            "<p><label>Your name (recorded with the decision)<br>\
             <input name=\"who\" required maxlength=\"64\" autocomplete=\"name\"></label></p>"
        };
        let body = format!(
            "{}<form method=\"post\" action=\"./\">{who_field}\
             <input type=\"hidden\" name=\"t\" value=\"{}\">\
             <p><button class=\"{class}\" type=\"submit\">{verb}</button></p></form>\
             <p class=\"note\">Nothing has happened yet: only this button decides. The link works \
             once.</p>",
            facts(&[
                ("Run".into(), record.run_id.clone()),
                ("Target region".into(), record.target_region.clone()),
                (
                    "Promotion".into(),
                    describe_promotion(&record.promotion, None)
                ),
                ("Deadline".into(), deadline),
            ]),
            escape(&token)
        );
        page(200, &format!("{verb}?"), &body)
    }

    pub(crate) async fn decide_from_form(&self, body: &str) -> LambdaFunctionUrlResponse {
        #[derive(Deserialize)]
        struct Form {
            t: String,
            #[serde(default)]
            who: String,
        }
        let Ok(form) = serde_urlencoded::from_str::<Form>(body) else {
            return page(
                400,
                "Bad request",
                "<p>Use the button on the confirmation page.</p>",
            );
        };
        let who = form.who.trim();
        if who.is_empty() || who.chars().count() > 254 || who.chars().any(char::is_control) {
            return page(
                400,
                "Name needed",
                "<p>Go back and give your name or address (at most 254 characters): it is recorded with the decision.</p>",
            );
        }
        match self.may_decide(Approver::Email { address: who }).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(who = %lifeboat_core::text::inert(who, 64), "an e-mail link decision by someone who is not one of the plan's approvers");
                return page(
                    403,
                    "Not an approver",
                    "<p>The plan names who may decide, by e-mail address: give yours (one of \
                     them). Nothing was sent to the run.</p>",
                );
            }
            Err(r) => return refused(r),
        }
        match self.decide(&form.t, who, "e-mail link").await {
            Ok((decision, record)) => {
                let body = match decision {
                    Decision::Approve => format!(
                        "<p>Thank you, {}. lifeboat now fails over to <b>{}</b>. The report follows by e-mail.</p>",
                        escape(who),
                        escape(&record.target_region)
                    ),
                    Decision::Reject => format!(
                        "<p>Thank you, {}. The failover was rejected: nothing changes.</p>",
                        escape(who)
                    ),
                };
                page(
                    200,
                    match decision {
                        Decision::Approve => "Approved",
                        Decision::Reject => "Rejected",
                    },
                    &body,
                )
            }
            Err(r) => refused(r),
        }
    }

    pub(crate) async fn decide_from_slack(
        &self,
        req: &LambdaFunctionUrlRequest,
        body: &str,
    ) -> LambdaFunctionUrlResponse {
        let Some(secret) = &self.config.slack_signing_secret else {
            return page::text(404, "not found");
        };
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let now = self.ports.clock.now();
        if let Err(why) = slack::verify_signature(
            secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now,
        ) {
            tracing::warn!(refusal = ?why, "Slack request refused");
            return page::text(401, "request signature refused");
        }
        let Ok(interaction) = slack::parse_interaction(body) else {
            return page::text(400, "unexpected payload");
        };
        let expected = match token::verify(&self.config.link_secret, &interaction.value, now) {
            Ok(c) => match c.d {
                Decision::Approve => slack::APPROVE_ACTION,
                Decision::Reject => slack::REJECT_ACTION,
            },
            Err(_) => "",
        };
        if interaction.action_id != expected {
            return page::text(403, "This button is not valid.");
        }
        match self
            .may_decide(Approver::SlackUser {
                id: &interaction.user_id,
            })
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(user = %lifeboat_core::text::inert(&interaction.user, 120), "a Slack user who is not one of the plan's approvers pressed a button");
                return page::text(
                    403,
                    "You are not one of the plan's approvers: nothing was sent to the run.",
                );
            }
            Err(r) => return page::text(r.status, &r.sentence),
        }
        match self
            .decide(&interaction.value, &interaction.user, "Slack")
            .await
        {
            Ok((Decision::Approve, r)) => page::text(
                200,
                &format!(
                    "Approved by {}: failing over to {}.",
                    interaction.user, r.target_region
                ),
            ),
            Ok((Decision::Reject, _)) => page::text(
                200,
                &format!("Rejected by {}: nothing changes.", interaction.user),
            ),
            Err(r) => page::text(r.status, &r.sentence),
        }
    }

    // ---- deciding once ------------------------------------------------------------------
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

pub(crate) fn unavailable(e: Error) -> Refusal {
    tracing::error!(kind = %e.kind(), error = %e, "approval callback could not be served");
    match e.kind() {
        ErrorKind::Transient | ErrorKind::Throttled => Refusal::new(
            503,
            "Try again",
            "lifeboat could not record the decision just now. Nothing was changed; please press again in a moment.",
        ),
        _ => Refusal::new(
            500,
            "Error",
            "lifeboat could not serve this request. Nothing was changed.",
        ),
    }
}

pub(crate) fn refused(r: Refusal) -> LambdaFunctionUrlResponse {
    page(
        r.status,
        r.title,
        &format!("<p>{}</p>", escape(&r.sentence)),
    )
}

pub(crate) fn already_decided_sentence(marker_json: &str) -> String {
    match serde_json::from_str::<DecidedMarker>(marker_json) {
        Ok(m) => format!(
            "This request was already decided: {} by {} via {} at {}. Nothing was changed.",
            m.decision.as_str(),
            m.by,
            m.via,
            format_time(m.at)
        ),
        Err(_) => "This request was already decided. Nothing was changed.".into(),
    }
}

pub(crate) fn already_decided(marker_json: &str) -> LambdaFunctionUrlResponse {
    refused(Refusal::new(
        409,
        "Already decided",
        already_decided_sentence(marker_json),
    ))
}

pub(crate) fn raw_body(req: &LambdaFunctionUrlRequest) -> Option<String> {
    let body = req.body.clone().unwrap_or_default();
    if req.is_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?;
        String::from_utf8(bytes).ok()
    } else {
        Some(body)
    }
}

pub(crate) fn query_token(req: &LambdaFunctionUrlRequest) -> Option<String> {
    if let Some(t) = req.query_string_parameters.get("t") {
        return Some(t.clone());
    }
    let raw = req.raw_query_string.as_deref()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v)
}

/// The marker, when it is a decision recorded as `decision` and not yet handed to the run.
pub(crate) fn pending_as(marker_json: &str, decision: Decision) -> Option<DecidedMarker> {
    serde_json::from_str::<DecidedMarker>(marker_json)
        .ok()
        .filter(|m| m.pending && m.decision == decision)
}
