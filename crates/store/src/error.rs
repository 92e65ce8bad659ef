//! The store's error type: what went wrong, in words the web layer can map to a status.

use crate::model::StoredResponse;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (`what` names it: "case", "customer", …).
    #[error("{what} {id} was not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// The id or reference asked for.
        id: String,
    },
    /// The request is well-formed but contradicts what is stored (an identity that belongs to
    /// someone else, a name that is taken).
    #[error("{message}")]
    Conflict {
        /// The field it is about, if one.
        field: Option<String>,
        /// For the user.
        message: String,
    },
    /// A domain rule refused the change (an illegal status transition, a bad value).
    #[error("{message}")]
    Invalid {
        /// The field it is about.
        field: String,
        /// For the user.
        message: String,
    },
    /// The idempotency key was used before; here is what was answered then.
    #[error("idempotency key already used")]
    Replay(StoredResponse),
    /// The store is shutting down or the writer is gone.
    #[error("the store is not available: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (a bug or a damaged database).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The blob storage failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A not-found error.
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// Whether this is a domain outcome (the request's fault), not an infrastructure failure.
    /// The writer uses it to tell a bad command from a broken batch.
    pub fn is_domain(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. } | Self::Conflict { .. } | Self::Invalid { .. } | Self::Replay(_)
        )
    }
}

impl From<anliegen_core::ParseError> for StoreError {
    fn from(e: anliegen_core::ParseError) -> Self {
        Self::Invalid {
            field: e.what.to_owned(),
            message: e.message,
        }
    }
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
