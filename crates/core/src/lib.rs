//! Anliegen's pure domain: the words of DESIGN.md as types and the rules between them.
//! This crate never does IO, never awaits and never depends on sqlx, axum or the network.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::indexing_slicing
)]

pub mod agent;
pub mod automation;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod concern;
pub mod contact;
pub mod customer;
pub mod email;
pub mod escalation;
pub mod event;
pub mod holiday;
pub mod ids;
pub mod language;
pub mod macros;
pub mod mail;
pub mod money;
pub mod phone;
pub mod promise;
pub mod resolve;
pub mod routing;
pub mod search;
pub mod sla;
pub mod team;
pub mod text;

pub use agent::{Agent, Role};
pub use case::{Case, CaseRef, CaseStatus, CustomerContactEffect, FieldKey, Priority, Tag};
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use contact::{
    AttachmentRef, Author, Call, Channel, Contact, Direction, SanitisedHtml, Visibility,
};
pub use customer::{Customer, Identity, IdentityKind, Organisation, Tier};
pub use email::EmailAddress;
pub use event::{Actor, Event, EventKind};
pub use ids::{
    AgentId, CaseId, ContactId, CustomerId, MacroId, MailboxId, OrganisationId, PromiseId, RuleId,
    TeamId,
};
pub use language::{Language, TimeZoneName};
pub use macros::{Macro, MacroActions};
pub use mail::{AuthVerdict, Delivery, MailDetails, MailFlag, Mailbox, ThreadMatch};
pub use money::{Currency, Money};
pub use phone::PhoneNumber;
pub use team::Team;

/// A value from outside did not parse. The message is for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What kind of value failed ("email address", "case reference", …).
    pub what: &'static str,
    /// A human-readable reason.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, message: impl Into<String>) -> Self {
        Self {
            what,
            message: message.into(),
        }
    }
}
