//! The built-in SMTP/LMTP listener. ESMTP with SIZE, PIPELINING, 8BITMIME, SMTPUTF8 and
//! ENHANCEDSTATUSCODES; accepts mail only for our mailboxes (others `550 5.1.1`); enforces the
//! size limit while receiving (`552 5.3.4`), spooling large messages to disk; answers `250` only
//! after the contact is committed. Connection limit, timeouts and graceful shutdown. In LMTP
//! mode (behind Postfix) it greets `LHLO` and answers once per recipient after the data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::intake::{Envelope, Intake, IntakeError, Outcome};

/// Settings of the listener.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Name in the greeting.
    pub hostname: String,
    /// LMTP instead of SMTP.
    pub lmtp: bool,
    /// Largest message accepted, in bytes (default 35 MB).
    pub max_message: usize,
    /// Concurrent connections.
    pub max_connections: usize,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Idle time allowed between commands and while receiving data.
    pub timeout: Duration,
    /// Bytes kept in memory while receiving; beyond this the message is spooled to disk.
    pub spool_threshold: usize,
    /// Certificate and key for STARTTLS (none: STARTTLS is not offered).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Messages one envelope sender may send per `sender_window` (mail loops); beyond that the
    /// sender is told to try again later (`451 4.7.1`), so nothing is lost.
    pub sender_limit: usize,
    /// Window of the per-sender limit.
    pub sender_window: Duration,
}

/// Loads a PEM certificate chain and private key for STARTTLS.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<tokio_rustls::rustls::ServerConfig>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// Counts messages per envelope sender within a window.
#[derive(Default)]
struct SenderLimits {
    seen: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, usize)>>,
}

impl SenderLimits {
    /// Whether `sender` may send one more message now.
    fn allow(&self, sender: &str, limit: usize, window: Duration) -> bool {
        if limit == 0 || sender.is_empty() {
            return true;
        }
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(sender.to_lowercase()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            hostname: "anliegen.local".into(),
            lmtp: false,
            max_message: 35 * 1024 * 1024,
            max_connections: 256,
            max_recipients: 100,
            timeout: Duration::from_secs(300),
            spool_threshold: 1024 * 1024,
            tls: None,
            sender_limit: 120,
            sender_window: Duration::from_secs(600),
        }
    }
}

/// Longest command line (RFC 5321 allows 512; extensions make it longer).
const MAX_COMMAND: usize = 4096;

/// Serves `listener` until `shutdown` turns true; then stops accepting, tells idle sessions
/// `421` and waits for sessions in the middle of a message to finish it.
pub async fn serve(
    listener: TcpListener,
    intake: Intake,
    config: SmtpConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = Arc::new(config);
    let limits = Arc::new(SenderLimits::default());
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let intake = intake.clone();
                let config = Arc::clone(&config);
                                let stop = shutdown.clone();
                let limits = Arc::clone(&limits);
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        sessions.spawn(async move {
                            let _permit = permit;
                            stream.set_nodelay(true).ok();
                            let ctx = Ctx { peer, intake, config, stop, limits };
                            if let Err(e) = session(Box::new(stream), &ctx, false).await {
                                tracing::debug!(%peer, error = %e, "SMTP session ended");
                            }
                        });
                    }
                    Err(_) => {
                        sessions.spawn(async move {
                            let mut s = stream;
                            s.write_all(b"421 4.3.2 Too many connections, try again later\r\n").await.ok();
                        });
                    }
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    // Sessions see the flag themselves; give those inside a message time to finish it.
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = sessions.join_next() => if next.is_none() { break },
            _ = &mut deadline => { sessions.abort_all(); break; }
        }
    }
}

/// Reads one line of at most `limit` bytes into `buf` (without storing the rest of a longer
/// line, which is still consumed). Returns bytes read (0 at end of stream) and whether the line
/// was cut.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<(usize, bool)> {
    buf.clear();
    let mut total = 0;
    let mut cut = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok((total, cut));
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (available.get(..=i).unwrap_or(available), true),
            None => (available, false),
        };
        let n = chunk.len();
        let room = limit.saturating_sub(buf.len());
        if room >= n {
            buf.extend_from_slice(chunk);
        } else {
            buf.extend_from_slice(chunk.get(..room).unwrap_or_default());
            cut = true;
        }
        total += n;
        r.consume(n);
        if done {
            return Ok((total, cut));
        }
    }
}

/// A message being received: in memory up to a threshold, then in a temporary file.
struct Spool {
    mem: Vec<u8>,
    file: Option<tokio::fs::File>,
    len: usize,
    threshold: usize,
}

impl Spool {
    fn new(threshold: usize) -> Self {
        Self {
            mem: Vec::new(),
            file: None,
            len: 0,
            threshold,
        }
    }

    async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.len += data.len();
        if self.file.is_none() && self.mem.len() + data.len() > self.threshold {
            let mut f = tokio::fs::File::from_std(tempfile::tempfile()?);
            f.write_all(&self.mem).await?;
            self.mem = Vec::new();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => f.write_all(data).await,
            None => {
                self.mem.extend_from_slice(data);
                Ok(())
            }
        }
    }

    async fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self.file {
            None => Ok(self.mem),
            Some(mut f) => {
                f.flush().await?;
                f.seek(std::io::SeekFrom::Start(0)).await?;
                let mut out = Vec::with_capacity(self.len);
                f.read_to_end(&mut out).await?;
                Ok(out)
            }
        }
    }
}

struct Conn<W> {
    w: W,
}

impl<W: AsyncWrite + Unpin> Conn<W> {
    async fn reply(&mut self, line: &str) -> std::io::Result<()> {
        self.w.write_all(line.as_bytes()).await?;
        self.w.write_all(b"\r\n").await
    }
}

/// Parses `FROM:<a@b> SIZE=123` / `TO:<a@b>` arguments: the address and the parameters.
fn path_arg<'a>(rest: &'a str, keyword: &str) -> Option<(String, Vec<&'a str>)> {
    let r = rest.trim_start();
    let head = r.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let r = r.get(keyword.len()..)?.trim_start();
    let (addr, params) = if let Some(inner) = r.strip_prefix('<') {
        let end = inner.find('>')?;
        (inner.get(..end)?, inner.get(end + 1..).unwrap_or(""))
    } else {
        let end = r.find(' ').unwrap_or(r.len());
        (r.get(..end)?, r.get(end..).unwrap_or(""))
    };
    // Source routes (`@a,@b:user@c`) are ignored as RFC 5321 says.
    let addr = addr.rsplit(':').next().unwrap_or(addr).trim().to_owned();
    Some((addr, params.split_whitespace().collect()))
}

struct Ctx {
    peer: SocketAddr,
    intake: Intake,
    config: Arc<SmtpConfig>,
    stop: watch::Receiver<bool>,
    limits: Arc<SenderLimits>,
}

/// One SMTP session over `stream`; after STARTTLS it continues (from the greeting state) over
/// the TLS stream.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

async fn session(stream: Box<dyn Io>, ctx: &Ctx, secure: bool) -> std::io::Result<()> {
    let Ctx {
        peer,
        intake,
        config,
        stop,
        limits,
    } = ctx;
    let peer = *peer;
    let (rd, wr) = tokio::io::split(stream);
    let mut r = BufReader::with_capacity(16 * 1024, rd);
    let mut c = Conn {
        w: tokio::io::BufWriter::new(wr),
    };
    let proto = if config.lmtp { "LMTP" } else { "ESMTP" };
    if !secure {
        c.reply(&format!("220 {} {proto} Anliegen ready", config.hostname))
            .await?;
        c.w.flush().await?;
    }
    let mut greeted = false;
    let mut mail_from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        // Answers to pipelined commands go out together, once the client waits for them.
        if r.buffer().is_empty() {
            c.w.flush().await?;
        }
        if *stop.borrow() {
            c.reply("421 4.3.2 Service shutting down, try again later")
                .await?;
            c.w.flush().await?;
            return Ok(());
        }
        let mut stop_wait = stop.clone();
        let read = tokio::select! {
            read = tokio::time::timeout(config.timeout, read_line(&mut r, &mut line, MAX_COMMAND)) => read,
            _ = stop_wait.changed() => continue,
        };
        let (n, cut) = match read {
            Ok(res) => res?,
            Err(_) => {
                c.reply("421 4.4.2 Idle for too long, closing connection")
                    .await?;
                c.w.flush().await?;
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        if cut {
            c.reply("500 5.5.2 Line too long").await?;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        match verb.to_ascii_uppercase().as_str() {
            v @ ("EHLO" | "HELO" | "LHLO") => {
                let ok = if config.lmtp {
                    v == "LHLO"
                } else {
                    v != "LHLO"
                };
                if !ok {
                    c.reply(&format!(
                        "500 5.5.1 Use {}",
                        if config.lmtp { "LHLO" } else { "EHLO" }
                    ))
                    .await?;
                    continue;
                }
                greeted = true;
                mail_from = None;
                rcpts.clear();
                if v == "HELO" {
                    c.reply(&format!("250 {}", config.hostname)).await?;
                } else {
                    c.reply(&format!("250-{} greets {}", config.hostname, rest.trim()))
                        .await?;
                    c.reply(&format!("250-SIZE {}", config.max_message)).await?;
                    c.reply("250-PIPELINING").await?;
                    c.reply("250-8BITMIME").await?;
                    c.reply("250-SMTPUTF8").await?;
                    if config.tls.is_some() && !secure {
                        c.reply("250-STARTTLS").await?;
                    }
                    c.reply("250 ENHANCEDSTATUSCODES").await?;
                }
            }
            "MAIL" => {
                if !greeted {
                    c.reply("503 5.5.1 Say hello first").await?;
                } else if mail_from.is_some() {
                    c.reply("503 5.5.1 Sender already given").await?;
                } else {
                    match path_arg(rest, "FROM:") {
                        None => c.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                        Some((addr, params)) => {
                            let size = params.iter().find_map(|p| {
                                let (k, v) = p.split_once('=')?;
                                k.eq_ignore_ascii_case("SIZE")
                                    .then(|| v.parse::<usize>().ok())
                                    .flatten()
                            });
                            if size.is_some_and(|s| s > config.max_message) {
                                c.reply("552 5.3.4 Message too big").await?;
                            } else if !limits.allow(
                                &addr,
                                config.sender_limit,
                                config.sender_window,
                            ) {
                                tracing::warn!(%peer, sender = %addr, "sender over its rate limit (mail loop?)");
                                c.reply(
                                    "451 4.7.1 Too many messages from this sender, try again later",
                                )
                                .await?;
                            } else {
                                mail_from = Some(addr);
                                c.reply("250 2.1.0 Ok").await?;
                            }
                        }
                    }
                }
            }
            "RCPT" => {
                if mail_from.is_none() {
                    c.reply("503 5.5.1 Need MAIL first").await?;
                    continue;
                }
                match path_arg(rest, "TO:") {
                    None => c.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
                    Some(_) if rcpts.len() >= config.max_recipients => {
                        c.reply("452 4.5.3 Too many recipients").await?
                    }
                    Some((addr, _)) => match intake.mailbox_for(&addr).await {
                        Ok(Some(_)) => {
                            rcpts.push(addr);
                            c.reply("250 2.1.5 Ok").await?;
                        }
                        Ok(None) => c.reply("550 5.1.1 No such mailbox here").await?,
                        Err(e) => {
                            tracing::warn!(error = %e, "looking up a mailbox failed");
                            c.reply("451 4.3.0 Temporary failure, try again later")
                                .await?;
                        }
                    },
                }
            }
            "DATA" => {
                if mail_from.is_none() || rcpts.is_empty() {
                    c.reply("503 5.5.1 Need MAIL and RCPT first").await?;
                    continue;
                }
                c.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                c.w.flush().await?;
                let received = tokio::time::timeout(config.timeout, receive(&mut r, config)).await;
                let (spool, too_big) = match received {
                    Ok(Ok(Some(x))) => x,
                    // The client went away in the middle: nothing is stored.
                    Ok(Ok(None)) => return Ok(()),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        c.reply("421 4.4.2 Timeout while receiving data").await?;
                        c.w.flush().await?;
                        return Ok(());
                    }
                };
                let envelope = Envelope {
                    mail_from: mail_from.take(),
                    recipients: std::mem::take(&mut rcpts),
                };
                let replies = if too_big {
                    vec!["552 5.3.4 Message too big".to_owned()]
                } else {
                    let raw = spool.into_bytes().await?;
                    let size = raw.len();
                    let answer = match intake.deliver(raw, &envelope).await {
                        Ok(Outcome::Stored { contact_id, .. }) => {
                            format!("250 2.0.0 Ok: stored as {contact_id}")
                        }
                        Ok(Outcome::Duplicate { contact_id, .. }) => {
                            format!("250 2.0.0 Ok: already stored as {contact_id}")
                        }
                        Err(IntakeError::Empty) => "554 5.6.0 Empty message".to_owned(),
                        Err(IntakeError::UnknownRecipient(_)) => {
                            "550 5.1.1 No such mailbox here".to_owned()
                        }
                        Err(e) => {
                            tracing::error!(%peer, size, error = %e, "storing a mail failed; the sender will retry");
                            "451 4.3.0 Temporary failure, try again later".to_owned()
                        }
                    };
                    vec![answer]
                };
                // LMTP answers once per recipient; the message is stored once for all of them.
                let times = if config.lmtp {
                    envelope.recipients.len().max(1)
                } else {
                    1
                };
                for _ in 0..times {
                    for a in &replies {
                        c.reply(a).await?;
                    }
                }
            }
            "RSET" => {
                mail_from = None;
                rcpts.clear();
                c.reply("250 2.0.0 Ok").await?;
            }
            "NOOP" => c.reply("250 2.0.0 Ok").await?,
            "VRFY" => {
                c.reply("252 2.5.2 Cannot verify, but will accept mail for our mailboxes")
                    .await?
            }
            "QUIT" => {
                c.reply("221 2.0.0 Bye").await?;
                c.w.flush().await?;
                return Ok(());
            }
            "STARTTLS" => match (&config.tls, secure) {
                (Some(tls), false) => {
                    // Commands pipelined behind STARTTLS would be read in the clear: refuse.
                    if !r.buffer().is_empty() {
                        c.reply("501 5.5.1 Nothing may follow STARTTLS").await?;
                        continue;
                    }
                    c.reply("220 2.0.0 Ready to start TLS").await?;
                    c.w.flush().await?;
                    let plain = r.into_inner().unsplit(c.w.into_inner());
                    let tls = tokio_rustls::TlsAcceptor::from(Arc::clone(tls))
                        .accept(plain)
                        .await?;
                    return Box::pin(session(Box::new(tls), ctx, true)).await;
                }
                (_, true) => c.reply("503 5.5.1 TLS already active").await?,
                (None, _) => c.reply("454 4.7.0 TLS not available").await?,
            },
            "BDAT" => c.reply("502 5.5.1 BDAT not supported, use DATA").await?,
            "" => c.reply("500 5.5.2 Empty command").await?,
            _ => c.reply("502 5.5.2 Command not recognised").await?,
        }
    }
}

/// Receives DATA up to the lone dot, undoing dot-stuffing. `None` when the client disconnected
/// before the end; `(spool, true)` when the message was larger than allowed (the rest is read
/// and discarded so the session can go on).
async fn receive<R: AsyncBufRead + Unpin>(
    r: &mut R,
    config: &SmtpConfig,
) -> std::io::Result<Option<(Spool, bool)>> {
    let mut spool = Spool::new(config.spool_threshold);
    let mut too_big = false;
    let mut line = Vec::new();
    loop {
        let budget = config.max_message.saturating_sub(spool.len) + 3;
        let (n, cut) = read_line(r, &mut line, budget.max(3)).await?;
        if n == 0 || (!line.ends_with(b"\n") && !cut) {
            return Ok(None);
        }
        if !cut && (line == b".\r\n" || line == b".\n") {
            return Ok(Some((spool, too_big)));
        }
        if too_big {
            continue;
        }
        let data = if line.starts_with(b".") {
            line.get(1..).unwrap_or_default()
        } else {
            &line[..]
        };
        if cut || spool.len + data.len() > config.max_message {
            too_big = true;
            spool = Spool::new(0);
            continue;
        }
        spool.write(data).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_arguments() {
        assert_eq!(
            path_arg("FROM:<a@b.de> SIZE=100 BODY=8BITMIME", "FROM:"),
            Some(("a@b.de".into(), vec!["SIZE=100", "BODY=8BITMIME"]))
        );
        assert_eq!(
            path_arg("to:<@x,@y:u@c.de>", "TO:"),
            Some(("u@c.de".into(), vec![]))
        );
        assert_eq!(path_arg("FROM:<>", "FROM:"), Some((String::new(), vec![])));
        assert_eq!(path_arg("TO u@c.de", "TO:"), None);
    }

    #[tokio::test]
    async fn long_lines_are_cut_not_stored() {
        let data = vec![b'x'; 10_000];
        let mut input = data.clone();
        input.extend_from_slice(b"\r\nnext\r\n");
        let mut r = BufReader::new(&input[..]);
        let mut buf = Vec::new();
        let (n, cut) = read_line(&mut r, &mut buf, 100).await.unwrap();
        assert_eq!((n, cut, buf.len()), (10_002, true, 100));
        let (_, cut) = read_line(&mut r, &mut buf, 100).await.unwrap();
        assert_eq!((cut, &buf[..]), (false, &b"next\r\n"[..]));
    }
}
