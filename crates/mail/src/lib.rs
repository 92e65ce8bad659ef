//! The mail channel: raw MIME becomes an inbound contact (parsed, sanitised, its new part found,
//! the raw bytes kept), finds its case by the threading rules, and is stored once; replies and
//! automatic mails leave through the job outbox over SMTP.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::indexing_slicing
)]

pub mod fuzz;
pub mod html;
pub mod imap;
pub mod intake;
pub mod outbound;
pub mod parse;
pub mod quote;
pub mod smtp;
pub mod token;
