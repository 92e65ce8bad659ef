//! Events: the immutable record of what happened. Timeline, audit log and every projection
//! are read from them. An event is never changed or deleted once written.

use jiff::Timestamp;

use crate::{
    AgentId, CaseId, CaseRef, CaseStatus, Channel, ContactId, CustomerId, Direction, Identity,
    MailboxId, Priority, TeamId, Visibility,
};

fn yes() -> bool {
    true
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// An agent, directly or through one of its API tokens.
    Agent {
        /// Which agent.
        id: AgentId,
    },
    /// A customer (mail, form, portal).
    Customer {
        /// Which customer.
        id: CustomerId,
    },
    /// Anliegen itself (rules, jobs, the first start).
    System,
    /// An automation rule (what it changes starts no further automations).
    Automation {
        /// Which rule.
        rule_id: uuid::Uuid,
        /// Its name then.
        name: String,
    },
}

/// What happened. The `type` tag is the stable name stored and shown in the API.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A customer was created.
    CustomerCreated {
        /// Display name.
        name: Option<String>,
    },
    /// A customer's details changed; lists the changed field names.
    CustomerUpdated {
        /// Changed fields.
        fields: Vec<String>,
    },
    /// An identity now leads to the customer.
    IdentityAdded {
        /// The identity.
        identity: Identity,
    },
    /// Another customer was merged into this one: its identities and cases moved here.
    CustomerMerged {
        /// The customer that was merged away.
        source: CustomerId,
        /// The surviving customer.
        target: CustomerId,
        /// Identities that moved.
        identities: Vec<Identity>,
        /// Cases that moved.
        cases: Vec<CaseId>,
    },
    /// A case was opened.
    CaseOpened {
        /// Its reference.
        reference: CaseRef,
        /// Its subject.
        subject: String,
        /// Its first channel.
        channel: Channel,
        /// Its priority.
        priority: Priority,
        /// Its team.
        team_id: Option<TeamId>,
        /// The closed case it follows up on.
        follow_up_of: Option<CaseId>,
    },
    /// A closed case received a customer contact; the contact opened this follow-up.
    FollowUpOpened {
        /// The follow-up case.
        follow_up: CaseId,
        /// Its reference.
        reference: CaseRef,
    },
    /// A contact was added to the case.
    ContactAdded {
        /// The contact.
        contact_id: ContactId,
        /// Its channel.
        channel: Channel,
        /// Its direction.
        direction: Direction,
        /// Its visibility.
        visibility: Visibility,
    },
    /// The status changed.
    StatusChanged {
        /// Before.
        from: CaseStatus,
        /// After.
        to: CaseStatus,
    },
    /// A customer contact reopened a solved case.
    CaseReopened {
        /// The contact that reopened it.
        contact_id: ContactId,
    },
    /// The priority changed.
    PriorityChanged {
        /// Before.
        from: Priority,
        /// After.
        to: Priority,
    },
    /// The owning team changed.
    TeamChanged {
        /// Before.
        from: Option<TeamId>,
        /// After.
        to: Option<TeamId>,
    },
    /// The assignee changed.
    AssigneeChanged {
        /// Before.
        from: Option<AgentId>,
        /// After.
        to: Option<AgentId>,
    },
    /// Tags were added or removed.
    TagsChanged {
        /// Added tags.
        added: Vec<String>,
        /// Removed tags.
        removed: Vec<String>,
    },
    /// Custom fields were set or cleared.
    FieldsChanged {
        /// New values (`null`: cleared).
        changes: serde_json::Map<String, serde_json::Value>,
    },
    /// The subject changed.
    SubjectChanged {
        /// Before.
        from: String,
        /// After.
        to: String,
    },
    /// A case moved to another customer (customer merge).
    CaseCustomerChanged {
        /// Before.
        from: CustomerId,
        /// After.
        to: CustomerId,
    },
    /// An organisation was created.
    OrganisationCreated {
        /// Its id.
        organisation_id: crate::OrganisationId,
        /// Its name.
        name: String,
    },
    /// A team was created.
    TeamCreated {
        /// Its name.
        name: String,
    },
    /// An agent was created.
    AgentCreated {
        /// The agent.
        agent_id: AgentId,
        /// Its role.
        role: crate::Role,
    },
    /// An agent's settings changed; lists the changed fields (never secrets).
    AgentUpdated {
        /// The agent.
        agent_id: AgentId,
        /// Changed fields.
        fields: Vec<String>,
    },
    /// An API token was created (never its secret).
    TokenCreated {
        /// Its id.
        token_id: uuid::Uuid,
        /// Its owner.
        agent_id: AgentId,
        /// Its scopes.
        scopes: Vec<String>,
    },
    /// An API token was revoked.
    TokenRevoked {
        /// Its id.
        token_id: uuid::Uuid,
    },
    /// A mailbox was created.
    MailboxCreated {
        /// Its id.
        mailbox_id: MailboxId,
        /// Its address.
        address: String,
    },
    /// A mailbox was changed.
    MailboxUpdated {
        /// Its id.
        mailbox_id: MailboxId,
    },
    /// A mail of ours was accepted by the relay.
    MailSent {
        /// The outbound contact.
        contact_id: ContactId,
        /// Its Message-ID.
        message_id: String,
    },
    /// A mail of ours could not be delivered (given up, or bounced).
    MailDeliveryFailed {
        /// The outbound contact.
        contact_id: ContactId,
        /// Why.
        error: String,
    },
    /// A macro was created.
    MacroCreated {
        /// Which.
        macro_id: crate::MacroId,
        /// Its name.
        name: String,
    },
    /// A macro was changed.
    MacroUpdated {
        /// Which.
        macro_id: crate::MacroId,
    },
    /// An agent applied a macro to a case.
    MacroApplied {
        /// Which.
        macro_id: crate::MacroId,
        /// Its name then.
        name: String,
    },
    /// A tag was added to the catalogue (or its description changed).
    TagDefined {
        /// The tag.
        name: String,
    },
    /// A tag was removed from the catalogue (cases keep it).
    TagRemoved {
        /// The tag.
        name: String,
    },
    /// A case was merged into another: its contacts moved there, it was closed. Recorded on
    /// both cases.
    CaseMerged {
        /// The case merged away.
        source: CaseId,
        /// The surviving case.
        target: CaseId,
        /// Their references, for people.
        source_ref: crate::CaseRef,
        /// The surviving case's reference.
        target_ref: crate::CaseRef,
        /// The contacts that moved.
        contacts: Vec<ContactId>,
    },
    /// A supervisor undid a merge: the contacts went back. Recorded on both cases.
    CaseUnmerged {
        /// The case restored.
        source: CaseId,
        /// The case they had been merged into.
        target: CaseId,
        /// References.
        source_ref: crate::CaseRef,
        /// References.
        target_ref: crate::CaseRef,
        /// The contacts that moved back.
        contacts: Vec<ContactId>,
    },
    /// A contact was split off into a new case of its own. Recorded on both cases.
    ContactSplit {
        /// The contact.
        contact_id: ContactId,
        /// The case it left.
        from: CaseId,
        /// The new case.
        to: CaseId,
        /// References.
        from_ref: crate::CaseRef,
        /// References.
        to_ref: crate::CaseRef,
    },
    /// A supervisor undid a split: the contact went back, the split-off case was closed.
    SplitUndone {
        /// The contact.
        contact_id: ContactId,
        /// The case it returned to.
        from: CaseId,
        /// The case it had been split into.
        to: CaseId,
        /// References.
        from_ref: crate::CaseRef,
        /// References.
        to_ref: crate::CaseRef,
    },
    /// Concern matching decided where an inbound contact goes (the reason is also on the
    /// contact); `repeat` counts it when it is the customer coming back unasked.
    ConcernMatched {
        /// The contact.
        contact_id: ContactId,
        /// Why.
        reason: crate::resolve::ConcernMatch,
        /// The case's repeat count after this contact, when it is a repeat.
        repeat: Option<i64>,
    },
    /// Routing rules chose a team and priority for a new case.
    CaseRouted {
        /// The rule that matched.
        rule_id: crate::RuleId,
        /// Its name.
        rule: String,
        /// Team set.
        team_id: Option<TeamId>,
        /// Priority set.
        priority: Option<Priority>,
    },
    /// Automatic assignment within the team chose (or found no) agent.
    CaseAssigned {
        /// The team.
        team_id: TeamId,
        /// The decision and why.
        decision: crate::routing::Assignment,
    },
    /// The case went up an escalation tier.
    CaseEscalated {
        /// The tier number (1 = first).
        level: i64,
        /// The tier's name.
        tier: String,
        /// The team that took over, if any.
        team_id: Option<TeamId>,
        /// Why.
        trigger: crate::escalation::Trigger,
        /// The hand-off summary (also added as an internal note).
        summary: String,
        /// Whether supervisors and admins are told.
        #[serde(default = "yes")]
        notify_supervisors: bool,
    },
    /// A new identity arrived on a known case and is offered for linking.
    IdentityOffered {
        /// The offer.
        offer_id: uuid::Uuid,
        /// The identity.
        identity: Identity,
        /// The contact it came with.
        contact_id: ContactId,
    },
    /// An agent linked or declined an offered identity.
    IdentityOfferResolved {
        /// The offer.
        offer_id: uuid::Uuid,
        /// The identity.
        identity: Identity,
        /// Linked to the customer.
        accepted: bool,
    },
    /// A customer merge was undone.
    CustomerUnmerged {
        /// The customer that had been merged away.
        source: CustomerId,
        /// The customer it had been merged into.
        target: CustomerId,
        /// Identities that went back.
        identities: Vec<Identity>,
        /// Cases that went back.
        cases: Vec<CaseId>,
    },
    /// A routing rule was created or changed.
    RoutingRuleSaved {
        /// The rule as it is now.
        rule: Box<crate::routing::RoutingRule>,
    },
    /// A routing rule was deleted.
    RoutingRuleDeleted {
        /// Which.
        rule_id: crate::RuleId,
        /// Its name.
        name: String,
    },
    /// An admin setting changed (`matching`, `escalation`).
    SettingChanged {
        /// Which.
        key: String,
        /// Its new value.
        value: serde_json::Value,
    },
    /// A team's assignment settings changed.
    TeamAssignmentChanged {
        /// The team.
        team_id: TeamId,
        /// Its settings.
        assignment: crate::routing::TeamAssignment,
    },
    /// An agent became available or away.
    AvailabilityChanged {
        /// Who.
        agent_id: AgentId,
        /// Available now.
        available: bool,
    },
    /// An automatic mail (acknowledgement) was sent for a case.
    AutoReplySent {
        /// The outbound contact that records it.
        contact_id: ContactId,
    },
    /// A promise was made to the customer.
    PromiseMade {
        /// The promise as made.
        promise: Box<crate::promise::Promise>,
    },
    /// A promise was kept.
    PromiseKept {
        /// Which.
        promise_id: crate::PromiseId,
        /// By its due time.
        on_time: bool,
        /// What was done.
        note: String,
    },
    /// A promise was withdrawn.
    PromiseCancelled {
        /// Which.
        promise_id: crate::PromiseId,
        /// Why.
        reason: String,
    },
    /// A promise is due soon: its owner is reminded.
    PromiseDueSoon {
        /// Which.
        promise_id: crate::PromiseId,
        /// Who answers for it.
        owner_id: AgentId,
        /// What was promised.
        what: String,
        /// By when.
        due_at: Timestamp,
    },
    /// A promise went past its due time without being kept.
    PromiseOverdue {
        /// Which.
        promise_id: crate::PromiseId,
        /// Who answers for it.
        owner_id: AgentId,
        /// What was promised.
        what: String,
        /// By when.
        due_at: Timestamp,
    },
    /// An SLA target is close to running out (its warning share is used).
    SlaWarning {
        /// Which target.
        metric: crate::sla::SlaMetric,
        /// When it runs out.
        due_at: Timestamp,
    },
    /// An SLA target ran out before it was met.
    SlaBreached {
        /// Which target.
        metric: crate::sla::SlaMetric,
        /// When it ran out.
        due_at: Timestamp,
    },
}

impl EventKind {
    /// The stable type name (`case_opened`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::CustomerCreated { .. } => "customer_created",
            Self::CustomerUpdated { .. } => "customer_updated",
            Self::IdentityAdded { .. } => "identity_added",
            Self::CustomerMerged { .. } => "customer_merged",
            Self::CaseOpened { .. } => "case_opened",
            Self::FollowUpOpened { .. } => "follow_up_opened",
            Self::ContactAdded { .. } => "contact_added",
            Self::StatusChanged { .. } => "status_changed",
            Self::CaseReopened { .. } => "case_reopened",
            Self::PriorityChanged { .. } => "priority_changed",
            Self::TeamChanged { .. } => "team_changed",
            Self::AssigneeChanged { .. } => "assignee_changed",
            Self::TagsChanged { .. } => "tags_changed",
            Self::FieldsChanged { .. } => "fields_changed",
            Self::SubjectChanged { .. } => "subject_changed",
            Self::CaseCustomerChanged { .. } => "case_customer_changed",
            Self::OrganisationCreated { .. } => "organisation_created",
            Self::TeamCreated { .. } => "team_created",
            Self::AgentCreated { .. } => "agent_created",
            Self::AgentUpdated { .. } => "agent_updated",
            Self::TokenCreated { .. } => "token_created",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::MailboxCreated { .. } => "mailbox_created",
            Self::MailboxUpdated { .. } => "mailbox_updated",
            Self::MailSent { .. } => "mail_sent",
            Self::MailDeliveryFailed { .. } => "mail_delivery_failed",
            Self::AutoReplySent { .. } => "auto_reply_sent",
            Self::MacroCreated { .. } => "macro_created",
            Self::MacroUpdated { .. } => "macro_updated",
            Self::MacroApplied { .. } => "macro_applied",
            Self::TagDefined { .. } => "tag_defined",
            Self::TagRemoved { .. } => "tag_removed",
            Self::CaseMerged { .. } => "case_merged",
            Self::CaseUnmerged { .. } => "case_unmerged",
            Self::ContactSplit { .. } => "contact_split",
            Self::SplitUndone { .. } => "split_undone",
            Self::ConcernMatched { .. } => "concern_matched",
            Self::CaseRouted { .. } => "case_routed",
            Self::CaseAssigned { .. } => "case_assigned",
            Self::CaseEscalated { .. } => "case_escalated",
            Self::IdentityOffered { .. } => "identity_offered",
            Self::IdentityOfferResolved { .. } => "identity_offer_resolved",
            Self::CustomerUnmerged { .. } => "customer_unmerged",
            Self::RoutingRuleSaved { .. } => "routing_rule_saved",
            Self::RoutingRuleDeleted { .. } => "routing_rule_deleted",
            Self::SettingChanged { .. } => "setting_changed",
            Self::TeamAssignmentChanged { .. } => "team_assignment_changed",
            Self::AvailabilityChanged { .. } => "availability_changed",
            Self::PromiseMade { .. } => "promise_made",
            Self::PromiseKept { .. } => "promise_kept",
            Self::PromiseCancelled { .. } => "promise_cancelled",
            Self::PromiseDueSoon { .. } => "promise_due_soon",
            Self::PromiseOverdue { .. } => "promise_overdue",
            Self::SlaWarning { .. } => "sla_warning",
            Self::SlaBreached { .. } => "sla_breached",
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Global position in the log; gap-safe for followers.
    pub seq: i64,
    /// Its id.
    pub id: uuid::Uuid,
    /// When it happened.
    pub at: Timestamp,
    /// Who caused it.
    pub actor: Actor,
    /// The case it belongs to, if any.
    pub case_id: Option<CaseId>,
    /// The customer it concerns, if any.
    pub customer_id: Option<CustomerId>,
    /// What happened.
    pub kind: EventKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_match_the_serde_tag() {
        let kinds = [
            EventKind::StatusChanged {
                from: CaseStatus::New,
                to: CaseStatus::Open,
            },
            EventKind::CustomerCreated { name: None },
            EventKind::TagsChanged {
                added: vec![],
                removed: vec![],
            },
        ];
        for k in kinds {
            let v = serde_json::to_value(&k).unwrap();
            assert_eq!(v["type"], k.type_name());
        }
    }
}
