//! Concern matching: is a new contact about the same concern as an earlier one of the same
//! customer? Another customer's contact never joins; two different identifiers of one format
//! (two orders, two parcels) never join; contacts further apart than the window never join.
//! Otherwise a logistic model (`MODEL`) weighs the pair's signals (`features`): the identifiers
//! both quote, the kinds of problem (missing, damaged, refund, … from German and English word
//! classes) and whether the new one follows from the old, phrases that refer back to an earlier
//! contact ("ich hatte bereits geschrieben", "as discussed in the chat"), that say the customer is
//! still waiting, that open a new matter or say the earlier one was settled ("Rechnung erhalten,
//! danke", "points are sorted, thanks. But …"), that report the same thing again with something
//! else ("schon wieder", "this time"), the content words both use, and the days between them.
//! The model is fitted on the labelled pairs' tune splits by `tests/concern_pairs.rs`.
//!
//! Kinds of problem may develop: a missing parcel becomes a refund request, a damaged item a
//! return. Such a development (see `FOLLOWS`) is the same concern; a problem that does not
//! follow from the earlier one (a broken lamp after a missing parcel) is a new one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use crate::text::{IdKind, Identifier, fold, identifiers, is_stop};

/// How far below `min_score` a pair is still worth showing the agent as "maybe the same concern"
/// (a new case that names the earlier one instead of joining it).
pub const MAYBE_MARGIN: f64 = 0.2;

/// Settings of the matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// Contacts further apart than this never match on text alone (days), unless the new one
    /// refers back to an earlier contact (see `follow_up_window_days`).
    pub window_days: i64,
    /// The scorer's probability (0–1) from which two contacts are one concern: higher joins
    /// fewer contacts wrongly and misses more repeats.
    pub min_score: f64,
    /// Share of the shorter text's word stems (0–1) that the other shares, from which a
    /// contact is a near-duplicate (the same form sent again) and joins whatever the score says,
    /// unless it opens a new matter or reports the same thing again with something else.
    pub near_duplicate: f64,
    /// The window for a contact that says it follows up an earlier one ("vor drei Wochen
    /// habe ich geschrieben"), in days.
    pub follow_up_window_days: i64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            window_days: 30,
            min_score: 0.7,
            near_duplicate: 0.9,
            follow_up_window_days: 60,
        }
    }
}

/// Why the matcher decided as it did (recorded on the contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Another customer.
    OtherCustomer,
    /// Both name this order, parcel or book and no new problem is raised.
    SameIdentifier(String),
    /// The same order or parcel, but another problem.
    SameIdentifierOtherProblem(String),
    /// They name different orders, parcels or books.
    DifferentIdentifiers,
    /// Too far apart in time.
    OutsideWindow,
    /// The new contact refers back to an earlier one about the same concern.
    FollowUp,
    /// Similar text about the same kind of problem.
    SimilarText,
    /// The new contact opens another matter ("andere Frage", "another order"), or the earlier
    /// one was settled or only a general question.
    NewMatter,
    /// Nothing that ties them.
    Unrelated,
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// One concern?
    pub same: bool,
    /// Why.
    pub reason: Reason,
    /// The scorer's probability that they are one concern (0 where a hard rule decided).
    pub score: f64,
}

// Phrase syntax of the lists below (all folded before use): words in order; a word matches a
// word of the text that starts with it (`rucksend` finds `rucksendeetikett`); `word=` must be
// the whole word; `*word` may sit inside a German compound (`*adress` in `lieferadresse`);
// `_` skips up to three words ("hatte _ geschrieben").

/// Kinds of problem and the phrases that signal them ("missing" also covers late: for a
/// customer both are "where is my parcel").
const TOPICS: &[(&str, &[&str])] = &[
    (
        "missing",
        &[
            "fehlt",
            "fehlen",
            "fehlend",
            "nicht angekommen",
            "nie angekommen",
            "nichts angekommen",
            "nicht _ angekommen",
            "nicht erhalten",
            "nichts erhalten",
            "nicht bekommen",
            "nichts bekommen",
            "nix bekommen",
            "nicht gekommen",
            "nichts gekommen",
            "nicht geliefert",
            "nicht zugestellt",
            "nicht eingegangen",
            "verschwunden",
            "verschollen",
            "verloren gegangen",
            "wo bleibt",
            "bis heute nicht",
            "noch nicht da",
            "nicht da=",
            "nichts da=",
            "nicht mehr da",
            "weiter nicht da",
            "zugestellt",
            "*zustell",
            "sendungsverfolgung",
            "unterwegs",
            "*lieferung dauert",
            "uberfallig",
            "verspat",
            "verzoger",
            "verschoben",
            "spedition",
            "spediteur",
            "liefertermin",
            "wann kommt",
            "wann wird",
            "kommt nicht voran",
            "bewegt sich nicht",
            "teillieferung",
            "unvollstandig",
            "nur ein karton",
            "zweite paket",
            "nur die",
            "kam nur",
            "halb",
            "packstuck",
            "nachbar",
            "packstation",
            "missing",
            "not arrived",
            "never arrived",
            "hasnt arrived",
            "has not arrived",
            "havent arrived",
            "didnt arrive",
            "did not arrive",
            "not received",
            "never received",
            "not here",
            "nothing arrived",
            "never came",
            "never showed up",
            "not delivered",
            "marked delivered",
            "says delivered",
            "shown as delivered",
            "delivered to",
            "got lost",
            "was lost",
            "is lost",
            "where is",
            "late=",
            "delay",
            "overdue",
            "freight",
            "forwarder",
            "when will",
            "stuck",
            "hasnt moved",
            "not moved",
            "hasnt updated",
            "no updates",
            "second parcel",
            "only one",
            "only boxes",
            "box 2",
            "half",
            "neighbour",
            "arrived without",
            "came without",
            "still not here",
            "isnt here",
        ],
    ),
    (
        "damaged",
        &[
            "kaputt",
            "beschadig",
            "defekt",
            "zerbroch",
            "gebroch",
            "zerkratzt",
            "kratzer",
            "delle",
            "verbeult",
            "gerissen",
            "riss=",
            "risse",
            "gesprungen",
            "sprung=",
            "zersplitt",
            "scherben",
            "*bruch",
            "*schaden",
            "undicht",
            "tropft",
            "leckt",
            "lauft aus",
            "lauft weiter aus",
            "wackel",
            "flacker",
            "verfarbt",
            "abgefarbt",
            "farbe verloren",
            "lost sich",
            "geht ab",
            "ladt nicht",
            "ladt nicht mehr",
            "kuhlt nicht",
            "heizt nicht",
            "heizt nur",
            "schaumt nicht",
            "springt nicht",
            "saugt kaum",
            "saugt nicht",
            "funktioniert nicht",
            "funktioniert nicht mehr",
            "blinkt rot",
            "fehler e",
            "broken",
            "damaged",
            "damage",
            "cracked",
            "crack=",
            "scratch",
            "dent",
            "dented",
            "smashed",
            "shattered",
            "crushed",
            "soaked",
            "leak",
            "faulty",
            "defective",
            "dosnt work",
            "does not work",
            "not working",
            "stopped working",
            "wont charge",
            "dosnt charge",
            "not charging",
            "wont turn on",
            "bulging",
            "swelling",
            "flicker",
            "grinding noise",
            "misaligned",
            "torn",
            "ripped",
            "ohne bild",
            "kein bild",
            "no picture",
            "no image",
            "startet nicht",
            "wont start",
        ],
    ),
    (
        "wrong_item",
        &[
            "falsch",
            "statt _ geliefert",
            "statt _ bekommen",
            "statt _ erhalten",
            "geliefert statt",
            "verwechselt",
            "anderen artikel",
            "andere farbe",
            "wrong",
            "sent me _ instead",
            "got _ instead",
            "received _ instead",
            "not what i ordered",
            "someone elses",
            "different colour",
            "different color",
        ],
    ),
    (
        "refund",
        &[
            "*erstatt",
            "geld zuruck",
            "mein geld",
            "das geld",
            "*gutschrift",
            "ruckzahlung",
            "zuruckbuch",
            "zuruckuberweis",
            "refund",
            "money back",
            "reimburs",
            "credited",
            "my money",
        ],
    ),
    (
        "return",
        &[
            "rucksend",
            "*retour",
            "zuruckschick",
            "zuruck schick",
            "zurucksend",
            "zuruckgeschickt",
            "zuruckgeb",
            "zuruck geben",
            "ruckgabe",
            "*tausch",
            "etikett",
            "return",
            "returned",
            "send back",
            "send it back",
            "sent back",
            "sent it back",
            "schickte _ zuruck",
            "exchange",
            "label",
            "pickup",
            "abhol",
        ],
    ),
    (
        "invoice",
        &[
            "*rechnung",
            "beleg",
            "quittung",
            "invoice",
            "receipt",
            "vat=",
            "mwst",
            "ust=",
        ],
    ),
    (
        "payment",
        &[
            "abgebucht",
            "*abbuch",
            "doppelt",
            "zweimal",
            "2x=",
            "2 x=",
            "x2=",
            "belastet",
            "*belastung",
            "charged",
            "charge=",
            "twice",
            "double charg",
            "double debit",
            "double payment",
            "charged double",
            "duplicate",
            "lastschrift",
            "klarna",
            "paypal",
            "kreditkarte",
            "credit card",
            "zahlung",
            "mahnung",
            "payment",
            "bezahlt",
            "paid=",
            "debit",
            "berechnet",
            "fee=",
            "gebuhr",
        ],
    ),
    (
        "voucher",
        &[
            "*gutschein",
            "rabatt",
            "aktionscode",
            "coupon",
            "voucher",
            "discount",
            "promo",
            "code=",
            "einlos",
            "eingelost",
            "redeem",
            "gift card",
            "geschenkkarte",
            "guthaben",
            "punkte",
            "punktestand",
            "bonuspunkt",
            "treuepunkt",
            "points",
            "loyalty",
            "balance",
        ],
    ),
    (
        "address",
        &[
            "*adress",
            "*anschrift",
            "address",
            "deliver= to",
            "postleitzahl",
            "plz=",
            "postcode",
            "umleit",
            "redirect",
            "umzug",
            "moving",
            "neue wohnung",
            "packstation",
        ],
    ),
    (
        "cancel",
        &[
            "storn",
            "kundig",
            "gekundigt",
            "abbestell",
            "cancel",
            "widerruf",
            "zurucktret",
            "zurucktreten",
            "will nicht mehr",
            "dont want it",
            "refuse delivery",
        ],
    ),
    (
        "account",
        &[
            "gesperrt",
            "sperre",
            "entsperr",
            "*sperrung",
            "passwort",
            "password",
            "login",
            "log in",
            "einlogg",
            "anmelden",
            "zugang",
            "locked",
            "blocked",
            "suspended",
            "sign in",
            "hacked",
            "zwei faktor",
            "2fa",
            "authenticator",
            "two factor",
            "bestatigungscode",
            "verification code",
            "locked out",
            "cant log",
            "cannot log",
            "nicht _ ins kundenkonto",
            "nicht _ in mein konto",
            "nicht _ ins konto",
        ],
    ),
    (
        "fraud",
        &[
            "*uberweis",
            "iban",
            "betrug",
            "fake",
            "scam",
            "bank transfer",
            "outside",
            "ausserhalb",
            "verdachtig",
            "suspicious",
            "vorkasse",
            "phishing",
            "bankdaten",
            "bank details",
            "freunde familie",
            "friends and family",
            "friends family",
        ],
    ),
    (
        "price",
        &[
            "preis",
            "*preisbind",
            "ladenpreis",
            "gebundene",
            "price",
            "pricing",
            "nicht verfugbar",
            "unavailable",
            "not available",
            "listing",
            "listed",
            "gelistet",
        ],
    ),
    (
        "callback",
        &[
            "*ruckruf",
            "zuruckruf",
            "call back",
            "callback",
            "call me",
            "phone me",
            "rufen sie mich",
            "niemand angerufen",
            "nobody called",
            "no call",
        ],
    ),
    (
        "customs",
        &[
            "zoll",
            "*verzoll",
            "schweiz",
            "customs",
            "duty",
            "duties",
            "switzerland",
            "swiss",
            "import",
            "eori",
            "einfuhr",
        ],
    ),
    (
        "warranty",
        &[
            "garantie",
            "*garantie",
            "gewahrleist",
            "*reparatur",
            "reparier",
            "warranty",
            "repair",
            "guarantee",
            "servicepartner",
            "techniker",
            "technician",
            "service centre",
            "service center",
            "servicecenter",
        ],
    ),
    (
        "size",
        &[
            "*grossen",
            "grosse=",
            "grosser",
            "zu klein",
            "zu gross",
            "zu eng",
            "passt nicht",
            "klein aus",
            "size",
            "too small",
            "too big",
            "too large",
            "dosnt fit",
            "does not fit",
            "wrong fit",
            "bigger",
        ],
    ),
    (
        "payout",
        &[
            "*auszahlung",
            "ausgezahlt",
            "auszuzahlen",
            "payout",
            "paid out",
            "pay out",
            "disbursement",
        ],
    ),
    (
        "privacy",
        &[
            "newsletter",
            "werbemail",
            "werbung",
            "unsubscribe",
            "abmelden",
            "abgemeldet",
            "einwillig",
            "consent",
            "opt in",
            "opt out",
            "dsgvo",
            "gdpr",
            "datenschutz",
            "datenauskunft",
            "auskunft nach",
            "daten loschen",
            "meine daten",
            "personal data",
            "my data",
            "delete my",
            "marketing",
        ],
    ),
    (
        "listing",
        &[
            "listing",
            "inaktiv",
            "deaktiviert",
            "aktiv schalten",
            "freischalt",
            "freigeschaltet",
            "reaktivier",
            "inactive",
            "deactivated",
            "reactivate",
            "delisted",
            "offline",
            "nicht mehr sichtbar",
            "unsichtbar",
            "no longer visible",
            "not visible",
            "takedown",
        ],
    ),
];

/// Which kinds of problem a concern naturally develops into (the earlier contact's kind first):
/// a missing parcel into a refund, a damaged item into a return, and so on. Anything may lead
/// to a call-back.
const FOLLOWS: &[(&str, &[&str])] = &[
    (
        "missing",
        &[
            "refund", "address", "cancel", "return", "customs", "invoice",
        ],
    ),
    (
        "damaged",
        &["refund", "return", "warranty", "missing", "wrong_item"],
    ),
    (
        "wrong_item",
        &["return", "refund", "size", "missing", "cancel"],
    ),
    ("size", &["return", "refund", "wrong_item", "missing"]),
    ("return", &["refund", "missing", "payment", "address"]),
    ("refund", &["payment", "return", "cancel", "missing"]),
    ("payment", &["refund", "cancel", "fraud"]),
    ("voucher", &["refund", "payment", "price", "account"]),
    ("invoice", &["payment", "customs", "address", "missing"]),
    ("address", &["missing", "account"]),
    ("cancel", &["refund", "payment", "missing", "return"]),
    ("account", &["voucher", "payment", "fraud"]),
    ("fraud", &["payment", "cancel", "account", "refund"]),
    (
        "customs",
        &["refund", "invoice", "payment", "return", "missing"],
    ),
    (
        "warranty",
        &["damaged", "refund", "missing", "return", "invoice"],
    ),
    ("payout", &["payment", "account", "invoice", "missing"]),
    ("privacy", &["account"]),
    ("listing", &["account", "price"]),
    ("price", &["voucher", "listing"]),
];

/// Phrases of a contact that refers back explicitly to an earlier one ("ich hatte
/// geschrieben", "as discussed", "meine Mail von Dienstag", the agent's "hatte gemailt").
const FOLLOW_UP: &[&str] = &[
    "hatte _ geschrieben",
    "habe _ geschrieben",
    "hatten _ geschrieben",
    "haben _ geschrieben",
    "hatte _ gemailt",
    "habe _ gemailt",
    "hatte _ gemeldet",
    "gemeldet habe",
    "gefragt habe",
    "nachgefragt habe",
    "angefragt habe",
    "geschrieben habe",
    "angerufen habe",
    "reklamiert habe",
    "habe ich _ gefragt",
    "habe ich _ geschrieben",
    "habe ich _ gemeldet",
    "hab ich _ gemeldet",
    "hab ich _ geschrieben",
    "called you",
    "phoned=",
    "i phoned",
    "rang you",
    "hingewiesen",
    "reported via",
    "i reported",
    "already reported",
    "habe _ gemeldet",
    "hatte _ angerufen",
    "habe _ angerufen",
    "hab _ angerufen",
    "hatte _ gefragt",
    "habe _ gefragt",
    "hatte _ angefragt",
    "habe _ angefragt",
    "hatte _ reklamiert",
    "habe _ reklamiert",
    "meinem anruf",
    "meinem _ anruf",
    "unser telefonat",
    "unserem telefonat",
    "besprochen",
    "meine mail",
    "meiner mail",
    "meine _ mail",
    "meiner _ mail",
    "meine _ nachricht",
    "meiner _ nachricht",
    "letzten nachricht",
    "mein schreiben",
    "meinem schreiben",
    "meine anfrage",
    "meiner anfrage",
    "meine meldung",
    "meiner meldung",
    "meine reklamation",
    "meiner reklamation",
    "bezug auf",
    "bezugnehmend",
    "erinnerung",
    "nachtrag",
    "erganzend",
    "erganzung",
    "nochmal nach",
    "nochmal wegen",
    "noch mal wegen",
    "noch einmal wegen",
    "hatte _ nachgefragt",
    "habe _ nachgefragt",
    "schon _ geschrieben",
    "bereits _ geschrieben",
    "hat _ geschrieben",
    "schon _ angerufen",
    "bereits _ angerufen",
    "schon _ gemeldet",
    "bereits _ gemeldet",
    "per formular",
    "ubers formular",
    "uber das formular",
    "zugesagt",
    "versprochen",
    "keine antwort",
    "keine reaktion",
    "keine ruckmeldung",
    "unbeantwortet",
    "nichts gehort",
    "nichts mehr gehort",
    "wie vereinbart",
    "wie bereits",
    "wie besprochen",
    "as discussed",
    "as i said",
    "as mentioned",
    "as already",
    "following up",
    "follow up",
    "followed up",
    "following my",
    "spoke to",
    "spoke with",
    "talked to",
    "i called",
    "had called",
    "my email",
    "my _ email",
    "my message",
    "my _ message",
    "my last",
    "my previous",
    "my earlier",
    "my request",
    "my form",
    "sent a form",
    "sent you a",
    "via the form",
    "via your form",
    "my report",
    "my complaint",
    "our call",
    "first asked",
    "second request",
    "second email",
    "a reminder",
    "friendly reminder",
    "gentle reminder",
    "no answer",
    "no reply",
    "no response",
    "nobody answered",
    "unanswered",
    "havent heard",
    "not heard back",
    "heard nothing",
    "writing again",
    "was promised",
    "you said",
    "contacted you",
    "asked me to",
    "told me to",
    "i asked",
    "we asked",
];

/// Weaker signs of a follow-up: a reply, a channel, material sent as asked ("anbei",
/// "here is the photo"). They tie two contacts only about a kind of problem both name.
const FOLLOW_UP_WEAK: &[&str] = &[
    "geschrieben",
    "gemailt",
    "angerufen",
    "telefonisch",
    "am telefon",
    "im chat",
    "chat=",
    "formular",
    "nochmals",
    "erneut=",
    "seitdem",
    "keine bestatigung",
    "anbei",
    "hier noch",
    "hier das",
    "hier die",
    "hier der",
    "hier wie",
    "wie gewunscht",
    "wrote",
    "written",
    "emailed",
    "chatted",
    "in chat",
    "the chat",
    "your chat",
    "as requested",
    "attached",
    "here is the",
    "here are the",
    "promised",
    "was told",
    "i told",
    "i filled",
    "filled out",
    "second try",
    "hallo nochmal",
    "me again",
    "hi again",
    "hello again",
];

/// Phrases that say the problem lasts ("immer noch", "still"): a follow-up when the problem is
/// the same.
const STILL: &[&str] = &[
    "immer noch",
    "noch immer",
    "weiterhin",
    "nach wie vor",
    "still",
    "any news",
    "any update",
    "update on",
    "seit tagen",
    "seit wochen",
    "warte seit",
    "wartet seit",
    "warten seit",
    "warte ich",
    "warten wir",
    "been waiting",
    "waiting for",
    "still waiting",
    "wie ist der stand",
    "stand der dinge",
    "kein fortschritt",
    "keinen fortschritt",
    "status of my",
    "any progress",
    "no progress",
    "noch keine",
    "noch keinen",
    "noch kein=",
    "bisher keine",
    "bisher keinen",
    "bis heute",
    "to this day",
];

/// Phrases that open a new matter ("andere Frage", "different thing").
const NEW_MATTER: &[&str] = &[
    "anderes problem",
    "neues problem",
    "andere sache",
    "etwas anderes",
    "anderes anliegen",
    "andere frage",
    "separate frage",
    "ich schreibe einfach hier",
    "different thing",
    "another issue",
    "something else",
    "new problem",
    "different issue",
    "another thing",
    "separate question",
    "different question",
    "another question",
    "unrelated",
    "jetzt habe ich aber",
    "now i have",
    "hat geklappt",
    "worked in the end",
    "code worked",
    "ist angekommen danke",
    "angekommen danke",
    "ist da danke",
    "inzwischen da danke",
    "gestern gekommen",
    "gekommen jetzt",
    "got it thanks",
    "arrived thanks",
    "the order arrived",
    "was anderes",
    "separate sache",
    "separates thema",
    "anderes thema",
    "anderen thema",
    "neues thema",
    "diesen faden",
    "diesen thread",
    "der einfachheit halber",
    "neuer defekt",
    "neuen defekt",
    "anderer defekt",
    "anderen defekt",
    "neuen reparaturauftrag",
    "neue reparatur",
    "different fault",
    "new fault",
    "another fault",
    "new repair",
    "different topic",
    "other topic",
    "another matter",
    "separate matter",
    "separate issue",
    "different matter",
    "this thread",
    "not about the",
    "geht nicht um",
    "unabhangig von",
    "abgesehen davon",
    "apart from that",
    "separate bestellung",
    "separate order",
    "anderes gerat",
    "anderen gerat",
    "another device",
    "other device",
    "while i have you",
    "wo ich sie gerade",
];

/// Phrases that settle a contact ("hat geklappt", "all good", the agent's "erledigt"): what
/// comes after it is a new matter.
const SETTLED: &[&str] = &[
    "hat geklappt",
    "hat funktioniert",
    "wieder entsperrt",
    "alles geklart",
    "passt alles",
    "erledigt",
    "erhalten vielen dank",
    "angekommen vielen dank",
    "all good",
    "resolved",
    "worked thanks",
    "unlocked after",
    "re issued",
    "funktioniert danke",
    "repariert zuruckgekommen",
    "danke fur die info",
    "danke fur die auskunft",
    "thanks for the info",
    "thanks for the explanation",
    "confirmed working",
    "funktioniert wieder",
    "works again",
    "working again",
    "problem solved",
    "problem gelost",
    "geklart",
    "sorted=",
    "ist bestatigt",
    "sind bestatigt",
    "is confirmed",
    "repariert zuruck",
    "lauft wieder",
    "habe ich endlich",
    "got it in the end",
    "is fixed",
    "was fixed",
    "fixed now",
    "behoben",
    "danke _ aber",
    "danke _ jetzt",
    "danke _ leider",
    "thanks _ but",
    "thank you _ but",
    "thanks _ now",
    "fine now",
    "passt jetzt",
    "ist jetzt in ordnung",
    "auskunft gegeben",
    "auskunft erteilt",
    "explained",
];

/// A general or pre-sales question ("wie lange dauert …?", "can I pay with …?").
const QUESTION: &[&str] = &[
    "wie lange",
    "wie hoch",
    "gibt es",
    "gibts",
    "kann man",
    "ist es moglich",
    "wie funktioniert",
    "frage=",
    "how long",
    "how do i",
    "how can i",
    "can i pay",
    "is it possible",
    "do you",
    "do your",
    "can vouchers",
    "question about",
];

/// The same kind of problem again, with another incident ("schon wieder", "second time").
const REPEAT: &[&str] = &[
    "schon wieder",
    "wieder passiert",
    "zum zweiten mal",
    "zweite mal",
    "second time",
    "second mistake",
    "this time",
    "diesmal",
    "happened again",
    "yet again",
    "again a=",
    "again an=",
    "another parcel",
    "another package",
];

/// What the new contact says has arrived or been done ("Rechnung erhalten", "refund
/// received"): the earlier matter is settled, so what it raises now is a new one. Phrases are
/// a thing followed by its arrival (`RESOLVED_THINGS` × `RESOLVED_AFTER`) or, in English, also
/// the arrival followed by the thing; a negation, a doubt or a fault near them cancels them.
const RESOLVED_THINGS: &[&str] = &[
    "rechnung",
    "erstattung",
    "ruckerstattung",
    "geld=",
    "gutschrift",
    "paket",
    "lieferung",
    "ware=",
    "karton",
    "etikett",
    "retourenschein",
    "ersatz",
    "auszahlung",
    "gutschein",
    "bestellung",
    "label",
    "refund",
    "invoice",
    "parcel",
    "package",
    "money",
    "replacement",
    "payout",
    "voucher",
    "order=",
];

const RESOLVED_AFTER: &[&str] = &[
    "erhalten",
    "bekommen",
    "angekommen",
    "ist _ da=",
    "sind _ da=",
    "kam _ an=",
    "eingegangen",
    "gekommen",
    "gutgeschrieben",
    "received",
    "arrived",
    "came=",
    "is here",
    "turned up",
    "showed up",
    "went through",
];

const RESOLVED_BEFORE: &[&str] = &["received", "got="];

/// Arrivals with thanks, whatever arrived ("kam gestern an, danke").
const RESOLVED_THANKS: &[&str] = &[
    "kam _ an danke",
    "ist _ da danke",
    "angekommen danke",
    "erhalten danke",
    "bekommen danke",
    "received thank",
    "arrived thank",
    "got it thank",
];

/// Words that cancel a `RESOLVED` phrase near it: it did not arrive, may not have, or came
/// with a fault.
const NOT_RESOLVED: &[&str] = &[
    "nicht",
    "nie",
    "niemals",
    "kein",
    "keine",
    "keinen",
    "nichts",
    "weder",
    "noch",
    "wann",
    "ob",
    "falls",
    "wenn",
    "sobald",
    "bis",
    "sollte",
    "sollten",
    "angeblich",
    "laut",
    "sei",
    "not",
    "never",
    "no",
    "nothing",
    "didnt",
    "hasnt",
    "havent",
    "hadnt",
    "wasnt",
    "isnt",
    "dont",
    "doesnt",
    "yet",
    "still",
    "when",
    "whether",
    "if",
    "once",
    "until",
    "should",
    "supposedly",
    "says",
    "shows",
    "marked",
    "beschadigt",
    "kaputt",
    "defekt",
    "zerbrochen",
    "nass",
    "leer",
    "offen",
    "falsch",
    "falsche",
    "falschen",
    "unvollstandig",
    "teilweise",
    "nur",
    "halb",
    "damaged",
    "broken",
    "crushed",
    "wet",
    "empty",
    "open",
    "wrong",
    "incomplete",
    "partly",
    "only",
    "half",
    "trotzdem",
    "obwohl",
    "anyway",
    "despite",
    "though",
    "kann",
    "konnen",
    "konnte",
    "mochte",
    "will",
    "wollen",
    "muss",
    "bitte",
    "hoffe",
    "erwarte",
    "warte",
    "can",
    "could",
    "would",
    "want",
    "please",
    "hope",
    "expect",
    "wait",
    "dhl",
    "hermes",
    "dpd",
    "gls",
    "ups",
    "tracking",
    "sendungsverfolgung",
    "status",
];

/// Words right after an arrival that cancel it ("arrived damaged", "angekommen, trotzdem").
const NOT_RESOLVED_AFTER: &[&str] = &[
    "nicht",
    "nichts",
    "nie",
    "not",
    "nothing",
    "never",
    "beschadigt",
    "kaputt",
    "defekt",
    "damaged",
    "broken",
    "leer",
    "empty",
    "falsch",
    "wrong",
    "unvollstandig",
    "incomplete",
    "only",
    "nur",
    "halb",
    "half",
    "trotzdem",
    "anyway",
];

/// A new order is named ("neue Bestellung", "I re-ordered").
const NEW_ORDER: &[&str] = &[
    "neue bestellung",
    "neuen bestellung",
    "neu bestellt",
    "neu bestellte",
    "nochmal bestellt",
    "andere bestellung",
    "anderen bestellung",
    "separat bestellt",
    "new order",
    "re ordered",
    "reordered",
    "another order",
    "other order",
    "different order",
];

/// Words so common in service mail that sharing them says nothing about the concern.
const GENERIC: &[&str] = &[
    "bestellung",
    "bestellnummer",
    "bestellnr",
    "bestellt",
    "order",
    "ordered",
    "paket",
    "parcel",
    "package",
    "sendung",
    "lieferung",
    "geliefert",
    "delivery",
    "delivered",
    "kunde",
    "kundin",
    "customer",
    "ruft",
    "called",
    "anruf",
    "heute",
    "gestern",
    "today",
    "yesterday",
    "tage",
    "tagen",
    "woche",
    "wochen",
    "days",
    "week",
    "weeks",
    "bitte",
    "mochte",
    "would",
    "like",
    "hier",
    "jetzt",
    "immer",
    "wieder",
    "again",
    "please",
    "hello",
    "hallo",
    "moin",
    "servus",
    "team",
    "geht",
    "gibt",
    "kann",
    "konnen",
    "will",
    "want",
    "need",
    "brauche",
    "email",
    "mail",
    "chat",
    "form",
    "formular",
    "schon",
    "bereits",
    "already",
    "about",
    "wegen",
    "because",
    "weil",
    "sent",
    "geschickt",
    "schicken",
    "send",
    "grusse",
    "gruss",
    "freundlichen",
    "viele",
    "liebe",
    "best",
    "regards",
    "thanks",
    "danke",
    "vielen",
    "dear",
    "sehr",
    "geehrte",
    "geehrter",
    "damen",
    "herren",
    "sir",
    "madam",
    "some",
    "thing",
    "eine",
    "einen",
    "diese",
    "dieser",
    "what",
    "when",
    "where",
    "wann",
    "warum",
    "why",
    "how",
    "habe",
    "haben",
    "have",
    "sind",
    "sein",
    "ist",
    "war",
    "wurde",
    "wurden",
    "aber",
    "auch",
    "sich",
    "sie",
    "ihnen",
    "their",
    "them",
    "they",
    "then",
    "than",
    "still",
    "noch",
    "nicht",
    "nichts",
    "nothing",
    "get",
    "got",
    "bekommen",
    "erhalten",
    "received",
    "arrived",
    "angekommen",
    "ihr",
    "ihrer",
    "ihrem",
    "your",
    "yours",
    "mfg",
    "lg",
    "vg",
    "grussen",
];

/// The classes a phrase belongs to: the kinds of problem, then the phrase lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Topic(u8),
    FollowUp,
    Still,
    NewMatter,
    Settled,
    Question,
    Repeat,
    NewOrder,
    FollowUpWeak,
    Resolved,
    /// Internal: a thing of `RESOLVED_THINGS` (its arrival may follow).
    ResolvedThing,
    /// Internal: an arrival of `RESOLVED_BEFORE` (its thing may follow).
    ResolvedBefore,
}

impl Class {
    fn bit(self) -> u64 {
        let n = match self {
            Class::Topic(t) => u32::from(t),
            Class::FollowUp => 40,
            Class::Still => 41,
            Class::NewMatter => 42,
            Class::Settled => 43,
            Class::Question => 44,
            Class::Repeat => 45,
            Class::NewOrder => 46,
            Class::FollowUpWeak => 47,
            Class::Resolved => 48,
            Class::ResolvedThing => 49,
            Class::ResolvedBefore => 50,
        };
        1u64 << n
    }
}

const TOPIC_BITS: u64 = (1u64 << 40) - 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Prefix,
    Exact,
    Infix,
    Gap,
}

struct Tok {
    s: String,
    mode: Mode,
}

struct Pattern {
    toks: Vec<Tok>,
    bit: u64,
}

/// All phrases, folded once, indexed by the first two bytes of their first word.
struct Lexicon {
    patterns: Vec<Pattern>,
    by_start: std::collections::HashMap<[u8; 3], Vec<usize>, KeyHash>,
    anywhere: Vec<usize>,
    follows: Vec<u64>,
    generic: std::collections::HashSet<String>,
    not_resolved: std::collections::HashSet<String>,
    /// `RESOLVED_THINGS` and `RESOLVED_AFTER`, to complete a thing or an arrival.
    things: Vec<Pattern>,
    arrivals: Vec<Pattern>,
}

/// A hasher for the three-byte keys of `Lexicon::by_start` (SipHash is slow for them).
#[derive(Default, Clone, Copy)]
struct KeyHash(u64);

impl std::hash::Hasher for KeyHash {
    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
}

impl std::hash::BuildHasher for KeyHash {
    type Hasher = KeyHash;
    fn build_hasher(&self) -> KeyHash {
        KeyHash(0)
    }
}

/// The first `n` (at most three) bytes of a word, padded with zeros: phrases are indexed by
/// the key of their first word, and a word looks up the keys of its first one, two and three
/// bytes.
fn start_key(word: &str, n: usize) -> [u8; 3] {
    let mut key = [0u8; 3];
    for (k, b) in key.iter_mut().zip(word.bytes().take(n.min(3))) {
        *k = b;
    }
    key
}

fn parse(phrase: &str, bit: u64) -> Pattern {
    let mut toks = Vec::new();
    for raw in phrase.split_whitespace() {
        if raw == "_" {
            toks.push(Tok {
                s: String::new(),
                mode: Mode::Gap,
            });
            continue;
        }
        let mode = if raw.starts_with('*') {
            Mode::Infix
        } else if raw.ends_with('=') {
            Mode::Exact
        } else {
            Mode::Prefix
        };
        for w in fold(raw).split(' ').filter(|w| !w.is_empty()) {
            toks.push(Tok {
                s: w.to_owned(),
                mode,
            });
        }
    }
    Pattern { toks, bit }
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut patterns = Vec::new();
    for (i, (_, phrases)) in TOPICS.iter().enumerate() {
        let bit = Class::Topic(u8::try_from(i).unwrap_or(u8::MAX)).bit();
        patterns.extend(phrases.iter().map(|p| parse(p, bit)));
    }
    for (list, class) in [
        (FOLLOW_UP, Class::FollowUp),
        (STILL, Class::Still),
        (NEW_MATTER, Class::NewMatter),
        (SETTLED, Class::Settled),
        (QUESTION, Class::Question),
        (REPEAT, Class::Repeat),
        (NEW_ORDER, Class::NewOrder),
        (FOLLOW_UP_WEAK, Class::FollowUpWeak),
    ] {
        patterns.extend(list.iter().map(|p| parse(p, class.bit())));
    }
    patterns.extend(
        RESOLVED_THANKS
            .iter()
            .map(|p| parse(p, Class::Resolved.bit())),
    );
    // Things and arrivals are combined while matching ("Rechnung _ erhalten").
    patterns.extend(
        RESOLVED_THINGS
            .iter()
            .map(|p| parse(p, Class::ResolvedThing.bit())),
    );
    patterns.extend(
        RESOLVED_BEFORE
            .iter()
            .map(|p| parse(p, Class::ResolvedBefore.bit())),
    );
    let mut index: BTreeMap<[u8; 3], Vec<usize>> = BTreeMap::new();
    let mut anywhere = Vec::new();
    for (i, p) in patterns.iter().enumerate() {
        match p.toks.first() {
            Some(t) if t.mode != Mode::Infix && !t.s.is_empty() => {
                index.entry(start_key(&t.s, 3)).or_default().push(i);
            }
            Some(_) => anywhere.push(i),
            None => {}
        }
    }
    let topic_bit = |name: &str| {
        TOPICS.iter().position(|(t, _)| *t == name).map_or(0, |i| {
            Class::Topic(u8::try_from(i).unwrap_or(u8::MAX)).bit()
        })
    };
    let follows = TOPICS
        .iter()
        .map(|(name, _)| {
            let callback = topic_bit("callback");
            FOLLOWS
                .iter()
                .filter(|(from, _)| from == name)
                .flat_map(|(_, to)| to.iter())
                .fold(topic_bit(name) | callback, |m, t| m | topic_bit(t))
        })
        .collect();
    Lexicon {
        patterns,
        by_start: index.into_iter().collect(),
        anywhere,
        follows,
        generic: GENERIC.iter().map(|g| fold(g)).collect(),
        not_resolved: NOT_RESOLVED.iter().map(|g| fold(g)).collect(),
        things: RESOLVED_THINGS.iter().map(|p| parse(p, 0)).collect(),
        arrivals: RESOLVED_AFTER.iter().map(|p| parse(p, 0)).collect(),
    }
});

/// Where a phrase starting at word `i` ends (one past its last word), if it matches.
fn match_from(words: &[&str], i: usize, toks: &[Tok]) -> Option<usize> {
    let Some((t, rest)) = toks.split_first() else {
        return Some(i);
    };
    if t.mode == Mode::Gap {
        return (0..=3).find_map(|skip| match_from(words, i + skip, rest));
    }
    let w = words.get(i)?;
    let ok = match t.mode {
        Mode::Prefix => w.starts_with(t.s.as_str()),
        Mode::Exact => *w == t.s,
        Mode::Infix | Mode::Gap => w.contains(t.s.as_str()),
    };
    if ok {
        match_from(words, i + 1, rest)
    } else {
        None
    }
}

/// What the matcher reads from one text.
struct Profile {
    /// Topic and phrase-class bits.
    bits: u64,
    /// Content words (folded, no stop or service words), sorted, without repeats, in one
    /// string (one allocation: analyses are cached by the thousand).
    stems: Words,
    /// Order, tracking, book and case identifiers.
    ids: BTreeSet<Identifier>,
}

impl Profile {
    fn of(text: &str) -> Self {
        let lex = &*LEXICON;
        // Words sentence by sentence: `sentence[k]` is where the sentence of word `k` starts.
        let parts: Vec<String> = text
            .split(['.', '!', '?', ';', '\n'])
            .map(fold)
            .filter(|p| !p.is_empty())
            .collect();
        let mut ws: Vec<&str> = Vec::new();
        let mut sentence: Vec<usize> = Vec::new();
        for part in &parts {
            let start = ws.len();
            for w in part.split(' ').filter(|w| !w.is_empty()) {
                ws.push(w);
                sentence.push(start);
            }
        }
        let folded = parts.join(" ");
        // Compound (infix) phrases only where their word occurs in the text at all.
        let inside: Vec<usize> = lex
            .anywhere
            .iter()
            .copied()
            .filter(|&p| {
                lex.patterns
                    .get(p)
                    .and_then(|pat| pat.toks.first())
                    .is_some_and(|t| folded.contains(t.s.as_str()))
            })
            .collect();
        let mut bits = 0u64;
        let resolved = Class::Resolved.bit();
        let (thing, before) = (Class::ResolvedThing.bit(), Class::ResolvedBefore.bit());
        for i in 0..ws.len() {
            let Some(w) = ws.get(i) else { continue };
            let started = (1..=w.len().min(3)).filter_map(|n| lex.by_start.get(&start_key(w, n)));
            for &p in started.flatten().chain(inside.iter()) {
                let Some(pat) = lex.patterns.get(p) else {
                    continue;
                };
                let pair = pat.bit & (thing | before) != 0;
                let bit = if pair { resolved } else { pat.bit };
                if bits & bit != 0 {
                    continue;
                }
                let Some(mut end) = match_from(&ws, i, &pat.toks) else {
                    continue;
                };
                if pair {
                    // A thing, then up to three words, then its arrival (or the reverse).
                    let rest = if pat.bit == thing {
                        &lex.arrivals
                    } else {
                        &lex.things
                    };
                    let Some(e) = (0..=3).find_map(|skip| {
                        rest.iter()
                            .find_map(|r| match_from(&ws, end + skip, &r.toks))
                    }) else {
                        continue;
                    };
                    end = e;
                }
                // "Paket ist nicht angekommen", "kann ich das Geld zurück bekommen?": no
                // arrival. The words before it in its sentence, and the one after.
                if bit == resolved || bit == Class::Settled.bit() {
                    let from = i
                        .saturating_sub(5)
                        .max(sentence.get(i).copied().unwrap_or(0));
                    let before = ws.get(from..end).unwrap_or_default();
                    let after = ws
                        .get(end)
                        .filter(|_| sentence.get(end) == sentence.get(i))
                        .filter(|w| NOT_RESOLVED_AFTER.contains(*w));
                    // "the order I just received": a relative clause, not an arrival.
                    let clause = ws
                        .get(i + 1..end)
                        .unwrap_or_default()
                        .iter()
                        .any(|w| matches!(*w, "i" | "we" | "you" | "they"));
                    if clause
                        || after.is_some()
                        || before.iter().any(|w| lex.not_resolved.contains(*w))
                    {
                        continue;
                    }
                }
                bits |= bit;
            }
        }
        // A reply ("Re: …", "AW: …") refers back to the earlier contact.
        if matches!(ws.first(), Some(&("re" | "aw" | "wg" | "fwd"))) {
            bits |= Class::FollowUpWeak.bit();
        }
        let stems = ws
            .iter()
            .filter(|w| {
                w.len() >= 4
                    && !w.bytes().all(|c| c.is_ascii_digit())
                    && !is_stop(w)
                    && !lex.generic.contains(**w)
            })
            .copied()
            .collect::<BTreeSet<&str>>();
        let stems = Words::new(stems);
        let ids = identifiers(text)
            .into_iter()
            .filter(|i| {
                matches!(
                    i.kind,
                    IdKind::Order | IdKind::Tracking | IdKind::CaseRef | IdKind::Isbn
                )
            })
            .collect();
        Profile { bits, stems, ids }
    }

    fn has(&self, class: Class) -> bool {
        self.bits & class.bit() != 0
    }

    fn topics(&self) -> u64 {
        self.bits & TOPIC_BITS
    }

    /// The topics this one may develop into.
    fn follows(&self) -> u64 {
        let lex = &*LEXICON;
        (0..TOPICS.len())
            .filter(|i| self.bits & (1u64 << i) != 0)
            .fold(0, |m, i| m | lex.follows.get(i).copied().unwrap_or(0))
    }
}

/// Distinct words, space-separated in one string.
struct Words {
    text: String,
    len: usize,
}

impl Words {
    fn new(words: BTreeSet<&str>) -> Self {
        let len = words.len();
        let mut text = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
        for w in words {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(w);
        }
        text.shrink_to_fit();
        Words { text, len }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.text.split(' ').filter(|w| !w.is_empty())
    }
}

/// Share of the shorter text's content words that the other text uses too. Words meet when
/// they share their first six letters or one ends with the other (the head of a German
/// compound: `jacke` in `daunenjacke`).
fn content_overlap(a: &Words, b: &Words) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.len() == 0 {
        return 0.0;
    }
    let stem = stem6;
    let large_stems: BTreeSet<&str> = large.iter().map(stem).collect();
    let shared = small
        .iter()
        .filter(|w| {
            large_stems.contains(stem(w))
                || large.iter().any(|v| {
                    let (short, long) = if v.len() < w.len() { (v, *w) } else { (*w, v) };
                    short.len() >= 5 && long.ends_with(short)
                })
        })
        .count();
    shared as f64 / small.len() as f64
}

/// Share of the shorter text's distinct six-letter stems that the other text has too: one merge
/// over the two sorted word lists, no allocation (the near-duplicate test runs on every pair).
fn stem_overlap(a: &Words, b: &Words) -> f64 {
    let (mut x, mut y) = (distinct_stems(a).peekable(), distinct_stems(b).peekable());
    let (mut shared, mut na, mut nb) = (0usize, 0usize, 0usize);
    while let (Some(p), Some(q)) = (x.peek(), y.peek()) {
        match p.cmp(q) {
            std::cmp::Ordering::Less => {
                na += 1;
                x.next();
            }
            std::cmp::Ordering::Greater => {
                nb += 1;
                y.next();
            }
            std::cmp::Ordering::Equal => {
                shared += 1;
                na += 1;
                nb += 1;
                x.next();
                y.next();
            }
        }
    }
    // What one side has left after the other ran out counts towards its size.
    let small = (na + x.count()).min(nb + y.count());
    if small == 0 {
        0.0
    } else {
        shared as f64 / small as f64
    }
}

/// A text's distinct six-letter stems in order (its words are sorted, so equal stems are
/// neighbours).
fn distinct_stems(w: &Words) -> impl Iterator<Item = &str> {
    let mut last = "";
    w.iter().map(stem6).filter(move |s| {
        let new = *s != last;
        last = s;
        new
    })
}

/// A word's first six letters.
fn stem6(w: &str) -> &str {
    let end = w.char_indices().nth(6).map_or(w.len(), |(k, _)| k);
    w.get(..end).unwrap_or(w)
}

/// The kinds of problem a text is about.
pub fn topics(text: &str) -> BTreeSet<&'static str> {
    let t = Profile::of(text).topics();
    TOPICS
        .iter()
        .enumerate()
        .filter(|(i, _)| t & (1u64 << i) != 0)
        .map(|(_, (name, _))| *name)
        .collect()
}

/// The format of an identifier: its kind, leading letters and length (`BE` + 12, `REP` + 8).
fn shape(id: &Identifier) -> (IdKind, String, usize) {
    let prefix: String = id
        .value
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    (id.kind, prefix, id.value.len())
}

/// Decides whether `b` (the new contact) is about the same concern as `a`.
///
/// `days_apart` is how many days `a` came before `b`. Another customer's contact never joins.
pub fn decide(
    a: &str,
    b: &str,
    same_customer: bool,
    days_apart: i64,
    cfg: &MatchConfig,
) -> Decision {
    decide_prepared(&prepare(a), &prepare(b), same_customer, days_apart, cfg)
}

/// A text analysed once for matching (folding, identifiers, kinds of problem, phrase classes,
/// word stems), so that one new contact compared with many earlier ones is analysed only once.
pub struct Prepared(Profile);

/// Analyses `text` for [`decide_prepared`].
pub fn prepare(text: &str) -> Prepared {
    Prepared(Profile::of(text))
}

/// [`decide`] on texts analysed before.
pub fn decide_prepared(
    a: &Prepared,
    b: &Prepared,
    same_customer: bool,
    days_apart: i64,
    cfg: &MatchConfig,
) -> Decision {
    let veto = |reason| Decision {
        same: false,
        reason,
        score: 0.0,
    };
    if !same_customer {
        return veto(Reason::OtherCustomer);
    }
    let s = signals(a, b, days_apart);
    // Two different orders, parcels or books of one format: never one concern.
    if s.conflicting {
        return veto(Reason::DifferentIdentifiers);
    }
    let window = if s.reaches_back {
        cfg.window_days.max(cfg.follow_up_window_days)
    } else {
        cfg.window_days
    };
    if days_apart.abs() > window {
        return veto(Reason::OutsideWindow);
    }
    // Word overlap is the dear signal (it compares every word with every word): measured only
    // when the decision turns on it. The score is monotonic in it, so none and full overlap
    // bound it.
    let (low, high) = (MODEL.score(&s.at0), MODEL.score(&s.at1));
    let (lower, upper) = (low.min(high), low.max(high));
    let score = if lower >= cfg.min_score {
        // Decided either way; the overlap only moves the score inside its bounds.
        lower
    } else if upper < cfg.min_score - MAYBE_MARGIN {
        upper
    } else {
        MODEL.score(&s.at(content_overlap(&a.0.stems, &b.0.stems)))
    };
    let scored = score >= cfg.min_score;
    // The same text again (the contact form sent five times) is the same concern.
    let same = scored
        || (!s.new_matter
            && !b.0.has(Class::Repeat)
            && days_apart.abs() <= cfg.window_days
            && stem_overlap(&a.0.stems, &b.0.stems) >= cfg.near_duplicate);
    let no = |reason| Decision {
        same: false,
        reason,
        score,
    };
    let yes = |reason| Decision {
        same: true,
        reason,
        score,
    };
    match (same, s.shared) {
        (true, Some(id)) => yes(Reason::SameIdentifier(id)),
        (false, Some(id)) => no(Reason::SameIdentifierOtherProblem(id)),
        (true, None) if s.reaches_back => yes(Reason::FollowUp),
        (true, None) => yes(Reason::SimilarText),
        (false, None) if s.new_matter => no(Reason::NewMatter),
        (false, None) => no(Reason::Unrelated),
    }
}

/// The number of signals the scorer weighs.
pub const FEATURES: usize = 33;

/// Names of [`features`], in order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "shared_id",
    "conflicting_id",
    "a_ids",
    "b_ids",
    "topic_meet",
    "topic_follows",
    "novel",
    "a_no_topic",
    "b_no_topic",
    "b_follow_up",
    "b_follow_up_weak",
    "b_still",
    "b_new_matter",
    "a_settled",
    "b_settled",
    "b_resolved",
    "b_new_order",
    "a_question",
    "b_repeat",
    "overlap",
    "days",
    "over_window",
    "tracking_added",
    "shared_id_novel",
    "shared_id_new_matter",
    "shared_id_follow_up",
    "meet_overlap",
    "follow_up_meet",
    "follow_up_novel",
    "no_topic_overlap",
    "still_meet",
    "repeat_alone",
    "b_closes_earlier",
];

/// What the decision reads of a pair besides the score.
struct Signals {
    shared: Option<String>,
    conflicting: bool,
    reaches_back: bool,
    new_matter: bool,
    /// The features with no word overlap and with full overlap: they are linear in it.
    at0: [f64; FEATURES],
    at1: [f64; FEATURES],
}

impl Signals {
    /// The features at word overlap `o` (0–1).
    fn at(&self, o: f64) -> [f64; FEATURES] {
        let mut x = self.at0;
        for (v, h) in x.iter_mut().zip(&self.at1) {
            *v += o * (h - *v);
        }
        x
    }
}

/// The signals of a pair as numbers: what the scorer weighs (and what it is fitted on).
pub fn features(a: &Prepared, b: &Prepared, days_apart: i64) -> [f64; FEATURES] {
    signals(a, b, days_apart).at(content_overlap(&a.0.stems, &b.0.stems))
}

/// The signals of a pair, with the word overlap left open (it is the dear one to measure, and
/// most pairs are decided whatever it is).
fn signals(a: &Prepared, b: &Prepared, days_apart: i64) -> Signals {
    let (pa, pb) = (&a.0, &b.0);
    let f = |x: bool| if x { 1.0 } else { 0.0 };
    let shared_id = pa.ids.intersection(&pb.ids).next();
    let shared = shared_id.is_some();
    let shapes_a: BTreeSet<_> = pa.ids.iter().map(shape).collect();
    let conflicting = !shared && pb.ids.iter().any(|i| shapes_a.contains(&shape(i)));
    let (ta, tb) = (pa.topics(), pb.topics());
    let novel = ta != 0 && tb & !pa.follows() != 0;
    let meet = ta & tb != 0;
    let follows = tb & pa.follows() != 0;
    let has = |p: &Profile, kind| p.ids.iter().any(|i| i.kind == kind);
    let tracking_added = has(pa, IdKind::Order)
        && !has(pa, IdKind::Tracking)
        && has(pb, IdKind::Tracking)
        && !has(pb, IdKind::Order);
    let follow_up = pb.has(Class::FollowUp);
    let still = pb.has(Class::Still);
    let new_matter = pb.has(Class::NewMatter)
        || pa.has(Class::Settled)
        || ((pb.has(Class::Resolved) || pb.has(Class::Settled)) && !still)
        || pb.has(Class::NewOrder)
        || (pa.has(Class::Question) && pa.ids.is_empty());
    let vector = |overlap: f64| {
        [
            f(shared),
            f(conflicting),
            f(!pa.ids.is_empty()),
            f(!pb.ids.is_empty()),
            f(meet),
            f(follows),
            f(novel),
            f(ta == 0),
            f(tb == 0),
            f(follow_up),
            f(pb.has(Class::FollowUpWeak)),
            f(still),
            f(pb.has(Class::NewMatter)),
            f(pa.has(Class::Settled)),
            f(pb.has(Class::Settled) && !still),
            f(pb.has(Class::Resolved)),
            f(pb.has(Class::NewOrder)),
            f(pa.has(Class::Question)),
            f(pb.has(Class::Repeat)),
            overlap,
            days_apart.abs() as f64 / 30.0,
            f(days_apart.abs() > 30),
            f(tracking_added),
            f(shared && novel),
            f(shared && new_matter),
            f(shared && (follow_up || still)),
            f(meet) * overlap,
            f(follow_up && meet),
            f(follow_up && novel),
            f(ta == 0 || tb == 0) * overlap,
            f(still && (meet || follows)),
            f(pb.has(Class::Repeat) && !follow_up && !still),
            f((pb.has(Class::Settled) || pb.has(Class::Resolved)) && !still),
        ]
    };
    Signals {
        shared: shared_id.map(|i| i.value.clone()),
        conflicting,
        reaches_back: follow_up || still,
        new_matter,
        at0: vector(0.0),
        at1: vector(1.0),
    }
}

// The model below is fitted by `tests/concern_pairs.rs` on the tune splits of the labelled
// pairs (`ANLIEGEN_WRITE_MODEL=1 cargo test -p anliegen-core --test concern_pairs` rewrites it);
// that test fails when the committed weights are not the fit of the committed data.
// BEGIN MODEL
/// The fitted scorer.
pub const MODEL: Model = Model {
    weights: [
        1.192822871,  // shared_id
        -2.236386968, // conflicting_id
        0.460088922,  // a_ids
        -1.587358531, // b_ids
        1.402065268,  // topic_meet
        0.519288099,  // topic_follows
        -1.256168762, // novel
        -0.064686585, // a_no_topic
        0.552856156,  // b_no_topic
        2.789751072,  // b_follow_up
        2.266271810,  // b_follow_up_weak
        2.360949712,  // b_still
        -3.785972907, // b_new_matter
        -1.152691827, // a_settled
        -0.087190087, // b_settled
        -1.383255856, // b_resolved
        -1.379025097, // b_new_order
        -0.571504043, // a_question
        -0.727082156, // b_repeat
        0.160214355,  // overlap
        -3.563624741, // days
        1.241108155,  // over_window
        0.594387181,  // tracking_added
        -1.352379961, // shared_id_novel
        -1.094594345, // shared_id_new_matter
        0.130022426,  // shared_id_follow_up
        0.048006904,  // meet_overlap
        0.574205896,  // follow_up_meet
        0.361679714,  // follow_up_novel
        0.021054046,  // no_topic_overlap
        0.488067912,  // still_meet
        -1.228780001, // repeat_alone
        -0.896714731, // b_closes_earlier
    ],
    bias: 0.163875837,
};
// END MODEL

/// A logistic model over [`features`]: `P(same) = 1 / (1 + e^-(bias + Σ wᵢ·xᵢ))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// One weight per feature.
    pub weights: [f64; FEATURES],
    /// The intercept.
    pub bias: f64,
}

impl Model {
    /// The probability that the pair is one concern.
    pub fn score(&self, x: &[f64; FEATURES]) -> f64 {
        let z = self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_from_german_and_english() {
        assert!(topics("Mein Paket ist nicht angekommen").contains("missing"));
        assert!(topics("Die Lampe kam kaputt an").contains("damaged"));
        assert!(topics("I'd like a refund please").contains("refund"));
        assert!(topics("Bitte schicken Sie mir ein Rücksendeetikett").contains("return"));
    }

    #[test]
    fn same_order_new_problem_is_a_new_concern() {
        let cfg = MatchConfig::default();
        let a = "Meine Bestellung BE-2026-104233 ist nicht angekommen.";
        let b = "Die Lampe aus Bestellung BE-2026-104233 ist jetzt da, aber kaputt.";
        let d = decide(a, b, true, 3, &cfg);
        assert!(!d.same, "{d:?}");
        let c = "Bestellung be2026104233: immer noch nichts angekommen!";
        assert!(decide(a, c, true, 5, &cfg).same);
        assert_eq!(decide(a, c, false, 5, &cfg).reason, Reason::OtherCustomer);
    }

    #[test]
    fn follow_ups_in_other_words_and_languages() {
        let cfg = MatchConfig::default();
        let a = "Mein Kundenkonto ist seit gestern gesperrt, bitte entsperren.";
        let b = "Hi, I wrote in German two days ago: my account is still locked.";
        assert_eq!(decide(a, b, true, 2, &cfg).reason, Reason::FollowUp);
        let c = "Andere Frage: wie lange dauert eine Erstattung?";
        assert!(!decide(a, c, true, 2, &cfg).same);
        // A general question first, the concrete matter later.
        let q = "Hallo, wie lange dauert bei Ihnen eine Erstattung?";
        let r = "Die Erstattung für Bestellung 405226918 fehlt noch.";
        assert_eq!(decide(q, r, true, 9, &cfg).reason, Reason::NewMatter);
    }

    #[test]
    fn the_same_form_again_is_a_near_duplicate() {
        let cfg = MatchConfig::default();
        let a = "Sehr geehrte Damen und Herren, der Preis für unseren Titel ist im Shop falsch \
                 angegeben, obwohl er der Buchpreisbindung unterliegt. Bitte korrigieren Sie das.";
        let b = "Sehr geehrte Damen und Herren, der Preis unseres Titels ist im Shop falsch \
                 angegeben, obwohl er der Buchpreisbindung unterliegt! Bitte korrigieren.";
        assert!(stem_overlap(&prepare(a).0.stems, &prepare(b).0.stems) >= 0.9);
        assert!(decide(a, b, true, 4, &cfg).same);
        // Not from another customer, not beyond the window, not with another order.
        assert!(!decide(a, b, false, 4, &cfg).same);
        assert!(!decide(a, b, true, 45, &cfg).same);
        let strict = MatchConfig {
            near_duplicate: 1.0,
            min_score: 1.0,
            ..cfg
        };
        assert!(!decide(a, b, true, 4, &strict).same);
    }

    #[test]
    fn an_arrival_settles_the_earlier_matter() {
        let cfg = MatchConfig::default();
        let a = "Rechnungskopie zu Bestellung 30-44109 bitte.";
        let b = "Rechnung erhalten. Jetzt ist aber der Fernseher aus 30-44109 ohne Bild.";
        assert!(!decide(a, b, true, 6, &cfg).same);
        // Not arrived, or asked for: no settlement.
        let c = "Die Rechnung zu 30-44109 habe ich immer noch nicht erhalten.";
        assert!(decide(a, c, true, 6, &cfg).same);
        let r = "Kann ich dann einfach das Geld zurück bekommen? Bestellung 30-44109.";
        assert!(!prepare(r).0.has(Class::Resolved));
    }
}
