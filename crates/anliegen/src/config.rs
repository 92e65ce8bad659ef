//! Settings: defaults, then an optional TOML file, then `ANLIEGEN_*` environment variables,
//! then command-line flags. Secrets (the database URL may hold a password) are never logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `anliegen serve` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory of the embedded store.
    pub data_dir: PathBuf,
    /// PostgreSQL URL; when set, the store is PostgreSQL instead of the embedded one.
    pub database_url: Option<String>,
    /// Group-commit writers (connections) on PostgreSQL.
    pub pg_writers: u32,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Jobs run at once per node.
    pub job_concurrency: usize,
    /// Whether this node keeps the search index up to date (default on). With PostgreSQL,
    /// nodes that only serve requests may leave it to others.
    pub search_index: bool,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// The address agents reach Anliegen at (links in notification mails); default
    /// `http://` + `listen`.
    pub public_url: Option<String>,
    /// Workspace cookies only over HTTPS (`Secure`); set it when users reach Anliegen over TLS.
    /// Behind a proxy that sends `X-Forwarded-Proto: https` cookies get `Secure` anyway.
    pub secure_cookies: bool,
    /// Address of the built-in SMTP listener (off when unset).
    pub smtp_listen: Option<SocketAddr>,
    /// Speak LMTP instead of SMTP (behind Postfix).
    pub smtp_lmtp: bool,
    /// Name in the SMTP greeting and in our EHLO.
    pub smtp_hostname: String,
    /// Largest message accepted, in bytes.
    pub smtp_max_message: usize,
    /// PEM certificate chain for STARTTLS on the listener.
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS.
    pub smtp_tls_key: Option<PathBuf>,
    /// Messages per envelope sender and 10 minutes before the listener answers 451 (loops).
    pub smtp_sender_limit: usize,
    /// authserv-ids whose `Authentication-Results` headers we trust (our own MTA).
    pub mail_trusted_authserv_ids: Vec<String>,
    /// Secret for signed reply-to and bounce addresses; generated and kept in the store when
    /// unset.
    pub mail_token_secret: Option<String>,
    /// Acknowledge new cases from mail automatically.
    pub mail_acknowledge: bool,
    /// The default outbound relay: host (no relay: outbound mail waits in the outbox).
    pub relay_host: Option<String>,
    /// Its port.
    pub relay_port: u16,
    /// `starttls`, `tls` or `none`.
    pub relay_security: String,
    /// Its login.
    pub relay_username: Option<String>,
    /// Its password.
    pub relay_password: Option<String>,
    /// More outbound routes by name (TOML `[mail_routes.NAME]`), for mailboxes whose
    /// `outbound_route` names them.
    pub mail_routes: std::collections::BTreeMap<String, anliegen_mail::outbound::Relay>,
    /// IMAP passwords by mailbox address (TOML `[mail_imap_passwords]`).
    pub mail_imap_passwords: std::collections::BTreeMap<String, String>,
    /// Seconds between IMAP polls where IDLE is not offered (and the longest IDLE wait).
    pub mail_imap_poll_seconds: u64,
    /// DKIM selector for signing outbound mail (with `mail_dkim_key`), when sending directly.
    pub mail_dkim_selector: Option<String>,
    /// PKCS#1 PEM RSA private key for DKIM.
    pub mail_dkim_key: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./anliegen-data"),
            database_url: None,
            pg_writers: 1,
            body_limit: 40 * 1024 * 1024,
            job_concurrency: 4,
            search_index: true,
            log_format: "text".into(),
            secure_cookies: false,
            public_url: None,
            smtp_listen: None,
            smtp_lmtp: false,
            smtp_hostname: "anliegen.local".into(),
            smtp_max_message: 35 * 1024 * 1024,
            smtp_tls_cert: None,
            smtp_tls_key: None,
            smtp_sender_limit: 120,
            mail_trusted_authserv_ids: Vec::new(),
            mail_token_secret: None,
            mail_acknowledge: true,
            relay_host: None,
            relay_port: 25,
            relay_security: "starttls".into(),
            relay_username: None,
            relay_password: None,
            mail_routes: Default::default(),
            mail_imap_passwords: Default::default(),
            mail_imap_poll_seconds: 60,
            mail_dkim_selector: None,
            mail_dkim_key: None,
        }
    }
}

/// Flags given on the command line (only those set override).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_listen: Option<SocketAddr>,
}

impl Settings {
    /// The mail settings for the admin pages: what is configured, never a secret's value.
    pub fn mail_summary(&self) -> Vec<(String, String)> {
        let set = |v: bool| if v { "gesetzt / set" } else { "–" }.to_owned();
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
        vec![
            (
                "smtp_listen".into(),
                or_dash(self.smtp_listen.map(|a| a.to_string())),
            ),
            ("smtp_lmtp".into(), self.smtp_lmtp.to_string()),
            ("smtp_hostname".into(), self.smtp_hostname.clone()),
            (
                "smtp_max_message".into(),
                format!("{} MB", self.smtp_max_message / (1024 * 1024)),
            ),
            (
                "smtp_tls".into(),
                set(self.smtp_tls_cert.is_some() && self.smtp_tls_key.is_some()),
            ),
            (
                "relay_host".into(),
                or_dash(
                    self.relay_host
                        .clone()
                        .map(|h| format!("{h}:{}", self.relay_port)),
                ),
            ),
            ("relay_security".into(), self.relay_security.clone()),
            (
                "relay_username".into(),
                or_dash(self.relay_username.clone()),
            ),
            ("relay_password".into(), set(self.relay_password.is_some())),
            (
                "mail_routes".into(),
                or_dash(
                    Some(
                        self.mail_routes
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                    .filter(|s| !s.is_empty()),
                ),
            ),
            (
                "mail_imap_passwords".into(),
                or_dash(
                    Some(
                        self.mail_imap_passwords
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                    .filter(|s| !s.is_empty()),
                ),
            ),
            (
                "mail_imap_poll_seconds".into(),
                self.mail_imap_poll_seconds.to_string(),
            ),
            (
                "mail_dkim_selector".into(),
                or_dash(self.mail_dkim_selector.clone()),
            ),
            ("mail_acknowledge".into(), self.mail_acknowledge.to_string()),
        ]
    }

    /// Loads settings from all sources; `file` is the TOML file, if any.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = file {
            fig = fig.merge(Toml::file_exact(f));
        }
        // Only the settings' own keys: other ANLIEGEN_* variables (ANLIEGEN_LOG, test and tool
        // settings) are not ours to refuse.
        fig = fig.merge(Env::prefixed("ANLIEGEN_").only(&[
            "listen",
            "data_dir",
            "database_url",
            "pg_writers",
            "body_limit",
            "job_concurrency",
            "search_index",
            "log_format",
            "secure_cookies",
            "public_url",
            "smtp_listen",
            "smtp_lmtp",
            "smtp_hostname",
            "smtp_max_message",
            "smtp_tls_cert",
            "smtp_tls_key",
            "smtp_sender_limit",
            "mail_token_secret",
            "mail_acknowledge",
            "relay_host",
            "relay_port",
            "relay_security",
            "relay_username",
            "relay_password",
            "mail_imap_poll_seconds",
            "mail_dkim_selector",
            "mail_dkim_key",
        ]));
        fig = fig.merge(Serialized::defaults(overrides));
        let mut s: Settings = fig.extract().map_err(Box::new)?;
        if s.database_url
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            s.database_url = None;
        }
        Ok(s)
    }

    /// The store these settings name.
    pub fn store_config(&self) -> anliegen_store::StoreConfig {
        match &self.database_url {
            Some(url) => anliegen_store::StoreConfig::Postgres {
                url: url.clone(),
                writers: self.pg_writers,
            },
            None => anliegen_store::StoreConfig::Sqlite {
                data_dir: self.data_dir.clone(),
            },
        }
    }

    /// Where the data is, for messages (never the database password).
    /// Outbound routes: `default` from the `relay_*` settings, plus `mail_routes`.
    pub fn relays(
        &self,
    ) -> anyhow::Result<std::collections::HashMap<String, anliegen_mail::outbound::Relay>> {
        use anliegen_mail::outbound::{Relay, RelaySecurity};
        let mut out: std::collections::HashMap<String, Relay> =
            self.mail_routes.clone().into_iter().collect();
        if let Some(host) = &self.relay_host {
            let security = match self.relay_security.as_str() {
                "starttls" => RelaySecurity::Starttls,
                "tls" => RelaySecurity::Tls,
                "none" => RelaySecurity::None,
                other => anyhow::bail!("relay_security '{other}' is not starttls, tls or none"),
            };
            out.insert(
                "default".into(),
                Relay {
                    host: host.clone(),
                    port: self.relay_port,
                    security,
                    username: self.relay_username.clone(),
                    password: self.relay_password.clone(),
                },
            );
        }
        Ok(out)
    }

    pub fn store_description(&self) -> String {
        match &self.database_url {
            Some(url) => {
                let redacted = match (url.find("://"), url.rfind('@')) {
                    (Some(s), Some(at)) if at > s => format!(
                        "{}://…@{}",
                        url.get(..s).unwrap_or("postgres"),
                        url.get(at + 1..).unwrap_or("")
                    ),
                    _ => url.clone(),
                };
                format!("PostgreSQL at {redacted}")
            }
            None => format!("embedded store in {}", self.data_dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9000\"\nbody_limit = 1000\n").unwrap();
        let s = Settings::load(Some(&f), &Overrides::default()).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.body_limit, 1000);
        let o = Overrides {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let s = Settings::load(Some(&f), &o).unwrap();
        assert_eq!(s.listen.port(), 9100);
        unsafe { std::env::set_var("ANLIEGEN_TEST_SOMETHING_ELSE", "1") };
        assert!(
            Settings::load(Some(&f), &Overrides::default()).is_ok(),
            "foreign ANLIEGEN_* variables are ignored"
        );
        std::fs::write(&f, "lisen = 1\n").unwrap();
        assert!(
            Settings::load(Some(&f), &Overrides::default()).is_err(),
            "unknown keys are errors"
        );
        let s = Settings {
            database_url: Some("postgres://u:secret@db/x".into()),
            ..Settings::default()
        };
        assert!(!s.store_description().contains("secret"));
    }
}
