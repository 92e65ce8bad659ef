//! Wiring: opens the store, makes sure there is an admin, optionally loads the demo, starts
//! the projection follower, the job runner and the housekeeping schedule, and serves HTTP.
//! Shutdown is graceful: the node reports not-ready, finishes in-flight requests, stops the
//! workers, drains the writer and closes the store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anliegen_core::{Actor, Clock, EmailAddress, Language, OffsetClock, Role, TimeZoneName};
use anliegen_store::jobs::{JobRunner, RunnerConfig};
use anliegen_store::projection::{self, Notifications, Stats};
use anliegen_store::{Command, NewAgent, Store};
use anliegen_web::{AppState, WebConfig};
use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Settings;

/// The login created on the first start of an empty store. Shown once on the terminal.
#[derive(Debug, Clone)]
pub struct FirstLogin {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// How to start.
pub struct StartOptions {
    /// The clock; `None`: the wall clock (adjustable for the demo loader).
    pub clock: Option<Arc<dyn Clock>>,
    /// Load the demo data.
    pub demo: bool,
    /// How often idle workers look for work from other nodes.
    pub poll: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            clock: None,
            demo: false,
            poll: Duration::from_millis(500),
        }
    }
}

/// A running node.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where the SMTP/LMTP listener listens, when configured.
    pub smtp_addr: Option<SocketAddr>,
    /// The mail intake path.
    pub intake: anliegen_mail::intake::Intake,
    /// Its store.
    pub store: Store,
    /// The admin login made on this (first) start.
    pub first_login: Option<FirstLogin>,
    /// What the demo loader did.
    pub demo: Option<crate::demo::Loaded>,
    state: AppState,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: not-ready, finish in-flight requests, stop workers, close the store.
    pub async fn stop(self) {
        self.state.set_draining();
        self.shutdown.send(true).ok();
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "HTTP server ended with an error"),
            Err(e) => tracing::error!(error = %e, "HTTP server task failed"),
        }
        for w in self.workers {
            w.await.ok();
        }
        self.store.close().await;
        tracing::info!("stopped");
    }
}

/// Makes the first admin when the store has no agents at all.
async fn ensure_admin(store: &Store) -> anyhow::Result<Option<FirstLogin>> {
    if store.totals().await?.agents > 0 {
        return Ok(None);
    }
    let email = "admin@anliegen.local";
    let password = anliegen_web::auth::new_password();
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || anliegen_web::auth::hash_password(&pw))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    store
        .exec(
            Actor::System,
            Command::CreateAgent(NewAgent {
                email: EmailAddress::parse(email)?,
                name: "Administrator".into(),
                role: Role::Admin,
                password_hash: Some(hash),
                skills: vec![],
                languages: vec![Language::De, Language::En],
                ui_language: Language::De,
                time_zone: TimeZoneName::berlin(),
                teams: vec![],
            }),
        )
        .await?;
    Ok(Some(FirstLogin {
        email: email.into(),
        password,
    }))
}

/// Keeps the search index behind the log: continues from the index's own checkpoint (after a
/// crash it catches up from there); an empty index over a store with history — new, lost or
/// found damaged — is rebuilt from the store's state first, which is much faster than
/// replaying every event.
/// `aligned` is the index's checkpoint, already written to the store before the node serves,
/// so the lag reported from the first request on is the index's real one (a rebuilt index
/// shows all of the log as lag, not the store's stale checkpoint).
async fn follow_search(
    search: anliegen_search::Search,
    store: Store,
    aligned: anliegen_search::Result<i64>,
    poll: Duration,
    shutdown: watch::Receiver<bool>,
) {
    match aligned {
        Ok(0) if store.last_seq().await.unwrap_or(0) > 0 => {
            tracing::info!("building the search index from the store");
            match search.reindex(&|_| {}).await {
                Ok(n) => tracing::info!(documents = n, "search index built"),
                Err(e) => {
                    tracing::error!(error = %e, "building the search index failed; following the log from the start")
                }
            }
            anliegen_search::align_checkpoint(&search).await.ok();
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "reading the search index's checkpoint failed"),
    }
    projection::follow(store, search.projection(), poll, shutdown).await
}

/// Starts a node with `settings`.
pub async fn start(settings: &Settings, opts: StartOptions) -> anyhow::Result<Running> {
    let offset = Arc::new(OffsetClock::default());
    let clock: Arc<dyn Clock> = opts.clock.clone().unwrap_or_else(|| offset.clone());
    let store = Store::open(&settings.store_config(), clock)
        .await
        .with_context(|| format!("opening the {}", settings.store_description()))?;
    let first_login = ensure_admin(&store).await?;
    let demo = if opts.demo {
        Some(crate::demo::load(&store, &offset).await?)
    } else {
        None
    };

    let metrics = crate::metrics_handle();
    if let Some(handle) = metrics.clone() {
        // Histograms are folded into the exporter's summaries here, not only when scraped, so
        // memory stays flat on a node nobody scrapes.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let search = anliegen_search::Search::open(store.clone(), &settings.data_dir)
        .await
        .context("opening the search index")?;
    let state = AppState::new(
        store.clone(),
        search.clone(),
        metrics,
        WebConfig {
            body_limit: settings.body_limit,
            secure_cookies: settings.secure_cookies,
            mail_settings: settings.mail_summary(),
        },
    );
    let app = anliegen_web::app(state.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);

    // The projections that follow the event log, each from its own checkpoint.
    let followers: Vec<Arc<dyn projection::Projection>> = vec![
        Arc::new(Stats),
        Arc::new(Notifications),
        Arc::new(anliegen_store::concern::AutoEscalation),
        Arc::new(anliegen_store::concern::Backlog),
        Arc::new(anliegen_store::sla::SlaClocks),
        Arc::new(crate::automation::Triggers),
    ];
    let mut workers: Vec<_> = followers
        .into_iter()
        .map(|p| tokio::spawn(projection::follow(store.clone(), p, opts.poll, rx.clone())))
        .collect();
    if settings.search_index {
        let aligned = anliegen_search::align_checkpoint(&search).await;
        workers.push(tokio::spawn(follow_search(
            search,
            store.clone(),
            aligned,
            opts.poll,
            rx.clone(),
        )));
    }
    let tokens = crate::mail::tokens(&store, settings).await?;
    let intake = crate::mail::intake(&store, settings, tokens.clone())
        .with_concerns(state.concerns().clone());
    let runner = crate::maintenance::register(JobRunner::new(
        store.clone(),
        RunnerConfig {
            concurrency: settings.job_concurrency,
            poll: opts.poll,
            ..RunnerConfig::default()
        },
    ));
    let runner = crate::mail::register(runner, settings, tokens)?;
    let runner = crate::automation::register(runner)?;
    workers.push(tokio::spawn(runner.run(rx.clone())));
    let poll = Duration::from_secs(settings.mail_imap_poll_seconds.max(1));
    workers.push(tokio::spawn(anliegen_mail::imap::run(
        intake.clone(),
        anliegen_mail::imap::ImapConfig {
            passwords: settings
                .mail_imap_passwords
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.clone()))
                .collect(),
            poll,
            rescan: poll.min(Duration::from_secs(30)),
        },
        rx.clone(),
    )));
    let mut smtp_addr = None;
    if let Some(at) = settings.smtp_listen {
        let l = tokio::net::TcpListener::bind(at)
            .await
            .with_context(|| format!("SMTP listening on {at}"))?;
        smtp_addr = Some(l.local_addr()?);
        let config = anliegen_mail::smtp::SmtpConfig {
            hostname: settings.smtp_hostname.clone(),
            lmtp: settings.smtp_lmtp,
            max_message: settings.smtp_max_message,
            sender_limit: settings.smtp_sender_limit,
            tls: match (&settings.smtp_tls_cert, &settings.smtp_tls_key) {
                (Some(c), Some(k)) => Some(
                    anliegen_mail::smtp::tls_config(c, k)
                        .map_err(|e| anyhow::anyhow!("STARTTLS certificate: {e}"))?,
                ),
                (None, None) => None,
                _ => anyhow::bail!("smtp_tls_cert and smtp_tls_key go together"),
            },
            ..Default::default()
        };
        tracing::info!(addr = ?smtp_addr, lmtp = settings.smtp_lmtp, "mail listener started");
        workers.push(tokio::spawn(anliegen_mail::smtp::serve(
            l,
            intake.clone(),
            config,
            rx.clone(),
        )));
    }
    workers.push(tokio::spawn(crate::maintenance::schedule(
        store.clone(),
        rx.clone(),
    )));
    // The timers' slot is checked every twenty poll intervals: every 10 s in production,
    // every second in tests.
    workers.push(tokio::spawn(crate::maintenance::tick(
        store.clone(),
        opts.poll * 20,
        rx.clone(),
    )));

    let mut stop = rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !*stop.borrow() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await
    });
    tracing::info!(%addr, store = %settings.store_description(), "Anliegen is listening");
    Ok(Running {
        addr,
        smtp_addr,
        intake,
        store,
        first_login,
        demo,
        state,
        shutdown,
        server,
        workers,
    })
}
