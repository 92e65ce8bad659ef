//! Statutory public holidays, computed for any year: the nationwide German holidays, those of
//! each of the 16 federal states (whole state only: Fronleichnam in parts of Saxony and
//! Thuringia or Mariä Himmelfahrt in Bavaria's Catholic municipalities are municipal, not
//! statewide), with the years each rule holds (Frauentag in Berlin since 2019, Reformationstag
//! in the northern states since 2018, Buß- und Bettag nationwide until 1994), the one-off
//! holidays (Reformationstag 2017 everywhere, Berlin's 8 May 2020 and 2025), and Austria's.
//!
//! Regions are ISO 3166-2 codes: `DE` (nationwide only), `DE-BY`, …, `AT`. Rules start in 1991,
//! the first full year of the present German states; earlier years are refused.

use jiff::civil::{Date, Weekday, date};

use crate::ParseError;

/// A region whose holidays we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(&'static str);

/// The German federal states (ISO 3166-2 suffixes) and their names.
pub const GERMAN_STATES: [(&str, &str); 16] = [
    ("BW", "Baden-Württemberg"),
    ("BY", "Bayern"),
    ("BE", "Berlin"),
    ("BB", "Brandenburg"),
    ("HB", "Bremen"),
    ("HH", "Hamburg"),
    ("HE", "Hessen"),
    ("MV", "Mecklenburg-Vorpommern"),
    ("NI", "Niedersachsen"),
    ("NW", "Nordrhein-Westfalen"),
    ("RP", "Rheinland-Pfalz"),
    ("SL", "Saarland"),
    ("SN", "Sachsen"),
    ("ST", "Sachsen-Anhalt"),
    ("SH", "Schleswig-Holstein"),
    ("TH", "Thüringen"),
];

const CODES: [&str; 18] = [
    "DE", "DE-BW", "DE-BY", "DE-BE", "DE-BB", "DE-HB", "DE-HH", "DE-HE", "DE-MV", "DE-NI", "DE-NW",
    "DE-RP", "DE-SL", "DE-SN", "DE-ST", "DE-SH", "DE-TH", "AT",
];

impl Region {
    /// Parses `DE-BY`, `de-by`, `BY` (a German state), `DE` or `AT`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let up = raw.trim().to_uppercase().replace('_', "-");
        let full = if up.len() == 2 && up != "DE" && up != "AT" {
            format!("DE-{up}")
        } else {
            up
        };
        CODES
            .iter()
            .find(|c| **c == full)
            .map(|c| Self(c))
            .ok_or_else(|| {
                ParseError::new(
                    "region",
                    format!(
                        "'{raw}' is not a region we know: DE, DE-BW … DE-TH (the 16 states) or AT"
                    ),
                )
            })
    }

    /// The ISO 3166-2 code.
    pub fn code(&self) -> &'static str {
        self.0
    }

    /// Every region.
    pub fn all() -> impl Iterator<Item = Region> {
        CODES.iter().map(|c| Region(c))
    }

    fn state(&self) -> Option<&'static str> {
        self.0.strip_prefix("DE-")
    }

    fn country(&self) -> &'static str {
        if self.0.starts_with("AT") { "AT" } else { "DE" }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One holiday.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holiday {
    /// The day.
    pub date: Date,
    /// Stable key (`good_friday`).
    pub key: &'static str,
    /// German name.
    pub name_de: &'static str,
    /// English name.
    pub name_en: &'static str,
}

impl Holiday {
    /// The name in `lang`.
    pub fn name(&self, lang: crate::Language) -> &'static str {
        match lang {
            crate::Language::De => self.name_de,
            crate::Language::En => self.name_en,
        }
    }
}

/// Easter Sunday of `year` (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher).
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, month as i8, day as i8)
}

#[derive(Clone, Copy)]
enum When {
    Fixed(i8, i8),
    Easter(i32),
    /// The Wednesday before 23 November.
    BussUndBettag,
    /// One day only.
    Once(i16, i8, i8),
}

/// Where a rule holds.
#[derive(Clone, Copy)]
enum Where {
    /// Every German state.
    Germany,
    /// These German states.
    States(&'static [&'static str]),
    /// Austria.
    Austria,
}

struct Rule {
    key: &'static str,
    de: &'static str,
    en: &'static str,
    when: When,
    at: Where,
    from: i16,
    until: i16,
}

const ALWAYS: (i16, i16) = (1991, i16::MAX);

const fn rule(
    key: &'static str,
    de: &'static str,
    en: &'static str,
    when: When,
    at: Where,
    years: (i16, i16),
) -> Rule {
    Rule {
        key,
        de,
        en,
        when,
        at,
        from: years.0,
        until: years.1,
    }
}

use Where::{Austria, Germany, States};

const RULES: &[Rule] = &[
    rule(
        "new_year",
        "Neujahr",
        "New Year's Day",
        When::Fixed(1, 1),
        Germany,
        ALWAYS,
    ),
    rule(
        "epiphany",
        "Heilige Drei Könige",
        "Epiphany",
        When::Fixed(1, 6),
        States(&["BW", "BY", "ST"]),
        ALWAYS,
    ),
    rule(
        "womens_day",
        "Frauentag",
        "International Women's Day",
        When::Fixed(3, 8),
        States(&["BE"]),
        (2019, i16::MAX),
    ),
    rule(
        "womens_day",
        "Frauentag",
        "International Women's Day",
        When::Fixed(3, 8),
        States(&["MV"]),
        (2023, i16::MAX),
    ),
    rule(
        "good_friday",
        "Karfreitag",
        "Good Friday",
        When::Easter(-2),
        Germany,
        ALWAYS,
    ),
    rule(
        "easter_sunday",
        "Ostersonntag",
        "Easter Sunday",
        When::Easter(0),
        States(&["BB"]),
        ALWAYS,
    ),
    rule(
        "easter_monday",
        "Ostermontag",
        "Easter Monday",
        When::Easter(1),
        Germany,
        ALWAYS,
    ),
    rule(
        "labour_day",
        "Erster Mai",
        "Labour Day",
        When::Fixed(5, 1),
        Germany,
        ALWAYS,
    ),
    rule(
        "liberation_75",
        "75. Jahrestag der Befreiung vom Nationalsozialismus und der Beendigung des Zweiten Weltkriegs in Europa",
        "75th anniversary of the liberation from National Socialism and the end of the Second World War in Europe",
        When::Once(2020, 5, 8),
        States(&["BE"]),
        ALWAYS,
    ),
    rule(
        "liberation_80",
        "80. Jahrestag der Befreiung vom Nationalsozialismus und der Beendigung des Zweiten Weltkriegs in Europa",
        "80th anniversary of the liberation from National Socialism and the end of the Second World War in Europe",
        When::Once(2025, 5, 8),
        States(&["BE"]),
        ALWAYS,
    ),
    rule(
        "ascension",
        "Christi Himmelfahrt",
        "Ascension Day",
        When::Easter(39),
        Germany,
        ALWAYS,
    ),
    rule(
        "whit_sunday",
        "Pfingstsonntag",
        "Whit Sunday",
        When::Easter(49),
        States(&["BB"]),
        ALWAYS,
    ),
    rule(
        "whit_monday",
        "Pfingstmontag",
        "Whit Monday",
        When::Easter(50),
        Germany,
        ALWAYS,
    ),
    rule(
        "corpus_christi",
        "Fronleichnam",
        "Corpus Christi",
        When::Easter(60),
        States(&["BW", "BY", "HE", "NW", "RP", "SL"]),
        ALWAYS,
    ),
    rule(
        "assumption",
        "Mariä Himmelfahrt",
        "Assumption Day",
        When::Fixed(8, 15),
        States(&["SL"]),
        ALWAYS,
    ),
    rule(
        "childrens_day",
        "Weltkindertag",
        "World Children's Day",
        When::Fixed(9, 20),
        States(&["TH"]),
        (2019, i16::MAX),
    ),
    rule(
        "unity_day",
        "Tag der Deutschen Einheit",
        "German Unity Day",
        When::Fixed(10, 3),
        Germany,
        ALWAYS,
    ),
    rule(
        "reformation_day",
        "Reformationstag",
        "Reformation Day",
        When::Fixed(10, 31),
        States(&["BB", "MV", "SN", "ST", "TH"]),
        ALWAYS,
    ),
    rule(
        "reformation_day",
        "Reformationstag",
        "Reformation Day",
        When::Fixed(10, 31),
        States(&["HB", "HH", "NI", "SH"]),
        (2018, i16::MAX),
    ),
    rule(
        "reformation_day",
        "Reformationstag",
        "Reformation Day",
        When::Once(2017, 10, 31),
        States(&[
            "BW", "BY", "BE", "HB", "HH", "HE", "NI", "NW", "RP", "SL", "SH",
        ]),
        ALWAYS,
    ),
    rule(
        "all_saints",
        "Allerheiligen",
        "All Saints' Day",
        When::Fixed(11, 1),
        States(&["BW", "BY", "NW", "RP", "SL"]),
        ALWAYS,
    ),
    rule(
        "repentance_day",
        "Buß- und Bettag",
        "Day of Repentance and Prayer",
        When::BussUndBettag,
        States(&["SN"]),
        ALWAYS,
    ),
    rule(
        "repentance_day",
        "Buß- und Bettag",
        "Day of Repentance and Prayer",
        When::BussUndBettag,
        States(&[
            "BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "ST", "SH",
            "TH",
        ]),
        (1991, 1994),
    ),
    rule(
        "christmas",
        "Erster Weihnachtstag",
        "Christmas Day",
        When::Fixed(12, 25),
        Germany,
        ALWAYS,
    ),
    rule(
        "christmas_2",
        "Zweiter Weihnachtstag",
        "Second Day of Christmas",
        When::Fixed(12, 26),
        Germany,
        ALWAYS,
    ),
    // Austria (nationwide).
    rule(
        "new_year",
        "Neujahr",
        "New Year's Day",
        When::Fixed(1, 1),
        Austria,
        ALWAYS,
    ),
    rule(
        "epiphany",
        "Heilige Drei Könige",
        "Epiphany",
        When::Fixed(1, 6),
        Austria,
        ALWAYS,
    ),
    rule(
        "easter_monday",
        "Ostermontag",
        "Easter Monday",
        When::Easter(1),
        Austria,
        ALWAYS,
    ),
    rule(
        "labour_day",
        "Staatsfeiertag",
        "National Holiday (Labour Day)",
        When::Fixed(5, 1),
        Austria,
        ALWAYS,
    ),
    rule(
        "ascension",
        "Christi Himmelfahrt",
        "Ascension Day",
        When::Easter(39),
        Austria,
        ALWAYS,
    ),
    rule(
        "whit_monday",
        "Pfingstmontag",
        "Whit Monday",
        When::Easter(50),
        Austria,
        ALWAYS,
    ),
    rule(
        "corpus_christi",
        "Fronleichnam",
        "Corpus Christi",
        When::Easter(60),
        Austria,
        ALWAYS,
    ),
    rule(
        "assumption",
        "Mariä Himmelfahrt",
        "Assumption Day",
        When::Fixed(8, 15),
        Austria,
        ALWAYS,
    ),
    rule(
        "national_day",
        "Nationalfeiertag",
        "National Day",
        When::Fixed(10, 26),
        Austria,
        ALWAYS,
    ),
    rule(
        "all_saints",
        "Allerheiligen",
        "All Saints' Day",
        When::Fixed(11, 1),
        Austria,
        ALWAYS,
    ),
    rule(
        "immaculate_conception",
        "Mariä Empfängnis",
        "Immaculate Conception",
        When::Fixed(12, 8),
        Austria,
        ALWAYS,
    ),
    rule(
        "christmas",
        "Christtag",
        "Christmas Day",
        When::Fixed(12, 25),
        Austria,
        ALWAYS,
    ),
    rule(
        "christmas_2",
        "Stefanitag",
        "St. Stephen's Day",
        When::Fixed(12, 26),
        Austria,
        ALWAYS,
    ),
];

/// Earliest and latest year computed.
pub const YEARS: std::ops::RangeInclusive<i16> = 1991..=2999;

fn applies(rule: &Rule, region: Region) -> bool {
    match rule.at {
        Germany => region.country() == "DE",
        States(states) => region.state().is_some_and(|s| states.contains(&s)),
        Austria => region.country() == "AT",
    }
}

/// The statutory public holidays of the whole `region` in `year`, in date order.
pub fn holidays(region: Region, year: i16) -> Result<Vec<Holiday>, ParseError> {
    if !YEARS.contains(&year) {
        return Err(ParseError::new(
            "year",
            format!(
                "{year}: holidays are computed for {} to {}",
                YEARS.start(),
                YEARS.end()
            ),
        ));
    }
    let easter = easter(year);
    let mut out = Vec::new();
    for r in RULES {
        if !(r.from..=r.until).contains(&year) || !applies(r, region) {
            continue;
        }
        let day = match r.when {
            When::Fixed(m, d) => date(year, m, d),
            When::Easter(off) => match easter.checked_add(jiff::Span::new().days(i64::from(off))) {
                Ok(d) => d,
                Err(_) => continue,
            },
            When::BussUndBettag => {
                // The last Wednesday strictly before 23 November.
                let mut d = date(year, 11, 22);
                while d.weekday() != Weekday::Wednesday {
                    d = d.yesterday().unwrap_or(d);
                }
                d
            }
            When::Once(y, m, d) => {
                if y != year {
                    continue;
                }
                date(y, m, d)
            }
        };
        if !out.iter().any(|h: &Holiday| h.date == day) {
            out.push(Holiday {
                date: day,
                key: r.key,
                name_de: r.de,
                name_en: r.en,
            });
        }
    }
    out.sort_by_key(|h| h.date);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2024), date(2024, 3, 31));
        assert_eq!(easter(2025), date(2025, 4, 20));
        assert_eq!(easter(2026), date(2026, 4, 5));
        assert_eq!(easter(2038), date(2038, 4, 25));
        assert_eq!(easter(2285), date(2285, 3, 22));
    }

    /// Every state and year of the shared corpus, both ways.
    #[test]
    fn matches_the_shared_table_for_every_state() {
        let root = std::env::var("ANLIEGEN_CORPORA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
            });
        let path = root.join("holidays_de_2024_2026.csv");
        let Ok(csv) = std::fs::read_to_string(&path) else {
            eprintln!(
                "{} is missing; the holiday table was not checked",
                path.display()
            );
            return;
        };
        let mut want: std::collections::BTreeSet<(String, String, String)> = Default::default();
        for line in csv.lines().skip(1) {
            let mut it = line.splitn(3, ',');
            let (Some(s), Some(d), Some(n)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            want.insert((format!("DE-{s}"), d.to_owned(), n.to_owned()));
        }
        assert_eq!(want.len(), 523);
        let mut got = std::collections::BTreeSet::new();
        for (s, _) in GERMAN_STATES {
            let region = Region::parse(s).unwrap();
            for year in 2024..=2026 {
                for h in holidays(region, year).unwrap() {
                    got.insert((
                        region.code().to_owned(),
                        h.date.to_string(),
                        h.name_de.to_owned(),
                    ));
                }
            }
        }
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}\nextra {extra:?}"
        );
    }

    #[test]
    fn rules_hold_in_their_years() {
        let be = Region::parse("DE-BE").unwrap();
        let has =
            |r: Region, y: i16, key: &str| holidays(r, y).unwrap().iter().any(|h| h.key == key);
        assert!(!has(be, 2018, "womens_day"));
        assert!(has(be, 2019, "womens_day"));
        assert!(has(be, 2028, "womens_day"));
        assert!(has(be, 2020, "liberation_75") && !has(be, 2021, "liberation_75"));
        let ni = Region::parse("ni").unwrap();
        assert!(has(ni, 2017, "reformation_day"), "2017 everywhere");
        assert!(!has(ni, 2016, "reformation_day"));
        assert!(has(ni, 2018, "reformation_day"));
        assert!(has(ni, 1994, "repentance_day") && !has(ni, 1995, "repentance_day"));
        let sn = Region::parse("DE-SN").unwrap();
        let bb = holidays(sn, 2028).unwrap();
        assert!(
            bb.iter()
                .any(|h| h.key == "repentance_day" && h.date == date(2028, 11, 22))
        );
        let de = Region::parse("DE").unwrap();
        assert_eq!(holidays(de, 2028).unwrap().len(), 9);
        assert_eq!(
            holidays(Region::parse("AT").unwrap(), 2028).unwrap().len(),
            13
        );
        assert!(Region::parse("DE-XX").is_err());
        assert!(Region::parse("US").is_err());
        assert!(holidays(de, 1800).is_err());
        // Brandenburg's Easter Sunday is a Sunday and listed.
        let bb = holidays(Region::parse("BB").unwrap(), 2028).unwrap();
        assert!(
            bb.iter()
                .any(|h| h.key == "easter_sunday" && h.date.weekday() == Weekday::Sunday)
        );
    }
}
