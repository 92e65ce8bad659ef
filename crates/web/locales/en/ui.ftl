# Agent workspace, English.
skip-to-content = Skip to content
nav-account = Account
nav-password = Change password
nav-logout = Sign out
nav-queues = Queues
nav-saved-views = Saved views

queue-mine = My cases
queue-team = My team
queue-unassigned = Unassigned
queue-open = All open
queue-waiting-customer = Waiting on customer
queue-waiting-third-party = Waiting on third party
queue-solved = Recently solved
queue-filtered = Filtered cases
queue-empty = Nothing to do here right now.

filter-title = Filters
filter-status = Status
filter-team = Team
filter-assignee = Assignee
filter-tag = Tag
filter-channel = Channel
filter-priority = Priority
filter-any = any
filter-unsolved = unsolved
filter-me = me
filter-nobody = nobody
filter-apply = Apply
view-name = View name
view-save = Save as view
view-delete = Delete view “{ $name }”

col-case = Case
col-subject = Subject
col-customer = Customer
col-status = Status
col-priority = Priority
col-assignee = Assignee
col-waiting = Waiting
col-updated = Updated

pager = Pages
pager-first = First page
pager-next = Next page

status-new = New
status-open = Open
status-waiting-on-customer = Waiting on customer
status-waiting-on-third-party = Waiting on third party
status-solved = Solved
status-closed = Closed

priority-urgent = Urgent
priority-high = High
priority-normal = Normal
priority-low = Low

channel-email = Email
channel-form = Contact form
channel-portal = Customer portal
channel-phone = Phone
channel-chat = Chat
channel-api = API
channel-note = Note

dir-inbound = Incoming
dir-outbound = Reply
dir-note = Internal note

identity-email = Email
identity-phone = Phone
identity-shop-customer-id = Customer number
identity-portal-login = Portal login

ago-now = just now
ago-minutes = { $count } min
ago-hours = { $count } h
ago-days = { $count ->
    [one] 1 day
   *[other] { $count } days
}

back-to-queue = ← Back to the queue
case-opened = opened { $time }
case-contacts = { $count ->
    [one] 1 contact
   *[other] { $count } contacts
}
case-properties = Edit case
case-save = Save
case-follow-up-of = Follow-up of
case-assign-me = Assign to me
tags-hint = Separate several with commas
nobody = nobody
no-team = no team
unknown-customer = Unknown customer
presence-viewing = { $name } is viewing this case
presence-typing = { $name } is typing

timeline = Timeline
timeline-older = Show older contacts
timeline-quoted = Show quoted history
timeline-original = Original look of the email
timeline-remote-images = Open with remote images in a new window
timeline-raw = Download the original message

flag-unreadable = Unreadable – original attached
flag-duplicate-message-id = Message-ID received before
flag-auto-submitted = Automatic message
flag-bounce = Delivery failure report
flag-winmail = Contains winmail.dat (Outlook)
flag-remote-images = Remote images blocked
flag-dmarc-fail = Sender not verified (DMARC)
flag-malformed = Partly malformed
delivery-queued = Sending …
delivery-sent = Sent
delivery-retrying = Retrying delivery: { $error }
delivery-failed = Not delivered: { $error }
thread-possibly = May belong to another case – please check

ev-status = Status: “{ $from }” → “{ $to }”
ev-priority = Priority: “{ $from }” → “{ $to }”
ev-assignee = Assigned to { $to }
ev-team = Handed to { $to }
ev-tags = Tags changed (added: { $added }; removed: { $removed })
ev-reopened = The customer replied – case reopened
ev-follow-up = Follow-up case { $reference } opened
ev-subject = Subject changed to “{ $to }”
ev-customer = Moved to another customer
ev-mail-failed = Email not delivered: { $error }
ev-by = { $who }
ev-fields = Fields changed: { $fields }

composer-kind = Kind
composer-reply = Reply by { $channel }
composer-note = Internal note
composer-text = Text
composer-then = Then:
composer-status-keep = Keep status
composer-send = Send
composer-send-anyway = Send anyway
composer-empty = Please write some text first.
composer-too-long = The text is too long.
composer-newer = A new contact has arrived in the meantime. Please read it before sending. Your text is kept; please attach files again.
draft-restored = Your draft was restored.

customer = Customer
customer-language = Language
customer-notes = Notes about the customer
customer-other-cases = Other cases
customer-no-other-cases = No other cases.
customer-orders = Orders and shipments
customer-orders-later = No shop connected yet.

help-title = Keyboard shortcuts
help-move = next / previous case
help-open = open case
help-reply = reply
help-note = internal note
help-assign = assign
help-back = back to the queue
help-help = this help
help-close = Close

login-title = Sign in
login-email = Email address
login-password = Password
login-submit = Sign in
login-needed = Please sign in.
login-wrong = The email address or password is wrong.
login-locked = Too many failed attempts. Please try again in { $seconds } seconds.
login-draft-kept = Your session expired. Your text is not lost: after signing in you will find it as a draft on the case.

password-title = Change password
password-current = Current password
password-new = New password
password-repeat = Repeat the new password
password-hint = At least 10 characters.
password-submit = Change password
password-changed = Your password was changed.
password-wrong = The current password is wrong.
password-mismatch = The two new passwords do not match.

error-back = To the queue
error-not-found = Not found
error-no-access = This case does not exist, or you have no access to it.
error-forbidden = You do not have permission to do this.
error-csrf = The request was refused because it did not come from Anliegen itself. Please reload the page and try again.
error-server = Something went wrong. Please try again in a moment.
error-invalid = The input is not valid.
error-session-expired = Your session expired. Please sign in again.
error-view-name = A view needs a name of 1 to 60 characters.

nav-admin = Administration
macro-label = Macro
macro-apply = Apply
yes = yes
no = no
role-agent = Agent
role-supervisor = Supervisor
role-admin = Administrator
imap-tls = TLS (IMAPS)
imap-starttls = STARTTLS
imap-none = unencrypted
admin-title = Administration
admin-agents = Agents
admin-teams = Teams
admin-tags = Tags
admin-macros = Macros
admin-mailboxes = Mailboxes
admin-name = Name
admin-role = Role
admin-active = active
admin-save = Save
admin-remove = Remove
admin-description = Description
admin-agent-new = New agent
admin-agent-edit = Edit agent
admin-password-new = New password (leave empty to keep it)
admin-password-needed = A new agent needs a first password.
admin-not-yourself = You cannot take the administrator role from yourself or deactivate yourself.
admin-bad-team = This team does not exist.
admin-bad-port = The port must be a number from 1 to 65535.
admin-team-new = New team
admin-tag = Tag
admin-tag-new = Add a tag
admin-tag-cases = Cases
admin-tags-intro = These tags are suggested to agents when they edit a case. Cases keep their tags when one is removed here.
admin-macro-new = New macro
admin-macro-edit = Edit macro
admin-macro-text-de = Text (German)
admin-macro-text-en = Text (English)
admin-macro-actions = Changes to the case
admin-macro-tags = Add tags
admin-macro-assign-me = assign to the agent applying it
admin-placeholders = Placeholders:
admin-unchanged = unchanged
admin-address = Address
admin-display-name = Display name
admin-signature = Signature
admin-route = Outbound route
admin-imap = IMAP fetching (optional)
admin-imap-host = Server
admin-imap-port = Port
admin-imap-security = Encryption
admin-imap-username = User name
admin-imap-folder = Folder
admin-imap-move = After fetching, move to (empty: mark as read)
admin-imap-password = For security the IMAP password lives only in the configuration (mail_imap_passwords), never in the database.
admin-mail-settings = SMTP and IMAP settings
admin-mail-settings-intro = These values come from the configuration (file or ANLIEGEN_* variables); passwords are not shown.
admin-mailbox-new = New mailbox
admin-mailbox-edit = Edit mailbox

merge-title = Merge and split
merge-into = Merge this case into case
merge-hint = Every contact moves to the case given; this one is closed and redirects there.
merge-button = Merge
merge-no-target = Case { $reference } does not exist, or you have no access to it.
merge-notice = { $reference } was merged into this case.
merge-in-from = { $reference } was merged into this case.
merge-undo = Undo
split-button = Split into a new case
split-from = Split off from
split-undo = Undo the split
ev-merged-away = Merged into { $reference }
ev-merged-in = { $reference } was merged into this case ({ $count ->
    [one] 1 contact
   *[other] { $count } contacts
})
ev-unmerged-back = Merge into { $reference } undone
ev-unmerged-out = Merge of { $reference } undone
ev-split-out = A contact was split off into { $reference }
ev-split-from = Split off from { $reference }
ev-split-undone-back = Split into { $reference } undone – the contact is back
ev-split-undone-out = Split undone – the contact went back to { $reference }
ev-macro = Macro “{ $name }” applied

notify-title = Notifications
notify-all-read = Mark all as read
notify-settings = Notification settings
notify-empty = No notifications.
notify-saved = Your settings are saved.
notify-kind = Event
notify-in-app = in Anliegen
notify-by-mail = by email
notify-kind-assigned = A case was assigned to me
notify-kind-mentioned = I was mentioned in a note
notify-kind-customer-replied = A customer replied on my case
notify-kind-escalated = A case was escalated
notify-kind-reminder = Reminders (such as for promises)
notify-assigned = { $actor } assigned { $reference } to you: { $subject }
notify-mentioned = { $actor } mentioned you in { $reference }: { $subject }
notify-customer-replied = New customer reply in { $reference }: { $subject }
notify-escalated = { $reference } was escalated: { $subject }
notify-reminder = Reminder for { $reference }: { $subject }
notify-mail-footer = You choose these notifications in Anliegen under “Notification settings”.

composer-files = Attach files:
composer-file-too-big = A file is too large (at most { $mb } MB per file). Your text is kept – please attach the files again.
customer-organisation = Organisation

merge-undo-label = Undo the merge of { $reference }
split-label = Split the contact by { $author } into a new case
macro-note-draft = You are writing an internal note. Send or clear it before applying a macro – a macro writes a reply to the customer.
ev-unassigned = Unassigned
ev-team-removed = Team removed
sr-unread = Unread:
help-keys-off = Turn keyboard shortcuts off
today = today
admin-agent-language = Language of notifications

## Routing, assignment, escalation, matching contacts
admin-routing = Routing
admin-escalation = Escalation & matching
admin-saved = Saved.
routing-intro = New cases run through the rules from top to bottom; the first rule that fits sets team and priority. Every condition filled in must hold; empty ones always do.
routing-position = Order
routing-position-hint = Lower numbers are checked first. Leave empty to put the rule last.
routing-when = Conditions
routing-always = always
routing-team = Team
routing-priority = Priority
routing-keep = unchanged
routing-none = No rules yet: new cases go to the team of their mailbox.
routing-new = New rule
routing-edit = Edit rule
routing-channels = Channels
routing-languages = Languages
routing-mailboxes = Mailboxes
routing-organisations = Organisations
routing-topics = Topics
routing-topics-hint = Comma-separated: the form's topic or the kind of problem in the text, e.g. missing, damaged, wrong_item, refund, return, invoice, payment, voucher, address, cancel, account, fraud, price, callback, customs, warranty, size.
routing-tiers = Customer tiers
routing-keywords = Keywords
routing-keywords-hint = One per line; any one is enough. Umlauts fold: "Rücksendung" also finds "Ruecksendung".
routing-bad-position = The order must be a whole number.
routing-bad-max-open = The most open cases must be a number from 1 to 10000.
assign-title = Assignment in the teams
assign-intro = How a team hands out new cases: by hand from the team queue, in turn, or to whoever has the fewest open cases. Only available agents below their limit count; those who speak the case's language and have the team's skills come first.
assign-mode = Assignment
assign-max-open = Most open per agent
assign-skills = Preferred skills
assign-manual = by hand
assign-round_robin = in turn
assign-least_loaded = to the least loaded
escalation-title = Escalation
escalation-after-repeats = Escalate on repeat number
escalation-after-repeats-hint = 2 means: on the third contact about the same concern. 0 switches it off.
escalation-on-keywords = Escalate on words of urgency or anger
escalation-keywords-de = German words (one per line)
escalation-keywords-en = English words (one per line)
escalation-on-promise = Escalate on overdue promises (takes effect once promises are recorded)
escalation-on-sla = Escalate on missed service targets (takes effect once service targets are set up)
escalation-tiers = Escalation tiers
escalation-tiers-hint = Lowest first; each further escalation goes one tier up. Without tiers, the supervisors take over at high priority. A tier without a name is removed.
escalation-tier = Tier
escalation-supervisors = team stays, supervisors are told
escalation-notify = Tell the supervisors
escalation-bad-repeats = The number of repeats must be a whole number from 0 to 100.
matching-title = Matching repeat contacts
matching-intro = Before a new case is opened, Anliegen looks for an open case of the same person: by its reference, the same order or tracking number, or a nearly identical text from the last days.
matching-enabled = Put repeat contacts on the existing case
matching-window = Consider nearly identical texts from the last … days
matching-same-topic = Word overlap for the same kind of problem (0 to 1)
matching-no-topic = Word overlap without a recognised problem (0 to 1)
matching-acknowledge = Answer the customer by email: "We already have your request"
matching-bad-number = Please enter a number (decimals with a point or comma).
case-repeat = { $count ->
    [1] 1st contact about this concern
    [2] 2nd contact about this concern
    [3] 3rd contact about this concern
   *[other] { $count }th contact about this concern
}
case-escalated = Escalated (tier { $count })
offers-title = New contact details
offers-intro = These came with a message on this case and belong to nobody yet. Link them only when you are sure they belong to this customer.
offers-link = Link
offers-decline = Decline
escalate-title = Escalate
escalate-reason = Why?
escalate-hint = The case goes one tier up with a hand-off summary: the concern, contacts so far, promises and what was tried.
escalate-button = Escalate
escalate-need-reason = Please give a reason (at most 1000 characters).
escalate-top = The case is at the highest escalation tier already, or closed.
suggest-title = Perhaps the same person
suggest-evidence = same name, sharing: { $evidence }
suggest-merge = Merge into this customer
ev-repeat = Contact no. { $n } about this concern
ev-routed = Routed by the rule "{ $rule }"
ev-auto-assigned = Assigned automatically to { $to }
ev-nobody-free = Automatic assignment: nobody in the team is free
ev-escalated = Escalated to tier { $level } ({ $tier }): { $why }
ev-identity-offered = New contact details offered: { $value }
ev-identity-linked = Contact details linked: { $value }
ev-identity-declined = Contact details declined: { $value }
availability-available = Available
availability-away = Away
availability-set-away = Available – click to set yourself away (no automatic assignment)
availability-set-available = Away – click to set yourself available
admin-skills = Skills
admin-skills-hint = Comma-separated, e.g. publishers, freight, refunds. Automatic assignment prefers agents with their team's skills.
admin-spoken = Speaks
admin-max-open = Most open cases
admin-max-open-hint = Empty: the team's limit. Automatic assignment gives nobody more.
admin-available = Status
merged-customers-title = Merged from
merged-customers-undo = Undo the merge

# Search
search-title = Search
search-label = Search
search-placeholder = Search: words, A-10042, tracking number, status:open …
search-suggestions = Results
search-button = Search
search-sort = Sort
search-sort-relevance = Best match
search-sort-newest = Newest first
search-sort-oldest = Oldest first
search-syntax = Filters: status:open team:name tag:… from:address@… channel:phone priority:high assignee:me created:>2026-11-01 has:attachment has:note is:customer · "exact phrase" · return* · -exclude
search-filters = Filters
search-by-status = Status
search-by-team = Team
search-no-team = No team
search-count = { $count } results
search-none = Nothing found.
search-capped = Counting stops at 10,000 matches; relevance is then ranked among the newest matches.
search-lag = The search index is catching up on { $count } changes; the newest entries may be missing.
search-nothing-searchable = The query has no searchable words (only punctuation or filler words); showing everything that fits the filters.
search-internal = Internal note
search-kind-customer = Customer
search-pages = Pages
search-prev = ← Previous
search-next = Next →
help-search = search

# Promises
promises-title = Promises
promises-none = No promise recorded yet.
promise-due = due
promise-state-open = open
promise-state-overdue = overdue
promise-state-kept = kept
promise-state-late = kept late
promise-state-cancelled = withdrawn
promise-note = What was done? / Why withdrawn?
promise-keep = Kept
promise-cancel = Withdraw
promise-what = What was promised?
promise-what-example = e.g. call back with the result of the warehouse search
promise-due-label = By when?
promise-make = Record promise
promise-bad-due = Please give the date and time of the promise.
promise-need-reason = Please say why the promise is withdrawn.
promise-bad-what = Please say what was promised, in at most 500 characters.
promise-past = A promise is due in the future. Record what already happened as a note.
promise-too-far = A promise is due within two years.

# Call-backs
callbacks-title = Call-backs
callbacks-none = No open call-back requests.
callbacks-window = Window
callbacks-phone = Number
callbacks-case = Case
callbacks-owner = Calls back
callbacks-missed = missed

# Background jobs
admin-jobs = Background jobs
admin-jobs-intro = Reminders, mails and other tasks run in the background and are retried with growing delays when they fail. What fails after every attempt is listed here and can be started again.
admin-jobs-pending = Waiting
admin-jobs-running = Running
admin-jobs-dead = Failed for good
admin-jobs-none = No failed jobs.
admin-jobs-kind = Job
admin-jobs-due = Due
admin-jobs-attempts = Attempts
admin-jobs-error = Last error
admin-jobs-retry = Retry
