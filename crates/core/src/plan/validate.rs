//! What a well-formed plan must also mean: [`validate`] reports every problem, each naming the
//! field.

use super::names::is_identifier;
use super::*;

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    /// A problem, as a person reads it: what the plan said (region names, ARNs, record types)
    /// may be quoted in the field and the message, so both are made inert and bounded here, once.
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: crate::text::inert(&field.into(), 300),
            message: crate::text::inert(&message.into(), 1_000),
        });
    }

    fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.fail(field, message);
        }
    }

    fn arn(
        &mut self,
        field: &str,
        value: &str,
        service: &str,
        region: &str,
        resource_prefix: &str,
    ) {
        match Arn::parse(value) {
            None => self.fail(field, format!("'{value}' is not an ARN")),
            Some(arn) => {
                self.check(
                    arn.service == service,
                    field,
                    format!("expected an {service} ARN, got service '{}'", arn.service),
                );
                self.check(
                    arn.region == region,
                    field,
                    format!(
                        "ARN is in region '{}' but belongs to region {region}",
                        arn.region
                    ),
                );
                self.check(
                    arn.account.len() == 12 && arn.account.chars().all(|c| c.is_ascii_digit()),
                    field,
                    format!("ARN account '{}' is not a 12-digit account id", arn.account),
                );
                self.check(
                    arn.resource.starts_with(resource_prefix)
                        && arn.resource.len() > resource_prefix.len(),
                    field,
                    format!("ARN resource must start with '{resource_prefix}'"),
                );
            }
        }
    }

    fn range(&mut self, field: &str, value: u64, min: u64, max: u64) {
        self.check(
            (min..=max).contains(&value),
            field,
            format!("{value} is out of range {min}..={max}"),
        );
    }
}

pub(super) fn validate(plan: &Plan) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.check(
        plan.version == PLAN_VERSION,
        "version",
        format!(
            "unsupported plan version {}; this build reads version {PLAN_VERSION}",
            plan.version
        ),
    );
    let app_ok = !plan.app.is_empty()
        && plan.app.len() <= 32
        && plan.app.starts_with(|c: char| c.is_ascii_lowercase())
        && plan
            .app
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    c.check(
        app_ok,
        "app",
        "must be 1-32 characters: lowercase letters, digits and '-', starting with a letter",
    );
    c.check(
        plan.regions.len() == 2,
        "regions",
        format!(
            "must name exactly two regions, found {}",
            plan.regions.len()
        ),
    );
    c.check(
        plan.regions.contains_key(&plan.primary_region),
        "primary_region",
        format!("'{}' is not one of the plan's regions", plan.primary_region),
    );

    let mut cluster_arns = BTreeSet::new();
    for (name, region) in &plan.regions {
        let at = format!("regions.{name}");
        c.check(
            is_region_name(name),
            &at,
            format!("'{name}' is not a region name"),
        );
        if let Some(arn) = &region.db_cluster_arn {
            c.arn(
                &format!("{at}.db_cluster_arn"),
                arn,
                "rds",
                name,
                "cluster:",
            );
            c.check(
                cluster_arns.insert(arn.as_str()),
                format!("{at}.db_cluster_arn"),
                "the same cluster is named for both regions",
            );
        }
        c.arn(
            &format!("{at}.notification_topic_arn"),
            &region.notification_topic_arn,
            "sns",
            name,
            "",
        );
        if let Some(ep) = &region.db_endpoint {
            c.check(
                is_host_port(ep),
                format!("{at}.db_endpoint"),
                format!("'{}' is not host:port", crate::text::inert(ep, 80)),
            );
        }
        validate_compute(&mut c, &at, &region.compute);
        if let Some(db) = &region.database_capacity {
            validate_database_capacity(&mut c, &at, db);
        }
        if *name == plan.primary_region {
            validate_fencing(&mut c, &at, &region.compute, plan.fencing.compute_count);
        }
        let endpoints = region
            .health_endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| (format!("{at}.health_endpoints[{i}]"), ep))
            .chain(
                region
                    .public_checks
                    .iter()
                    .enumerate()
                    .map(|(i, ep)| (format!("{at}.public_checks[{i}]"), ep)),
            );
        for (f, ep) in endpoints {
            c.check(
                ep.url.starts_with("http://") || ep.url.starts_with("https://"),
                format!("{f}.url"),
                "must be an http:// or https:// URL",
            );
            c.range(
                &format!("{f}.expect_status"),
                ep.expect_status.into(),
                100,
                599,
            );
            c.range(&format!("{f}.timeout_ms"), ep.timeout_ms.into(), 1, 30_000);
        }
        validate_region_traffic(&mut c, &at, name, &plan.traffic, &region.traffic);
        for (i, bucket) in region.buckets.iter().enumerate() {
            c.check(
                is_bucket_name(bucket),
                format!("{at}.buckets[{i}]"),
                format!(
                    "'{bucket}' is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"
                ),
            );
        }
    }

    let db = &plan.database;
    validate_database_provider(&mut c, plan);
    c.range(
        "database.rpo_guard_seconds",
        db.rpo_guard_seconds.into(),
        1,
        86_400,
    );
    c.range(
        "database.failback_max_lag_seconds",
        db.failback_max_lag_seconds.into(),
        0,
        3_600,
    );

    c.range(
        "failback.home_healthy_minutes",
        plan.failback.home_healthy_minutes.into(),
        1,
        1_440,
    );

    let ap = &plan.approval;
    c.range(
        "approval.timeout_minutes",
        ap.timeout_minutes.into(),
        1,
        1_440,
    );
    match (ap.on_timeout, ap.proceed_after_outage_minutes) {
        (OnTimeout::Proceed, None) => c.fail(
            "approval.proceed_after_outage_minutes",
            "required when on_timeout is 'proceed'",
        ),
        (OnTimeout::Proceed, Some(m)) => {
            c.range("approval.proceed_after_outage_minutes", m.into(), 1, 1_440)
        }
        (OnTimeout::Abort, Some(_)) => c.fail(
            "approval.proceed_after_outage_minutes",
            "only meaningful when on_timeout is 'proceed'",
        ),
        (OnTimeout::Abort, None) => {}
    }
    if let Some(p) = &ap.slack_webhook_parameter {
        c.check(
            is_parameter_name(p),
            "approval.slack_webhook_parameter",
            PARAMETER_NAME_RULE,
        );
    }
    for (i, id) in ap.approvers.slack_user_ids.iter().enumerate() {
        let ok = id.len() >= 3
            && id.len() <= 32
            && (id.starts_with('U') || id.starts_with('W'))
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        c.check(
            ok,
            format!("approval.approvers.slack_user_ids[{i}]"),
            format!(
                "'{}' is not a Slack user id (U or W, then capitals and digits)",
                crate::text::inert(id, 40)
            ),
        );
    }
    for (i, e) in ap.approvers.emails.iter().enumerate() {
        let ok = e.len() <= 254
            && e.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            })
            && !e.chars().any(|c| c.is_whitespace() || c.is_control());
        c.check(
            ok,
            format!("approval.approvers.emails[{i}]"),
            format!("'{}' is not an e-mail address", crate::text::inert(e, 60)),
        );
    }

    let tr = &plan.triggers;
    c.check(
        !tr.alarms.is_empty(),
        "triggers.alarms",
        "name at least one alarm (for example the canary's alarm)",
    );
    let mut seen = BTreeSet::new();
    for (i, a) in tr.alarms.iter().enumerate() {
        c.check(
            !a.trim().is_empty() && a.len() <= 255,
            format!("triggers.alarms[{i}]"),
            "alarm names are 1-255 characters",
        );
        c.check(
            seen.insert(a),
            format!("triggers.alarms[{i}]"),
            format!("'{a}' is listed twice"),
        );
    }
    if let Some(am) = &tr.alertmanager {
        validate_alertmanager(&mut c, plan, am);
    }
    c.range(
        "triggers.incident_window_seconds",
        tr.incident_window_seconds.into(),
        60,
        86_400,
    );
    c.range(
        "triggers.min_seconds_between_runs",
        tr.min_seconds_between_runs.into(),
        0,
        7 * 86_400,
    );
    if tr.min_seconds_between_runs > 0 && tr.min_seconds_between_runs < tr.incident_window_seconds {
        c.fail(
            "triggers.min_seconds_between_runs",
            format!(
                "{} s is shorter than triggers.incident_window_seconds ({} s): one incident would get a second automatic run; make it at least the window, or 0 (no pause: a closed run's next trigger starts a new attempt)",
                tr.min_seconds_between_runs, tr.incident_window_seconds
            ),
        );
    }
    let longest = longest_run_seconds(plan, DEFAULT_STEP_DEADLINE_SECONDS);
    if longest > u64::from(EXECUTION_TIMEOUT_SECONDS) {
        c.fail(
            "approval.timeout_minutes",
            format!(
                "the approval wait plus the step deadlines ({DEFAULT_STEP_DEADLINE_SECONDS} s each) and traffic.verify_deadline_seconds come to {longest} s, more than the state machine's execution timeout of {EXECUTION_TIMEOUT_SECONDS} s: a run could be cut off unrecorded"
            ),
        );
    }
    c.range(
        "traffic.verify_deadline_seconds",
        plan.traffic.verify_deadline_seconds.into(),
        1,
        3_600,
    );
    c.range(
        "traffic.shift_at_capacity_percent",
        plan.traffic.shift_at_capacity_percent.into(),
        1,
        100,
    );
    c.range(
        "triggers.canary.of_probes",
        tr.canary.of_probes.into(),
        1,
        100,
    );
    c.check(
        tr.canary.failures_required >= 1 && tr.canary.failures_required <= tr.canary.of_probes,
        "triggers.canary.failures_required",
        "must be between 1 and of_probes",
    );
    // A canary cut off by its own timeout reports nothing: silence, never an outage, but also no
    // evidence when it is needed. Its probes must fit its timeout.
    for (name, region) in &plan.regions {
        let slowest = region
            .health_endpoints
            .iter()
            .map(|e| u64::from(e.timeout_ms))
            .max()
            .unwrap_or(0);
        // Rounds start on the cadence (a round every interval, for the watch, n at least); the
        // last one must end within the budget.
        let cadence = crate::canary::DEFAULT_CADENCE;
        let rounds = crate::canary::rounds(&tr.canary, &cadence);
        let interval_ms = (cadence.interval_seconds * 1000.0) as u64;
        let worst = u64::from(rounds.saturating_sub(1)) * interval_ms + slowest;
        c.check(
            worst <= CANARY_PROBE_BUDGET_MS,
            "triggers.canary.of_probes",
            format!(
                "{rounds} rounds of {name}'s endpoints ({interval_ms} ms apart, slowest timeout_ms {slowest}) can take {worst} ms, more than the {CANARY_PROBE_BUDGET_MS} ms the canary has within its {CANARY_TIMEOUT_SECONDS} s timeout: fewer probes or shorter timeouts"
            ),
        );
    }

    for provider in [DnsProvider::Digitalocean, DnsProvider::Linode] {
        let key = provider.key();
        let at = format!("traffic.{key}");
        match (provider.api(&plan.traffic), plan.traffic.mode.dns_provider() == Some(provider)) {
            (Some(api), true) => c.check(
                is_parameter_name(&api.token_parameter),
                format!("{at}.token_parameter"),
                PARAMETER_NAME_RULE,
            ),
            (None, true) => c.fail(
                at.clone(),
                format!("mode {key} needs the token: traffic.{key}.token_parameter names the SecureString that holds it"),
            ),
            (Some(_), false) => c.fail(at.clone(), format!("is used only with mode {key}")),
            (None, false) => {}
        }
    }
    validate_cache(&mut c, plan);
    if plan.traffic.mode == TrafficMode::RoutingControl {
        c.check(
            !plan.traffic.arc_cluster_endpoints.is_empty(),
            "traffic.arc_cluster_endpoints",
            "mode routing_control needs at least one ARC cluster endpoint",
        );
    }
    for (i, ep) in plan.traffic.arc_cluster_endpoints.iter().enumerate() {
        c.check(
            is_arc_endpoint_url(&ep.endpoint),
            format!("traffic.arc_cluster_endpoints[{i}].endpoint"),
            "must be an https:// URL (http:// only to 127.0.0.1 or localhost: an emulator on this machine)",
        );
        c.check(
            is_region_name(&ep.region),
            format!("traffic.arc_cluster_endpoints[{i}].region"),
            format!("'{}' is not a region name", ep.region),
        );
    }
    c.problems
}

fn validate_compute(c: &mut Checker, at: &str, compute: &ComputePlan) {
    for (i, s) in compute.ecs_services.iter().enumerate() {
        let f = format!("{at}.compute.ecs_services[{i}]");
        c.check(
            !s.cluster.is_empty(),
            format!("{f}.cluster"),
            "must not be empty",
        );
        c.check(
            !s.service.is_empty(),
            format!("{f}.service"),
            "must not be empty",
        );
        c.check(
            s.active_count >= s.standby_count,
            format!("{f}.active_count"),
            format!(
                "active count {} is below standby count {}",
                s.active_count, s.standby_count
            ),
        );
        c.range(
            &format!("{f}.active_count"),
            s.active_count.into(),
            1,
            5_000,
        );
    }
    for (i, g) in compute.autoscaling_groups.iter().enumerate() {
        let f = format!("{at}.compute.autoscaling_groups[{i}]");
        c.check(!g.name.is_empty(), format!("{f}.name"), "must not be empty");
        for (which, cap) in [("standby", g.standby), ("active", g.active)] {
            c.check(
                cap.min <= cap.desired,
                format!("{f}.{which}.min"),
                format!("min {} is above desired {}", cap.min, cap.desired),
            );
        }
        c.check(
            g.active.desired >= g.standby.desired,
            format!("{f}.active.desired"),
            format!(
                "active desired {} is below standby desired {}",
                g.active.desired, g.standby.desired
            ),
        );
        c.range(
            &format!("{f}.active.desired"),
            g.active.desired.into(),
            1,
            10_000,
        );
    }
    if let Some(k) = &compute.kubernetes {
        validate_kubernetes(c, &format!("{at}.compute.kubernetes"), k);
    }
}

/// A Kubernetes name lifeboat puts in an API path: a DNS subdomain (lower-case letters, digits,
/// '-' and '.', starting and ending alphanumeric, at most 253 characters).
fn is_kubernetes_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// An EKS cluster name as EKS accepts it: 1 to 100 letters, digits, '-' and '_', starting with
/// a letter or digit.
fn is_eks_cluster_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
}

fn validate_kubernetes(c: &mut Checker, f: &str, k: &KubernetesPlan) {
    c.check(
        is_arc_endpoint_url(&k.api_url),
        format!("{f}.api_url"),
        format!(
            "'{}' is not an https:// URL (http:// only to 127.0.0.1 or localhost)",
            crate::text::inert(&k.api_url, 120)
        ),
    );
    match (&k.token_parameter, &k.eks) {
        (Some(_), Some(_)) => c.check(
            false,
            f.to_string(),
            "names both token_parameter and eks: one way to authenticate",
        ),
        (None, None) => c.check(
            false,
            f.to_string(),
            "names neither token_parameter nor eks: how lifeboat authenticates to the cluster",
        ),
        _ => {}
    }
    if let Some(token) = &k.token_parameter {
        c.check(
            is_parameter_name(token),
            format!("{f}.token_parameter"),
            PARAMETER_NAME_RULE,
        );
    }
    if let Some(eks) = &k.eks {
        c.check(
            is_eks_cluster_name(&eks.cluster_name),
            format!("{f}.eks.cluster_name"),
            format!(
                "'{}' is not an EKS cluster name (1 to 100 letters, digits, '-' and '_', \
                 starting with a letter or digit)",
                crate::text::inert(&eks.cluster_name, 120)
            ),
        );
        c.check(
            k.ca_parameter.is_some(),
            format!("{f}.ca_parameter"),
            "is required with eks: an EKS API's certificate is signed by the cluster's own CA \
             (its certificateAuthority.data, decoded, in a parameter)",
        );
    }
    if let Some(ca) = &k.ca_parameter {
        c.check(
            is_parameter_name(ca),
            format!("{f}.ca_parameter"),
            PARAMETER_NAME_RULE,
        );
    }
    c.check(
        !(k.deployments.is_empty() && k.statefulsets.is_empty()),
        f.to_string(),
        "names no deployment or stateful set",
    );
    let mut seen = BTreeSet::new();
    for (list, kind) in [
        (&k.deployments, "deployments"),
        (&k.statefulsets, "statefulsets"),
    ] {
        for (i, w) in list.iter().enumerate() {
            let wf = format!("{f}.{kind}[{i}]");
            for (field, value) in [("namespace", &w.namespace), ("name", &w.name)] {
                c.check(
                    is_kubernetes_name(value),
                    format!("{wf}.{field}"),
                    format!(
                        "'{}' is not a Kubernetes name (lower-case letters, digits, '-' and '.')",
                        crate::text::inert(value, 80)
                    ),
                );
            }
            c.check(
                w.active_replicas >= w.standby_replicas,
                format!("{wf}.active_replicas"),
                format!(
                    "active replicas {} are below standby replicas {}",
                    w.active_replicas, w.standby_replicas
                ),
            );
            c.range(
                &format!("{wf}.active_replicas"),
                w.active_replicas.into(),
                1,
                5_000,
            );
            c.check(
                seen.insert((kind, w.namespace.clone(), w.name.clone())),
                wf,
                "listed twice",
            );
        }
    }
}

/// A region's database capacity: instance classes RDS can name (never `db.serverless`, which
/// the ACU range sizes), ACU ranges Aurora Serverless v2 accepts, and an active level never
/// below the standby level.
fn validate_database_capacity(c: &mut Checker, at: &str, db: &DatabaseCapacityPlan) {
    let f = format!("{at}.database_capacity");
    c.check(
        db.instance_class.is_some() || db.serverless_v2.is_some(),
        f.clone(),
        "names neither instance_class nor serverless_v2",
    );
    if let Some(classes) = &db.instance_class {
        for (which, class) in [("standby", &classes.standby), ("active", &classes.active)] {
            c.check(
                crate::db_capacity::InstanceSize::parse(class).is_some(),
                format!("{f}.instance_class.{which}"),
                format!(
                    "'{}' is not a provisioned instance class (db.<family>.<size>, e.g. db.r6g.2xlarge; db.serverless instances are sized by serverless_v2)",
                    crate::text::inert(class, 80)
                ),
            );
        }
        if crate::db_capacity::smaller(&classes.active, &classes.standby) {
            c.fail(
                format!("{f}.instance_class.active"),
                format!(
                    "{} is smaller than the standby class {}",
                    classes.active, classes.standby
                ),
            );
        }
    }
    if let Some(acu) = &db.serverless_v2 {
        for (which, range) in [("standby", acu.standby), ("active", acu.active)] {
            let g = format!("{f}.serverless_v2.{which}");
            for (name, value) in [("min_acu", range.min_acu), ("max_acu", range.max_acu)] {
                c.check(
                    crate::db_capacity::is_acu(value),
                    format!("{g}.{name}"),
                    format!("{value} is not an ACU value (half steps from 0 to 256)"),
                );
            }
            c.check(
                range.max_acu >= 1.0,
                format!("{g}.max_acu"),
                format!("{} is below 1 ACU, the smallest maximum", range.max_acu),
            );
            c.check(
                range.min_acu <= range.max_acu,
                format!("{g}.min_acu"),
                format!("min {} is above max {}", range.min_acu, range.max_acu),
            );
        }
        c.check(
            acu.active.min_acu >= acu.standby.min_acu && acu.active.max_acu >= acu.standby.max_acu,
            format!("{f}.serverless_v2.active"),
            "the active range is below the standby range",
        );
    }
}

/// Fencing never scales up: the fenced count is at most every standby level of the home
/// region (the region that is fenced when it comes back).
fn validate_fencing(c: &mut Checker, at: &str, compute: &ComputePlan, count: u32) {
    for (i, s) in compute.ecs_services.iter().enumerate() {
        c.check(
            count <= s.standby_count,
            "fencing.compute_count",
            format!(
                "{count} is above {at}.compute.ecs_services[{i}].standby_count {} (fencing \
                 never scales up)",
                s.standby_count
            ),
        );
    }
    if let Some(k) = &compute.kubernetes {
        for (list, kind) in [
            (&k.deployments, "deployments"),
            (&k.statefulsets, "statefulsets"),
        ] {
            for (i, w) in list.iter().enumerate() {
                c.check(
                    count <= w.standby_replicas,
                    "fencing.compute_count",
                    format!(
                        "{count} is above {at}.compute.kubernetes.{kind}[{i}].standby_replicas {} \
                         (fencing never scales up)",
                        w.standby_replicas
                    ),
                );
            }
        }
    }
    for (i, g) in compute.autoscaling_groups.iter().enumerate() {
        c.check(
            count <= g.standby.min,
            "fencing.compute_count",
            format!(
                "{count} is above {at}.compute.autoscaling_groups[{i}].standby.min {} \
                 (fencing never scales up)",
                g.standby.min
            ),
        );
    }
}

/// An ARC cluster endpoint as the cluster lists it (`https://…`), or an emulator on this machine.
fn is_arc_endpoint_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return url.len() > "https://".len();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    name == "127.0.0.1" || name == "localhost"
}

fn validate_region_traffic(
    c: &mut Checker,
    at: &str,
    region: &str,
    plan: &TrafficPlan,
    traffic: &RegionTraffic,
) {
    let f = format!("{at}.traffic");
    match plan.mode {
        TrafficMode::RecordUpsert => c.check(
            traffic.hosted_zones.iter().any(|z| !z.records.is_empty()),
            format!("{f}.hosted_zones"),
            "mode record_upsert needs at least one hosted zone with records",
        ),
        TrafficMode::HealthCheck => c.check(
            !traffic.health_check_ids.is_empty(),
            format!("{f}.health_check_ids"),
            "mode health_check needs at least one health check",
        ),
        TrafficMode::RoutingControl => c.check(
            !traffic.routing_control_arns.is_empty(),
            format!("{f}.routing_control_arns"),
            "mode routing_control needs at least one routing control",
        ),
        TrafficMode::Digitalocean | TrafficMode::Linode => c.check(
            traffic.domains.iter().any(|d| !d.records.is_empty()),
            format!("{f}.domains"),
            format!(
                "mode {} needs at least one domain with records",
                plan.mode.dns_provider().map_or("", DnsProvider::key)
            ),
        ),
    }
    for (z, zone) in traffic.hosted_zones.iter().enumerate() {
        let zf = format!("{f}.hosted_zones[{z}]");
        c.check(
            !zone.zone_id.is_empty(),
            format!("{zf}.zone_id"),
            "must not be empty",
        );
        validate_records(c, &zf, plan, &zone.records, None);
    }
    let mut domains = BTreeSet::new();
    for (d, domain) in traffic.domains.iter().enumerate() {
        let df = format!("{f}.domains[{d}]");
        c.check(
            is_domain_name(&domain.domain),
            format!("{df}.domain"),
            format!(
                "'{}' is not a domain name (labels of letters, digits and '-', joined by '.')",
                domain.domain
            ),
        );
        c.check(
            domains.insert(domain.domain.to_ascii_lowercase()),
            format!("{df}.domain"),
            "the same domain is listed twice: put its records in one entry",
        );
        validate_records(c, &df, plan, &domain.records, Some(&domain.domain));
    }
    for (i, id) in traffic.health_check_ids.iter().enumerate() {
        c.check(
            !id.is_empty(),
            format!("{f}.health_check_ids[{i}]"),
            "must not be empty",
        );
    }
    for (i, arn) in traffic.routing_control_arns.iter().enumerate() {
        // Routing controls live in the ARC control plane (us-west-2), whatever region they serve.
        let ok = Arn::parse(arn).is_some_and(|a| a.service == "route53-recovery-control");
        c.check(
            ok,
            format!("{f}.routing_control_arns[{i}]"),
            format!("'{arn}' is not a route53-recovery-control ARN (region {region})"),
        );
    }
}

/// The record sets of one hosted zone (`domain: None`) or one provider domain (every name must
/// be the domain or under it).
fn validate_records(
    c: &mut Checker,
    at: &str,
    plan: &TrafficPlan,
    records: &[RecordPlan],
    domain: Option<&str>,
) {
    let mut seen = BTreeSet::new();
    for (r, rec) in records.iter().enumerate() {
        let rf = format!("{at}.records[{r}]");
        c.check(
            !rec.name.is_empty(),
            format!("{rf}.name"),
            "must not be empty",
        );
        c.check(
            ["A", "AAAA", "CNAME", "TXT"].contains(&rec.record_type.as_str()),
            format!("{rf}.type"),
            format!("'{}' is not one of A, AAAA, CNAME, TXT", rec.record_type),
        );
        c.check(
            !rec.values.is_empty(),
            format!("{rf}.values"),
            "must not be empty",
        );
        c.range(&format!("{rf}.ttl"), rec.ttl.into(), 0, 172_800);
        c.check(
            rec.ttl <= plan.verify_deadline_seconds,
            format!("{rf}.ttl"),
            format!(
                "{} s is longer than traffic.verify_deadline_seconds ({} s): Verify could give up while resolvers still serve the old answer; raise verify_deadline_seconds to at least {} or lower the TTL",
                rec.ttl, plan.verify_deadline_seconds, rec.ttl
            ),
        );
        let Some(domain) = domain else { continue };
        let name = rec.name.trim_end_matches('.').to_ascii_lowercase();
        let domain = domain.to_ascii_lowercase();
        c.check(
            name == domain || name.ends_with(&format!(".{domain}")),
            format!("{rf}.name"),
            format!(
                "'{}' is not {domain} or a name under it: give the fully qualified name",
                rec.name
            ),
        );
        if let Some(provider) = plan.mode.dns_provider() {
            c.check(
                provider.accepts_ttl(rec.ttl),
                format!("{rf}.ttl"),
                provider.ttl_rule(),
            );
            c.check(
                name != domain || provider.sets_apex(&rec.record_type),
                format!("{rf}.name"),
                format!(
                    "{} cannot set a {} record at the apex of {domain} through its API (only A and AAAA)",
                    provider.name(),
                    rec.record_type
                ),
            );
        }
        c.check(
            rec.record_type != "CNAME" || rec.values.len() == 1,
            format!("{rf}.values"),
            "a CNAME has exactly one value",
        );
        c.check(
            seen.insert((name, rec.record_type.clone())),
            rf,
            "the same name and type are listed twice: list every value in one record set",
        );
    }
}

/// A DNS domain name: labels of 1-63 letters, digits and '-' (not at either end), at least
/// two, at most 253 characters.
fn is_domain_name(d: &str) -> bool {
    let d = d.trim_end_matches('.');
    d.len() <= 253
        && d.split('.').count() >= 2
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

const PARAMETER_NAME_RULE: &str =
    "must be an SSM parameter name: '/' then letters, digits and _ . - /, at most 2048 characters";

/// An SSM parameter name lifeboat can ask for: fully qualified, of the characters SSM allows.
fn is_parameter_name(p: &str) -> bool {
    p.starts_with('/')
        && p.len() > 1
        && p.len() <= 2048
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

/// The cache: its settings, and each region's nodes and Sentinels (both regions, or neither).
/// Each provider's fields, required with it and refused with another (a plan that names both
/// would leave a reader guessing which database lifeboat promotes).
fn validate_database_provider(c: &mut Checker, plan: &Plan) {
    let db = &plan.database;
    let provider = db.provider.as_str();
    let aurora = db.provider == DatabaseProvider::AuroraGlobal;
    let patroni = db.provider == DatabaseProvider::Patroni;
    let mysql = db.provider == DatabaseProvider::Mysql;
    let only = |of: &str| format!("is {of}'s; the plan's database provider is {provider}");
    match &db.global_cluster_id {
        Some(id) if aurora => c.check(
            is_identifier(id, 255),
            "database.global_cluster_id",
            "must start with a letter and hold only letters, digits and '-:._' (at most 255)",
        ),
        Some(_) => c.fail("database.global_cluster_id", only("aurora_global")),
        None if aurora => c.fail(
            "database.global_cluster_id",
            "is required with the database provider aurora_global",
        ),
        None => {}
    }
    match &db.patroni {
        Some(p) if patroni => {
            c.check(
                !p.username.is_empty()
                    && p.username.len() <= 64
                    && !p.username.contains([':', '@', '/'])
                    && !p
                        .username
                        .chars()
                        .any(|ch| ch.is_whitespace() || ch.is_control()),
                "database.patroni.username",
                "must be 1-64 characters without ':', '@', '/', spaces or control characters",
            );
            c.check(
                is_parameter_name(&p.password_parameter),
                "database.patroni.password_parameter",
                PARAMETER_NAME_RULE,
            );
        }
        Some(_) => c.fail("database.patroni", only("patroni")),
        None if patroni => c.fail(
            "database.patroni",
            "is required with the database provider patroni (the REST API's username and \
             password_parameter)",
        ),
        None => {}
    }
    match &db.mysql {
        Some(m) if mysql => {
            for (field, user) in [
                ("database.mysql.user", &m.user),
                ("database.mysql.replication_user", &m.replication_user),
            ] {
                c.check(
                    is_mysql_user(user),
                    field,
                    "must be 1-80 characters without quotes, backslashes, '@', spaces or \
                     control characters",
                );
            }
            if let Some(ca) = m.tls.as_ref().and_then(|t| t.ca_parameter.as_ref()) {
                c.check(
                    is_parameter_name(ca),
                    "database.mysql.tls.ca_parameter",
                    PARAMETER_NAME_RULE,
                );
            }
            for (field, name) in [
                ("database.mysql.password_parameter", &m.password_parameter),
                (
                    "database.mysql.replication_password_parameter",
                    &m.replication_password_parameter,
                ),
            ] {
                c.check(is_parameter_name(name), field, PARAMETER_NAME_RULE);
            }
        }
        Some(_) => c.fail("database.mysql", only("mysql")),
        None if mysql => c.fail(
            "database.mysql",
            "is required with the database provider mysql (user, password_parameter, \
             replication_user, replication_password_parameter)",
        ),
        None => {}
    }
    let mut servers = BTreeSet::new();
    let mut apis = BTreeSet::new();
    for (name, region) in &plan.regions {
        let at = format!("regions.{name}");
        match (&region.mysql, mysql) {
            (None, true) => c.fail(
                format!("{at}.mysql"),
                "is required with the database provider mysql (the region's server)",
            ),
            (Some(_), false) => c.fail(format!("{at}.mysql"), only("mysql")),
            (Some(m), true) => {
                let field = format!("{at}.mysql.server");
                c.check(
                    is_host_port(&m.server),
                    &field,
                    if m.server.contains('@') {
                        "carries credentials (not shown): the server is host:port (e.g. \
                         10.0.0.5:3306); passwords go in SecureStrings"
                            .to_string()
                    } else {
                        format!(
                            "'{}' is not host:port (e.g. 10.0.0.5:3306)",
                            crate::text::inert(&m.server, 80)
                        )
                    },
                );
                c.check(
                    servers.insert(m.server.to_ascii_lowercase()),
                    &field,
                    "is the other region's server too (each region has its own)",
                );
            }
            (None, false) => {}
        }
        match (&region.db_cluster_arn, aurora) {
            (None, true) => c.fail(
                format!("{at}.db_cluster_arn"),
                "is required with the database provider aurora_global",
            ),
            (Some(_), false) => c.fail(format!("{at}.db_cluster_arn"), only("aurora_global")),
            _ => {}
        }
        if !aurora && region.database_capacity.is_some() {
            c.fail(
                format!("{at}.database_capacity"),
                only("aurora_global (instance classes and Serverless v2)"),
            );
        }
        match (&region.patroni, patroni) {
            (None, true) => c.fail(
                format!("{at}.patroni"),
                "is required with the database provider patroni (the region's members)",
            ),
            (Some(_), false) => c.fail(format!("{at}.patroni"), only("patroni")),
            (Some(p), true) => {
                c.check(
                    !p.members.is_empty(),
                    format!("{at}.patroni.members"),
                    "must list at least one member's REST API URL",
                );
                for (i, url) in p.members.iter().enumerate() {
                    let field = format!("{at}.patroni.members[{i}]");
                    c.check(
                        is_rest_base_url(url),
                        &field,
                        if url.contains('@') {
                            // what may be a password is never repeated where it is read
                            "carries credentials (not shown): the URL must be an http:// or \
                             https:// base URL without them (e.g. http://10.0.0.5:8008); the \
                             password goes in database.patroni.password_parameter"
                                .to_string()
                        } else {
                            format!(
                                "'{}' is not an http:// or https:// base URL without \
                                 credentials (e.g. http://10.0.0.5:8008)",
                                crate::text::inert(url, 80)
                            )
                        },
                    );
                    c.check(
                        apis.insert(url.trim_end_matches('/').to_ascii_lowercase()),
                        &field,
                        "is listed twice (a member belongs to one region's cluster)",
                    );
                }
            }
            (None, false) => {}
        }
    }
}

/// A MySQL user name lifeboat can quote as a literal (MariaDB allows 80 characters, MySQL 32).
fn is_mysql_user(u: &str) -> bool {
    !u.is_empty()
        && u.chars().count() <= 80
        && !u.chars().any(|ch| {
            ch.is_whitespace() || ch.is_control() || matches!(ch, '\'' | '"' | '`' | '\\' | '@')
        })
}

/// A REST API's base URL as lifeboat sends requests to it: http(s), a host, no credentials,
/// query or fragment, nothing a log line would have to hide.
fn is_rest_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    url.len() <= 200
        && !authority.is_empty()
        && !rest.contains(['@', '?', '#'])
        && !url.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

fn validate_cache(c: &mut Checker, plan: &Plan) {
    let Some(cache) = &plan.cache else {
        for (name, region) in &plan.regions {
            c.check(
                region.cache.is_none(),
                format!("regions.{name}.cache"),
                "is used only with the plan's cache",
            );
        }
        return;
    };
    c.check(
        is_master_name(&cache.master_name),
        "cache.master_name",
        "must be 1-64 characters: letters, digits and _ . -",
    );
    if let Some(p) = &cache.password_parameter {
        c.check(
            is_parameter_name(p),
            "cache.password_parameter",
            PARAMETER_NAME_RULE,
        );
    }
    c.check(cache.quorum >= 1, "cache.quorum", "must be at least 1");
    for (name, region) in &plan.regions {
        let at = format!("regions.{name}.cache");
        let Some(rc) = &region.cache else {
            c.fail(
                &at,
                "the plan's cache needs each region's nodes and sentinels",
            );
            continue;
        };
        for (field, list) in [("nodes", &rc.nodes), ("sentinels", &rc.sentinels)] {
            c.check(
                !list.is_empty(),
                format!("{at}.{field}"),
                "must list at least one host:port",
            );
            let mut seen = BTreeSet::new();
            for (i, addr) in list.iter().enumerate() {
                c.check(
                    is_host_port(addr),
                    format!("{at}.{field}[{i}]"),
                    format!("'{}' is not host:port", crate::text::inert(addr, 80)),
                );
                c.check(
                    seen.insert(addr.to_ascii_lowercase()),
                    format!("{at}.{field}[{i}]"),
                    "is listed twice",
                );
            }
        }
        c.check(
            rc.sentinels.is_empty() || cache.quorum as usize <= rc.sentinels.len(),
            "cache.quorum",
            format!(
                "{} is more than the {} sentinel(s) {name} lists: they could never agree",
                cache.quorum,
                rc.sentinels.len()
            ),
        );
    }
}

/// A Sentinel master name lifeboat sends as one argument: no spaces, nothing to quote.
fn is_master_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Prometheus's label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(l: &str) -> bool {
    let mut chars = l.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn validate_alertmanager(c: &mut Checker, plan: &Plan, am: &AlertmanagerPlan) {
    c.check(
        is_parameter_name(&am.token_parameter),
        "triggers.alertmanager.token_parameter",
        PARAMETER_NAME_RULE,
    );
    c.check(
        !am.alerts.is_empty(),
        "triggers.alertmanager.alerts",
        "name at least one alert (alertname and the region it says is down)",
    );
    let mut seen = BTreeSet::new();
    for (i, a) in am.alerts.iter().enumerate() {
        let at = format!("triggers.alertmanager.alerts[{i}]");
        c.check(
            !a.alertname.trim().is_empty() && a.alertname.len() <= 255,
            format!("{at}.alertname"),
            "alert names are 1-255 characters",
        );
        c.check(
            plan.regions.contains_key(&a.region),
            format!("{at}.region"),
            format!(
                "'{}' is not one of the plan's regions",
                crate::text::inert(&a.region, 60)
            ),
        );
        for (name, value) in &a.labels {
            c.check(
                is_label_name(name) && name != "alertname",
                format!("{at}.labels"),
                format!(
                    "'{}' is not a label name lifeboat can match ([a-zA-Z_][a-zA-Z0-9_]*; alertname has its own field)",
                    crate::text::inert(name, 60)
                ),
            );
            c.check(
                value.len() <= 1024,
                format!("{at}.labels.{}", crate::text::inert(name, 60)),
                "label values are at most 1024 characters",
            );
        }
        c.check(
            seen.insert((&a.alertname, &a.labels)),
            at,
            "the same alert and labels are listed twice",
        );
    }
}
