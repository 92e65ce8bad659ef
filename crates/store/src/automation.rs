//! The store-reading half of automations: the ordered rules as stored, the facts a case's
//! conditions are checked against, the cases a timer is due for, and the dry-run. Running the
//! actions (notes, replies by mail, promises, webhooks) is the binary's (it wires mail).

use std::collections::BTreeSet;

use anliegen_core::automation::{Automation, Condition, Facts, When};
use anliegen_core::{Case, CaseStatus};
use jiff::Timestamp;

use crate::error::Result;
use crate::{CaseFilter, Store};

/// The setting that holds the ordered rules.
pub const RULES_KEY: &str = "automations";

/// The ordered rules (none until an admin sets them).
pub async fn rules(store: &Store) -> Result<Vec<Automation>> {
    Ok(store
        .setting(RULES_KEY)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// The facts of `case` for conditions; `text` is the triggering contact's text (if any).
pub async fn facts(store: &Store, case: &Case, text: &str) -> Result<Facts> {
    let tier = store
        .customer(case.customer_id)
        .await?
        .map(|c| c.tier)
        .unwrap_or_default();
    Ok(Facts {
        status: case.status,
        priority: case.priority,
        team_id: case.team_id,
        channel: case.channel,
        tier,
        language: case.language,
        tags: case.tags.clone(),
        assigned: case.assignee_id.is_some(),
        text: anliegen_core::text::fold(&format!("{}\n{}", case.subject, text)),
    })
}

/// The statuses a timer rule can act in: what its status conditions allow, never closed cases.
pub fn timer_statuses(rule: &Automation) -> Vec<CaseStatus> {
    let mut allowed: BTreeSet<CaseStatus> = CaseStatus::ALL
        .into_iter()
        .filter(|s| *s != CaseStatus::Closed)
        .collect();
    for c in &rule.conditions {
        if let Condition::Status { any, not } = c {
            allowed.retain(|s| any.contains(s) != *not);
        }
    }
    allowed.into_iter().collect()
}

/// The cases a timer rule is due for now (conditions checked), with the moment each counts
/// from; at most `limit` candidates are looked at.
pub async fn timer_cases(
    store: &Store,
    rule: &Automation,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(Case, i64)>> {
    let When::Timer { since, minutes } = rule.when else {
        return Ok(Vec::new());
    };
    let statuses = timer_statuses(rule);
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let threshold = now - jiff::SignedDuration::from_mins(i64::from(minutes));
    let mut out = Vec::new();
    for (id, anchor) in store
        .timer_due(rule.id, &statuses, since, threshold, limit)
        .await?
    {
        let Some(case) = store.case(id).await? else {
            continue;
        };
        if facts(store, &case, "").await?.matches(rule) {
            out.push((case, anchor));
        }
    }
    Ok(out)
}

/// What a rule would touch now: for a timer, the cases it is due for; for a trigger, the
/// unsolved cases whose conditions hold (as if the happening came now; text conditions look
/// at the subject). At most `limit` cases, and how many were looked at.
pub async fn dry_run(store: &Store, rule: &Automation, limit: usize) -> Result<(Vec<Case>, usize)> {
    match rule.when {
        When::Timer { .. } => {
            let cases = timer_cases(store, rule, store.now(), 5000).await?;
            let looked = cases.len();
            Ok((
                cases.into_iter().take(limit).map(|(c, _)| c).collect(),
                looked,
            ))
        }
        When::Trigger { .. } => {
            let filter = CaseFilter {
                unsolved: Some(true),
                ..Default::default()
            };
            let mut hits = Vec::new();
            let mut looked = 0;
            let mut cursor = None;
            // The newest 5,000 unsolved cases are enough to show what a rule would do.
            while looked < 5000 {
                let page = store.cases(&filter, cursor, 500).await?;
                for case in &page.items {
                    looked += 1;
                    if hits.len() < limit && facts(store, case, "").await?.matches(rule) {
                        hits.push(case.clone());
                    }
                }
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            Ok((hits, looked))
        }
    }
}

/// The values of the template placeholders (`{{customer.name}}`, `{{case.ref}}` …, see
/// `core::macros::PLACEHOLDERS`) for `case`, signed by `agent` (a macro: whoever applies it; a
/// rule: the assignee).
pub async fn placeholders(
    store: &Store,
    case: &Case,
    agent: &str,
) -> Result<Vec<(&'static str, String)>> {
    let customer = store.customer(case.customer_id).await?;
    let name = customer
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_default();
    let email = customer
        .as_ref()
        .and_then(|c| {
            c.identities
                .iter()
                .find(|i| i.kind == anliegen_core::IdentityKind::Email)
                .map(|i| i.value.clone())
        })
        .unwrap_or_default();
    Ok(vec![
        (
            "customer.first_name",
            anliegen_core::macros::first_name(&name),
        ),
        ("customer.name", name),
        ("customer.email", email),
        ("case.ref", case.reference.to_string()),
        ("case.subject", case.subject.clone()),
        ("agent.first_name", anliegen_core::macros::first_name(agent)),
        ("agent.name", agent.to_owned()),
    ])
}

/// `template` with its placeholders filled from `values`.
pub fn fill(template: &str, values: &[(&'static str, String)]) -> String {
    anliegen_core::macros::render(template, |n| {
        values.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
    })
}
