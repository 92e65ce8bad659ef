#!/usr/bin/env python3
"""Synthetic German/English retail customer mail for Anliegen's benchmarks.

    python3 bench/gen_mail.py --profile text|attachments --count N --out PATH
        [--format mbox|dir] [--seed 42] [--domain shop.example]
        [--to service@shop.example] [--customers 20000] [--crlf]

Profiles (shares are per message; the script prints the measured figures to stderr):
  text         median ~8 KB per message, 30 % HTML (mostly multipart/alternative, some
               HTML-only), 40 % replies with quoted history, 5 % with one attachment
               of at most 100 KB.
  attachments  the same, plus 25 % of the messages with 1-3 attachments of 20 KB-2 MB.

Output: --format dir writes PATH/000000.eml, PATH/000001.eml, ...; --format mbox writes one
mboxrd file (From_ line "From sender@example Sat Jan  3 14:22:10 2026", body lines matching
/^>*From / get one more '>'). Line endings are LF unless --crlf is given.

The output depends only on the arguments (same seed -> same bytes; the mbox and dir outputs of
one seed hold the same messages). Messages are dated in ascending order. Replies mostly continue
threads started earlier in the same corpus: their subject carries the case reference the
platform would have assigned if a fresh store numbers cases from A-10001 in the order first
messages arrive, In-Reply-To/References name the customer's first message and a (synthetic)
service reply; the remaining replies refer to older cases (A-1000..A-9999) outside the corpus.

German bodies mix retail templates with sentences from GermEval 2017 (Wojatzki, Ruppert,
Holschneider, Zesch, Biemann 2017; CC BY 4.0 - attribution required where generated corpora are
shown or redistributed), read from ${ANLIEGEN_CORPORA:-/work/shared/corpora}/text/germeval2017
(any *.tsv below it; the text is the second column). Without the corpus only the built-in German
templates are used. Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import binascii
import bisect
import calendar
import codecs
import html
import os
import re
import random
import sys
import time
import unicodedata
from urllib.parse import quote as urlquote

# --------------------------------------------------------------------------------------------
# Text material
# --------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+|pic\.twitter\S+")
_HANDLE = re.compile(r"[@#]\w+:?")
_SPACES = re.compile(r"\s+")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])")
_REJECT = ("**", "--", "|", "...", "Follow ", "WordPress", ".com", ".de ", "Suche:", "Foto:", "Bild:", "(dpa")
_UPPER = re.compile(r"[A-ZÄÖÜ]")
_LETTER = re.compile(r"[^\W\d_]")
_ALLOWED = set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"()-/&%+=€§°"
    "äöüÄÖÜßéèêáàâíóúçñ„“”‚‘’–—»«·"
)


def load_german_sentences(corpora: str) -> list[str]:
    root = os.path.join(corpora, "text", "germeval2017")
    files = []
    for d, dirs, names in os.walk(root):
        dirs.sort()
        files.extend(os.path.join(d, n) for n in sorted(names) if n.endswith(".tsv"))
    out: list[str] = []
    seen: set[str] = set()
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                cols = line.split("\t")
                if len(cols) < 2:
                    continue
                t = unicodedata.normalize("NFC", cols[1].replace("\\_", "_"))
                t = _HANDLE.sub(" ", _URL.sub(" ", t))
                t = _SPACES.sub(" ", t).strip().strip('"').replace('""', '"')
                for s in _SENT_SPLIT.split(t):
                    s = s.strip()
                    if not (30 <= len(s) <= 260) or s[-1] not in ".!?" or not s[0].isupper():
                        continue
                    if s.startswith("Re:") or any(x in s for x in _REJECT):
                        continue
                    if not set(s) <= _ALLOWED:
                        continue
                    if len(_UPPER.findall(s)) > 0.3 * len(_LETTER.findall(s)):
                        continue
                    if s not in seen:
                        seen.add(s)
                        out.append(s)
    return out


DE_FIRST = (
    "Jürgen Jörg Sören Björn Özlem Günther Jörn Bärbel Käthe Hüseyin Timo Anna Lena Lukas Jonas "
    "Sabine Thomas Stefan Andrea Katrin Michael Claudia Petra Frank Sandra Julia Felix Marie Sophie "
    "Leon Paul Emma Mia Ben Finn Hannah Lea Uwe Heike Dörte Götz Ute Jens Birgit Karin Monika "
    "Wolfgang Klaus Dieter Renate Ursula Helga Tobias Florian Maximilian Niklas Annika Jana Laura "
    "Merve Ayşe Murat Elif Mehmet Zoë Chloé René André Małgorzata Lukáš Ömer Tülay Gökhan Ingrid "
    "Hans-Jürgen Gisela Kai Nils Malte Lars Svenja Anke Silke Sönke Maik Jürgen Björn Sören Jörg"
).split()
DE_LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter "
    "Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich "
    "Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon "
    "Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel "
    "Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch "
    "Bergmann Voigt Sauer Arnold Wolff Pfeiffer Öztürk Yilmaz Çelik Kaya Nowak Kowalski Dąbrowski "
    "Gößling Düring Löffler Müller-Lüdenscheidt Weißenböck Ruß Strauß Jähnke Bäcker Büttner Flüß"
).split()
EN_FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Susan Sarah "
    "Chris Emily Olivia Noah Liam Emma Ava Sophia Isabella Mason Lucas Ethan Amelia Harper Jack "
    "Oliver Charlotte George Harry Grace Daniel Matthew Laura Rachel Megan Ryan Kevin Brian "
    "Zoë Chloë Renée José André Siobhán Seán Niamh Aoife Björn Søren Jürgen Ines Mateo Priya Arjun"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Lewis Walker Hall Allen "
    "Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter "
    "Phillips Evans Turner Parker Collins Edwards Stewart Morris Murphy Cook Rogers O'Brien Walsh "
    "Byrne Nguyen Patel Singh Kowalski García Martínez Müller Lefèvre Brontë Åkesson Sørensen"
).split()
AGENTS = [
    "Lisa Brandt", "Tobias Wendt", "Aylin Demir", "Kevin Hoffmann", "Sarah Klein", "Jan Köster",
    "Melanie Groß", "Dennis Schäfer", "Nina Ahrens", "Marco Lüdtke", "Julia Peters", "Sven Rößler",
]

# (domain, persona weights) - customers get a domain, the domain suggests the mail client
CUSTOMER_DOMAINS_DE = [
    ("gmx.example", 18, {"webmail": 7, "apple": 1, "other": 1, "thunderbird": 1}),
    ("web.example", 17, {"webmail": 7, "apple": 1, "other": 1, "thunderbird": 1}),
    ("gmail.example", 20, {"gmail": 9, "apple": 1}),
    ("t-online.example", 9, {"outlook": 4, "webmail": 4, "apple": 1}),
    ("outlook.example", 8, {"outlook": 1}),
    ("icloud.example", 7, {"apple": 1}),
    ("posteo.example", 3, {"thunderbird": 3, "apple": 1}),
    ("freenet.example", 3, {"webmail": 2, "thunderbird": 1}),
    ("yahoo.example", 3, {"webmail": 1}),
    ("mailbox.example", 2, {"thunderbird": 1}),
    ("{last}-online.example", 4, {"outlook": 2, "thunderbird": 1, "apple": 1}),
    ("firma-{last}.example", 6, {"outlook": 1}),
]
CUSTOMER_DOMAINS_EN = [
    ("gmail.example", 35, {"gmail": 9, "apple": 1}),
    ("outlook.example", 15, {"outlook": 1}),
    ("hotmail.example", 10, {"outlook": 2, "webmail": 1}),
    ("yahoo.example", 10, {"webmail": 1}),
    ("icloud.example", 12, {"apple": 1}),
    ("proton.example", 4, {"webmail": 1}),
    ("{last}.example", 5, {"thunderbird": 1, "apple": 1, "outlook": 1}),
    ("{last}-consulting.example", 4, {"outlook": 1}),
]

ITEMS_DE = [
    "Winterjacke (Größe M)", "Kaffeevollautomat", "Bluetooth-Kopfhörer", "Laufschuhe Gr. 42",
    "Bettwäsche-Set 155×220 cm", "Küchenmaschine", "Smartphone-Hülle", "Staubsauger-Roboter",
    "Wanderrucksack 30 l", "Strickpullover in Größe L", "Gartenschlauch 20 m", "Schreibtischlampe",
    "Kinderfahrrad 20 Zoll", "Pfannen-Set", "Fußmatte", "Wasserkocher", "Bürostuhl",
    "Jeans (W32/L34)", "Sofakissen", "Spielekonsole", "Daunendecke", "Akku-Bohrschrauber",
    "Schlafsack", "Zahnbürste mit Aufsteckbürsten", "Regenschirm", "Kühlbox",
]
ITEMS_EN = [
    "winter jacket (size M)", "coffee machine", "wireless headphones", "running shoes (EU 42)",
    "duvet cover set", "stand mixer", "phone case", "robot vacuum", "30 l hiking backpack",
    "wool jumper in size L", "garden hose", "desk lamp", "kids' bike", "frying pan set",
    "kettle", "office chair", "pair of jeans (W32/L34)", "games console", "cordless drill",
    "sleeping bag", "electric toothbrush", "umbrella",
]

# Concerns: (key, German subjects, German sentences, English subjects, English sentences).
# Placeholders: {order} {tracking} {carrier} {item} {amount} {odate} {ddate} {invoice} {voucher}
# {custno} {amount2}
CONCERNS = [
    (
        "lieferung",
        [
            "Paket nicht angekommen", "Bestellung {order} – Paket nicht angekommen",
            "Wo bleibt meine Bestellung {order}?", "Lieferung verspätet",
            "Sendung {tracking} hängt seit Tagen fest", "Bestellung {order} noch nicht geliefert",
            "Paket als zugestellt markiert, aber nicht erhalten", "Lieferung {order}",
        ],
        [
            "ich habe am {odate} die Bestellung {order} aufgegeben und bis heute nichts erhalten.",
            "Laut Sendungsverfolgung ({carrier} {tracking}) wurde das Paket zugestellt, bei mir ist aber nichts angekommen.",
            "Die Sendungsnummer {tracking} zeigt seit fünf Tagen denselben Status an.",
            "Ich habe bereits bei allen Nachbarn nachgefragt, dort wurde auch nichts abgegeben.",
            "Könnten Sie bitte einen Nachforschungsauftrag bei {carrier} starten?",
            "Falls das Paket verloren gegangen ist, schicken Sie mir bitte Ersatz oder erstatten Sie den Betrag von {amount}.",
            "Die Lieferung war eigentlich für den {ddate} angekündigt.",
            "In der Packstation war leider auch nichts, eine Benachrichtigungskarte habe ich nicht bekommen.",
            "Ich brauche den Artikel ({item}) dringend, weil er ein Geschenk ist.",
            "Auf der Website von {carrier} steht nur „Sendung wird für die Zustellung vorbereitet“.",
            "Es ist jetzt schon die zweite Bestellung, bei der die Lieferung so lange dauert.",
        ],
        [
            "Order {order} not delivered", "Where is my order {order}?", "Parcel not received",
            "Delivery delayed - order {order}", "Tracking {tracking} stuck for days",
            "Package marked as delivered but not received", "Late delivery",
        ],
        [
            "I placed order {order} on {odate} and still haven't received anything.",
            "The tracking ({carrier} {tracking}) says the parcel was delivered, but nothing arrived here.",
            "The tracking number {tracking} has shown the same status for five days now.",
            "I already asked all of my neighbours and nobody took it in.",
            "Could you please open an investigation with {carrier}?",
            "If the parcel is lost, please send a replacement or refund the {amount}.",
            "Delivery was originally announced for {ddate}.",
            "I need the {item} urgently because it is a birthday present.",
            "There was no card in the letterbox and nothing at the parcel locker either.",
            "This is the second order in a row where delivery has taken this long.",
        ],
    ),
    (
        "ruecksendung",
        [
            "Rücksendung Bestellung {order}", "Retoure {order}", "Rücksendeetikett funktioniert nicht",
            "Frage zur Rücksendung", "Umtausch {item}", "Rücksendung – kein Etikett erhalten",
            "Widerruf Bestellung {order}",
        ],
        [
            "ich möchte den Artikel {item} aus der Bestellung {order} zurückschicken.",
            "Leider passt die Größe nicht, ich würde gerne umtauschen.",
            "Das Rücksendeetikett lässt sich im Kundenkonto nicht herunterladen, es kommt immer eine Fehlermeldung.",
            "Hiermit widerrufe ich den Kaufvertrag über die Bestellung {order} vom {odate}.",
            "Muss ich die Originalverpackung verwenden oder reicht ein anderer Karton?",
            "Ich habe das Paket am {ddate} bei {carrier} abgegeben, die Sendungsnummer ist {tracking}.",
            "Bitte schicken Sie mir ein Rücksendeetikett per E-Mail, ich habe keinen Drucker.",
            "Die Rücksendefrist von 30 Tagen ist noch nicht abgelaufen.",
            "Kann ich den Artikel auch in der Filiale zurückgeben?",
        ],
        [
            "Return for order {order}", "Return label not working", "Question about a return",
            "Exchange {item}", "Cancellation of order {order}", "No return label received",
        ],
        [
            "I would like to return the {item} from order {order}.",
            "Unfortunately the size doesn't fit, so I'd like to exchange it.",
            "I can't download the return label from my account, there is always an error message.",
            "I hereby withdraw from the contract for order {order} placed on {odate}.",
            "Do I need to use the original packaging or is another box fine?",
            "I dropped the parcel off with {carrier} on {ddate}, the tracking number is {tracking}.",
            "Please email me a return label, I don't have a printer at home.",
            "The 30-day return period has not expired yet.",
        ],
    ),
    (
        "erstattung",
        [
            "Erstattung für Bestellung {order}", "Wann bekomme ich mein Geld zurück?",
            "Gutschrift fehlt noch", "Erstattung {amount} noch nicht erhalten", "Rückzahlung {order}",
        ],
        [
            "meine Rücksendung ist laut Sendungsverfolgung seit dem {ddate} bei Ihnen angekommen.",
            "Die Erstattung über {amount} ist aber bis heute nicht auf meinem Konto eingegangen.",
            "Sie hatten mir eine Rückzahlung innerhalb von 14 Tagen zugesagt.",
            "Bitte überweisen Sie den Betrag auf mein Konto, die Zahlung erfolgte per Vorkasse.",
            "Bei PayPal sehe ich keine Rückbuchung.",
            "Es fehlen noch {amount2}, die Versandkosten wurden nicht erstattet.",
            "Können Sie mir bitte sagen, wann ich mit der Gutschrift rechnen kann?",
        ],
        [
            "Refund for order {order}", "When will I get my money back?", "Refund still missing",
            "Refund of {amount} not received",
        ],
        [
            "According to the tracking my return arrived at your warehouse on {ddate}.",
            "The refund of {amount} has still not reached my account.",
            "You promised to refund me within 14 days.",
            "PayPal doesn't show any refund so far.",
            "{amount2} is still missing, the shipping costs were not refunded.",
            "Could you please tell me when the refund will be processed?",
        ],
    ),
    (
        "rechnung",
        [
            "Rechnung {invoice}", "Frage zur Rechnung {invoice}", "Rechnung fehlt für Bestellung {order}",
            "Falsche Rechnungsadresse", "Rechnungskorrektur erbeten", "Rechnung März", "Zahlungserinnerung {invoice}",
        ],
        [
            "in der Rechnung {invoice} ist leider die falsche Adresse angegeben.",
            "Für meine Bestellung {order} habe ich keine Rechnung erhalten, ich benötige diese für die Steuererklärung.",
            "Bitte stellen Sie die Rechnung auf meine Firma aus, die USt-IdNr. lautet DE123456789.",
            "Der Rechnungsbetrag von {amount} stimmt nicht mit dem Betrag im Warenkorb überein.",
            "Ich habe heute eine Zahlungserinnerung bekommen, obwohl ich bereits am {odate} bezahlt habe.",
            "Könnten Sie mir die Rechnung noch einmal als PDF schicken?",
            "Meine Kundennummer ist {custno}.",
        ],
        [
            "Invoice {invoice}", "Question about invoice {invoice}", "Missing invoice for order {order}",
            "Wrong billing address", "Invoice correction needed", "Payment reminder {invoice}",
        ],
        [
            "The invoice {invoice} shows the wrong billing address.",
            "I didn't receive an invoice for order {order}, and I need it for my tax return.",
            "Please issue the invoice to my company, our VAT number is DE123456789.",
            "The invoice total of {amount} doesn't match the amount in the basket.",
            "Today I received a payment reminder although I paid on {odate}.",
            "Could you send me the invoice again as a PDF?",
            "My customer number is {custno}.",
        ],
    ),
    (
        "falsch",
        [
            "Falscher Artikel geliefert", "Falsche Größe erhalten – Bestellung {order}",
            "Artikel fehlt in Lieferung {order}", "Unvollständige Lieferung",
        ],
        [
            "statt {item} war im Paket ein völlig anderer Artikel.",
            "Ich habe Größe M bestellt und Größe XL erhalten.",
            "In der Lieferung {order} fehlt ein Artikel, auf dem Lieferschein ist er aber aufgeführt.",
            "Bitte schicken Sie mir den richtigen Artikel zu und holen Sie den falschen ab.",
            "Die Farbe stimmt auch nicht mit der Abbildung im Shop überein.",
        ],
        [
            "Wrong item delivered", "Wrong size received - order {order}", "Item missing from order {order}",
            "Incomplete delivery",
        ],
        [
            "Instead of the {item} the parcel contained a completely different product.",
            "I ordered size M and received XL.",
            "One item is missing from order {order}, but it is listed on the delivery note.",
            "Please send me the correct item and collect the wrong one.",
            "The colour doesn't match the picture in your shop either.",
        ],
    ),
    (
        "defekt",
        [
            "Artikel beschädigt angekommen", "Reklamation {item}", "Defekt nach zwei Wochen – Garantie?",
            "Gewährleistung Bestellung {order}", "Ware beschädigt",
        ],
        [
            "der Artikel {item} ist leider beschädigt bei mir angekommen.",
            "Der Karton war schon eingedrückt, der Inhalt ist zerbrochen.",
            "Nach zwei Wochen funktioniert das Gerät nicht mehr, es lässt sich nicht einschalten.",
            "Fotos von der Verpackung und dem Schaden habe ich gemacht.",
            "Ich möchte von meinem Gewährleistungsrecht Gebrauch machen und bitte um Ersatz.",
            "Alternativ wäre ich auch mit einer Teilerstattung von {amount2} einverstanden.",
        ],
        [
            "Item arrived damaged", "Complaint about {item}", "Broken after two weeks - warranty?",
            "Warranty claim for order {order}",
        ],
        [
            "Unfortunately the {item} arrived damaged.",
            "The box was already crushed and the contents are broken.",
            "After two weeks the device stopped working and won't switch on.",
            "I took photos of the packaging and the damage.",
            "I would like a replacement under the statutory warranty.",
            "Alternatively, a partial refund of {amount2} would be acceptable.",
        ],
    ),
    (
        "storno",
        ["Stornierung Bestellung {order}", "Bitte Bestellung stornieren", "Storno {order}"],
        [
            "bitte stornieren Sie meine Bestellung {order} vom {odate}.",
            "Ich habe den Artikel versehentlich zweimal bestellt.",
            "Falls die Ware schon verschickt wurde, verweigere ich die Annahme.",
            "Bitte bestätigen Sie mir die Stornierung kurz per E-Mail.",
        ],
        ["Cancel order {order}", "Please cancel my order", "Cancellation {order}"],
        [
            "Please cancel my order {order} from {odate}.",
            "I accidentally ordered the item twice.",
            "If it has already shipped I will refuse delivery.",
            "Please confirm the cancellation by email.",
        ],
    ),
    (
        "zahlung",
        [
            "Doppelte Abbuchung", "Zahlung zweimal abgebucht – {order}", "PayPal-Zahlung nicht zugeordnet",
            "Mahnung trotz Zahlung?", "Lastschrift über {amount}",
        ],
        [
            "der Betrag von {amount} wurde zweimal von meiner Kreditkarte abgebucht.",
            "Beim Bezahlen ist die Seite abgestürzt, danach war der Warenkorb leer, aber das Geld ist weg.",
            "Die PayPal-Zahlung vom {odate} wurde offenbar nicht meiner Bestellung {order} zugeordnet.",
            "Ich habe eine Mahnung mit Mahngebühr erhalten, obwohl die Zahlung längst erfolgt ist.",
            "Bitte buchen Sie den doppelten Betrag umgehend zurück.",
        ],
        [
            "Charged twice", "Payment taken twice - {order}", "PayPal payment not matched",
            "Reminder although I paid?",
        ],
        [
            "The amount of {amount} was charged to my credit card twice.",
            "The checkout page crashed during payment, the basket was empty afterwards, but the money is gone.",
            "My PayPal payment from {odate} apparently wasn't matched to order {order}.",
            "I received a reminder with a late fee although I paid long ago.",
            "Please refund the duplicate charge immediately.",
        ],
    ),
    (
        "adresse",
        ["Adressänderung für Bestellung {order}", "Lieferadresse ändern", "Falsche Hausnummer angegeben"],
        [
            "bei meiner Bestellung {order} habe ich leider eine falsche Hausnummer angegeben.",
            "Richtig ist Lindenstraße 14b, 50674 Köln.",
            "Können Sie die Lieferadresse noch ändern, bevor das Paket verschickt wird?",
            "Ich bin umgezogen und habe vergessen, die Adresse im Kundenkonto zu ändern.",
        ],
        ["Change of address for order {order}", "Change delivery address", "Wrong house number"],
        [
            "I entered the wrong house number for order {order}.",
            "The correct address is 14b Linden Street, Cologne.",
            "Can you still change the delivery address before the parcel ships?",
            "I moved recently and forgot to update the address in my account.",
        ],
    ),
    (
        "gutschein",
        ["Gutscheincode funktioniert nicht", "Gutschein {voucher} wird nicht akzeptiert", "Rabattcode vergessen"],
        [
            "der Gutscheincode {voucher} wird im Warenkorb als ungültig angezeigt.",
            "Laut Newsletter ist der Gutschein noch bis Ende des Monats gültig.",
            "Ich habe bei der Bestellung {order} vergessen, meinen Rabattcode einzugeben.",
            "Können Sie mir die {amount2} nachträglich gutschreiben?",
        ],
        ["Voucher code not working", "Voucher {voucher} rejected", "Forgot discount code"],
        [
            "The voucher code {voucher} is shown as invalid in the basket.",
            "According to the newsletter the voucher is valid until the end of the month.",
            "I forgot to enter my discount code for order {order}.",
            "Could you credit the {amount2} retroactively?",
        ],
    ),
]

DE_GENERAL = [
    "Ich bin eigentlich sehr zufrieden mit Ihrem Shop, aber diesmal läuft es leider gar nicht gut.",
    "Ich bitte um eine kurze Rückmeldung, wie es jetzt weitergeht.",
    "Meine Kundennummer lautet {custno}.",
    "Telefonisch habe ich niemanden erreicht, die Warteschleife war über 30 Minuten lang.",
    "Im Chat wurde mir gesagt, ich solle eine E-Mail schreiben.",
    "Ich habe Ihnen deswegen schon am {odate} geschrieben, aber noch keine Antwort erhalten.",
    "Über eine schnelle Lösung würde ich mich sehr freuen.",
    "Ehrlich gesagt bin ich ziemlich enttäuscht.",
    "Sie erreichen mich tagsüber auch telefonisch unter 0171 2345678.",
    "Bitte geben Sie mir Bescheid, ob Sie noch weitere Unterlagen von mir benötigen.",
    "Die Bestellnummer steht ja im Betreff.",
    "Ich kaufe seit Jahren bei Ihnen und hatte bisher nie Probleme.",
    "Vielleicht können Sie mir auch sagen, ob der Artikel wieder verfügbar ist.",
    "Übrigens ist die Hotline am Wochenende gar nicht erreichbar.",
    "Ich warte jetzt schon fast drei Wochen.",
    "Für mich ist das wirklich ärgerlich, weil ich extra Urlaub genommen habe, um das Paket anzunehmen.",
    "Die Bewertung im Shop habe ich noch nicht abgegeben, ich warte erst einmal Ihre Antwort ab.",
    "Meine Frau hat die Bestellung über mein Konto aufgegeben, falls das eine Rolle spielt.",
    "Können Sie mir bitte eine Bestätigung schicken?",
    "Es wäre schön, wenn Sie sich innerhalb der nächsten Tage melden könnten.",
    "Ansonsten muss ich mich leider an die Verbraucherzentrale wenden.",
    "Die Zustellerin sagte mir, sie hätte das Paket gar nicht im Wagen gehabt.",
    "Beim letzten Mal hat das mit der Rücksendung problemlos geklappt.",
    "Ich habe den Artikel zum Preis von {amount} gekauft.",
    "Die App zeigt mir nur einen Fehler 500 an, wenn ich die Bestellung öffnen will.",
    "Zur Sicherheit schicke ich Ihnen alle Angaben noch einmal.",
    "Vielen Dank schon einmal für Ihre Mühe.",
    "Bitte entschuldigen Sie die vielen Nachfragen.",
    "Das Paket sollte an die Lieferadresse in Fürth gehen, nicht an die Rechnungsadresse.",
    "Wäre eine Teillieferung möglich?",
    "Ich würde die Bestellung sonst gerne komplett stornieren.",
    "Laut Ihrer Website dauert der Versand nur zwei bis drei Werktage.",
]
EN_GENERAL = [
    "I'm usually very happy with your shop, but this time things aren't going well.",
    "Please let me know how we can resolve this.",
    "My customer number is {custno}.",
    "I couldn't reach anyone by phone, I was on hold for over 30 minutes.",
    "The chat agent told me to send an email instead.",
    "I already wrote to you about this on {odate} but haven't heard back.",
    "I would appreciate a quick solution.",
    "To be honest I'm quite disappointed.",
    "You can also reach me by phone during the day on +44 20 7946 0958.",
    "Please let me know if you need any further documents from me.",
    "The order number is in the subject line.",
    "I've been buying from you for years and never had any problems before.",
    "Could you also tell me whether the item will be back in stock?",
    "By the way, your hotline isn't available at weekends at all.",
    "I have been waiting for almost three weeks now.",
    "This is really annoying because I took a day off work to receive the parcel.",
    "I haven't left a review yet, I'll wait for your answer first.",
    "My partner placed the order using my account, in case that matters.",
    "Could you please send me a confirmation?",
    "It would be great to hear from you within the next few days.",
    "Otherwise I'll have to dispute the payment with my bank.",
    "The courier told me the parcel was never on the van.",
    "Last time the return process worked without any problems.",
    "I bought the item for {amount}.",
    "The app only shows an error 500 when I try to open the order.",
    "Just to be safe, here are all the details again.",
    "Thanks in advance for your help.",
    "Sorry for all the follow-up questions.",
    "The parcel was supposed to go to my work address, not my home address.",
    "Would a partial delivery be possible?",
    "Otherwise I'd like to cancel the whole order.",
    "Your website says shipping only takes two to three working days.",
    "I live in a flat and the front door is usually locked, so the driver has to ring the bell.",
    "The confirmation email I received had a different order total than the checkout page.",
    "I checked my spam folder as well, there is nothing there.",
    "My daughter was really looking forward to it, so I'd appreciate a fast reply.",
    "I ordered from Ireland and paid the international shipping fee.",
    "The size chart on the product page seems to be wrong.",
    "I've attached nothing this time, but I can send photos if needed.",
    "The delivery window in the email was between 10 am and 2 pm on {ddate}.",
    "There was no delivery attempt, I was at home all day.",
    "Your returns portal says my order number is not valid.",
    "I paid with Klarna, so I'm not sure whether I still need to pay the invoice.",
    "The product description clearly said it was compatible with my model.",
    "Honestly, the packaging was also far too big for such a small item.",
    "I'm travelling next week, so a quick answer would help.",
    "My neighbour saw a delivery van, but nobody rang the bell.",
    "I would prefer a refund rather than a voucher.",
    "I hope this can be sorted out quickly.",
    "It's the third time I've had to contact you about the same order.",
    "The instructions in the box were only in German, which I don't speak very well.",
    "I'm not sure whether I should wait or reorder the item.",
    "Your newsletter advertised free shipping, but I was charged {amount2} for delivery.",
    "The product arrived in the original box without any outer packaging.",
    "I tried to call your hotline on {ddate}, but the line was busy all afternoon.",
    "Would it be possible to deliver to a parcel shop instead?",
    "I had to pay customs duties on delivery, which I didn't expect when ordering within the EU.",
    "Please don't send another automated reply, I need an actual answer.",
    "I want to keep the other items from the order, only this one is a problem.",
    "Let me know if you need the serial number of the device.",
]
FROM_SENTENCE = "From what I can see, the parcel never left your warehouse."  # an mbox "From " line now and then

STORY_SUBJ = ["I", "My husband", "My wife", "My neighbour", "The driver", "Your colleague on the phone",
              "My son", "A friend of mine", "The concierge in our building", "My flatmate", "My partner",
              "The lady at the post office", "Our receptionist", "My daughter"]
STORY_VERB = ["checked", "looked at", "asked about", "tried to find", "called about", "wrote down", "compared",
              "double-checked", "took a screenshot of", "mentioned", "printed", "went through", "read"]
STORY_OBJ = ["the tracking page", "the order confirmation", "the delivery note", "the invoice",
             "the label on the box", "the product page", "the returns portal", "the email from the carrier",
             "the bank statement", "your app", "the FAQ on your website", "the terms and conditions",
             "the shipping confirmation", "the packing slip", "my account settings", "the chat transcript"]
STORY_WHEN = ["on Monday morning", "yesterday evening", "twice today", "last week", "right after it arrived",
              "before writing to you", "this afternoon", "again this morning", "several times", "on the weekend",
              "during my lunch break", "late last night", "a few minutes ago", "on Friday"]
STORY_TAIL = ["but it didn't help", "and it still says the same", "and nothing has changed",
              "but nobody could explain it", "and it looks wrong to me", "", "", "", "without any result",
              "and the status is unchanged", "and it confirms what I wrote above", "and I'm even more confused now",
              "and the dates don't match", "but the page wouldn't load"]


def english_story(r: random.Random) -> str:
    x = r.random
    tail = STORY_TAIL[int(x() * len(STORY_TAIL))]
    return (f"{STORY_SUBJ[int(x() * len(STORY_SUBJ))]} {STORY_VERB[int(x() * len(STORY_VERB))]} "
            f"{STORY_OBJ[int(x() * len(STORY_OBJ))]} {STORY_WHEN[int(x() * len(STORY_WHEN))]}"
            + (f", {tail}." if tail else "."))


DE_GREET = ["Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,", "Hallo liebes {shop}-Team,",
            "Moin,", "Hallo zusammen,", "Guten Morgen,", "Sehr geehrtes {shop}-Team,", "Hallo {shop},"]
EN_GREET = ["Hello,", "Hi,", "Dear Sir or Madam,", "Hi there,", "Dear {shop} team,", "Good morning,",
            "Hello {shop} customer service,", "To whom it may concern,"]
DE_CLOSE = ["Mit freundlichen Grüßen", "Viele Grüße", "Freundliche Grüße", "Beste Grüße", "LG", "Gruß",
            "Mit freundlichem Gruß", "Danke und viele Grüße"]
EN_CLOSE = ["Kind regards,", "Best regards,", "Thanks,", "Best,", "Regards,", "Many thanks,", "Cheers,",
            "Yours faithfully,"]
DE_MOBILE = ["Gesendet von meinem iPhone", "Von meinem Samsung Galaxy Smartphone gesendet.",
             "Diese Nachricht wurde von meinem Android-Mobiltelefon mit WEB.DE Mail gesendet.",
             "Gesendet mit der GMX Mail App"]
EN_MOBILE = ["Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android", "Sent from Yahoo Mail for iPhone"]

ATTACH_NOTE_DE = ["Anbei sende ich Ihnen die Unterlagen.", "Im Anhang finden Sie ein Foto.",
                  "Die Rechnung habe ich angehängt.", "Ich habe Ihnen Fotos vom Schaden angehängt.",
                  "Einen Screenshot der Sendungsverfolgung füge ich bei."]
ATTACH_NOTE_EN = ["Please find the documents attached.", "I've attached a photo.",
                  "The invoice is attached.", "I attached photos of the damage.",
                  "Attached is a screenshot of the tracking page."]

SERVICE_DE = {
    "intro": ["vielen Dank für Ihre Nachricht.", "vielen Dank für Ihre Anfrage und bitte entschuldigen Sie die späte Antwort.",
              "danke, dass Sie sich an uns gewandt haben."],
    "body": [
        "Wir haben Ihre Bestellung {order} geprüft.",
        "Die Sendung wurde am {odate} an {carrier} übergeben, die Sendungsnummer lautet {tracking}.",
        "Wir haben einen Nachforschungsauftrag beim Versanddienstleister gestartet; das dauert erfahrungsgemäß bis zu 7 Werktage.",
        "Die Erstattung über {amount} wird innerhalb von 3–5 Werktagen auf Ihr ursprüngliches Zahlungsmittel gebucht.",
        "Damit wir Ihr Anliegen weiter bearbeiten können, benötigen wir noch ein Foto der Verpackung und des Artikels.",
        "Ein kostenloses Rücksendeetikett finden Sie im Anhang dieser E-Mail bzw. in Ihrem Kundenkonto unter „Meine Bestellungen“.",
        "Die korrigierte Rechnung {invoice} senden wir Ihnen separat zu.",
        "Leider können wir die Bestellung nicht mehr stornieren, da sie bereits versandt wurde.",
        "Bitte verweigern Sie in diesem Fall einfach die Annahme; der Betrag wird nach Eingang der Ware erstattet.",
        "Der Gutschein {voucher} wurde Ihrem Kundenkonto nachträglich gutgeschrieben.",
    ],
    "outro": ["Bitte antworten Sie direkt auf diese E-Mail und lassen Sie die Vorgangsnummer {ref} im Betreff stehen.",
              "Für Rückfragen stehen wir Ihnen gerne zur Verfügung.",
              "Wir bitten um Ihr Verständnis und wünschen Ihnen einen schönen Tag."],
}
SERVICE_EN = {
    "intro": ["Thank you for your message.", "Thank you for contacting us, and sorry for the late reply.",
              "Thanks for getting in touch."],
    "body": [
        "We have checked your order {order}.",
        "The parcel was handed over to {carrier} on {odate}; the tracking number is {tracking}.",
        "We have opened an investigation with the carrier; this usually takes up to 7 working days.",
        "The refund of {amount} will be credited to your original payment method within 3-5 working days.",
        "To proceed, we need a photo of the packaging and of the item.",
        "You'll find a free return label attached to this email and in your account under \"My orders\".",
        "We will send you the corrected invoice {invoice} separately.",
        "Unfortunately we can no longer cancel the order because it has already shipped.",
        "In that case please simply refuse the delivery; we will refund the amount once the goods are back.",
        "The voucher {voucher} has been credited to your customer account.",
    ],
    "outro": ["Please reply directly to this email and keep the reference {ref} in the subject line.",
              "If you have any further questions, we're happy to help.",
              "Thank you for your patience and have a nice day."],
}

DE_WEEKDAY = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
DE_WD_ABBR = ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]
DE_MONTH = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
            "Oktober", "November", "Dezember"]
DE_MON_ABBR = ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."]
EN_WEEKDAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_MONTH = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
            "October", "November", "December"]
WD = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# (charset, transfer encoding, weight). us-ascii/7bit is only used for pure-ASCII (English) text.
CHARSETS = [
    ("utf-8", "quoted-printable", 50), ("utf-8", "base64", 13), ("utf-8", "8bit", 7),
    ("iso-8859-1", "quoted-printable", 7), ("iso-8859-1", "8bit", 3),
    ("iso-8859-15", "quoted-printable", 4), ("iso-8859-15", "8bit", 2),
    ("windows-1252", "quoted-printable", 5), ("windows-1252", "8bit", 2),
    ("us-ascii", "7bit", 15),
]
CS_LABEL = {  # how clients spell the charset parameter
    "utf-8": ["UTF-8", "utf-8", "UTF-8", "\"UTF-8\"", "\"utf-8\""],
    "iso-8859-1": ["iso-8859-1", "ISO-8859-1", "\"iso-8859-1\"", "\"ISO-8859-1\""],
    "iso-8859-15": ["iso-8859-15", "ISO-8859-15", "\"iso-8859-15\""],
    "windows-1252": ["windows-1252", "Windows-1252", "\"Windows-1252\""],
    "us-ascii": ["us-ascii", "US-ASCII", "\"us-ascii\""],
}
# what a Latin charset cannot hold is spelled the way mail clients degrade it
_LATIN1_FIX = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-",
                             "—": "-", "…": "...", "€": "EUR", "ş": "s", "ł": "l", "ą": "a", "á": "á"})
_LATIN9_FIX = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-",
                             "—": "-", "…": "...", "´": "'", "¨": '"', "¼": "1/4", "½": "1/2",
                             "¾": "3/4", "ş": "s", "ł": "l", "ą": "a"})
_CP1252_FIX = str.maketrans({"ş": "s", "ł": "l", "ą": "a"})
TEXT_FIX = {"iso-8859-1": _LATIN1_FIX, "iso-8859-15": _LATIN9_FIX, "windows-1252": _CP1252_FIX}


def _fallback(charset: str):
    """Codec error handler: degrade what a Latin charset cannot hold the way mail clients do
    (typographic quotes to ASCII, the rest to '?'); only called for the few characters concerned."""
    table = TEXT_FIX[charset]

    def handler(err: UnicodeEncodeError):
        bad = err.object[err.start:err.end].translate(table)
        return bad.encode(charset, "replace").decode(charset), err.end
    return handler


for _cs in TEXT_FIX:
    codecs.register_error("gen_mail_" + _cs, _fallback(_cs))

ATTACH_KINDS = [("pdf", 40), ("jpeg", 33), ("png", 19), ("csv", 8)]
ATTACH_NAMES = {
    "pdf": ["Rechnung.pdf", "Rechnung März.pdf", "Rücksendeschein.pdf", "Lieferschein_{order}.pdf",
            "Invoice_{order}.pdf", "Kaufbeleg.pdf", "Widerrufsformular ausgefüllt.pdf", "Scan_{ymd}.pdf",
            "Bestellbestätigung {order}.pdf", "receipt.pdf", "Garantieschein_Kühlbox.pdf", "Dokument.pdf"],
    "jpeg": ["IMG_{n4}.JPG", "Foto Schaden.jpg", "Paket beschädigt.jpg", "photo.jpeg", "{ymd2}_{hms}.jpg",
             "image0.jpeg", "Beschädigung_Außenkarton.jpg", "WhatsApp Image {ymd} at {hms}.jpeg"],
    "png": ["Screenshot {ymd} at {hms2}.png", "Bildschirmfoto {ymd} um {hms2}.png", "Sendungsverfolgung.png",
            "image001.png", "Fehlermeldung.png", "Screenshot_{ymd2}-{hms}_Chrome.png"],
    "csv": ["Bestellungen.csv", "Artikelliste_Rücksendung.csv", "orders.csv", "Übersicht Zahlungen.csv"],
}
CTYPE = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "csv": "text/csv"}

OUTLOOK_STYLE = (
    '<style><!--\n/* Font Definitions */\n@font-face\n\t{font-family:"Cambria Math";\n\tpanose-1:2 4 5 3 5 4 6 3 2 4;}\n'
    '@font-face\n\t{font-family:Calibri;\n\tpanose-1:2 15 5 2 2 2 4 3 2 4;}\n/* Style Definitions */\n'
    'p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\tfont-size:11.0pt;\n\tfont-family:"Calibri",sans-serif;\n\tmso-fareast-language:EN-US;}\n'
    'a:link, span.MsoHyperlink\n\t{mso-style-priority:99;\n\tcolor:#0563C1;\n\ttext-decoration:underline;}\n'
    'span.E-MailFormatvorlage17\n\t{mso-style-type:personal-compose;\n\tfont-family:"Calibri",sans-serif;\n\tcolor:windowtext;}\n'
    '.MsoChpDefault\n\t{mso-style-type:export-only;\n\tfont-family:"Calibri",sans-serif;\n\tmso-fareast-language:EN-US;}\n'
    '@page WordSection1\n\t{size:612.0pt 792.0pt;\n\tmargin:70.85pt 70.85pt 2.0cm 70.85pt;}\n'
    'div.WordSection1\n\t{page:WordSection1;}\n--></style><!--[if gte mso 9]><xml>\n'
    '<o:shapedefaults v:ext="edit" spidmax="1026" />\n</xml><![endif]--><!--[if gte mso 9]><xml>\n'
    '<o:shapelayout v:ext="edit">\n<o:idmap v:ext="edit" data="1" />\n</o:shapelayout></xml><![endif]-->'
)
SERVICE_P_STYLE = ('margin:0 0 12px 0;font-family:Arial,Helvetica,sans-serif;font-size:14px;'
                   'line-height:20px;color:#333333')

B64CH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                           "ø": "o", "Ø": "O", "å": "a", "Å": "A", "ł": "l", "ı": "i", "'": "", " ": ""})
_FROM_LINE = re.compile(rb"^(>*From )", re.M)


def weighted(rng: random.Random, items, key=lambda x: x[-1]):
    """Cumulative-weight chooser (returns a function, cheap to call)."""
    acc, cum = 0, []
    for it in items:
        acc += key(it)
        cum.append(acc)
    total = acc
    items = list(items)
    rnd = rng.random
    return lambda: items[bisect.bisect_right(cum, rnd() * total)]


def ascii_name(s: str) -> str:
    s = s.translate(_TRANSLIT)
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


def wrap(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    out = []
    while len(text) > width:
        i = text.rfind(" ", 0, width + 1)
        if i <= 0:
            i = text.find(" ", width)
            if i < 0:
                break
        out.append(text[:i])
        text = text[i + 1:]
    out.append(text)
    return out


# --------------------------------------------------------------------------------------------
# Header encoding helpers
# --------------------------------------------------------------------------------------------

_Q_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def encoded_words(text: str, charset: str, kind: str, label: str) -> list[str]:
    """RFC 2047 encoded words of at most 75 characters, split on character boundaries."""
    prefix = f"=?{label}?{kind}?"
    room = 75 - len(prefix) - 2
    words, cur, cur_len, raw = [], [], 0, b""
    for ch in text:
        b = ch.encode(charset, "replace")
        if kind == "Q":
            enc = "".join("_" if c == 32 else (chr(c) if c in _Q_SAFE else f"={c:02X}") for c in b)
            if cur_len + len(enc) > room and cur:
                words.append(prefix + "".join(cur) + "?=")
                cur, cur_len = [], 0
            cur.append(enc)
            cur_len += len(enc)
        else:
            if (len(raw) + len(b) + 2) // 3 * 4 > room and raw:
                words.append(prefix + binascii.b2a_base64(raw, newline=False).decode() + "?=")
                raw = b""
            raw += b
    if kind == "Q" and cur:
        words.append(prefix + "".join(cur) + "?=")
    if kind == "B" and raw:
        words.append(prefix + binascii.b2a_base64(raw, newline=False).decode() + "?=")
    return words


def b64_lines(data: bytes, width: int = 76) -> bytes:
    s = binascii.b2a_base64(data, newline=False)
    return b"\n".join([s[i:i + width] for i in range(0, len(s), width)]) + b"\n"


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

class Customer:
    __slots__ = ("first", "last", "name", "email", "domain", "persona", "lang", "female", "custno",
                 "name_style")


class Generator:
    def __init__(self, args, german: list[str]):
        self.args = args
        self.rng = rng = random.Random(args.seed)
        self.german = german
        self.domain = args.domain
        self.to = args.to
        label = args.domain.split(".")[0]
        self.shop = label[:1].upper() + label[1:]
        self.customers: dict[int, Customer] = {}
        self.threads: list[tuple] = []  # first messages: (cust, lang, msgid, subject, case, ctx, t)
        self.next_case = 10001
        self.pick_charset = weighted(rng, CHARSETS)
        self.pick_kind = weighted(rng, ATTACH_KINDS)
        self.t0 = 1759276800  # 2025-10-01 00:00 UTC
        self.span = 180 * 86400
        self.stats: dict[str, int] = {}
        self.sizes: list[int] = []

    def count(self, key: str, n: int = 1):
        self.stats[key] = self.stats.get(key, 0) + n

    # ---- people -----------------------------------------------------------------------------

    def customer(self, idx: int) -> Customer:
        c = self.customers.get(idx)
        if c is not None:
            return c
        r = random.Random(self.args.seed * 1_000_003 + idx)
        c = Customer()
        c.lang = "de" if r.random() < 0.6 else "en"
        first, last = (DE_FIRST, DE_LAST) if c.lang == "de" else (EN_FIRST, EN_LAST)
        c.first, c.last = r.choice(first), r.choice(last)
        c.female = r.random() < 0.5
        af, al = ascii_name(c.first), ascii_name(c.last)
        # customers depend only on (seed, index), never on the main stream
        table = CUSTOMER_DOMAINS_DE if c.lang == "de" else CUSTOMER_DOMAINS_EN
        x = r.random() * sum(t[1] for t in table)
        for dom, w, personas in table:
            x -= w
            if x < 0:
                break
        dom = dom.format(last=al.replace("-", ""))
        local = r.choice([f"{af}.{al}", f"{af[0]}.{al}", f"{af}{al}{r.randrange(1, 99)}", f"{al}.{af}",
                          f"{af}_{al}", f"{af}{r.randrange(1960, 2006)}", f"{al}{af[0]}",
                          f"{af}.{al}{r.randrange(1, 9)}"])
        if dom.startswith(("firma-", al)) or dom.endswith("consulting.example"):
            local = r.choice([f"{af}.{al}", f"{af[0]}.{al}", "info", "kontakt", af])
        c.email = f"{local.replace('--', '-')}@{dom}"
        c.domain = dom
        ptotal = sum(personas.values())
        x = r.random() * ptotal
        for p, w in personas.items():
            x -= w
            if x < 0:
                break
        c.persona = p
        c.name = f"{c.first} {c.last}"
        c.name_style = r.random()  # how the display name appears in From
        c.custno = f"KD-{r.randrange(100000, 999999)}"
        self.customers[idx] = c
        return c

    def from_header(self, c: Customer, cs: str) -> tuple[str, bool]:
        """Returns the From value and whether it holds raw 8-bit text."""
        s = c.name_style
        if s < 0.05:
            return c.email, False
        name = c.name
        if c.persona == "outlook" and s < 0.35:
            name = f"{c.last}, {c.first}"
        if name.isascii():
            if "," in name or "'" in name:
                return f'"{name}" <{c.email}>', False
            return f"{name} <{c.email}>", False
        r = self.rng.random()
        if r < 0.01:
            self.count("hdr_raw_utf8")
            return f'"{name}" <{c.email}>', True
        if r < 0.04:
            return f"{ascii_name(c.first).title()} {ascii_name(c.last).title()} <{c.email}>", False
        if cs in ("iso-8859-1", "iso-8859-15", "windows-1252") and r < 0.5:
            words = encoded_words(name, cs, "Q", cs.upper() if r < 0.3 else cs)
        elif r < 0.8:
            words = encoded_words(name, "utf-8", "Q", "UTF-8" if r < 0.65 else "utf-8")
        else:
            words = encoded_words(name, "utf-8", "B", "UTF-8")
        self.count("hdr_from_2047")
        return " ".join(words) + f" <{c.email}>", False

    # ---- message parts ----------------------------------------------------------------------

    def make_ctx(self, lang: str, c: Customer, t: float) -> dict:
        r = self.rng
        carrier = r.choices(["DHL", "Hermes", "DPD", "UPS", "GLS"], [50, 15, 15, 12, 8])[0]
        if carrier == "DHL":
            tracking = "00340434" + "".join(r.choices("0123456789", k=12))
        elif carrier == "UPS":
            tracking = "1Z" + "".join(r.choices("0123456789ABCDEFGHJKLMNPRSTVWXYZ", k=6)) + \
                "".join(r.choices("0123456789", k=10))
        elif carrier == "Hermes":
            tracking = "H10" + "".join(r.choices("0123456789", k=17))
        elif carrier == "DPD":
            tracking = "0150" + "".join(r.choices("0123456789", k=10))
        else:
            tracking = "".join(r.choices("0123456789", k=11))
        eur, cents = r.randrange(5, 600), r.choice(["99", "95", "00", "49", "90", "50"])
        eur2 = r.randrange(3, 40)
        od = time.gmtime(t - r.randrange(2, 25) * 86400)
        dd = time.gmtime(t - r.randrange(0, 2) * 86400 + 86400 * r.choice([-3, -2, -1, 1]))
        if lang == "de":
            amount, amount2 = f"{eur},{cents} €", f"{eur2},{r.choice(['95', '99', '00'])} €"
            odate = f"{od.tm_mday:02d}.{od.tm_mon:02d}.{od.tm_year}" if r.random() < 0.6 else \
                f"{od.tm_mday}. {DE_MONTH[od.tm_mon - 1]}"
            ddate = f"{dd.tm_mday:02d}.{dd.tm_mon:02d}."
            item = r.choice(ITEMS_DE)
        else:
            amount = r.choice([f"€{eur}.{cents}", f"EUR {eur}.{cents}", f"{eur}.{cents} EUR"])
            amount2 = f"€{eur2}.{r.choice(['95', '99', '00'])}"
            odate = f"{EN_MONTH[od.tm_mon - 1]} {od.tm_mday}" if r.random() < 0.5 else \
                f"{od.tm_mday} {EN_MONTH[od.tm_mon - 1]}"
            ddate = f"{WD[dd.tm_wday]} {dd.tm_mday} {MON[dd.tm_mon - 1]}"
            item = r.choice(ITEMS_EN)
        return {
            "order": f"{r.choice(['4711', '4712', '4713', '4720', '4730'])}-{r.randrange(100000, 1000000)}",
            "tracking": tracking, "carrier": carrier, "item": item, "amount": amount, "amount2": amount2,
            "odate": odate, "ddate": ddate, "custno": c.custno, "shop": self.shop,
            "invoice": f"RE-{od.tm_year}-{r.randrange(1, 999999):06d}",
            "voucher": "".join(r.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=8)),
            "concern": r.randrange(len(CONCERNS)), "ref": "",
        }

    def customer_paras(self, lang: str, c: Customer, ctx: dict, target: int, attach_note: bool) -> list:
        """The customer's own text: list of ('p', text) or ('pre', lines)."""
        r = self.rng
        concern = CONCERNS[ctx["concern"]]
        sents = concern[2] if lang == "de" else concern[4]
        general = DE_GENERAL if lang == "de" else EN_GENERAL
        paras = [("pre", [r.choice(DE_GREET if lang == "de" else EN_GREET).format_map(ctx)])]
        k = min(len(sents), r.randrange(2, 6))
        # sentences written to follow "Hallo," start in lower case; at most one of them, first
        first = sorted(r.sample(sents, k), key=lambda x: not x[0].islower())
        first = first[:1] + [x[0].upper() + x[1:] for x in first[1:]]
        if not first[0][0].islower() or r.random() < 0.4:
            first[0] = first[0][0].upper() + first[0][1:]
        body = [" ".join(first).format_map(ctx)]
        size = len(body[0])
        closing_note = attach_note and (ATTACH_NOTE_DE if lang == "de" else ATTACH_NOTE_EN)
        german = self.german
        rnd = r.random
        ng, nG = len(german), len(general)
        while size < target:
            n = 2 + int(rnd() * 4)
            if lang == "de" and german:
                para = [german[int(rnd() * ng)] if rnd() < 0.72 else general[int(rnd() * nG)] for _ in range(n)]
            else:
                para = r.sample(general, n) if rnd() < 0.5 else \
                    [general[int(rnd() * nG)] if rnd() < 0.5 else english_story(r) for _ in range(n)]
                if rnd() < 0.3:
                    para.append(r.choice(sents))
                if rnd() < 0.004:
                    para.insert(0, FROM_SENTENCE)
            p = " ".join(para)
            if "{" in p:
                p = p.format_map(ctx)
            body.append(p)
            size += len(p) + 2
        if closing_note:
            body.append(r.choice(closing_note))
        paras.extend(("p", p) for p in body)
        close = r.choice(DE_CLOSE if lang == "de" else EN_CLOSE)
        sig = [close, c.first if r.random() < 0.3 else c.name]
        if r.random() < 0.15:
            sig += ["", f"{c.name}", "Lindenstraße 14b" if lang == "de" else "14 Linden Street",
                    "50674 Köln" if lang == "de" else "Manchester M1 2AB", f"Tel. 0171 {r.randrange(1000000, 9999999)}"]
        paras.append(("pre", sig))
        if c.persona in ("apple", "other", "webmail") and r.random() < 0.25:
            paras.append(("pre", [r.choice(DE_MOBILE if lang == "de" else EN_MOBILE)]))
        return paras

    def service_paras(self, lang: str, c: Customer, ctx: dict) -> list:
        r = self.rng
        t = SERVICE_DE if lang == "de" else SERVICE_EN
        if lang == "de":
            greet = (f"Sehr geehrte Frau {c.last}," if c.female else f"Sehr geehrter Herr {c.last},") \
                if r.random() < 0.7 else f"Hallo {c.name},"
        else:
            greet = f"Dear {c.name}," if r.random() < 0.6 else f"Hi {c.first},"
        body = [r.choice(t["intro"]) + " " + " ".join(r.sample(t["body"], r.randrange(2, 5)))]
        body.append(r.choice(t["outro"]))
        agent = r.choice(AGENTS)
        if lang == "de":
            sig = ["Mit freundlichen Grüßen", agent, f"{self.shop} Kundenservice", "",
                   f"{self.shop} GmbH · Musterstraße 12 · 10115 Berlin",
                   f"Telefon: 030 1234567-0 · {self.to}",
                   "Amtsgericht Charlottenburg HRB 123456 B · Geschäftsführung: Maria Beispiel"]
        else:
            sig = ["Kind regards,", agent, f"{self.shop} Customer Service", "",
                   f"{self.shop} GmbH · Musterstraße 12 · 10115 Berlin · Germany",
                   f"Phone: +49 30 1234567-0 · {self.to}"]
        paras = [("pre", [greet])] + [("p", p.format_map(ctx)) for p in body] + [("pre", sig)]
        return paras

    # ---- rendering --------------------------------------------------------------------------

    @staticmethod
    def plain(paras: list, width: int, flowed: bool = False) -> list[str]:
        lines: list[str] = []
        for kind, v in paras:
            if lines:
                lines.append("")
            if kind == "pre":
                lines.extend(v)
            elif width:
                w = wrap(v, width)
                if flowed:
                    w = [x + " " for x in w[:-1]] + [w[-1]]
                lines.extend(w)
            else:
                lines.append(v)
        return lines

    @staticmethod
    def html_paras(paras: list, tag: str, width: int, style: str = "") -> str:
        out = []
        esc = html.escape
        for kind, v in paras:
            if kind == "pre":
                body = "<br>\n".join(esc(x, False) for x in v)
            else:
                body = esc(v, False)
                if width:
                    body = "\n".join(wrap(body, width))
            if tag == "msop":
                out.append(f'<p class="MsoNormal">{body}<o:p></o:p></p>\n<p class="MsoNormal"><o:p>&nbsp;</o:p></p>')
            elif style:
                out.append(f'<{tag} style="{style}">{body}</{tag}>')
            else:
                out.append(f"<{tag}>{body}</{tag}>")
        sep = "\n<div><br></div>\n" if tag == "div" and not style else "\n"
        return sep.join(out)

    def quote_intro(self, style: str, lang: str, t: float, name: str, addr: str) -> list[str]:
        g = time.gmtime(t + 60 * de_offset(t))
        hh, mm = g.tm_hour, g.tm_min
        h12 = f"{(hh % 12) or 12}:{mm:02d} {'AM' if hh < 12 else 'PM'}"
        if style == "gmail":
            if lang == "de":
                return [f"Am {DE_WD_ABBR[g.tm_wday]}, {g.tm_mday}. {DE_MON_ABBR[g.tm_mon - 1]} {g.tm_year} um "
                        f"{hh:02d}:{mm:02d} Uhr schrieb {name} <", f"{addr}>:"]
            return [f"On {WD[g.tm_wday]}, {MON[g.tm_mon - 1]} {g.tm_mday}, {g.tm_year} at {h12} {name} <{addr}>", "wrote:"]
        if style == "apple":
            if lang == "de":
                return [f"Am {g.tm_mday:02d}.{g.tm_mon:02d}.{g.tm_year} um {hh:02d}:{mm:02d} schrieb {name} <{addr}>:"]
            return [f"On {g.tm_mday} {MON[g.tm_mon - 1]} {g.tm_year}, at {hh:02d}:{mm:02d}, {name} <{addr}> wrote:"]
        if style == "thunderbird":
            if lang == "de":
                return [f"Am {g.tm_mday:02d}.{g.tm_mon:02d}.{g.tm_year % 100:02d} um {hh:02d}:{mm:02d} schrieb {name}:"]
            return [f"On {g.tm_mday:02d}/{g.tm_mon:02d}/{g.tm_year} {hh:02d}:{mm:02d}, {name} wrote:"]
        if style == "outlook":
            if lang == "de":
                head = "-----Ursprüngliche Nachricht-----" if self.rng.random() < 0.6 else "_" * 32
                return [head, f"Von: {name} <{addr}>",
                        f"Gesendet: {DE_WEEKDAY[g.tm_wday]}, {g.tm_mday}. {DE_MONTH[g.tm_mon - 1]} {g.tm_year} {hh:02d}:{mm:02d}"]
            head = "-----Original Message-----" if self.rng.random() < 0.6 else "_" * 32
            return [head, f"From: {name} <{addr}>",
                    f"Sent: {EN_WEEKDAY[g.tm_wday]}, {EN_MONTH[g.tm_mon - 1]} {g.tm_mday}, {g.tm_year} {h12}"]
        # webmail (GMX / WEB.DE style)
        if lang == "de":
            return [f"Gesendet: {DE_WEEKDAY[g.tm_wday]}, {g.tm_mday:02d}. {DE_MONTH[g.tm_mon - 1]} {g.tm_year} um "
                    f"{hh:02d}:{mm:02d} Uhr", f'Von: "{name}" <{addr}>']
        return [f"Sent: {EN_WEEKDAY[g.tm_wday]}, {EN_MONTH[g.tm_mon - 1]} {g.tm_mday:02d}, {g.tm_year} at "
                f"{h12}", f'From: "{name}" <{addr}>']

    # ---- one message ------------------------------------------------------------------------

    def message(self, i: int) -> tuple[bytes, str, float]:
        r = self.rng
        a = self.args
        t = self.t0 + (i + r.random()) * self.span / a.count
        # reply or first message?
        reply = r.random() < 0.40
        thread = None
        if reply and self.threads and r.random() < 0.85:
            thread = self.threads[-1 - int(r.random() * min(len(self.threads), 3000))]
            cidx = thread[0]
            c = self.customer(cidx)
            lang = thread[1]
            ctx = thread[5]
        else:
            cidx = int(a.customers * r.random() ** 1.6)
            c = self.customer(cidx)
            lang = c.lang if r.random() < 0.95 else ("en" if c.lang == "de" else "de")
            ctx = self.make_ctx(lang, c, t)
        self.count("lang_" + lang)
        persona = c.persona
        self.count("client_" + persona)

        # structure
        is_html = r.random() < 0.30
        html_only = is_html and r.random() < 0.15
        attachments: list[tuple[str, int]] = []
        if r.random() < 0.05:
            attachments.append((self.pick_kind()[0], int(3000 * (100_000 / 3000) ** r.random())))
        if a.profile == "attachments" and r.random() < 0.25:
            for _ in range(r.choices([1, 2, 3], [60, 28, 12])[0]):
                attachments.append((self.pick_kind()[0], int(20_000 * 100 ** r.random())))

        # charset / transfer encoding
        cs, cte, _ = self.pick_charset()
        if cs == "us-ascii" and lang == "de":
            cs, cte = "utf-8", "quoted-printable"

        # subject and threading
        concern = CONCERNS[ctx["concern"]]
        if thread is None:
            subj_t = r.choice(concern[1] if lang == "de" else concern[3])
            subject = subj_t.format_map(ctx)
        else:
            subject = thread[3]
        in_reply_to = references = None
        quote = None
        if reply:
            if thread is not None:
                case, orig_id, t_orig = thread[4], thread[2], thread[6]
                self.count("reply_in_corpus")
            else:
                case = r.randrange(1000, 10000)
                orig_id = self.msgid(c, t - 86400 * 5, i + 0x5000000)
                t_orig = t - r.randrange(2, 12) * 86400
            ctx = dict(ctx, ref=f"A-{case}")
            t_service = t_orig + (t - t_orig) * (0.3 + 0.6 * r.random())
            service_id = f"<anliegen.A-{case}.{r.getrandbits(64):016x}@{self.domain}>"
            in_reply_to = service_id
            refs = [orig_id, service_id]
            depth = 1
            if r.random() < 0.2:  # a longer conversation
                depth = 2
                refs = [orig_id, f"<anliegen.A-{case}.{r.getrandbits(64):016x}@{self.domain}>",
                        self.msgid(c, t_orig + 3600, i + 0x6000000), service_id]
            references = refs
            tag = f"[A-{case}] " if r.random() < 0.85 else ""
            if lang == "de":
                pre = r.choices(["AW: ", "Re: ", "Antw: ", "RE: "], [60, 25, 5, 10])[0]
            else:
                pre = r.choices(["Re: ", "RE: "], [82, 18])[0]
            subject = pre * depth + tag + subject
            quote = (case, t_service, r.random() < 0.5)  # (case, when, include the original)
            self.count("reply")
        else:
            case = self.next_case
            self.next_case += 1

        # body sizes: lognormal own text; replies carry the quoted history on top
        target = int(min(40_000, max(150, r.lognormvariate(8.2, 0.75))))
        own = self.customer_paras(lang, c, ctx, target, bool(attachments))

        shop_name = f"{self.shop} Kundenservice" if lang == "de" else f"{self.shop} Customer Service"
        qstyle = None
        if quote:
            if persona == "other":
                qstyle = "gmail"
            elif persona == "webmail" and lang == "en":
                qstyle = "apple"
            else:
                qstyle = persona
            self.count("quote_" + qstyle)
            service = self.service_paras(lang, c, ctx)
            orig = None
            if quote[2]:
                orig = self.customer_paras(lang, c, ctx, r.randrange(200, 1200), False)

        # plain text
        flowed = persona == "thunderbird" and cte != "base64" and r.random() < 0.7
        width = 72 if flowed else (76 if cte in ("7bit", "8bit") or persona == "thunderbird" else 0)
        text_lines = self.plain(own, width, flowed)
        html_quote = ""
        if quote:
            intro = self.quote_intro(qstyle, lang, quote[1], shop_name, self.to)
            qlines = self.plain(service, 76 if width or r.random() < 0.5 else 0)
            olines = self.plain(orig, 76) if orig else None
            subj_line = ("Betreff: " if lang == "de" else "Subject: ") + f"[A-{quote[0]}] " + thread_subject(subject)
            to_line = ("An: " if lang == "de" else "To: ") + f"{c.name} <{c.email}>"
            text_lines.append("")
            if qstyle in ("outlook", "webmail"):
                block = intro + [to_line, subj_line, ""] + qlines
                if olines:
                    oi = self.quote_intro(qstyle, lang, quote[1] - 86400, c.name, c.email)
                    block += ["", ""] + oi + [("An: " if lang == "de" else "To: ") + f"{self.to}",
                                              ("Betreff: " if lang == "de" else "Subject: ") + thread_subject(subject), ""] + olines
                if qstyle == "webmail" and r.random() < 0.5:
                    text_lines += [" ", " ", " "] + ["> " + x if x else ">" for x in block]
                else:
                    text_lines += block
            else:
                text_lines += [" "] if qstyle == "apple" else []
                text_lines += intro + ([""] if qstyle in ("gmail", "apple") else []) + \
                    [("> " + x if x else ">") for x in qlines]
                if olines:
                    oi = self.quote_intro(qstyle, lang, quote[1] - 86400, c.name, c.email)
                    text_lines += [">"] + ["> " + x for x in oi] + [("> > " + x if x else "> >") for x in olines]
            if is_html:
                html_quote = self.html_quote(qstyle, lang, intro, service, orig, c, quote, subj_line, to_line,
                                             width if cte in ("7bit", "8bit") else 0)
        if flowed:
            text_lines = [(" " + x if x.startswith(("From ", " ")) else x) for x in text_lines]
        text = "\n".join(text_lines) + "\n"

        # encode the text parts
        if cs == "us-ascii" and not text.isascii():
            cs, cte = "utf-8", "quoted-printable"
        self.count(f"cs_{cs}/{cte}")
        fix = TEXT_FIX.get(cs)
        label = r.choice(CS_LABEL[cs])
        parts = []  # (headers, body bytes)
        if not html_only:
            ctype = f"text/plain; charset={label}" + ("; format=flowed" if flowed else "")
            data = text.encode(cs, "gen_mail_" + cs if fix else "strict")
            parts.append((ctype, cte, data))
        if is_html:
            hw = 76 if cte in ("7bit", "8bit") else 0
            hdoc = self.html_doc(persona, lang, cs, own, html_quote, hw)
            hdata = hdoc.encode(cs, "xmlcharrefreplace")
            parts.append((f"text/html; charset={label}", cte, hdata))
            self.count("html_only" if html_only else "html_alternative")

        # headers
        msgid = self.msgid(c, t, i)
        from_value, raw8 = self.from_header(c, cs)
        hdr = self.headers(c, persona, lang, t, msgid, from_value, subject, cs, in_reply_to, references,
                           bool(attachments))
        # body assembly
        if len(parts) == 1 and not attachments:
            body = self.part_bytes(parts[0])
            top_ctype = None
        else:
            b_alt = self.boundary(persona, 1)
            if len(parts) == 2:
                alt = (b"This is a multi-part message in MIME format.\n\n" if persona in ("thunderbird", "outlook") and not attachments else b"") + \
                    b"".join(b"--" + b_alt.encode() + b"\n" + self.part_bytes(p) + b"\n" for p in parts) + \
                    b"--" + b_alt.encode() + b"--\n"
                alt_ctype = f'multipart/alternative;\n\tboundary="{b_alt}"'
            if attachments:
                b_mix = self.boundary(persona, 2)
                out = [b"This is a multi-part message in MIME format.\n\n"] if persona != "gmail" else []
                bm = b"--" + b_mix.encode() + b"\n"
                if len(parts) == 2:
                    out += [bm, f"Content-Type: {alt_ctype}\n\n".encode(), alt, b"\n"]
                else:
                    out += [bm, self.part_bytes(parts[0]), b"\n"]
                for kind, size in attachments:
                    out += [bm, self.attachment(kind, size, ctx, t, persona), b"\n"]
                out.append(b"--" + b_mix.encode() + b"--\n")
                body = b"".join(out)
                top_ctype = f'multipart/mixed;\n\tboundary="{b_mix}"'
                self.count("with_attachments")
                self.count("attachments", len(attachments))
            else:
                body = alt
                top_ctype = alt_ctype
        if top_ctype:
            hdr.append(f"Content-Type: {top_ctype}\n")  # blank line before the multipart body
        head = "\n".join(hdr) + "\n"
        msg = head.encode("utf-8") + body
        if not reply:
            self.threads.append((cidx, lang, msgid, subject, case, ctx, t))
            if len(self.threads) > 6000:
                del self.threads[:3000]
        if raw8:
            self.count("raw_8bit_header")
        return msg, c.email, t

    def part_bytes(self, part) -> bytes:
        ctype, cte, data = part
        if cte == "quoted-printable":
            enc = binascii.b2a_qp(data, istext=True)
            if not enc.endswith(b"\n"):
                enc += b"\n"
        elif cte == "base64":
            enc = b64_lines(data)
        else:
            enc = data if data.endswith(b"\n") else data + b"\n"
        h = f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}\n\n"
        return h.encode("ascii") + enc

    def html_quote(self, qstyle, lang, intro, service, orig, c, quote, subj_line, to_line, width) -> str:
        esc = html.escape
        svc = self.html_paras(service, "p", width, SERVICE_P_STYLE)
        orig_html = self.html_paras(orig, "div", width) if orig else ""
        if qstyle == "gmail":
            attr = esc(" ".join(intro), False).replace("&lt;" + self.to + "&gt;",
                                                       f'&lt;<a href="mailto:{self.to}">{self.to}</a>&gt;')
            inner = svc
            if orig_html:
                inner += ('\n<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                          f"{esc(c.name, False)} &lt;{c.email}&gt;:<br></div>\n"
                          '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                          f'rgb(204,204,204);padding-left:1ex">{orig_html}</blockquote></div>')
            return ('<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">' + attr + "<br></div>\n"
                    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                    f'rgb(204,204,204);padding-left:1ex">\n{inner}\n</blockquote></div>')
        if qstyle in ("apple", "thunderbird"):
            inner = svc + (f'\n<blockquote type="cite">{orig_html}</blockquote>' if orig_html else "")
            if qstyle == "thunderbird":
                return (f'<div class="moz-cite-prefix">{esc(" ".join(intro), False)}<br>\n</div>\n'
                        f'<blockquote type="cite" cite="mid:anliegen.A-{quote[0]}@{self.domain}">\n{inner}\n</blockquote>')
            return (f'<div><br><blockquote type="cite"><div>{esc(" ".join(intro), False)}</div><br>'
                    f'<div>{inner}</div></blockquote></div>')
        if qstyle == "outlook":
            hl = [x for x in intro if not x.startswith(("-----", "___"))] + [to_line, subj_line]
            rows = "<br>\n".join(f"<b>{esc(x.split(': ', 1)[0], False)}:</b> {esc(x.split(': ', 1)[1], False)}"
                                 for x in hl)
            return ('<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
                    f'<p class="MsoNormal"><span lang="{"DE" if lang == "de" else "EN-US"}">{rows}</span><o:p></o:p></p>\n</div>\n'
                    f'<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n{svc}' + (f"\n<div>{orig_html}</div>" if orig_html else ""))
        # webmail
        rows = "".join(f"<b>{esc(x.split(': ', 1)[0], False)}:</b>&nbsp;{esc(x.split(': ', 1)[1], False)}<br/>\n"
                       for x in intro + [to_line, subj_line])
        return ('<div>&nbsp;\n<div>&nbsp;\n<div name="quote" style="margin:10px 5px 5px 10px; padding: 10px 0 10px 10px; '
                'border-left:2px solid #C3D9E5; word-wrap: break-word; -webkit-nbsp-mode: space; '
                f'-webkit-line-break: after-white-space;">\n<div style="margin:0 0 10px 0;">{rows}</div>\n'
                f'<div name="quoted-content">{svc}</div>\n</div>\n</div>\n</div>')

    def html_doc(self, persona, lang, cs, own, quote_html, width) -> str:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={cs}">'
        if persona == "gmail":
            return f'<div dir="ltr">{self.html_paras(own, "div", width)}</div>{quote_html}\n'
        if persona == "outlook":
            lang_attr = "DE" if lang == "de" else "EN-GB"
            return ('<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                    'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
                    f'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n{meta}\n'
                    '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
                    f'{OUTLOOK_STYLE}\n</head>\n<body lang="{lang_attr}" link="#0563C1" vlink="#954F72" '
                    'style="word-wrap:break-word">\n<div class="WordSection1">\n'
                    f'{self.html_paras(own, "msop", width)}\n{quote_html}\n</div>\n</body>\n</html>\n')
        if persona == "apple":
            return (f'<html><head>{meta}</head><body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; '
                    f'line-break: after-white-space;">{self.html_paras(own, "div", width)}{quote_html}</body></html>\n')
        if persona == "thunderbird":
            return ('<!DOCTYPE html>\n<html>\n  <head>\n    ' + meta + '\n  </head>\n  <body>\n    '
                    + self.html_paras(own, "p", width) + "\n    " + quote_html + "\n  </body>\n</html>\n")
        if persona == "webmail":
            return ('<html><head></head><body><div style="font-family: Verdana;font-size: 12.0px;">'
                    f'{self.html_paras(own, "div", width)}\n{quote_html}</div></body></html>\n')
        return (f'<html><head>{meta}</head><body dir="auto">'
                f'{self.html_paras(own, "div", width, "font-family:sans-serif;font-size:14px")}'
                f'{quote_html}</body></html>\n')

    def attachment(self, kind: str, size: int, ctx: dict, t: float, persona: str) -> bytes:
        r = self.rng
        g = time.gmtime(t - r.randrange(0, 5 * 86400))
        name = r.choice(ATTACH_NAMES[kind]).format(
            order=ctx["order"], n4=r.randrange(1000, 9999), ymd=f"{g.tm_year}-{g.tm_mon:02d}-{g.tm_mday:02d}",
            ymd2=f"{g.tm_year}{g.tm_mon:02d}{g.tm_mday:02d}", hms=f"{g.tm_hour:02d}{g.tm_min:02d}{g.tm_sec:02d}",
            hms2=f"{g.tm_hour:02d}.{g.tm_min:02d}.{g.tm_sec:02d}")
        if kind == "pdf":
            data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + \
                r.randbytes(max(0, size - 90)) + b"\n%%EOF\n"
        elif kind == "jpeg":
            data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00H\x00H\x00\x00" + \
                r.randbytes(max(0, size - 22)) + b"\xff\xd9"
        elif kind == "png":
            data = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x05\x00\x00\x00\x02\xd0\x08\x06\x00\x00\x00"
                    b"\x9a\x8e\x4f\x61" + r.randbytes(max(0, size - 45)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")
        else:
            size = min(size, 300_000)  # exports are small; long ones repeat a block of rows
            rows = [f"{r.randrange(4711, 4731)}-{r.randrange(100000, 1000000)};"
                    f"{r.randrange(1, 29):02d}.{r.randrange(1, 13):02d}.2025;{r.choice(ITEMS_DE)};"
                    f"{r.randrange(1, 4)};{r.randrange(5, 600)},{r.randrange(0, 100):02d}"
                    for _ in range(min(200, size // 50 + 1))]
            block = "\r\n".join(rows) + "\r\n"
            text = "Bestellnummer;Datum;Artikel;Menge;Betrag\r\n" + block * (size // len(block) + 1)
            text = text[:text.rfind("\r\n", 0, size) + 2] if len(text) > size else text
            data = text.encode("utf-8" if r.random() < 0.6 else "windows-1252", "replace")
        ctype = CTYPE[kind]
        disp = "inline" if kind in ("jpeg", "png") and persona == "apple" and r.random() < 0.5 else "attachment"
        if name.isascii():
            ct = f'{ctype}; name="{name}"'
            cd = f'{disp}; filename="{name}"'
        else:
            self.count("attach_name_non_ascii")
            pct = urlquote(name.encode("utf-8"), safe="")
            x = r.random()
            if x < 0.45:  # Thunderbird/Apple: RFC 2231 in the disposition, RFC 2047 in the name
                ct = f'{ctype};\n name="{" ".join(encoded_words(name, "utf-8", "Q", "UTF-8"))}"'
                cd = f"{disp};\n filename*=UTF-8''{pct}"
            elif x < 0.8:  # Outlook/Gmail: RFC 2047 in both quoted strings
                ew = "\n ".join(encoded_words(name, "utf-8", "B" if persona == "outlook" else "Q", "UTF-8"))
                ct = f'{ctype};\n\tname="{ew}"'
                cd = f'{disp};\n\tfilename="{ew}"'
            else:  # RFC 2231 with continuations
                chunks, j = [], 0
                while j < len(pct):
                    k = min(len(pct), j + 40)
                    while "%" in pct[k - 2:k] and k < len(pct):
                        k -= 1
                    chunks.append(pct[j:k])
                    j = k
                cd = disp + ";" + ";".join(
                    f"\n filename*{n}*={'UTF-8' + chr(39) * 2 if n == 0 else ''}{ch}" for n, ch in enumerate(chunks))
                ct = f"{ctype};\n name*=UTF-8''{pct}"
        extra = ""
        if disp == "inline":
            extra = f"Content-Id: <{r.getrandbits(64):016X}@{self.domain}>\n"
        if persona == "outlook":
            extra += f"Content-Description: {name if name.isascii() else ascii_name(name)}\n"
        if kind == "csv":
            ct = ct.replace("text/csv;", "text/csv; charset=utf-8;", 1) if "charset" not in ct else ct
        return (f"Content-Type: {ct}\nContent-Disposition: {cd}\n{extra}Content-Transfer-Encoding: base64\n\n"
                .encode("ascii") + b64_lines(data))

    # ---- ids, boundaries, headers ------------------------------------------------------------

    def msgid(self, c: Customer, t: float, i: int) -> str:
        r = self.rng
        p = c.persona
        uniq = f"{i:x}"
        if p == "gmail":
            body = "".join(r.choices(ALNUM + "+_-", k=36))
            return f"<CA{uniq}{body}@mail.gmail.example>"
        if p == "outlook":
            host = f"{r.choice(['AM', 'DB', 'FR', 'PA', 'VI'])}{r.randrange(0, 9)}PR{r.randrange(10, 99):02d}MB{r.randrange(1000, 9999)}"
            return f"<{host}{uniq.upper()}{''.join(r.choices('0123456789ABCDEF', k=24))}@{host}.eurprd{r.randrange(1, 9):02d}.prod.outlook.example>"
        if p == "apple":
            h = f"{r.getrandbits(128):032X}"
            return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{uniq.upper()}-{h[16:28]}@{c.domain}>"
        if p == "webmail":
            h = f"{r.getrandbits(128):032x}"
            return f"<trinity-{h[:8]}-{h[8:12]}-{h[12:16]}-{uniq}-{h[16:28]}-{int(t * 1000)}@3c-app-mailcom-bs{r.randrange(1, 16):02d}>"
        if p == "thunderbird":
            h = f"{r.getrandbits(128):032x}"
            return f"<{h[:8]}-{h[8:12]}-{uniq}-{h[12:16]}-{h[16:28]}@{c.domain}>"
        return f"<{uniq}.{r.getrandbits(64):x}.{int(t)}@email.android.example>"

    def boundary(self, persona: str, level: int) -> str:
        r = self.rng
        if persona == "gmail":
            return f"{'0' * 12}{r.getrandbits(64):016x}"
        if persona == "outlook":
            return f"_{level:03d}_AM9PR04MB{r.randrange(1000, 9999)}{''.join(r.choices('0123456789ABCDEF', k=16))}_"
        if persona == "apple":
            h = f"{r.getrandbits(128):032X}"
            return f"Apple-Mail={'_' if level == 1 else '-'}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if persona == "thunderbird":
            return "------------" + "".join(r.choices(ALNUM, k=24))
        if persona == "webmail":
            return f"----=_Part_{r.randrange(100000, 999999)}_{r.randrange(10 ** 8, 10 ** 9)}.{r.randrange(10 ** 12, 10 ** 13)}"
        return f"--_com.android.email_{r.getrandbits(60)}{level}"

    def headers(self, c, persona, lang, t, msgid, from_value, subject, cs, in_reply_to, references,
                has_attach) -> list[str]:
        r = self.rng
        de_tz = de_offset(t)
        tz = de_tz if lang == "de" else r.choice([0, 0, de_tz - 60, -300, -240, de_tz, 60])
        recv_t = t + r.randrange(1, 40)
        zone = "CEST" if de_tz == 120 else "CET"
        mx = f"mx{r.randrange(1, 3)}.{self.domain}"
        ip = f"{r.choice(['192.0.2', '198.51.100', '203.0.113'])}.{r.randrange(1, 255)}"
        qid = "".join(r.choices("BCDFGHJKLMNPQRSTVWXZ0123456789", k=12))
        h = [f"Return-Path: <{c.email}>", f"Delivered-To: {self.to}"]
        h.append(f"Received: from mail.{self.domain} (localhost [127.0.0.1])\n\tby mail.{self.domain} (Postfix) with "
                 f"LMTP id {qid}\n\tfor <{self.to}>; {date_str(recv_t + 1, de_tz, pad=' ')} ({zone})")
        relay = {"gmail": "mail-wm1-f42.google.example", "outlook": "mail-am6eur05on2070.outbound.protection.outlook.example",
                 "webmail": f"mout.{c.domain}", "apple": "ci74p00im-qukt09082301.me.example"}.get(persona, f"smtp.{c.domain}")
        h.append(f"Received: from {relay} ({relay} [{ip}])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\t"
                 f" key-exchange X25519 server-signature RSA-PSS (2048 bits))\n\t(No client certificate requested)\n\t"
                 f"by {mx} (Postfix) with ESMTPS id {qid[:10]}\n\tfor <{self.to}>; {date_str(recv_t, de_tz, pad=' ')} ({zone})")
        for _ in range(r.randrange(0, 3)):
            hop_ip = f"10.{r.randrange(0, 255)}.{r.randrange(0, 255)}.{r.randrange(1, 255)}"
            h.append(f"Received: from [{hop_ip}] by {relay.split('.', 1)[-1]} with ESMTPSA id "
                     f"{''.join(r.choices(ALNUM, k=16))};\n\t{date_str(t + r.randrange(0, 3), tz)}")
        h.append(f"X-Original-To: {self.to}")
        if r.random() < 0.7:
            h.append(f"Authentication-Results: {mx};\n\tdkim=pass (2048-bit key; unprotected) header.d={c.domain} "
                     f"header.i=@{c.domain} header.b=\"{''.join(r.choices(ALNUM, k=8))}\";\n\tspf=pass "
                     f"(sender IP is {ip}) smtp.mailfrom={c.email};\n\tdmarc=pass (p=none dis=none) header.from={c.domain}")
        if r.random() < 0.6:
            sig = binascii.b2a_base64(r.randbytes(256), newline=False).decode()
            bh = binascii.b2a_base64(r.randbytes(32), newline=False).decode()
            sig_lines = "\n\t ".join(sig[j:j + 70] for j in range(0, len(sig), 70))
            h.append(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={c.domain}; s=s{r.randrange(1, 3)}; "
                     f"t={int(t)};\n\tbh={bh};\n\th=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;\n\tb={sig_lines}")
        if r.random() < 0.3:
            h.append(f"X-Spam-Status: No, score={r.uniform(-3, 3):.1f} required=5.0 tests=DKIM_SIGNED,DKIM_VALID,"
                     "HTML_MESSAGE,RCVD_IN_DNSWL_NONE,SPF_PASS autolearn=ham autolearn_force=no")
        # client headers
        if persona == "apple" and r.random() < 0.6:
            h.append("Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.300.87.4.3\\))")
        else:
            h.append("MIME-Version: 1.0")
        h.append(f"Date: {date_str(t, tz, pad='' if persona in ('gmail', 'outlook') else '0')}")
        h.append(f"Message-ID: {msgid}")
        if in_reply_to:
            h.append(f"In-Reply-To: {in_reply_to}")
            h.append("References: " + "\n ".join(references))
        h.append(f"From: {from_value}")
        to = self.to
        x = r.random()
        if x < 0.3:
            to = f"{self.shop} Kundenservice <{self.to}>" if lang == "de" else f"{self.shop} Customer Service <{self.to}>"
        elif x < 0.4:
            to = f'"{self.to}" <{self.to}>'
        h.append(f"To: {to}")
        if r.random() < 0.03:
            h.append(f"Cc: {c.email}")
        h.append("Subject: " + self.subject_value(subject, cs, persona))
        if persona == "outlook":
            tt = subject.split("] ", 1)[-1] if "] " in subject else subject
            if tt.isascii():
                h.append(f"Thread-Topic: {tt}")
            h.append(f"Thread-Index: {binascii.b2a_base64(r.randbytes(22), newline=False).decode()}")
            h.append(f"Accept-Language: {'de-DE' if lang == 'de' else 'en-GB'}, en-US")
            h.append(f"Content-Language: {'de-DE' if lang == 'de' else 'en-GB'}")
            h.append("X-MS-Has-Attach: yes" if has_attach else "X-MS-Has-Attach:")
            h.append("X-MS-TNEF-Correlator:")
            if r.random() < 0.5:
                h.append("X-Mailer: Microsoft Outlook 16.0")
        elif persona == "apple":
            h.append(r.choice(["X-Mailer: iPhone Mail (22C152)", "X-Mailer: Apple Mail (2.3826.300.87.4.3)",
                               "X-Mailer: iPad Mail (21H16)"]))
        elif persona == "thunderbird":
            h.append("User-Agent: Mozilla Thunderbird" if r.random() < 0.5 else
                     "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.2")
            h.append(f"Content-Language: {'de-DE' if lang == 'de' else 'en-US'}")
        elif persona == "webmail":
            h.append("Importance: normal")
            h.append("Sensitivity: Normal")
            h.append("X-Priority: 3")
            h.append("X-UI-Message-Type: mail")
            h.append("X-Provags-ID: V03:K1:" + binascii.b2a_base64(r.randbytes(60), newline=False).decode())
        elif persona == "other":
            h.append("X-Mailer: " + r.choice(["Samsung Mail", "K-9 Mail for Android", "Android Mail"]))
        return h

    def subject_value(self, subject: str, cs: str, persona: str) -> str:
        if subject.isascii():
            return subject
        r = self.rng
        x = r.random()
        if x < 0.01:
            self.count("hdr_raw_utf8")
            return subject  # raw UTF-8 (RFC 6532 style / broken clients)
        self.count("subject_2047")
        if cs in ("iso-8859-1", "iso-8859-15", "windows-1252") and x < 0.5:
            fixed = subject.translate(TEXT_FIX[cs])
            words = encoded_words(fixed, cs, "Q", r.choice([cs, cs.upper()]))
        elif persona in ("outlook", "apple") or x < 0.3:
            words = encoded_words(subject, "utf-8", "B" if persona != "apple" or x < 0.6 else "Q", "UTF-8")
        else:
            words = encoded_words(subject, "utf-8", "Q", r.choice(["UTF-8", "utf-8"]))
        return "\n ".join(words)


def thread_subject(subject: str) -> str:
    s = subject
    while True:
        for p in ("AW: ", "Re: ", "RE: ", "Antw: "):
            if s.startswith(p):
                s = s[len(p):]
                break
        else:
            break
    if s.startswith("[A-"):
        s = s.split("] ", 1)[-1]
    return s


_DST: dict[int, tuple[int, int]] = {}


def de_offset(t: float) -> int:
    """UTC offset of Germany in minutes (EU summer time: last Sunday of March to last Sunday of
    October, 01:00 UTC)."""
    y = time.gmtime(t).tm_year
    span = _DST.get(y)
    if span is None:
        def last_sunday(month: int) -> int:
            end = calendar.timegm((y, month, 31, 1, 0, 0))
            return end - ((time.gmtime(end).tm_wday + 1) % 7) * 86400
        span = _DST[y] = (last_sunday(3), last_sunday(10))
    return 120 if span[0] <= t < span[1] else 60


def date_str(t: float, tz_min: int, pad: str = "0") -> str:
    g = time.gmtime(t + tz_min * 60)
    sign = "+" if tz_min >= 0 else "-"
    a = abs(tz_min)
    day = f"{g.tm_mday:02d}" if pad == "0" else (f"{g.tm_mday:2d}" if pad == " " else str(g.tm_mday))
    return (f"{WD[g.tm_wday]}, {day} {MON[g.tm_mon - 1]} {g.tm_year} {g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} "
            f"{sign}{a // 60:02d}{a % 60:02d}")


def from_line(sender: str, t: float) -> bytes:
    g = time.gmtime(t)
    return (f"From {sender} {WD[g.tm_wday]} {MON[g.tm_mon - 1]} {g.tm_mday:2d} "
            f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} {g.tm_year}\n").encode("ascii")


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--profile", choices=["text", "attachments"], required=True)
    ap.add_argument("--count", type=int, required=True, help="number of messages")
    ap.add_argument("--out", required=True, help="output file (mbox) or directory (dir)")
    ap.add_argument("--format", choices=["mbox", "dir"], default="mbox")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--domain", default="shop.example", help="the shop's mail domain")
    ap.add_argument("--to", default=None, help="service address (default service@DOMAIN)")
    ap.add_argument("--customers", type=int, default=20000, help="size of the customer pool")
    ap.add_argument("--crlf", action="store_true", help="CRLF line endings instead of LF")
    ap.add_argument("--quiet", action="store_true", help="only the summary line on stderr")
    a = ap.parse_args(argv)
    if a.to is None:
        a.to = f"service@{a.domain}"
    if a.count < 0 or a.customers < 1:
        ap.error("--count must be >= 0 and --customers >= 1")
    corpora = os.environ.get("ANLIEGEN_CORPORA", "/work/shared/corpora")
    german = load_german_sentences(corpora)
    if not german:
        print(f"note: no GermEval sentences under {corpora}/text/germeval2017 - German bodies use the "
              "built-in templates only", file=sys.stderr)
    gen = Generator(a, german)
    started = time.perf_counter()
    total = 0
    sizes = gen.sizes
    if a.format == "dir":
        os.makedirs(a.out, exist_ok=True)
        width = max(6, len(str(max(a.count - 1, 0))))
        for i in range(a.count):
            msg, _, _ = gen.message(i)
            if a.crlf:
                msg = msg.replace(b"\n", b"\r\n")
            with open(os.path.join(a.out, f"{i:0{width}d}.eml"), "wb") as f:
                f.write(msg)
            sizes.append(len(msg))
            total += len(msg)
    else:
        d = os.path.dirname(os.path.abspath(a.out))
        os.makedirs(d, exist_ok=True)
        nl = b"\r\n" if a.crlf else b"\n"
        with open(a.out, "wb", buffering=4 << 20) as f:
            for i in range(a.count):
                msg, sender, t = gen.message(i)
                sizes.append(len(msg) if not a.crlf else len(msg) + msg.count(b"\n"))
                total += sizes[-1]
                esc, nsub = _FROM_LINE.subn(rb">\1", msg) if b"From " in msg else (msg, 0)
                if nsub:
                    gen.count("mbox_from_escaped")
                out = from_line(sender, t) + esc + b"\n"
                if a.crlf:
                    out = out.replace(b"\n", nl)
                f.write(out)
    elapsed = time.perf_counter() - started
    n = len(sizes)
    s = gen.stats
    if n:
        srt = sorted(sizes)
        median = srt[n // 2] if n % 2 else (srt[n // 2 - 1] + srt[n // 2]) / 2
        pct = lambda k: 100.0 * s.get(k, 0) / n  # noqa: E731
        if not a.quiet:
            print(f"sizes: p10 {fmt_bytes(srt[n // 10])}, median {fmt_bytes(median)}, mean {fmt_bytes(total / n)}, "
                  f"p90 {fmt_bytes(srt[n * 9 // 10])}, p99 {fmt_bytes(srt[min(n - 1, n * 99 // 100)])}, "
                  f"max {fmt_bytes(srt[-1])}", file=sys.stderr)
            print(f"language: de {pct('lang_de'):.1f}%, en {pct('lang_en'):.1f}%", file=sys.stderr)
            print("clients: " + ", ".join(f"{k[7:]} {pct(k):.1f}%" for k in sorted(s) if k.startswith("client_")),
                  file=sys.stderr)
            print(f"html: {pct('html_alternative') + pct('html_only'):.1f}% (alternative {pct('html_alternative'):.1f}%, "
                  f"html-only {pct('html_only'):.1f}%)", file=sys.stderr)
            print(f"replies: {pct('reply'):.1f}% (threaded to a message in this corpus {pct('reply_in_corpus'):.1f}%); "
                  "quote styles: " + ", ".join(f"{k[6:]} {pct(k):.1f}%" for k in sorted(s) if k.startswith("quote_")),
                  file=sys.stderr)
            print("charset/encoding: " + ", ".join(f"{k[3:]} {pct(k):.1f}%" for k in sorted(s, key=lambda k: -s[k])
                                                   if k.startswith("cs_")), file=sys.stderr)
            print(f"headers: From RFC 2047 {pct('hdr_from_2047'):.1f}%, Subject RFC 2047 {pct('subject_2047'):.1f}%, "
                  f"raw UTF-8 header values {s.get('hdr_raw_utf8', 0)}", file=sys.stderr)
            print(f"attachments: {s.get('attachments', 0)} in {pct('with_attachments'):.1f}% of messages "
                  f"({s.get('attach_name_non_ascii', 0)} with non-ASCII file names)"
                  + (f"; mbox lines escaped in {s.get('mbox_from_escaped', 0)} messages" if a.format == "mbox" else ""),
                  file=sys.stderr)
        print(f"gen_mail: profile {a.profile}, {n} messages, {fmt_bytes(total)} ({total} bytes), median "
              f"{fmt_bytes(median)}, mean {fmt_bytes(total / n)}, HTML {pct('html_alternative') + pct('html_only'):.1f}%, "
              f"replies {pct('reply'):.1f}%, with attachments {pct('with_attachments'):.1f}%, "
              f"{elapsed:.1f} s -> {a.out}", file=sys.stderr)
    else:
        print(f"gen_mail: 0 messages -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
