//! The two SQL backends. Their shared code is `common.rs`, included into each.
pub mod postgres;
pub mod sqlite;
