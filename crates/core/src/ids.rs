//! Typed identifiers. UUIDv7 so that ids sort by creation time; never mixed up across kinds.

use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::ParseError::new(stringify!($name), format!("'{s}' is not a valid id")))
            }
        }
    };
}

id_type!(
    /// Identifies a [`crate::Customer`].
    CustomerId
);
id_type!(
    /// Identifies an [`crate::Organisation`].
    OrganisationId
);
id_type!(
    /// Identifies a [`crate::Case`].
    CaseId
);
id_type!(
    /// Identifies a [`crate::Contact`].
    ContactId
);
id_type!(
    /// Identifies an [`crate::Agent`].
    AgentId
);
id_type!(
    /// Identifies a [`crate::Team`].
    TeamId
);
id_type!(
    /// Identifies a [`crate::Mailbox`].
    MailboxId
);
id_type!(
    /// Identifies a [`crate::Macro`].
    MacroId
);
id_type!(
    /// Identifies a [`crate::routing::RoutingRule`].
    RuleId
);
id_type!(
    /// Identifies a [`crate::promise::Promise`].
    PromiseId
);
