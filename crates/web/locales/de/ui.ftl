# Agent workspace, Deutsch.
skip-to-content = Zum Inhalt springen
nav-account = Konto
nav-password = Passwort ändern
nav-logout = Abmelden
nav-queues = Warteschlangen
nav-saved-views = Gespeicherte Ansichten

queue-mine = Meine Fälle
queue-team = Mein Team
queue-unassigned = Nicht zugewiesen
queue-open = Alle offenen
queue-waiting-customer = Wartet auf Kunde
queue-waiting-third-party = Wartet auf Dritte
queue-solved = Kürzlich gelöst
queue-filtered = Gefilterte Fälle
queue-empty = Hier ist gerade nichts zu tun.

filter-title = Filter
filter-status = Status
filter-team = Team
filter-assignee = Bearbeiter
filter-tag = Schlagwort
filter-channel = Kanal
filter-priority = Priorität
filter-any = beliebig
filter-unsolved = ungelöst
filter-me = ich
filter-nobody = niemand
filter-apply = Anwenden
view-name = Name der Ansicht
view-save = Als Ansicht speichern
view-delete = Ansicht „{ $name }“ löschen

col-case = Fall
col-subject = Betreff
col-customer = Kunde
col-status = Status
col-priority = Priorität
col-assignee = Bearbeiter
col-waiting = Wartet
col-updated = Geändert

pager = Seiten
pager-first = Erste Seite
pager-next = Nächste Seite

status-new = Neu
status-open = Offen
status-waiting-on-customer = Wartet auf Kunde
status-waiting-on-third-party = Wartet auf Dritte
status-solved = Gelöst
status-closed = Geschlossen

priority-urgent = Dringend
priority-high = Hoch
priority-normal = Normal
priority-low = Niedrig

channel-email = E-Mail
channel-form = Kontaktformular
channel-portal = Kundenportal
channel-phone = Telefon
channel-chat = Chat
channel-api = API
channel-note = Notiz

dir-inbound = Eingang
dir-outbound = Antwort
dir-note = Interne Notiz

identity-email = E-Mail
identity-phone = Telefon
identity-shop-customer-id = Kundennummer
identity-portal-login = Portal-Login

ago-now = gerade eben
ago-minutes = seit { $count } Min.
ago-hours = seit { $count } Std.
ago-days = { $count ->
    [one] seit 1 Tag
   *[other] seit { $count } Tagen
}

back-to-queue = ← Zurück zur Warteschlange
case-opened = eröffnet { $time }
case-contacts = { $count ->
    [one] 1 Kontakt
   *[other] { $count } Kontakte
}
case-properties = Fall bearbeiten
case-save = Speichern
case-follow-up-of = Folgefall von
case-assign-me = Mir zuweisen
tags-hint = Mehrere durch Komma trennen
nobody = niemand
no-team = kein Team
unknown-customer = Unbekannter Kunde
presence-viewing = { $name } sieht sich diesen Fall gerade an
presence-typing = { $name } schreibt gerade

timeline = Verlauf
timeline-older = Ältere Kontakte anzeigen
timeline-quoted = Zitierten Verlauf anzeigen
timeline-original = Originaldarstellung der E-Mail
timeline-remote-images = Mit externen Bildern in neuem Fenster öffnen
timeline-raw = Originalnachricht herunterladen

flag-unreadable = Nicht lesbar – Original angehängt
flag-duplicate-message-id = Message-ID schon einmal erhalten
flag-auto-submitted = Automatische Nachricht
flag-bounce = Unzustellbarkeitsmeldung
flag-winmail = Enthält winmail.dat (Outlook)
flag-remote-images = Externe Bilder blockiert
flag-dmarc-fail = Absender nicht bestätigt (DMARC)
flag-malformed = Teilweise fehlerhaft aufgebaut
delivery-queued = Wird gesendet …
delivery-sent = Gesendet
delivery-retrying = Zustellung wird wiederholt: { $error }
delivery-failed = Nicht zugestellt: { $error }
thread-possibly = Gehört möglicherweise zu einem anderen Fall – bitte prüfen

ev-status = Status: „{ $from }“ → „{ $to }“
ev-priority = Priorität: „{ $from }“ → „{ $to }“
ev-assignee = Zugewiesen an { $to }
ev-team = An { $to } übergeben
ev-tags = Schlagwörter geändert (hinzugefügt: { $added }; entfernt: { $removed })
ev-reopened = Der Kunde hat geantwortet – Fall wieder geöffnet
ev-follow-up = Folgefall { $reference } eröffnet
ev-subject = Betreff geändert in „{ $to }“
ev-customer = Einem anderen Kunden zugeordnet
ev-mail-failed = E-Mail nicht zugestellt: { $error }
ev-by = { $who }
ev-fields = Felder geändert: { $fields }

composer-kind = Art
composer-reply = Antwort per { $channel }
composer-note = Interne Notiz
composer-text = Text
composer-then = Danach:
composer-status-keep = Status beibehalten
composer-send = Senden
composer-send-anyway = Trotzdem senden
composer-empty = Bitte schreiben Sie zuerst einen Text.
composer-too-long = Der Text ist zu lang.
composer-newer = Inzwischen ist ein neuer Beitrag hinzugekommen. Bitte lesen Sie ihn, bevor Sie senden. Ihr Text ist erhalten; Anhänge fügen Sie bitte erneut hinzu.
draft-restored = Ihr Entwurf wurde wiederhergestellt.

customer = Kunde
customer-language = Sprache
customer-notes = Notizen zum Kunden
customer-other-cases = Weitere Fälle
customer-no-other-cases = Keine weiteren Fälle.
customer-orders = Bestellungen und Sendungen
customer-orders-later = Noch kein Shop angebunden.

help-title = Tastenkürzel
help-move = nächster / vorheriger Fall
help-open = Fall öffnen
help-reply = antworten
help-note = interne Notiz
help-assign = zuweisen
help-back = zurück zur Warteschlange
help-help = diese Hilfe
help-close = Schließen

login-title = Anmelden
login-email = E-Mail-Adresse
login-password = Passwort
login-submit = Anmelden
login-needed = Bitte melden Sie sich an.
login-wrong = E-Mail-Adresse oder Passwort ist falsch.
login-locked = Zu viele Fehlversuche. Bitte versuchen Sie es in { $seconds } Sekunden erneut.
login-draft-kept = Ihre Sitzung ist abgelaufen. Ihr Text ist nicht verloren: Nach der Anmeldung finden Sie ihn als Entwurf im Fall.

password-title = Passwort ändern
password-current = Aktuelles Passwort
password-new = Neues Passwort
password-repeat = Neues Passwort wiederholen
password-hint = Mindestens 10 Zeichen.
password-submit = Passwort ändern
password-changed = Ihr Passwort wurde geändert.
password-wrong = Das aktuelle Passwort ist falsch.
password-mismatch = Die beiden neuen Passwörter stimmen nicht überein.

error-back = Zur Warteschlange
error-not-found = Nicht gefunden
error-no-access = Diesen Fall gibt es nicht, oder Sie haben keinen Zugriff darauf.
error-forbidden = Dafür fehlt Ihnen die Berechtigung.
error-csrf = Die Anfrage wurde abgelehnt, weil sie nicht aus Anliegen selbst kam. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.
error-server = Da ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch einmal.
error-invalid = Die Eingabe ist ungültig.
error-session-expired = Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.
error-view-name = Eine Ansicht braucht einen Namen mit 1 bis 60 Zeichen.

nav-admin = Verwaltung
macro-label = Makro
macro-apply = Anwenden
yes = ja
no = nein
role-agent = Agent
role-supervisor = Supervisor
role-admin = Administrator
imap-tls = TLS (IMAPS)
imap-starttls = STARTTLS
imap-none = unverschlüsselt
admin-title = Verwaltung
admin-agents = Agenten
admin-teams = Teams
admin-tags = Schlagwörter
admin-macros = Makros
admin-mailboxes = Postfächer
admin-name = Name
admin-role = Rolle
admin-active = aktiv
admin-save = Speichern
admin-remove = Entfernen
admin-description = Beschreibung
admin-agent-new = Neuer Agent
admin-agent-edit = Agent bearbeiten
admin-password-new = Neues Passwort (leer lassen, um es zu behalten)
admin-password-needed = Ein neuer Agent braucht ein erstes Passwort.
admin-not-yourself = Sie können sich nicht selbst die Administratorrolle nehmen oder sich deaktivieren.
admin-bad-team = Dieses Team gibt es nicht.
admin-bad-port = Der Port muss eine Zahl zwischen 1 und 65535 sein.
admin-team-new = Neues Team
admin-tag = Schlagwort
admin-tag-new = Schlagwort anlegen
admin-tag-cases = Fälle
admin-tags-intro = Diese Schlagwörter werden Agenten beim Bearbeiten eines Falls vorgeschlagen. Fälle behalten ihre Schlagwörter, auch wenn eines hier entfernt wird.
admin-macro-new = Neues Makro
admin-macro-edit = Makro bearbeiten
admin-macro-text-de = Text (Deutsch)
admin-macro-text-en = Text (Englisch)
admin-macro-actions = Änderungen am Fall
admin-macro-tags = Schlagwörter hinzufügen
admin-macro-assign-me = dem anwendenden Agenten zuweisen
admin-placeholders = Platzhalter:
admin-unchanged = unverändert
admin-address = Adresse
admin-display-name = Anzeigename
admin-signature = Signatur
admin-route = Versandweg
admin-imap = IMAP-Abruf (optional)
admin-imap-host = Server
admin-imap-port = Port
admin-imap-security = Verschlüsselung
admin-imap-username = Benutzername
admin-imap-folder = Ordner
admin-imap-move = Nach dem Abruf verschieben in (leer: als gelesen markieren)
admin-imap-password = Das IMAP-Passwort steht aus Sicherheitsgründen nur in der Konfiguration (mail_imap_passwords), nie in der Datenbank.
admin-mail-settings = SMTP- und IMAP-Einstellungen
admin-mail-settings-intro = Diese Werte kommen aus der Konfiguration (Datei oder ANLIEGEN_*-Variablen); Passwörter werden nicht angezeigt.
admin-mailbox-new = Neues Postfach
admin-mailbox-edit = Postfach bearbeiten

merge-title = Zusammenführen und Abspalten
merge-into = Diesen Fall zusammenführen mit Fall
merge-hint = Alle Beiträge wandern in den angegebenen Fall; dieser wird geschlossen und leitet dorthin weiter.
merge-button = Zusammenführen
merge-no-target = Den Fall { $reference } gibt es nicht, oder Sie haben keinen Zugriff darauf.
merge-notice = { $reference } wurde in diesen Fall zusammengeführt.
merge-in-from = { $reference } wurde hierher zusammengeführt.
merge-undo = Rückgängig machen
split-button = In neuen Fall abspalten
split-from = Abgespalten aus
split-undo = Abspaltung rückgängig machen
ev-merged-away = In { $reference } zusammengeführt
ev-merged-in = { $reference } wurde mit diesem Fall zusammengeführt ({ $count ->
    [one] 1 Beitrag
   *[other] { $count } Beiträge
})
ev-unmerged-back = Zusammenführung mit { $reference } rückgängig gemacht
ev-unmerged-out = Zusammenführung von { $reference } rückgängig gemacht
ev-split-out = Ein Beitrag wurde in den neuen Fall { $reference } abgespalten
ev-split-from = Abgespalten aus { $reference }
ev-split-undone-back = Abspaltung in { $reference } rückgängig gemacht – der Beitrag ist zurück
ev-split-undone-out = Abspaltung rückgängig gemacht – der Beitrag ist zurück in { $reference }
ev-macro = Makro „{ $name }“ angewendet

notify-title = Benachrichtigungen
notify-all-read = Alle als gelesen markieren
notify-settings = Benachrichtigungen einstellen
notify-empty = Keine Benachrichtigungen.
notify-saved = Ihre Einstellungen sind gespeichert.
notify-kind = Anlass
notify-in-app = in Anliegen
notify-by-mail = per E-Mail
notify-kind-assigned = Ein Fall wurde mir zugewiesen
notify-kind-mentioned = Ich wurde in einer Notiz erwähnt
notify-kind-customer-replied = Ein Kunde hat auf meinen Fall geantwortet
notify-kind-escalated = Ein Fall wurde eskaliert
notify-kind-reminder = Erinnerungen (z. B. an Zusagen)
notify-assigned = { $actor } hat Ihnen { $reference } zugewiesen: { $subject }
notify-mentioned = { $actor } hat Sie in { $reference } erwähnt: { $subject }
notify-customer-replied = Neue Kundenantwort in { $reference }: { $subject }
notify-escalated = { $reference } wurde eskaliert: { $subject }
notify-reminder = Erinnerung zu { $reference }: { $subject }
notify-mail-footer = Diese Benachrichtigungen stellen Sie in Anliegen unter „Benachrichtigungen einstellen“ ein.

composer-files = Dateien anhängen:
composer-file-too-big = Eine Datei ist zu groß (höchstens { $mb } MB je Datei). Ihr Text ist erhalten – bitte hängen Sie die Dateien erneut an.
customer-organisation = Organisation

merge-undo-label = Zusammenführung von { $reference } rückgängig machen
split-label = Beitrag von { $author } in neuen Fall abspalten
macro-note-draft = Sie schreiben gerade eine interne Notiz. Senden oder leeren Sie sie, bevor Sie ein Makro anwenden – ein Makro schreibt eine Antwort an den Kunden.
ev-unassigned = Zuweisung aufgehoben
ev-team-removed = Team entfernt
sr-unread = Ungelesen:
help-keys-off = Tastenkürzel ausschalten
today = heute
admin-agent-language = Sprache der Benachrichtigungen
