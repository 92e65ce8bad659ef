//! Administration: agents and roles, teams, the tag catalogue, macros, mailboxes and the mail
//! settings that come from the configuration. Admins only; forms re-render with the entered
//! values and a clear message when something is refused.

use anliegen_core::mail::{AfterFetch, ImapAccount, ImapSecurity};
use anliegen_core::{
    AgentId, CaseStatus, EmailAddress, Language, MacroActions, MacroId, MailboxId, Priority, Role,
    Tag, TeamId, TimeZoneName,
};
use anliegen_store::{AgentPatch, Command, MailboxPatch, NewAgent, NewMacro, NewMailbox, Output};
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::queue::Choice;
use super::{Frame, Session, UiError, frame, render};
use crate::AppState;
use crate::auth::{check_new_password, hash_password};

/// Refuses everyone but admins.
pub(super) fn admin_only(s: &Session) -> Result<(), UiError> {
    if s.auth.agent.role == Role::Admin {
        Ok(())
    } else {
        Err(UiError::new(StatusCode::FORBIDDEN, "error-forbidden"))
    }
}

/// A submitted form: repeated keys kept (checkbox lists).
#[derive(Clone)]
pub(super) struct Fields(pub(super) Vec<(String, String)>);

impl Fields {
    pub(super) fn parse(raw: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    pub(super) fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    pub(super) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
    pub(super) fn on(&self, key: &str) -> bool {
        !self.get(key).is_empty()
    }
}

/// A refusal to show on the form: the message of a store or parse error.
pub(super) fn message(e: anliegen_store::StoreError) -> Result<String, UiError> {
    let api = crate::ApiError::from(e);
    if api.status().is_server_error() {
        return Err(UiError::new(api.status(), "error-server"));
    }
    Ok(api.detail().to_owned())
}

pub(super) fn unprocessable(mut res: Response) -> Response {
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res
}

pub(super) fn team_choices(
    teams: &[anliegen_core::Team],
    selected: &[String],
    none: Option<String>,
) -> Vec<Choice> {
    let mut out: Vec<Choice> = none
        .map(|label| Choice {
            value: String::new(),
            label,
            selected: selected.iter().all(String::is_empty),
        })
        .into_iter()
        .collect();
    out.extend(teams.iter().map(|t| Choice {
        value: t.id.to_string(),
        label: t.name.clone(),
        selected: selected.contains(&t.id.to_string()),
    }));
    out
}

fn uuid_of(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(raw.trim()).ok()
}

// ---- agents ------------------------------------------------------------------------------

pub(crate) struct AgentRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub teams: String,
    pub active: bool,
    pub available: bool,
    pub skills: String,
}

#[derive(Template)]
#[template(path = "admin_agents.html")]
struct AgentsPage {
    f: Frame,
    rows: Vec<AgentRow>,
    editing: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    name: String,
    email: String,
    roles: Vec<Choice>,
    teams: Vec<Choice>,
    languages: Vec<Choice>,
    active: bool,
    spoken: Vec<Choice>,
    skills: String,
    max_open: String,
}

async fn agents_page(
    state: &AppState,
    s: &Session,
    editing: Option<AgentId>,
    form: Option<&Fields>,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let agents = state.store().agents().await?;
    let teams = state.store().teams().await?;
    let team_name = |id: &TeamId| {
        teams
            .iter()
            .find(|x| x.id == *id)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    };
    let rows = agents
        .iter()
        .map(|a| AgentRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            email: a.email.to_string(),
            role: t.s(&format!("role-{}", a.role)),
            teams: a.teams.iter().map(team_name).collect::<Vec<_>>().join(", "),
            active: a.active,
            available: a.available,
            skills: a.skills.join(", "),
        })
        .collect();
    let current = editing.and_then(|id| agents.iter().find(|a| a.id == id));
    let (name, email, role, team_ids, active) = match (form, current) {
        (Some(f), _) => (
            f.get("name"),
            f.get("email"),
            f.get("role"),
            f.all("teams"),
            f.on("active") || editing.is_none(),
        ),
        (None, Some(a)) => (
            a.name.clone(),
            a.email.to_string(),
            a.role.to_string(),
            a.teams.iter().map(ToString::to_string).collect(),
            a.active,
        ),
        (None, None) => (
            String::new(),
            String::new(),
            "agent".into(),
            Vec::new(),
            true,
        ),
    };
    let ui_lang = match (form, current) {
        (Some(f), _) => f.get("ui_language"),
        (None, Some(a)) => a.ui_language.code().to_owned(),
        (None, None) => "de".into(),
    };
    let languages = [("de", "Deutsch"), ("en", "English")]
        .into_iter()
        .map(|(v, l)| Choice {
            value: v.into(),
            label: l.into(),
            selected: ui_lang == v,
        })
        .collect();
    let (spoken_on, skills, max_open) = match (form, current) {
        (Some(f), _) => (f.all("spoken"), f.get("skills"), f.get("max_open")),
        (None, Some(a)) => (
            a.languages.iter().map(|l| l.code().to_owned()).collect(),
            a.skills.join(", "),
            a.max_open.map(|m| m.to_string()).unwrap_or_default(),
        ),
        (None, None) => (vec!["de".to_owned()], String::new(), String::new()),
    };
    let spoken = [("de", "Deutsch"), ("en", "English")]
        .into_iter()
        .map(|(v, l)| Choice {
            value: v.into(),
            label: l.into(),
            selected: spoken_on.iter().any(|x| x == v),
        })
        .collect();
    let roles = [Role::Agent, Role::Supervisor, Role::Admin]
        .into_iter()
        .map(|r| Choice {
            value: r.to_string(),
            label: t.s(&format!("role-{r}")),
            selected: role == r.to_string(),
        })
        .collect();
    let f = frame(state, s, "").await?;
    Ok(render(&AgentsPage {
        f,
        rows,
        editing: editing.map(|i| i.to_string()),
        error,
        notice,
        name,
        email,
        roles,
        teams: team_choices(&teams, &team_ids, None),
        languages,
        active,
        spoken,
        skills,
        max_open,
    }))
}

pub(crate) async fn agents(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    agents_page(&state, &s, None, None, None, None).await
}

pub(crate) async fn agent(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = AgentId(uuid_of(&id).ok_or_else(UiError::not_found)?);
    if state.store().agent(id).await?.is_none() {
        return Err(UiError::not_found());
    }
    agents_page(&state, &s, Some(id), None, None, None).await
}

/// Creates an agent (`POST /admin/agents`) or changes one (`POST /admin/agents/{id}`).
pub(crate) async fn save_agent(
    State(state): State<AppState>,
    s: Session,
    id: Option<Path<String>>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let t = s.tr();
    let editing = match id {
        Some(Path(id)) => Some(AgentId(uuid_of(&id).ok_or_else(UiError::not_found)?)),
        None => None,
    };
    let again = |error: String| {
        let (state, s, f) = (state.clone(), s.clone(), &f);
        async move {
            Ok(unprocessable(
                agents_page(&state, &s, editing, Some(f), Some(error), None).await?,
            ))
        }
    };
    // The language of the agent's notification mails (the workspace follows the browser).
    let ui_language = Language::parse(&f.get("ui_language")).unwrap_or(Language::De);
    let role = match Role::parse(&f.get("role")) {
        Ok(r) => r,
        Err(e) => return again(e.message).await,
    };
    let mut teams = Vec::new();
    for raw in f.all("teams") {
        match uuid_of(&raw) {
            Some(u) => teams.push(TeamId(u)),
            None => return again(t.s("admin-bad-team")).await,
        }
    }
    // Skills and spoken languages steer automatic assignment; the capacity limits it.
    let mut skills = Vec::new();
    for raw in f
        .get("skills")
        .split([',', ' '])
        .filter(|x| !x.trim().is_empty())
    {
        match anliegen_core::agent::parse_skill(raw) {
            Ok(sk) => skills.push(sk),
            Err(e) => return again(e.message).await,
        }
    }
    let mut spoken: Vec<Language> = f
        .all("spoken")
        .iter()
        .filter_map(|l| Language::parse(l).ok())
        .collect();
    if spoken.is_empty() {
        spoken.push(ui_language);
    }
    let max_open = match f.get("max_open").trim() {
        "" => None,
        m => match m.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => return again(t.s("routing-bad-max-open")).await,
        },
    };
    let password = f.get("password");
    let password_hash = if password.is_empty() {
        None
    } else {
        if let Err(e) = check_new_password(&password) {
            return again(e.detail().to_owned()).await;
        }
        Some(
            tokio::task::spawn_blocking(move || hash_password(&password))
                .await
                .map_err(|_| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "error-server"))?
                .map_err(|_| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "error-server"))?,
        )
    };
    let cmd = match editing {
        None => {
            let email = match EmailAddress::parse(&f.get("email")) {
                Ok(e) => e,
                Err(e) => return again(e.message).await,
            };
            if password_hash.is_none() {
                return again(t.s("admin-password-needed")).await;
            }
            Command::CreateAgent(NewAgent {
                email,
                name: f.get("name"),
                role,
                password_hash,
                skills,
                languages: spoken,
                ui_language,
                time_zone: TimeZoneName::berlin(),
                teams,
            })
        }
        Some(id) => {
            if id == s.auth.agent.id && (role != Role::Admin || !f.on("active")) {
                return again(t.s("admin-not-yourself")).await;
            }
            Command::UpdateAgent {
                id,
                patch: AgentPatch {
                    name: Some(f.get("name")),
                    role: Some(role),
                    password_hash,
                    teams: Some(teams),
                    ui_language: Some(ui_language),
                    active: Some(f.on("active")),
                    skills: Some(skills),
                    languages: Some(spoken),
                    max_open: Some(max_open),
                    ..Default::default()
                },
            }
        }
    };
    let ends_sessions = editing.is_some() && (!f.get("password").is_empty() || !f.on("active"));
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(_) => {
            state.tokens().forget(None, editing);
            // A new password or a deactivation ends the agent's sessions everywhere.
            if let Some(id) = editing.filter(|_| ends_sessions) {
                super::session::end_sessions(&state, id, None).await?;
            }
            Ok(Redirect::to("/admin/agents").into_response())
        }
        Err(e) => again(message(e)?).await,
    }
}

// ---- teams -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TeamsPage {
    f: Frame,
    rows: Vec<(String, String)>,
    error: Option<String>,
    name: String,
    description: String,
}

async fn teams_page(
    state: &AppState,
    s: &Session,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let rows = state
        .store()
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.name, t.description))
        .collect();
    let f = frame(state, s, "").await?;
    Ok(render(&TeamsPage {
        f,
        rows,
        error,
        name: form.map(|f| f.get("name")).unwrap_or_default(),
        description: form.map(|f| f.get("description")).unwrap_or_default(),
    }))
}

pub(crate) async fn teams(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    teams_page(&state, &s, None, None).await
}

pub(crate) async fn create_team(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let cmd = Command::CreateTeam {
        name: f.get("name"),
        description: f.get("description"),
    };
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(_) => Ok(Redirect::to("/admin/teams").into_response()),
        Err(e) => Ok(unprocessable(
            teams_page(&state, &s, Some(&f), Some(message(e)?)).await?,
        )),
    }
}

// ---- tags --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_tags.html")]
struct TagsPage {
    f: Frame,
    rows: Vec<(String, String, i64)>,
    error: Option<String>,
    name: String,
    description: String,
}

async fn tags_page(
    state: &AppState,
    s: &Session,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let rows = state.store().tag_catalog().await?;
    let f = frame(state, s, "").await?;
    Ok(render(&TagsPage {
        f,
        rows,
        error,
        name: form.map(|f| f.get("name")).unwrap_or_default(),
        description: form.map(|f| f.get("description")).unwrap_or_default(),
    }))
}

pub(crate) async fn tags(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    tags_page(&state, &s, None, None).await
}

pub(crate) async fn define_tag(
    State(state): State<AppState>,
    s: Session,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let name = match Tag::parse(&f.get("name")) {
        Ok(n) => n,
        Err(e) => {
            return Ok(unprocessable(
                tags_page(&state, &s, Some(&f), Some(e.message)).await?,
            ));
        }
    };
    let cmd = Command::DefineTag {
        name,
        description: f.get("description"),
    };
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(_) => Ok(Redirect::to("/admin/tags").into_response()),
        Err(e) => Ok(unprocessable(
            tags_page(&state, &s, Some(&f), Some(message(e)?)).await?,
        )),
    }
}

pub(crate) async fn remove_tag(
    State(state): State<AppState>,
    s: Session,
    Path(name): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let name = Tag::parse(&name).map_err(|_| UiError::not_found())?;
    state
        .store()
        .exec(s.auth.actor(), Command::RemoveTag { name })
        .await?;
    Ok(Redirect::to("/admin/tags").into_response())
}

// ---- macros ------------------------------------------------------------------------------

pub(crate) struct MacroRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "admin_macros.html")]
struct MacrosPage {
    f: Frame,
    rows: Vec<MacroRow>,
    editing: Option<String>,
    error: Option<String>,
    name: String,
    body_de: String,
    body_en: String,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    teams: Vec<Choice>,
    tags: String,
    assign_to_me: bool,
    active: bool,
    placeholders: String,
    promise_what: String,
    promise_due: String,
}

async fn macros_page(
    state: &AppState,
    s: &Session,
    editing: Option<MacroId>,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let macros = state.store().macros().await?;
    let teams = state.store().teams().await?;
    let rows = macros
        .iter()
        .map(|m| MacroRow {
            id: m.id.to_string(),
            name: m.name.clone(),
            active: m.active,
            summary: m.body_de.chars().take(80).collect(),
        })
        .collect();
    let current = editing.and_then(|id| macros.iter().find(|m| m.id == id));
    let (name, body_de, body_en, status, priority, team, tags, me, active) = match (form, current) {
        (Some(f), _) => (
            f.get("name"),
            f.get("body_de"),
            f.get("body_en"),
            f.get("status"),
            f.get("priority"),
            f.get("team"),
            f.get("tags"),
            f.on("assign_to_me"),
            f.on("active"),
        ),
        (None, Some(m)) => (
            m.name.clone(),
            m.body_de.clone(),
            m.body_en.clone(),
            m.actions
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            m.actions
                .priority
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            m.actions.team_id.map(|t| t.to_string()).unwrap_or_default(),
            m.actions
                .add_tags
                .iter()
                .map(Tag::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            m.actions.assign_to_me,
            m.active,
        ),
        (None, None) => Default::default(),
    };
    let (promise_what, promise_due) = match (form, current) {
        (Some(f), _) => (f.get("promise_what"), f.get("promise_due")),
        (None, Some(m)) => m
            .actions
            .promise
            .as_ref()
            .map(|p| {
                (
                    p.what.clone(),
                    super::sla_admin::show_minutes(p.due_in_minutes),
                )
            })
            .unwrap_or_default(),
        (None, None) => Default::default(),
    };
    let active = active || (form.is_none() && current.is_none());
    let mut statuses = vec![Choice {
        value: String::new(),
        label: t.s("admin-unchanged"),
        selected: status.is_empty(),
    }];
    statuses.extend(
        [
            CaseStatus::Open,
            CaseStatus::WaitingOnCustomer,
            CaseStatus::WaitingOnThirdParty,
            CaseStatus::Solved,
        ]
        .into_iter()
        .map(|st| Choice {
            value: st.as_str().into(),
            label: t.status(st),
            selected: status == st.as_str(),
        }),
    );
    let mut priorities = vec![Choice {
        value: String::new(),
        label: t.s("admin-unchanged"),
        selected: priority.is_empty(),
    }];
    priorities.extend(
        [
            Priority::Urgent,
            Priority::High,
            Priority::Normal,
            Priority::Low,
        ]
        .into_iter()
        .map(|p| Choice {
            value: p.as_str().into(),
            label: t.priority(p),
            selected: priority == p.as_str(),
        }),
    );
    let f = frame(state, s, "").await?;
    Ok(render(&MacrosPage {
        f,
        rows,
        editing: editing.map(|i| i.to_string()),
        error,
        name,
        body_de,
        body_en,
        statuses,
        priorities,
        teams: team_choices(&teams, &[team], Some(t.s("admin-unchanged"))),
        tags,
        assign_to_me: me,
        active,
        placeholders: anliegen_core::macros::PLACEHOLDERS
            .iter()
            .map(|p| format!("{{{{{p}}}}}"))
            .collect::<Vec<_>>()
            .join(" "),
        promise_what,
        promise_due,
    }))
}

pub(crate) async fn macros(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    macros_page(&state, &s, None, None, None).await
}

pub(crate) async fn macro_edit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = MacroId(uuid_of(&id).ok_or_else(UiError::not_found)?);
    if state.store().macro_by_id(id).await?.is_none() {
        return Err(UiError::not_found());
    }
    macros_page(&state, &s, Some(id), None, None).await
}

pub(crate) async fn save_macro(
    State(state): State<AppState>,
    s: Session,
    id: Option<Path<String>>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let editing = match id {
        Some(Path(id)) => Some(MacroId(uuid_of(&id).ok_or_else(UiError::not_found)?)),
        None => None,
    };
    let again = |error: String| {
        let (state, s, f) = (state.clone(), s.clone(), &f);
        async move {
            Ok(unprocessable(
                macros_page(&state, &s, editing, Some(f), Some(error)).await?,
            ))
        }
    };
    let mut actions = MacroActions {
        assign_to_me: f.on("assign_to_me"),
        ..Default::default()
    };
    if !f.get("status").is_empty() {
        match CaseStatus::parse(&f.get("status")) {
            Ok(st) => actions.status = Some(st),
            Err(e) => return again(e.message).await,
        }
    }
    if !f.get("priority").is_empty() {
        match Priority::parse(&f.get("priority")) {
            Ok(p) => actions.priority = Some(p),
            Err(e) => return again(e.message).await,
        }
    }
    if !f.get("team").is_empty() {
        match uuid_of(&f.get("team")) {
            Some(u) => actions.team_id = Some(TeamId(u)),
            None => return again(s.tr().s("admin-bad-team")).await,
        }
    }
    for raw in f
        .get("tags")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match Tag::parse(raw) {
            Ok(tag) => actions.add_tags.push(tag),
            Err(e) => return again(format!("{raw}: {}", e.message)).await,
        }
    }
    let what = f.get("promise_what");
    if !what.trim().is_empty() {
        let due = match super::sla_admin::parse_minutes(&f.get("promise_due")) {
            Ok(Some(m)) => m,
            Ok(None) => return again(s.tr().s("admin-macro-promise-due-missing")).await,
            Err(e) => return again(e).await,
        };
        let p = anliegen_core::macros::MacroPromise {
            what: what.trim().to_owned(),
            due_in_minutes: due,
        };
        if let Err(e) = p.check() {
            return again(e.message).await;
        }
        actions.promise = Some(p);
    }
    let m = NewMacro {
        name: f.get("name"),
        body_de: f.get("body_de"),
        body_en: f.get("body_en"),
        actions,
        active: f.on("active"),
    };
    let cmd = match editing {
        Some(id) => Command::UpdateMacro { id, m },
        None => Command::CreateMacro(m),
    };
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(_) => Ok(Redirect::to("/admin/macros").into_response()),
        Err(e) => again(message(e)?).await,
    }
}

fn imap_field(m: &anliegen_core::Mailbox, f: impl Fn(&ImapAccount) -> String) -> String {
    m.imap.as_ref().map(f).unwrap_or_default()
}

// ---- mailboxes ---------------------------------------------------------------------------

pub(crate) struct MailboxRow {
    pub id: String,
    pub address: String,
    pub display_name: String,
    pub team: String,
    pub imap: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_mailboxes.html")]
struct MailboxesPage {
    f: Frame,
    rows: Vec<MailboxRow>,
    editing: Option<String>,
    error: Option<String>,
    address: String,
    display_name: String,
    teams: Vec<Choice>,
    languages: Vec<Choice>,
    signature: String,
    route: String,
    imap_host: String,
    imap_port: String,
    imap_security: Vec<Choice>,
    imap_username: String,
    imap_folder: String,
    imap_move_to: String,
    active: bool,
    settings: Vec<(String, String)>,
}

async fn mailboxes_page(
    state: &AppState,
    s: &Session,
    editing: Option<MailboxId>,
    form: Option<&Fields>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let t = s.tr();
    let boxes = state.store().mailboxes().await?;
    let teams = state.store().teams().await?;
    let rows = boxes
        .iter()
        .map(|m| MailboxRow {
            id: m.id.to_string(),
            address: m.address.to_string(),
            display_name: m.display_name.clone(),
            team: m
                .team_id
                .and_then(|id| teams.iter().find(|t| t.id == id))
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            imap: m
                .imap
                .as_ref()
                .map(|i| format!("{}@{}:{}", i.username, i.host, i.port))
                .unwrap_or_default(),
            active: m.active,
        })
        .collect();
    let current = editing.and_then(|id| boxes.iter().find(|m| m.id == id));
    let get =
        |key: &str, from: &dyn Fn(&anliegen_core::Mailbox) -> String, default: &str| -> String {
            match (form, current) {
                (Some(f), _) => f.get(key),
                (None, Some(m)) => from(m),
                (None, None) => default.to_owned(),
            }
        };
    let team = get(
        "team",
        &|m| m.team_id.map(|t| t.to_string()).unwrap_or_default(),
        "",
    );
    let lang = get("language", &|m| m.language.code().to_owned(), "de");
    let security = get(
        "imap_security",
        &|m| imap_field(m, |i| format!("{:?}", i.security).to_lowercase()),
        "tls",
    );
    let active = match (form, current) {
        (Some(f), _) => f.on("active"),
        (None, Some(m)) => m.active,
        (None, None) => true,
    };
    let f = frame(state, s, "").await?;
    Ok(render(&MailboxesPage {
        f,
        rows,
        editing: editing.map(|i| i.to_string()),
        error,
        address: get("address", &|m| m.address.to_string(), ""),
        display_name: get("display_name", &|m| m.display_name.clone(), ""),
        teams: team_choices(&teams, &[team], Some(t.s("no-team"))),
        languages: [("de", "Deutsch"), ("en", "English")]
            .into_iter()
            .map(|(v, l)| Choice {
                value: v.into(),
                label: l.into(),
                selected: lang == v,
            })
            .collect(),
        signature: get("signature", &|m| m.signature.clone(), ""),
        route: get("route", &|m| m.outbound_route.clone(), "default"),
        imap_host: get("imap_host", &|m| imap_field(m, |i| i.host.clone()), ""),
        imap_port: get(
            "imap_port",
            &|m| imap_field(m, |i| i.port.to_string()),
            "993",
        ),
        imap_security: ["tls", "starttls", "none"]
            .into_iter()
            .map(|v| Choice {
                value: v.into(),
                label: t.s(&format!("imap-{v}")),
                selected: security == v,
            })
            .collect(),
        imap_username: get(
            "imap_username",
            &|m| imap_field(m, |i| i.username.clone()),
            "",
        ),
        imap_folder: get(
            "imap_folder",
            &|m| imap_field(m, |i| i.folder.clone()),
            "INBOX",
        ),
        imap_move_to: get(
            "imap_move_to",
            &|m| {
                imap_field(m, |i| match &i.after_fetch {
                    AfterFetch::Move { folder } => folder.clone(),
                    AfterFetch::Flag => String::new(),
                })
            },
            "",
        ),
        active,
        settings: state.0.config.mail_settings.clone(),
    }))
}

pub(crate) async fn mailboxes(
    State(state): State<AppState>,
    s: Session,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    mailboxes_page(&state, &s, None, None, None).await
}

pub(crate) async fn mailbox(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let id = MailboxId(uuid_of(&id).ok_or_else(UiError::not_found)?);
    if state.store().mailbox(id).await?.is_none() {
        return Err(UiError::not_found());
    }
    mailboxes_page(&state, &s, Some(id), None, None).await
}

pub(crate) async fn save_mailbox(
    State(state): State<AppState>,
    s: Session,
    id: Option<Path<String>>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let t = s.tr();
    let editing = match id {
        Some(Path(id)) => Some(MailboxId(uuid_of(&id).ok_or_else(UiError::not_found)?)),
        None => None,
    };
    let again = |error: String| {
        let (state, s, f) = (state.clone(), s.clone(), &f);
        async move {
            Ok(unprocessable(
                mailboxes_page(&state, &s, editing, Some(f), Some(error)).await?,
            ))
        }
    };
    let team_id = match f.get("team").as_str() {
        "" => None,
        raw => match uuid_of(raw) {
            Some(u) => Some(TeamId(u)),
            None => return again(t.s("admin-bad-team")).await,
        },
    };
    let language = Language::parse(&f.get("language")).unwrap_or(Language::De);
    let imap = if f.get("imap_host").trim().is_empty() {
        None
    } else {
        let port = match f.get("imap_port").trim().parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return again(t.s("admin-bad-port")).await,
        };
        let security = match f.get("imap_security").as_str() {
            "starttls" => ImapSecurity::Starttls,
            "none" => ImapSecurity::None,
            _ => ImapSecurity::Tls,
        };
        let move_to = f.get("imap_move_to");
        let account = ImapAccount {
            host: f.get("imap_host").trim().to_owned(),
            port,
            security,
            username: f.get("imap_username").trim().to_owned(),
            folder: if f.get("imap_folder").trim().is_empty() {
                "INBOX".into()
            } else {
                f.get("imap_folder").trim().to_owned()
            },
            after_fetch: if move_to.trim().is_empty() {
                AfterFetch::Flag
            } else {
                AfterFetch::Move {
                    folder: move_to.trim().to_owned(),
                }
            },
        };
        if let Err(e) = account.check() {
            return again(e.message).await;
        }
        Some(account)
    };
    let cmd = match editing {
        None => {
            let address = match EmailAddress::parse(&f.get("address")) {
                Ok(a) => a,
                Err(e) => return again(e.message).await,
            };
            Command::CreateMailbox(NewMailbox {
                address,
                display_name: f.get("display_name"),
                team_id,
                language,
                signature: f.get("signature"),
                imap,
                outbound_route: if f.get("route").trim().is_empty() {
                    "default".into()
                } else {
                    f.get("route")
                },
            })
        }
        Some(id) => Command::UpdateMailbox {
            id,
            patch: MailboxPatch {
                display_name: Some(f.get("display_name")),
                team_id: Some(team_id),
                language: Some(language),
                signature: Some(f.get("signature")),
                imap: Some(imap),
                outbound_route: Some(if f.get("route").trim().is_empty() {
                    "default".into()
                } else {
                    f.get("route")
                }),
                active: Some(f.on("active")),
            },
        },
    };
    match state.store().exec(s.auth.actor(), cmd).await {
        Ok(Output::Mailbox(_)) | Ok(_) => Ok(Redirect::to("/admin/mailboxes").into_response()),
        Err(e) => again(message(e)?).await,
    }
}

/// A job as the admin page shows it.
struct JobRow {
    id: String,
    kind: String,
    status: &'static str,
    run_at: String,
    attempts: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin_jobs.html")]
struct JobsPage {
    f: Frame,
    pending: i64,
    running: i64,
    dead: i64,
    rows: Vec<JobRow>,
}

/// Background jobs: counts, and the dead letters (jobs that failed for good) with their last
/// error and a retry button.
pub(crate) async fn jobs(State(state): State<AppState>, s: Session) -> Result<Response, UiError> {
    admin_only(&s)?;
    let counts = state.store().job_counts().await?;
    let now = state.store().now();
    let tz = s.tz();
    let t = s.tr();
    let rows = state
        .store()
        .jobs(Some(anliegen_store::JobStatus::Dead), 200)
        .await?
        .into_iter()
        .map(|j| JobRow {
            id: j.id.to_string(),
            kind: j.kind,
            status: j.status.as_str(),
            run_at: t.time(j.run_at, now, &tz),
            attempts: format!("{}/{}", j.attempts, j.max_attempts),
            error: j.last_error.unwrap_or_default(),
        })
        .collect();
    let f = frame(&state, &s, "").await?;
    Ok(render(&JobsPage {
        f,
        pending: counts.pending,
        running: counts.running,
        dead: counts.dead,
        rows,
    }))
}

/// Puts a dead letter back in the queue.
pub(crate) async fn retry_job(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Result<Response, UiError> {
    admin_only(&s)?;
    let f = Fields::parse(&raw);
    s.check_csrf(&f.get("csrf"))?;
    let id: uuid::Uuid = id.parse().map_err(|_| UiError::not_found())?;
    if !state.store().retry_job(id, state.store().now()).await? {
        return Err(UiError::not_found());
    }
    Ok(Redirect::to("/admin/jobs").into_response())
}
