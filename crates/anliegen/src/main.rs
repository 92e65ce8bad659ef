//! `anliegen`: the command line. Everything it does lives in the library.

use std::path::PathBuf;
use std::sync::Arc;

use anliegen::config::{Overrides, Settings};
use anliegen::server::StartOptions;
use anliegen_core::{Actor, EmailAddress, Language, Role, SystemClock, TimeZoneName};
use anliegen_store::projection::{self, Notifications, Projection, Stats};
use anliegen_store::{Command, NewAgent, NewToken, Output, Store};
use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use jiff::SignedDuration;

/// Anliegen: self-hosted customer service for online shops and marketplaces.
#[derive(Parser)]
#[command(name = "anliegen", version, about)]
struct Cli {
    /// Settings file (TOML); every setting may also come from ANLIEGEN_<NAME>.
    #[arg(long, global = true, env = "ANLIEGEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Default)]
struct StoreArgs {
    /// Data directory of the embedded store [default: ./anliegen-data].
    #[arg(long, env = "ANLIEGEN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (scale-out); without it the embedded store is used.
    #[arg(long, env = "ANLIEGEN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "ANLIEGEN_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        #[command(flatten)]
        store: StoreArgs,
        /// Load demo data (German and English stories) into an empty store.
        #[arg(long)]
        demo: bool,
        /// Built-in SMTP (or, with smtp_lmtp, LMTP) listener address, e.g. 127.0.0.1:2525.
        #[arg(long, env = "ANLIEGEN_SMTP_LISTEN")]
        smtp_listen: Option<std::net::SocketAddr>,
    },
    /// Imports data from other systems.
    Import {
        #[command(subcommand)]
        command: ImportCmd,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCmd,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Print the OpenAPI 3.1 document of the REST API.
    Openapi,
    /// Projections of the event log.
    Projections {
        #[command(subcommand)]
        command: ProjectionCmd,
    },
    /// The search index.
    Search {
        #[command(subcommand)]
        command: SearchCmd,
    },
    /// Print the statutory public holidays of a whole region in a year, one `YYYY-MM-DD name`
    /// line each.
    Holidays {
        /// ISO 3166-2 region: DE-BW … DE-TH (the 16 German states), DE (nationwide) or AT.
        #[arg(long)]
        region: String,
        /// The year.
        #[arg(long)]
        year: i16,
        /// Names in `de` (default) or `en`.
        #[arg(long, default_value = "de")]
        lang: String,
    },
}

#[derive(Subcommand)]
enum SearchCmd {
    /// Rebuild the search index from the store (stop the node first on the embedded store;
    /// on PostgreSQL the nodes may keep running).
    Reindex {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Imports mail: `.eml` files, directories of them, and mbox files. Each message is stored
    /// once (a repeated import changes nothing) and threaded like mail that arrives by SMTP.
    Mail {
        /// Files and directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Messages in flight at once.
        #[arg(long, default_value_t = 256)]
        parallel: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum AgentCmd {
    /// Add an agent; prints a generated password unless one is given.
    Add {
        /// Login address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Password (10+ characters); read from ANLIEGEN_AGENT_PASSWORD if set.
        #[arg(long, env = "ANLIEGEN_AGENT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create an API token for an agent and print it (works while a server runs).
    Create {
        /// The agent's email address.
        #[arg(long)]
        agent: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scopes (read, write, admin); default read and write, plus admin for admins.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ProjectionCmd {
    /// Rebuild a projection from the event log (default: all).
    Rebuild {
        /// Projection name.
        name: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn settings(
    cli_config: Option<&PathBuf>,
    store: &StoreArgs,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<Settings> {
    let o = Overrides {
        listen,
        data_dir: store.data_dir.clone(),
        database_url: store.database_url.clone(),
        smtp_listen: None,
    };
    Settings::load(cli_config.map(PathBuf::as_path), &o)
        .map_err(|e| anyhow::anyhow!("settings: {e}"))
}

async fn open(s: &Settings) -> anyhow::Result<Store> {
    Store::open(&s.store_config(), Arc::new(SystemClock))
        .await
        .with_context(|| format!("opening the {}", s.store_description()))
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ANLIEGEN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

/// Waits for Ctrl-C or SIGTERM. The handlers are installed when this is called (before the
/// node announces itself), so a signal right after start is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        tokio::signal::ctrl_c().await.ok();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            listen,
            store,
            demo,
            smtp_listen,
        } => {
            let mut s = settings(cli.config.as_ref(), &store, listen)?;
            if smtp_listen.is_some() {
                s.smtp_listen = smtp_listen;
            }
            init_logging(s.log_format == "json");
            let stop = shutdown_signal();
            let running = anliegen::start(
                &s,
                StartOptions {
                    demo,
                    ..StartOptions::default()
                },
            )
            .await?;
            let url = running.url();
            // Logins go to the terminal only, never into the log.
            if let Some(l) = &running.first_login {
                println!(
                    "First start: admin login {} / password {}  (shown only now; change it)",
                    l.email, l.password
                );
            }
            if let Some(d) = &running.demo {
                println!(
                    "Demo data: {} cases{}. Demo agents (password '{}'):",
                    d.cases,
                    if d.fresh { " loaded" } else { "" },
                    anliegen::demo::DEMO_PASSWORD
                );
                for (name, email) in &d.agents {
                    println!("  {email}  ({name})");
                }
                println!(
                    "Try: curl -s -X POST {url}/api/v1/auth/login -H 'Content-Type: application/json' \
                     -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'",
                    d.agents
                        .first()
                        .map(|a| a.1.as_str())
                        .unwrap_or("admin@anliegen.local"),
                    anliegen::demo::DEMO_PASSWORD
                );
            }
            println!(
                "Anliegen läuft / is running: {url}  (API {url}/api/v1, OpenAPI {url}/api/v1/openapi.json)"
            );
            stop.await;
            tracing::info!("shutting down: finishing requests in flight");
            running.stop().await;
        }
        Cmd::Import {
            command:
                ImportCmd::Mail {
                    paths,
                    parallel,
                    quiet,
                    store,
                },
        } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(s.log_format == "json");
            let store = open(&s).await?;
            let tokens = anliegen::mail::tokens(&store, &s).await?;
            // Imported history is not answered: no acknowledgements for old mail.
            let mut quiet_settings = s.clone();
            quiet_settings.mail_acknowledge = false;
            let intake = anliegen::mail::intake(&store, &quiet_settings, tokens);
            let started = std::time::Instant::now();
            let summary = anliegen::mail::import(&intake, &paths, parallel, !quiet).await?;
            let secs = started.elapsed().as_secs_f64().max(0.001);
            store.close().await;
            println!(
                "{} Nachrichten gelesen: {} gespeichert ({} neue Vorgänge, {} nicht lesbar und markiert), {} schon vorhanden, {} nicht übernommen. {:.1} MB in {:.1} s ({:.0} Nachrichten/s).",
                summary.messages,
                summary.stored,
                summary.new_cases,
                summary.unreadable,
                summary.duplicates,
                summary.failed.len(),
                summary.bytes as f64 / 1e6,
                secs,
                summary.messages as f64 / secs
            );
            for f in summary.failed.iter().take(50) {
                println!("  nicht übernommen: {f}");
            }
            if !summary.failed.is_empty() && summary.stored == 0 && summary.duplicates == 0 {
                bail!("nothing was imported");
            }
        }
        Cmd::Migrate { store } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(false);
            let st = open(&s).await?;
            st.close().await;
            println!("The schema of the {} is up to date.", s.store_description());
        }
        Cmd::Agent {
            command:
                AgentCmd::Add {
                    email,
                    name,
                    role,
                    password,
                    store,
                },
        } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(false);
            let st = open(&s).await?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(anliegen_web::auth::new_password);
            if password.chars().count() < 10 {
                bail!("a password has at least 10 characters");
            }
            let hash = anliegen_web::auth::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
            let cmd = Command::CreateAgent(NewAgent {
                email: EmailAddress::parse(&email)?,
                name,
                role: Role::parse(&role)?,
                password_hash: Some(hash),
                skills: vec![],
                languages: vec![Language::De],
                ui_language: Language::De,
                time_zone: TimeZoneName::berlin(),
                teams: vec![],
            });
            let out = st.exec(Actor::System, cmd).await;
            st.close().await;
            match out? {
                Output::Agent(a) => {
                    println!("Agent {} <{}> added as {}.", a.name, a.email, a.role);
                    if generated {
                        println!("Password: {password}");
                    }
                }
                _ => bail!("unexpected result"),
            }
        }
        Cmd::Token {
            command:
                TokenCmd::Create {
                    agent,
                    name,
                    scopes,
                    expires_in_days,
                    store,
                },
        } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(false);
            let st = open(&s).await?;
            let email = EmailAddress::parse(&agent)?;
            let Some(creds) = st.agent_credentials(&email).await? else {
                st.close().await;
                bail!("there is no agent with the address {email}");
            };
            let scopes = if scopes.is_empty() {
                anliegen_web::auth::Scope::for_role(creds.agent.role)
            } else {
                scopes
            };
            for sc in &scopes {
                if anliegen_web::auth::Scope::parse(sc).is_none() {
                    bail!("'{sc}' is not a scope (read, write, admin)");
                }
            }
            let (secret, hash) = anliegen_web::auth::new_token();
            let expires_at = expires_in_days.and_then(|d| {
                st.now()
                    .checked_add(SignedDuration::from_hours(24 * i64::from(d)))
                    .ok()
            });
            let out = st
                .exec(
                    Actor::System,
                    Command::CreateToken(NewToken {
                        agent_id: creds.agent.id,
                        name,
                        hash,
                        scopes,
                        expires_at,
                    }),
                )
                .await;
            st.close().await;
            out?;
            println!("{secret}");
        }
        Cmd::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&anliegen_web::openapi())?
            );
        }
        Cmd::Holidays { region, year, lang } => {
            let region = anliegen_core::holiday::Region::parse(&region)?;
            let lang = anliegen_core::Language::parse(&lang)?;
            for h in anliegen_core::holiday::holidays(region, year)? {
                println!("{} {}", h.date, h.name(lang));
            }
        }
        Cmd::Search {
            command: SearchCmd::Reindex { store },
        } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(false);
            let st = open(&s).await?;
            let search = anliegen_search::Search::open(st.clone(), &s.data_dir)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{e} (is a node running on this data directory? stop it first)")
                })?;
            let started = std::time::Instant::now();
            let n = search
                .reindex(&|n| {
                    if n % 5000 == 0 {
                        eprintln!("… {n} documents");
                    }
                })
                .await?;
            anliegen_search::align_checkpoint(&search).await?;
            println!(
                "Search index rebuilt: {n} documents in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            st.close().await;
        }
        Cmd::Projections {
            command: ProjectionCmd::Rebuild { name, store },
        } => {
            let s = settings(cli.config.as_ref(), &store, None)?;
            init_logging(false);
            let st = open(&s).await?;
            let all: Vec<Arc<dyn Projection>> = vec![Arc::new(Stats), Arc::new(Notifications)];
            let chosen: Vec<_> = all
                .into_iter()
                .filter(|p| name.as_deref().is_none_or(|n| n == p.name()))
                .collect();
            if chosen.is_empty() {
                bail!("no projection named {}", name.unwrap_or_default());
            }
            for p in chosen {
                p.reset(&st).await?;
                let n = projection::catch_up(&st, &*p).await?;
                println!("Rebuilt projection {} from {n} events.", p.name());
            }
            st.close().await;
        }
    }
    Ok(())
}
