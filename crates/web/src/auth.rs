//! Who is calling: API tokens (256-bit random, stored as SHA-256, scoped, revocable) and agent
//! sign-in with argon2id passwords. A token check costs a hash and, at most every few seconds
//! per token, one lookup: checked tokens are cached briefly, and a revoke on this node drops
//! the cache entry at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anliegen_core::{Actor, Agent, Role};
use anliegen_store::TokenInfo;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Every token starts with this, so leaked tokens are easy to spot and scan for.
pub const TOKEN_PREFIX: &str = "anl_";

/// How long a checked token is trusted without looking again (other nodes' revokes).
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read cases, customers, teams, agents, events.
    Read,
    /// Change cases and customers, reply, note.
    Write,
    /// Manage agents, teams, tokens, jobs.
    Admin,
}

impl Scope {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The scopes an agent of `role` gets at sign-in.
    pub fn for_role(role: Role) -> Vec<String> {
        let mut s = vec!["read".to_owned(), "write".to_owned()];
        if role == Role::Admin {
            s.push("admin".to_owned());
        }
        s
    }
}

/// The API paths a customer-scoped token may use.
const CUSTOMER_PATHS: &[&str] = &["/api/v1/search"];

/// Scope prefix of customer-scoped tokens: `customer:<customer id>`.
pub const CUSTOMER_SCOPE: &str = "customer:";

/// The customer of a `customer:<id>` scope among `scopes`.
pub fn customer_scope(scopes: &[String]) -> Option<anliegen_core::CustomerId> {
    scopes
        .iter()
        .find_map(|s| s.strip_prefix(CUSTOMER_SCOPE))
        .and_then(|id| id.parse().ok())
}

/// A fresh token: the secret to hand out once, and the hash to store.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&secret);
    (secret, hash)
}

/// The stored form of a token secret.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random password for generated logins (first start, demo).
pub fn new_password() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// argon2id PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks that a password is acceptable for an agent.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(ApiError::invalid(
            "password",
            "a password has 10 to 256 characters",
        ));
    }
    Ok(())
}

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The agent the token belongs to.
    pub agent: Agent,
    /// The token used.
    pub token: TokenInfo,
}

impl Auth {
    /// The actor recorded on events.
    pub fn actor(&self) -> Actor {
        Actor::Agent { id: self.agent.id }
    }

    /// Refuses unless the token carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.token.scopes.iter().any(|s| s == scope.as_str()) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the '{}' scope",
                scope.as_str()
            )))
        }
    }

    /// Refuses unless the agent's role includes `role` (and, for admin work, the admin scope).
    pub fn require_role(&self, role: Role) -> Result<(), ApiError> {
        if !self.agent.role.includes(role) {
            return Err(ApiError::forbidden(format!("this needs the {role} role")));
        }
        if role == Role::Admin {
            self.require(Scope::Admin)?;
        }
        Ok(())
    }

    /// The customer a customer-scoped token (`customer:<id>`) speaks for. Such a token has no
    /// other scope: every route that needs `read` refuses it; search and (later) the portal
    /// serve it that customer's own cases only.
    pub fn customer_scope(&self) -> Option<anliegen_core::CustomerId> {
        customer_scope(&self.token.scopes)
    }

    /// The idempotency scope of this caller: keys of different tokens never meet.
    pub fn idempotency_scope(&self) -> String {
        self.token.id.to_string()
    }
}

/// Recently checked tokens.
#[derive(Default)]
pub struct TokenCache(Mutex<HashMap<String, (Instant, Auth)>>);

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Auth> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(hash)
            .filter(|(at, _)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(_, a)| a.clone())
    }

    fn put(&self, hash: String, auth: Auth) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (at, _)| at.elapsed() < TOKEN_CACHE_TTL);
        }
        map.insert(hash, (Instant::now(), auth));
    }

    /// Forgets a token (after revoke) or all tokens of an agent (after a change to it).
    pub fn forget(&self, token: Option<uuid::Uuid>, agent: Option<anliegen_core::AgentId>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, a)| Some(a.token.id) != token && Some(a.agent.id) != agent);
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("send an API token: Authorization: Bearer anl_…")
        })?;
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not readable"))?;
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|s| s.starts_with(TOKEN_PREFIX))
            .ok_or_else(|| ApiError::unauthorized("use Authorization: Bearer anl_…"))?;
        let auth = authenticate_any(state, secret).await?;
        if auth.customer_scope().is_some() {
            // A customer's token reaches only what is made for customers.
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map(|u| u.0.path().to_owned())
                .unwrap_or_else(|| parts.uri.path().to_owned());
            if !CUSTOMER_PATHS.contains(&path.as_str()) {
                return Err(ApiError::forbidden(
                    "a customer-scoped token can only search its customer's cases",
                ));
            }
        }
        Ok(auth)
    }
}

/// Failed sign-ins per address, for lockout with growing delays.
#[derive(Default)]
pub struct LoginGuard(Mutex<HashMap<String, (u32, Option<Instant>)>>);

impl LoginGuard {
    /// Failures allowed before the first lockout.
    const FREE: u32 = 5;

    /// `Err(seconds)` while the address is locked out.
    pub fn check(&self, email: &str) -> Result<(), u64> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(email) {
            Some((_, Some(until))) if *until > Instant::now() => {
                Err(until.duration_since(Instant::now()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Records a failure; locks out for 30 s, doubling per further failure, at most 15 min.
    pub fn failed(&self, email: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        let entry = map.entry(email.to_owned()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= Self::FREE {
            let secs = 30u64
                .saturating_mul(1 << (entry.0 - Self::FREE).min(5))
                .min(900);
            entry.1 = Some(Instant::now() + Duration::from_secs(secs));
        }
    }

    /// Clears the record after a good sign-in.
    pub fn succeeded(&self, email: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(email);
    }
}

/// The agent and token of an agent's secret (workspace session cookie): a customer-scoped token
/// is refused here, it never opens the workspace.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Auth, ApiError> {
    let auth = authenticate_any(state, secret).await?;
    if auth.customer_scope().is_some() {
        return Err(ApiError::unauthorized(
            "a customer-scoped token cannot open the workspace",
        ));
    }
    Ok(auth)
}

/// The agent and token of a bearer secret, customer-scoped tokens included (the API extractor
/// confines those to the customer paths).
pub async fn authenticate_any(state: &AppState, secret: &str) -> Result<Auth, ApiError> {
    let hash = hash_token(secret);
    let now = state.store().now();
    if let Some(auth) = state.tokens().get(&hash)
        && auth.token.expires_at.is_none_or(|e| e > now)
    {
        return Ok(auth);
    }
    let invalid = || ApiError::unauthorized("the token is unknown, expired or revoked");
    let token = state
        .store()
        .token_by_hash(&hash)
        .await?
        .ok_or_else(invalid)?;
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid());
    }
    let agent = state
        .store()
        .agent(token.agent_id)
        .await?
        .ok_or_else(invalid)?;
    if !agent.active {
        return Err(ApiError::unauthorized("this agent is deactivated"));
    }
    let auth = Auth { agent, token };
    state.tokens().put(hash, auth.clone());
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_token(&a), ha);
        assert_eq!(ha.len(), 64);
    }

    #[test]
    fn passwords_use_argon2id() {
        let h = hash_password("richtig-langes-passwort").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "richtig-langes-passwort"));
        assert!(!verify_password(&h, "falsch"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn lockout_grows() {
        let g = LoginGuard::default();
        for _ in 0..4 {
            g.failed("a@example.de");
            assert!(g.check("a@example.de").is_ok());
        }
        g.failed("a@example.de");
        assert!(g.check("a@example.de").is_err());
        g.succeeded("a@example.de");
        assert!(g.check("a@example.de").is_ok());
    }
}
