//! IMAP polling: for every active mailbox with an IMAP account, fetch new mail by UID (so
//! nothing is read twice across restarts: the last stored UID and UIDVALIDITY are kept in the
//! store), hand each message to the intake path, and only after it is committed flag it `\Seen`
//! or move it. Waits with IDLE where the server offers it, else polls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::mail::{AfterFetch, ImapAccount, ImapSecurity};
use anliegen_core::{Mailbox, MailboxId};
use futures::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::intake::{Envelope, Intake};

/// Settings of the poller.
#[derive(Clone)]
pub struct ImapConfig {
    /// IMAP passwords by mailbox address (from the configuration, never the database).
    pub passwords: HashMap<String, String>,
    /// Poll interval where IDLE is not offered (and the longest IDLE wait).
    pub poll: Duration,
    /// How often the list of mailboxes is read again.
    pub rescan: Duration,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("mailboxes", &self.passwords.keys().collect::<Vec<_>>())
            .field("poll", &self.poll)
            .finish()
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        Self {
            passwords: HashMap::new(),
            poll: Duration::from_secs(60),
            rescan: Duration::from_secs(30),
        }
    }
}

/// Runs one poller per mailbox with an IMAP account until `shutdown`.
pub async fn run(intake: Intake, config: ImapConfig, mut shutdown: watch::Receiver<bool>) {
    let config = Arc::new(config);
    let mut running: HashMap<MailboxId, (ImapAccount, tokio::task::JoinHandle<()>)> =
        HashMap::new();
    loop {
        match intake.store().mailboxes().await {
            Ok(list) => {
                let wanted: HashMap<MailboxId, Mailbox> = list
                    .into_iter()
                    .filter(|m| m.active && m.imap.is_some())
                    .map(|m| (m.id, m))
                    .collect();
                running.retain(|id, (account, task)| {
                    let keep = wanted.get(id).and_then(|m| m.imap.as_ref()) == Some(account)
                        && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, m) in wanted {
                    if running.contains_key(&id) {
                        continue;
                    }
                    let Some(account) = m.imap.clone() else {
                        continue;
                    };
                    let task = tokio::spawn(poll_mailbox(
                        intake.clone(),
                        m,
                        Arc::clone(&config),
                        shutdown.clone(),
                    ));
                    running.insert(id, (account, task));
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the mailboxes for IMAP failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.rescan) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    for (_, (_, task)) in running {
        task.await.ok();
    }
}

async fn poll_mailbox(
    intake: Intake,
    mailbox: Mailbox,
    config: Arc<ImapConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(2);
    while !*shutdown.borrow() {
        match session_loop(&intake, &mailbox, &config, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(mailbox = %mailbox.address, error = %e, "IMAP polling failed; trying again");
                metrics::counter!("anliegen_imap_errors_total").increment(1);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

/// A connected stream of either kind.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

async fn connect(account: &ImapAccount) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::net::TcpStream::connect((account.host.as_str(), account.port)),
    )
    .await
    .map_err(|_| "connecting timed out".to_owned())?
    .map_err(|e| format!("connecting: {e}"))?;
    match account.security {
        ImapSecurity::None => Ok(Box::new(tcp)),
        ImapSecurity::Tls => Ok(Box::new(tls(tcp, &account.host).await?)),
        ImapSecurity::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await.map_err(|e| e.to_string())?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| format!("STARTTLS: {e}"))?;
            let tcp = client.into_inner();
            Ok(Box::new(tls(tcp, &account.host).await?))
        }
    }
}

async fn tls(
    tcp: tokio::net::TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))
}

/// One connection: log in, take what is new, wait (IDLE or sleep), repeat. `Ok` on shutdown.
async fn session_loop(
    intake: &Intake,
    mailbox: &Mailbox,
    config: &ImapConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let account = mailbox.imap.as_ref().ok_or("no IMAP account")?;
    let password = config
        .passwords
        .get(&mailbox.address.normalised())
        .ok_or_else(|| format!("no IMAP password configured for {}", mailbox.address))?;
    let stream = connect(account).await?;
    let mut client = async_imap::Client::new(stream);
    if account.security != ImapSecurity::Starttls {
        client.read_response().await.map_err(|e| e.to_string())?;
    }
    let mut session = client
        .login(&account.username, password)
        .await
        .map_err(|(e, _)| format!("login: {e}"))?;
    let idle = session
        .capabilities()
        .await
        .map_err(|e| e.to_string())?
        .has_str("IDLE");
    loop {
        let selected = session
            .select(&account.folder)
            .await
            .map_err(|e| format!("SELECT {}: {e}", account.folder))?;
        let validity = i64::from(selected.uid_validity.unwrap_or(0));
        let last = match intake
            .store()
            .imap_position(mailbox.id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((v, uid)) if v == validity => uid,
            // A new UIDVALIDITY renumbers everything: read all again; the intake key keeps
            // what was stored before from being stored twice.
            _ => 0,
        };
        let fetched: Vec<(u32, Vec<u8>)> = {
            let mut stream = session
                .uid_fetch(format!("{}:*", last + 1), "(UID BODY.PEEK[])")
                .await
                .map_err(|e| format!("FETCH: {e}"))?;
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                let f = item.map_err(|e| format!("FETCH: {e}"))?;
                if let (Some(uid), Some(body)) = (f.uid, f.body())
                    && i64::from(uid) > last
                {
                    out.push((uid, body.to_vec()));
                }
            }
            out
        };
        let mut fetched = fetched;
        fetched.sort_by_key(|(uid, _)| *uid);
        for (uid, raw) in fetched {
            let envelope = Envelope {
                mail_from: None,
                recipients: vec![mailbox.address.to_string()],
            };
            match intake.deliver(raw, &envelope).await {
                Ok(_) | Err(crate::intake::IntakeError::Empty) => {}
                Err(e) => return Err(format!("storing UID {uid}: {e}")),
            }
            // Committed: now the server may forget it.
            match &account.after_fetch {
                AfterFetch::Flag => {
                    let s = session
                        .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                        .await
                        .map_err(|e| format!("STORE: {e}"))?;
                    s.collect::<Vec<_>>().await;
                }
                AfterFetch::Move { folder } => {
                    session
                        .uid_mv(uid.to_string(), folder)
                        .await
                        .map_err(|e| format!("MOVE to {folder}: {e}"))?;
                }
            }
            intake
                .store()
                .set_imap_position(mailbox.id, validity, i64::from(uid), intake.store().now())
                .await
                .map_err(|e| e.to_string())?;
            metrics::counter!("anliegen_imap_fetched_total").increment(1);
        }
        if *shutdown.borrow() {
            session.logout().await.ok();
            return Ok(());
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await.map_err(|e| format!("IDLE: {e}"))?;
            let (wait, stop) =
                handle.wait_with_timeout(config.poll.min(Duration::from_secs(25 * 60)));
            let mut sd = shutdown.clone();
            let stopper = tokio::spawn(async move {
                sd.changed().await.ok();
                drop(stop);
            });
            wait.await.map_err(|e| format!("IDLE: {e}"))?;
            stopper.abort();
            session = handle.done().await.map_err(|e| format!("DONE: {e}"))?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(config.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        if *shutdown.borrow() {
            session.logout().await.ok();
            return Ok(());
        }
    }
}
