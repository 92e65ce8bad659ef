//! Wiring of the mail channel: the token secret, the intake path, the outbound handlers and
//! `anliegen import mail`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anliegen_core::Actor;
use anliegen_mail::intake::{Envelope, Intake, IntakeConfig, IntakeError, Outcome};
use anliegen_mail::outbound::{AckHandler, Outbound, SendHandler};
use anliegen_mail::parse::ParseOptions;
use anliegen_mail::token::Tokens;
use anliegen_store::jobs::JobRunner;
use anliegen_store::{Command, Store};
use futures::StreamExt as _;
use rand::RngCore as _;

use crate::Settings;

const SECRET_KEY: &str = "mail_token_secret";

/// The address-token secret: configured, or generated once and kept in the store (so every node
/// of a PostgreSQL installation signs alike).
pub async fn tokens(store: &Store, settings: &Settings) -> anyhow::Result<Tokens> {
    if let Some(s) = settings
        .mail_token_secret
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        return Ok(Tokens::new(s.as_bytes().to_vec()));
    }
    if let Some(s) = store.meta(SECRET_KEY).await? {
        return Ok(Tokens::new(
            hex::decode(s.trim()).unwrap_or_else(|_| s.into_bytes()),
        ));
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    store
        .exec(
            Actor::System,
            Command::SetMeta {
                key: SECRET_KEY.into(),
                value: hex::encode(secret),
            },
        )
        .await?;
    // Another node may have written its own at the same moment: use what is stored.
    let stored = store
        .meta(SECRET_KEY)
        .await?
        .unwrap_or_else(|| hex::encode(secret));
    Ok(Tokens::new(
        hex::decode(stored.trim()).unwrap_or_else(|_| secret.to_vec()),
    ))
}

/// The intake path with the settings' trust and acknowledgement rules.
pub fn intake(store: &Store, settings: &Settings, tokens: Tokens) -> Intake {
    Intake::new(
        store.clone(),
        tokens,
        IntakeConfig {
            parse: ParseOptions {
                trusted_authserv_ids: settings.mail_trusted_authserv_ids.clone(),
            },
            acknowledge: settings.mail_acknowledge,
        },
    )
}

/// Registers the outbound mail handlers.
pub fn register(
    runner: JobRunner,
    settings: &Settings,
    tokens: Tokens,
) -> anyhow::Result<JobRunner> {
    let mut outbound = Outbound::new(tokens, &settings.relays()?, &settings.smtp_hostname)
        .map_err(|e| anyhow::anyhow!(e))?;
    match (&settings.mail_dkim_selector, &settings.mail_dkim_key) {
        (Some(selector), Some(key)) => {
            let pem = std::fs::read_to_string(key)
                .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", key.display()))?;
            lettre::message::dkim::DkimSigningKey::new(
                &pem,
                lettre::message::dkim::DkimSigningAlgorithm::Rsa,
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "DKIM key {}: {e} (a PKCS#1 PEM RSA key is expected)",
                    key.display()
                )
            })?;
            outbound.dkim = Some(Arc::new((selector.clone(), pem)));
        }
        (None, None) => {}
        _ => anyhow::bail!("mail_dkim_selector and mail_dkim_key go together"),
    }
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    Ok(runner
        .handle(
            anliegen_store::projection::Notifications::MAIL_JOB,
            Arc::new(NotifyHandler {
                outbound: outbound.clone(),
                public_url,
                hostname: settings.smtp_hostname.clone(),
            }),
        )
        .handle(
            anliegen_mail::outbound::SEND_JOB,
            Arc::new(SendHandler(outbound.clone())),
        )
        .handle(
            anliegen_mail::intake::ACK_JOB,
            Arc::new(AckHandler(outbound)),
        ))
}

/// Sends an agent's notification mail (job `notify.mail`), in the agent's language, from the
/// first active mailbox (or `anliegen@` the SMTP host name).
struct NotifyHandler {
    outbound: Outbound,
    public_url: String,
    hostname: String,
}

#[async_trait::async_trait]
impl anliegen_store::jobs::JobHandler for NotifyHandler {
    async fn run(
        &self,
        store: &anliegen_store::Store,
        job: &anliegen_store::Job,
    ) -> Result<(), String> {
        let id = job.payload["notification"]
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or("the job names no notification")?;
        let Some(n) = store.notification(id).await.map_err(|e| e.to_string())? else {
            return Ok(()); // rebuilt away meanwhile
        };
        let Some(agent) = store.agent(n.agent_id).await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        if !agent.active {
            return Ok(());
        }
        let case = match n.case_id {
            Some(c) => store.case(c).await.map_err(|e| e.to_string())?,
            None => None,
        };
        let (subject, body) = anliegen_web::ui::notify::mail_text(
            agent.ui_language.code(),
            &n,
            case.as_ref(),
            &self.public_url,
        );
        let from = store
            .mailboxes()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|m| m.active)
            .map(|m| format!("Anliegen <{}>", m.address))
            .unwrap_or_else(|| format!("Anliegen <anliegen@{}>", self.hostname));
        self.outbound
            // The same notification sent again (a retry after a lost lease) keeps its
            // Message-ID, so mail clients show it once.
            .send_notice(
                &from,
                agent.email.as_str(),
                &subject,
                &body,
                &format!("<notice.{}@{}>", n.id, self.hostname),
            )
            .await
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Messages found.
    pub messages: u64,
    /// Stored as new contacts.
    pub stored: u64,
    /// Of those, opened a case.
    pub new_cases: u64,
    /// Of those, could not be read (stored raw and flagged).
    pub unreadable: u64,
    /// Stored before (same intake key).
    pub duplicates: u64,
    /// Not stored: empty files, or failures (with their reasons).
    pub failed: Vec<String>,
    /// Raw bytes imported.
    pub bytes: u64,
}

/// One message found in the paths.
struct Found {
    origin: String,
    raw: Vec<u8>,
}

/// Splits an mbox file (mboxrd and mboxo): messages start at `From ` lines after a blank line
/// (or at the start); `>From ` quoting is undone.
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    MboxReader::new(data).filter_map(Result::ok).collect()
}

/// Reads an mbox file message by message, so a file of gigabytes is never held at once.
pub struct MboxReader<R> {
    r: R,
    pending: Option<Vec<u8>>,
    prev_blank: bool,
    done: bool,
}

impl<R: std::io::BufRead> MboxReader<R> {
    /// Over `r`, which starts with a `From ` line.
    pub fn new(r: R) -> Self {
        Self {
            r,
            pending: None,
            prev_blank: true,
            done: false,
        }
    }
}

impl<R: std::io::BufRead> Iterator for MboxReader<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        loop {
            line.clear();
            match self.r.read_until(b'\n', &mut line) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(0) => {
                    self.done = true;
                    return self.pending.take().map(|m| Ok(trim_separator(m)));
                }
                Ok(_) => {}
            }
            if self.prev_blank && line.starts_with(b"From ") {
                self.prev_blank = false;
                if let Some(m) = self.pending.replace(Vec::new()) {
                    return Some(Ok(trim_separator(m)));
                }
                continue;
            }
            let body = self.pending.get_or_insert_with(Vec::new);
            let depth = line.iter().take_while(|b| **b == b'>').count();
            if depth > 0 && line.get(depth..).is_some_and(|r| r.starts_with(b"From ")) {
                body.extend_from_slice(line.get(1..).unwrap_or_default());
            } else {
                body.extend_from_slice(&line);
            }
            self.prev_blank = line == b"\n" || line == b"\r\n";
        }
    }
}

/// The blank line before each `From ` belongs to the separator.
fn trim_separator(mut m: Vec<u8>) -> Vec<u8> {
    if m.ends_with(b"\r\n\r\n") {
        m.truncate(m.len() - 2);
    } else if m.ends_with(b"\n\n") {
        m.truncate(m.len() - 1);
    }
    m
}

fn is_mbox(path: &Path) -> bool {
    let mut head = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"From "
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            collect(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Imports `.eml` files, directories (recursively) and mbox files through the intake path;
/// up to `parallel` messages are in flight, so the writer commits them in groups.
pub async fn import(
    intake: &Intake,
    paths: &[PathBuf],
    parallel: usize,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    let bar = if progress {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos} Nachrichten · {per_sec} · {elapsed_precise} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = Instant::now();
    // Messages are read lazily, file by file, so an mbox of gigabytes is not held at once.
    let messages = futures::stream::iter(files).flat_map(|f| {
        let found: Box<dyn Iterator<Item = Found> + Send> = if is_mbox(&f) {
            match std::fs::File::open(&f) {
                Ok(file) => {
                    let origin = f.display().to_string();
                    Box::new(
                        MboxReader::new(std::io::BufReader::with_capacity(1 << 20, file))
                            .enumerate()
                            .map(move |(i, m)| match m {
                                Ok(raw) => Found {
                                    origin: format!("{origin}#{}", i + 1),
                                    raw,
                                },
                                Err(e) => Found {
                                    origin: format!("{origin}#{}: {e}", i + 1),
                                    raw: Vec::new(),
                                },
                            }),
                    )
                }
                Err(e) => Box::new(std::iter::once(Found {
                    origin: format!("{}: {e}", f.display()),
                    raw: Vec::new(),
                })),
            }
        } else {
            Box::new(std::iter::once(match std::fs::read(&f) {
                Ok(data) => Found {
                    origin: f.display().to_string(),
                    raw: data,
                },
                Err(e) => Found {
                    origin: format!("{}: {e}", f.display()),
                    raw: Vec::new(),
                },
            }))
        };
        futures::stream::iter(found)
    });
    let mut results = messages
        .map(|m| {
            let intake = intake.clone();
            async move {
                let size = m.raw.len() as u64;
                let r = intake.deliver(m.raw, &Envelope::default()).await;
                (m.origin, size, r)
            }
        })
        .buffer_unordered(parallel.max(1));
    let mut s = ImportSummary::default();
    while let Some((origin, size, r)) = results.next().await {
        s.messages += 1;
        match r {
            Ok(Outcome::Stored {
                new_case,
                unreadable,
                ..
            }) => {
                s.stored += 1;
                s.bytes += size;
                s.new_cases += u64::from(new_case);
                s.unreadable += u64::from(unreadable);
            }
            Ok(Outcome::Duplicate { .. }) => s.duplicates += 1,
            Err(IntakeError::Empty) => s.failed.push(format!("{origin}: leer")),
            Err(e) => s.failed.push(format!("{origin}: {e}")),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    tracing::info!(
        messages = s.messages,
        stored = s.stored,
        seconds = started.elapsed().as_secs_f64(),
        "mail import finished"
    );
    Ok(s)
}

/// Sends `raw` through the intake path as if it came by SMTP to `recipient` (tests, tools).
pub async fn deliver(
    intake: &Intake,
    raw: Vec<u8>,
    recipient: &str,
) -> Result<Outcome, IntakeError> {
    intake
        .deliver(
            raw,
            &Envelope {
                mail_from: None,
                recipients: vec![recipient.to_owned()],
            },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_splits_and_unquotes() {
        let mbox = b"From a@b Sat Jan  1 00:00:00 2026\nSubject: 1\n\n>From here\nx\n\nFrom c@d Sat Jan  1 00:00:00 2026\nSubject: 2\n\ny\n";
        let m = split_mbox(mbox);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], b"Subject: 1\n\nFrom here\nx\n");
        assert_eq!(m[1], b"Subject: 2\n\ny\n");
    }
}
