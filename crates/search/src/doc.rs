//! Search documents, built from the store's current state: one per case (subject, every
//! contact's text and attachment names, the customer's name and identities; internal notes
//! apart) and one per customer (name, identities, organisation; notes apart).

use std::collections::BTreeSet;

use anliegen_core::search::{self as analysis, DocKind, Token};
use anliegen_core::{CaseId, CaseStatus, Customer, CustomerId, IdentityKind, Language, Visibility};
use anliegen_store::Store;

use crate::Result;

/// Most characters of one contact's text that are indexed.
const MAX_CONTACT_CHARS: usize = 20_000;
/// Most characters of a document's public text or notes that are indexed and kept.
const MAX_DOC_CHARS: usize = 200_000;

/// One document as both engines index it.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Case or customer.
    pub kind: DocKind,
    /// The case's or customer's id.
    pub id: uuid::Uuid,
    /// The customer (of a case; the customer itself).
    pub customer: Option<uuid::Uuid>,
    /// Team.
    pub team: Option<uuid::Uuid>,
    /// Assignee.
    pub assignee: Option<uuid::Uuid>,
    /// Case status.
    pub status: Option<CaseStatus>,
    /// Priority.
    pub priority: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Channels of its contacts.
    pub channels: Vec<String>,
    /// Sender keys: identity keys of addresses, E.164 numbers.
    pub senders: Vec<String>,
    /// Any attachment.
    pub has_attachment: bool,
    /// Any internal note.
    pub has_note: bool,
    /// Created (µs).
    pub created: i64,
    /// Last activity (µs).
    pub updated: i64,
    /// `A-10042`, or a customer's first identity.
    pub reference: String,
    /// Subject or name.
    pub title: String,
    /// What customers may see, as kept for snippets.
    pub public_text: String,
    /// Internal notes, as kept for snippets.
    pub notes_text: String,
    /// Terms of the title (reference included).
    pub title_terms: Vec<Token>,
    /// Terms of the public text.
    pub public_terms: Vec<Token>,
    /// Terms of the notes.
    pub notes_terms: Vec<Token>,
}

/// The sender keys a `from:` value stands for: an address's identity key, a phone number in
/// E.164, else the value lower-cased.
pub fn sender_keys(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let mut out = Vec::new();
    if raw.contains('@') {
        if let Ok(a) = anliegen_core::EmailAddress::parse(raw) {
            out.push(a.identity_key());
            out.push(a.as_str().to_lowercase());
        }
    } else if let Ok(p) = anliegen_core::PhoneNumber::parse(raw) {
        out.push(p.as_str().to_owned());
    }
    out.push(raw.to_lowercase());
    out.sort();
    out.dedup();
    out
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn identity_texts(c: &Customer) -> Vec<String> {
    c.identities
        .iter()
        .map(|i| i.value.clone())
        .collect::<Vec<_>>()
}

fn customer_senders(c: &Customer, out: &mut BTreeSet<String>) {
    for i in &c.identities {
        match i.kind {
            IdentityKind::Email => {
                out.extend(sender_keys(&i.value));
            }
            IdentityKind::Phone => {
                out.insert(i.value.clone());
            }
            _ => {
                out.insert(i.value.to_lowercase());
            }
        }
    }
}

/// Appends one text's terms after those already in `terms`.
fn add_text(terms: &mut Vec<Token>, next: &mut u32, text: &str, lang: Option<Language>) {
    let lang = lang.or_else(|| Language::detect(text));
    *next = analysis::analyze_into(text, lang, *next, terms);
}

/// Documents of these cases (cases that no longer exist are left out). Three queries for the
/// whole list (cases, their customers, their contacts), not three per case.
pub async fn case_docs(store: &Store, ids: &[CaseId]) -> Result<Vec<Doc>> {
    let mut cases = anliegen_store::keyed(store.cases_by_ids(ids).await?, |c| c.id);
    let mut customer_ids: Vec<CustomerId> = cases.values().map(|c| c.customer_id).collect();
    customer_ids.sort();
    customer_ids.dedup();
    let customers = anliegen_store::keyed(store.customers_by_ids(&customer_ids).await?, |c| c.id);
    let found: Vec<CaseId> = cases.keys().copied().collect();
    let mut contacts: std::collections::HashMap<CaseId, Vec<anliegen_core::Contact>> =
        std::collections::HashMap::new();
    for c in store.contacts_of_cases(&found, true).await? {
        contacts.entry(c.case_id).or_default().push(c);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(case) = cases.remove(id) else {
            continue;
        };
        let mine = contacts.remove(id).unwrap_or_default();
        out.push(case_doc(&case, customers.get(&case.customer_id), &mine));
    }
    Ok(out)
}

/// The document of a case with its customer and contacts (internal notes included).
pub fn case_doc(
    case: &anliegen_core::Case,
    customer: Option<&Customer>,
    contacts: &[anliegen_core::Contact],
) -> Doc {
    let id = case.id;
    let mut senders = BTreeSet::new();
    let mut channels = BTreeSet::new();
    let mut public = String::new();
    let mut notes = String::new();
    let mut public_terms = Vec::new();
    let mut notes_terms = Vec::new();
    let (mut pnext, mut nnext) = (0u32, 0u32);
    let mut has_attachment = false;
    let mut has_note = false;
    if let Some(c) = customer {
        customer_senders(c, &mut senders);
        // The customer's name and identities find their cases too.
        let who = format!(
            "{} {}",
            c.name.as_deref().unwrap_or(""),
            identity_texts(c).join(" ")
        );
        add_text(&mut public_terms, &mut pnext, &who, Some(Language::De));
    }
    let mut first = true;
    for contact in contacts {
        channels.insert(contact.channel.as_str().to_owned());
        if let Some(from) = contact.mail.as_ref().and_then(|m| m.from.as_deref()) {
            senders.extend(sender_keys(from));
        }
        let mut text = cut(&contact.text, MAX_CONTACT_CHARS).to_owned();
        for a in &contact.attachments {
            has_attachment = true;
            text.push('\n');
            text.push_str(&a.filename);
        }
        let internal = contact.visibility == Visibility::Internal;
        let (buf, terms, next) = if internal {
            has_note = true;
            (&mut notes, &mut notes_terms, &mut nnext)
        } else {
            (&mut public, &mut public_terms, &mut pnext)
        };
        if buf.len() >= MAX_DOC_CHARS {
            continue;
        }
        // The case's language was detected from its first contact: not again for that one
        // (detection cost more than all the rest of a new case's analysis).
        let lang = if first { case.language } else { None };
        first = false;
        add_text(terms, next, &text, lang);
        if !buf.is_empty() {
            buf.push_str("\n\n");
        }
        buf.push_str(cut(&text, MAX_DOC_CHARS - buf.len().min(MAX_DOC_CHARS)));
    }
    let mut title_terms = Vec::new();
    let mut tnext = 0;
    let title_text = format!("{} {}", case.subject, case.reference);
    add_text(&mut title_terms, &mut tnext, &title_text, case.language);
    Doc {
        kind: DocKind::Case,
        id: id.0,
        customer: Some(case.customer_id.0),
        team: case.team_id.map(|t| t.0),
        assignee: case.assignee_id.map(|a| a.0),
        status: Some(case.status),
        priority: Some(case.priority.as_str().to_owned()),
        tags: case.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        channels: channels.into_iter().collect(),
        senders: senders.into_iter().collect(),
        has_attachment,
        has_note,
        created: case.created_at.as_microsecond(),
        updated: case.updated_at.as_microsecond(),
        reference: case.reference.to_string(),
        title: case.subject.clone(),
        public_text: public,
        notes_text: notes,
        title_terms,
        public_terms,
        notes_terms,
    }
}

/// Documents of these customers (merged-away and missing ones are left out).
pub async fn customer_docs(store: &Store, ids: &[CustomerId]) -> Result<Vec<Doc>> {
    let mut found = anliegen_store::keyed(store.customers_by_ids(ids).await?, |c| c.id);
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id))
        .filter(|c| c.merged_into.is_none())
        .map(|c| customer_doc(&c))
        .collect())
}

/// The document of a customer.
pub fn customer_doc(c: &Customer) -> Doc {
    let id = c.id;
    let mut senders = BTreeSet::new();
    customer_senders(c, &mut senders);
    let name = c.name.clone().unwrap_or_default();
    let idents = identity_texts(c).join("\n");
    let mut title_terms = Vec::new();
    let mut tnext = 0;
    add_text(&mut title_terms, &mut tnext, &name, Some(Language::De));
    let mut public_terms = Vec::new();
    let mut pnext = 0;
    add_text(&mut public_terms, &mut pnext, &idents, Some(Language::De));
    let mut notes_terms = Vec::new();
    let mut nnext = 0;
    add_text(&mut notes_terms, &mut nnext, &c.notes, None);
    Doc {
        kind: DocKind::Customer,
        id: id.0,
        customer: Some(id.0),
        team: None,
        assignee: None,
        status: None,
        priority: None,
        tags: Vec::new(),
        channels: Vec::new(),
        senders: senders.into_iter().collect(),
        has_attachment: false,
        has_note: !c.notes.trim().is_empty(),
        created: c.created_at.as_microsecond(),
        updated: c.updated_at.as_microsecond(),
        reference: c
            .identities
            .first()
            .map(|i| i.value.clone())
            .unwrap_or_default(),
        title: if name.is_empty() {
            c.identities
                .first()
                .map(|i| i.value.clone())
                .unwrap_or_default()
        } else {
            name
        },
        public_text: idents,
        notes_text: c.notes.clone(),
        title_terms,
        public_terms,
        notes_terms,
    }
}
