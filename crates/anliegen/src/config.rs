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
    /// Log format: `text` or `json`.
    pub log_format: String,
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
            log_format: "text".into(),
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
}

impl Settings {
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
            "log_format",
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
