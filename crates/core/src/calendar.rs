//! Business calendars: a time zone (default Europe/Berlin), weekly opening hours with breaks,
//! the public holidays of a region, extra closed days (municipal or company days) and closures
//! (a move, an outage). Business time is added and measured in this calendar: an SLA of "8
//! business hours" from Friday 16:00 ends Monday, holidays and DST switches included.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::ParseError;
use crate::holiday::{Region, holidays};

/// A day of the week, as stored (`monday` … `sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Montag.
    Monday,
    /// Dienstag.
    Tuesday,
    /// Mittwoch.
    Wednesday,
    /// Donnerstag.
    Thursday,
    /// Freitag.
    Friday,
    /// Samstag.
    Saturday,
    /// Sonntag.
    Sunday,
}

impl Day {
    /// Monday = 0.
    pub fn index(self) -> usize {
        self as usize
    }

    /// jiff's weekday.
    pub fn weekday(self) -> Weekday {
        match self {
            Self::Monday => Weekday::Monday,
            Self::Tuesday => Weekday::Tuesday,
            Self::Wednesday => Weekday::Wednesday,
            Self::Thursday => Weekday::Thursday,
            Self::Friday => Weekday::Friday,
            Self::Saturday => Weekday::Saturday,
            Self::Sunday => Weekday::Sunday,
        }
    }
}

/// Opening hours on one weekday: `from` until `to` (local time, `to` after `from`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Opening {
    /// Weekday (`monday` … `sunday`).
    pub day: Day,
    /// Opens.
    pub from: Time,
    /// Closes.
    pub to: Time,
}

/// A closed period in real time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closure {
    /// Closed from.
    pub from: Timestamp,
    /// Until.
    pub to: Timestamp,
    /// Why (shown to agents).
    #[serde(default)]
    pub reason: String,
}

/// An extra closed day (municipal holiday, company day).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtraDay {
    /// The day.
    pub date: Date,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// What a calendar is made of, as stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CalendarSpec {
    /// IANA time zone.
    pub time_zone: String,
    /// Weekly opening hours; several per day for breaks.
    pub hours: Vec<Opening>,
    /// Whose public holidays count (`DE-BY`), if any.
    #[serde(default)]
    pub region: Option<String>,
    /// Extra closed days.
    #[serde(default)]
    pub extra_days: Vec<ExtraDay>,
    /// Closures.
    #[serde(default)]
    pub closures: Vec<Closure>,
}

impl CalendarSpec {
    /// Monday to Friday 8:00–18:00 in Europe/Berlin with the holidays of `region`.
    pub fn office(region: Option<&str>) -> Self {
        let hours = [
            Day::Monday,
            Day::Tuesday,
            Day::Wednesday,
            Day::Thursday,
            Day::Friday,
        ]
        .into_iter()
        .map(|day| Opening {
            day,
            from: Time::constant(8, 0, 0, 0),
            to: Time::constant(18, 0, 0, 0),
        })
        .collect();
        Self {
            time_zone: "Europe/Berlin".into(),
            hours,
            region: region.map(str::to_owned),
            extra_days: Vec::new(),
            closures: Vec::new(),
        }
    }
}

/// A checked calendar that does business-time arithmetic.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    /// Opening intervals per weekday (Monday = 0), sorted, not overlapping.
    week: [Vec<(Time, Time)>; 7],
    region: Option<Region>,
    /// Holidays of `region` for the years around now, and the extra days.
    closed: BTreeSet<Date>,
    /// The extra days with their names (for display).
    extra_names: Vec<ExtraDay>,
    /// Years whose holidays are in `closed`.
    years: std::ops::RangeInclusive<i16>,
    /// Closures, sorted, not overlapping.
    closures: Vec<(Timestamp, Timestamp)>,
}

/// How far arithmetic looks for business time before it gives up.
const HORIZON_DAYS: i32 = 3 * 366;

fn index(d: Weekday) -> usize {
    d.to_monday_zero_offset() as usize
}

fn bad(detail: impl Into<String>) -> ParseError {
    ParseError::new("calendar", detail)
}

impl BusinessCalendar {
    /// Checks `spec`: a time zone that exists, at least one opening, every opening ending after
    /// it starts, no two openings of a day overlapping, closures that end after they start and
    /// do not overlap, a known region.
    pub fn new(spec: &CalendarSpec) -> Result<Self, ParseError> {
        let tz = TimeZone::get(&spec.time_zone)
            .map_err(|_| bad(format!("'{}' is not a time zone", spec.time_zone)))?;
        if spec.hours.is_empty() {
            return Err(bad(
                "a calendar needs opening hours (at least one weekday with a from and to time)",
            ));
        }
        let mut week: [Vec<(Time, Time)>; 7] = Default::default();
        for o in &spec.hours {
            if o.to <= o.from {
                return Err(bad(format!(
                    "{:?} {}–{}: closing time must be after opening time",
                    o.day, o.from, o.to
                )));
            }
            if let Some(day) = week.get_mut(o.day.index()) {
                day.push((o.from, o.to));
            }
        }
        for (i, day) in week.iter_mut().enumerate() {
            day.sort();
            for w in day.windows(2) {
                if let [a, b] = w
                    && b.0 < a.1
                {
                    return Err(bad(format!(
                        "weekday {}: opening hours {}–{} and {}–{} overlap",
                        i + 1,
                        a.0,
                        a.1,
                        b.0,
                        b.1
                    )));
                }
            }
        }
        let region = spec.region.as_deref().map(Region::parse).transpose()?;
        let mut closures: Vec<(Timestamp, Timestamp)> = Vec::new();
        for c in &spec.closures {
            if c.to <= c.from {
                return Err(bad(format!(
                    "closure {} – {}: it must end after it starts",
                    c.from, c.to
                )));
            }
            closures.push((c.from, c.to));
        }
        closures.sort();
        for w in closures.windows(2) {
            if let [a, b] = w
                && b.0 < a.1
            {
                return Err(bad(format!(
                    "closures {} – {} and {} – {} overlap; make them one",
                    a.0, a.1, b.0, b.1
                )));
            }
        }
        let now = Timestamp::now().to_zoned_datetime(tz.clone()).year();
        let mut cal = Self {
            tz,
            week,
            region,
            closed: spec.extra_days.iter().map(|d| d.date).collect(),
            extra_names: spec.extra_days.clone(),
            years: (now - 5).max(*crate::holiday::YEARS.start())..=(now + 10),
            closures,
        };
        if let Some(r) = cal.region {
            for y in cal.years.clone() {
                for h in holidays(r, y)? {
                    cal.closed.insert(h.date);
                }
            }
        }
        Ok(cal)
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Whether `day` is closed all day (holiday, extra day).
    pub fn closed_day(&self, day: Date) -> bool {
        if self.closed.contains(&day) {
            return true;
        }
        match self.region {
            Some(r) if !self.years.contains(&day.year()) => holidays(r, day.year())
                .map(|hs| hs.iter().any(|h| h.date == day))
                .unwrap_or(false),
            _ => false,
        }
    }

    fn instant(&self, day: Date, t: Time) -> Timestamp {
        // A time that does not exist on a DST day (02:30 in spring) is taken as the moment
        // after the gap; a repeated one (02:30 in autumn) as its first occurrence.
        day.to_datetime(t)
            .to_zoned_datetime(self.tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// The open periods of one local day, as instants, closures cut out.
    fn open_periods(&self, day: Date, out: &mut Vec<(Timestamp, Timestamp)>) {
        out.clear();
        if self.closed_day(day) {
            return;
        }
        for &(f, t) in self.week.get(index(day.weekday())).into_iter().flatten() {
            let (a, b) = (self.instant(day, f), self.instant(day, t));
            if b <= a {
                continue;
            }
            // Cut closures out.
            let mut from = a;
            let first = self.closures.partition_point(|c| c.1 <= a);
            for &(ca, cb) in self.closures.iter().skip(first) {
                if ca >= b {
                    break;
                }
                if ca > from {
                    out.push((from, ca));
                }
                from = from.max(cb);
            }
            if from < b {
                out.push((from, b));
            }
        }
    }

    fn local_day(&self, t: Timestamp) -> Date {
        t.to_zoned_datetime(self.tz.clone()).date()
    }

    /// `start` plus `minutes` of business time (minus when negative). Zero returns `start`.
    pub fn add(&self, start: Timestamp, minutes: i64) -> Result<Timestamp, ParseError> {
        if minutes < 0 {
            return self.sub(start, -minutes);
        }
        let mut left = SignedDuration::from_mins(minutes);
        if left.is_zero() {
            return Ok(start);
        }
        let mut day = self.local_day(start);
        let mut periods = Vec::with_capacity(4);
        for _ in 0..HORIZON_DAYS {
            self.open_periods(day, &mut periods);
            for &(a, b) in &periods {
                let a = a.max(start);
                if a >= b {
                    continue;
                }
                let len = b.duration_since(a);
                if left <= len {
                    return Ok(a + left);
                }
                left -= len;
            }
            day = day.tomorrow().map_err(|e| bad(e.to_string()))?;
        }
        Err(bad(
            "no business time within three years: check the opening hours and closures",
        ))
    }

    /// `end` minus `minutes` of business time.
    pub fn sub(&self, end: Timestamp, minutes: i64) -> Result<Timestamp, ParseError> {
        if minutes < 0 {
            return self.add(end, -minutes);
        }
        let mut left = SignedDuration::from_mins(minutes);
        if left.is_zero() {
            return Ok(end);
        }
        let mut day = self.local_day(end);
        let mut periods = Vec::with_capacity(4);
        for _ in 0..HORIZON_DAYS {
            self.open_periods(day, &mut periods);
            for &(a, b) in periods.iter().rev() {
                let b = b.min(end);
                if b <= a {
                    continue;
                }
                let len = b.duration_since(a);
                if left <= len {
                    return Ok(b - left);
                }
                left -= len;
            }
            day = day.yesterday().map_err(|e| bad(e.to_string()))?;
        }
        Err(bad(
            "no business time within three years: check the opening hours and closures",
        ))
    }

    /// Business time between `a` and `b` (negative when `b` is before `a`).
    pub fn between(&self, a: Timestamp, b: Timestamp) -> SignedDuration {
        if b < a {
            return -self.between(b, a);
        }
        let mut total = SignedDuration::ZERO;
        let mut day = self.local_day(a);
        let last = self.local_day(b);
        let mut periods = Vec::with_capacity(4);
        while day <= last {
            self.open_periods(day, &mut periods);
            for &(pa, pb) in &periods {
                let (x, y) = (pa.max(a), pb.min(b));
                if x < y {
                    total += y.duration_since(x);
                }
            }
            match day.tomorrow() {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
        total
    }

    /// Whether the calendar is open at `t`.
    pub fn is_open(&self, t: Timestamp) -> bool {
        let mut periods = Vec::new();
        self.open_periods(self.local_day(t), &mut periods);
        periods.iter().any(|&(a, b)| a <= t && t < b)
    }

    /// The closed days (holidays and extra days) of one year, for display.
    pub fn closed_days(&self, year: i16) -> BTreeMap<Date, String> {
        let mut out = BTreeMap::new();
        if let Some(r) = self.region
            && let Ok(hs) = holidays(r, year)
        {
            for h in hs {
                out.insert(h.date, h.name_de.to_owned());
            }
        }
        for d in &self.closed {
            if d.year() == year {
                out.entry(*d).or_insert_with(String::new);
            }
        }
        // Extra days carry their own names ("Heiligabend"), unless a holiday is named already.
        for e in &self.extra_names {
            if e.date.year() == year
                && let Some(name) = out.get_mut(&e.date)
                && name.is_empty()
            {
                name.clone_from(&e.name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn berlin(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned_datetime(TimeZone::get("Europe/Berlin").unwrap())
            .unwrap()
            .timestamp()
    }

    fn office(region: Option<&str>) -> BusinessCalendar {
        BusinessCalendar::new(&CalendarSpec::office(region)).unwrap()
    }

    #[test]
    fn adds_across_weekends_and_holidays() {
        let c = office(Some("DE-BY"));
        // Friday 16:00 + 8 h → Monday 14:00.
        assert_eq!(
            c.add(berlin(2026, 11, 27, 16, 0), 8 * 60).unwrap(),
            berlin(2026, 11, 30, 14, 0)
        );
        // Before opening: the clock starts at 8:00.
        assert_eq!(
            c.add(berlin(2026, 11, 30, 6, 0), 60).unwrap(),
            berlin(2026, 11, 30, 9, 0)
        );
        // Christmas: Thursday 24 Dec 17:00 + 2 h → Monday 28 Dec 9:00 (25/26 Dec are holidays).
        assert_eq!(
            c.add(berlin(2026, 12, 24, 17, 0), 120).unwrap(),
            berlin(2026, 12, 28, 9, 0)
        );
        // Epiphany is a holiday in Bavaria, not in Berlin.
        let by = c.add(berlin(2027, 1, 5, 17, 0), 120).unwrap();
        assert_eq!(by, berlin(2027, 1, 7, 9, 0));
        let be = office(Some("DE-BE"))
            .add(berlin(2027, 1, 5, 17, 0), 120)
            .unwrap();
        assert_eq!(be, berlin(2027, 1, 6, 9, 0));
        // Subtracting goes back the same way.
        assert_eq!(
            c.sub(berlin(2026, 11, 30, 14, 0), 8 * 60).unwrap(),
            berlin(2026, 11, 27, 16, 0)
        );
    }

    #[test]
    fn breaks_closures_and_dst() {
        let mut spec = CalendarSpec::office(None);
        spec.hours = [Day::Saturday, Day::Sunday]
            .into_iter()
            .flat_map(|day| {
                [
                    Opening {
                        day,
                        from: Time::constant(1, 0, 0, 0),
                        to: Time::constant(4, 0, 0, 0),
                    },
                    Opening {
                        day,
                        from: Time::constant(12, 0, 0, 0),
                        to: Time::constant(13, 0, 0, 0),
                    },
                ]
            })
            .collect();
        let c = BusinessCalendar::new(&spec).unwrap();
        // 29 March 2026: 02:00 → 03:00 — the 1:00–4:00 opening is two hours long that night.
        assert_eq!(
            c.between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 29, 23, 0)),
            SignedDuration::from_hours(3)
        );
        // 25 October 2026: 03:00 → 02:00 — four hours that night.
        assert_eq!(
            c.between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 25, 23, 0)),
            SignedDuration::from_hours(5)
        );
        // A closure cuts a period.
        let mut spec = CalendarSpec::office(None);
        spec.closures.push(Closure {
            from: berlin(2026, 11, 30, 10, 0),
            to: berlin(2026, 11, 30, 12, 0),
            reason: "Umzug".into(),
        });
        let c = BusinessCalendar::new(&spec).unwrap();
        assert_eq!(
            c.add(berlin(2026, 11, 30, 9, 0), 120).unwrap(),
            berlin(2026, 11, 30, 13, 0)
        );
        assert!(!c.is_open(berlin(2026, 11, 30, 11, 0)));
        assert!(c.is_open(berlin(2026, 11, 30, 12, 30)));
    }

    #[test]
    fn bad_calendars_are_refused_with_a_reason() {
        let mut s = CalendarSpec::office(None);
        s.hours.clear();
        assert!(
            BusinessCalendar::new(&s)
                .unwrap_err()
                .to_string()
                .contains("opening hours")
        );
        let mut s = CalendarSpec::office(None);
        s.hours.push(Opening {
            day: Day::Monday,
            from: Time::constant(17, 0, 0, 0),
            to: Time::constant(19, 0, 0, 0),
        });
        assert!(
            BusinessCalendar::new(&s)
                .unwrap_err()
                .to_string()
                .contains("overlap")
        );
        let mut s = CalendarSpec::office(None);
        s.hours[0].to = s.hours[0].from;
        assert!(BusinessCalendar::new(&s).is_err());
        let mut s = CalendarSpec::office(None);
        let t = berlin(2026, 12, 1, 9, 0);
        s.closures = vec![
            Closure {
                from: t,
                to: t + SignedDuration::from_hours(3),
                reason: String::new(),
            },
            Closure {
                from: t + SignedDuration::from_hours(2),
                to: t + SignedDuration::from_hours(4),
                reason: String::new(),
            },
        ];
        assert!(
            BusinessCalendar::new(&s)
                .unwrap_err()
                .to_string()
                .contains("overlap")
        );
        let mut s = CalendarSpec::office(None);
        s.time_zone = "Mars/Olympus".into();
        assert!(BusinessCalendar::new(&s).is_err());
        let mut s = CalendarSpec::office(Some("DE-XX"));
        s.region = Some("DE-XX".into());
        assert!(BusinessCalendar::new(&s).is_err());
    }

    proptest! {
        /// Adding and measuring round-trip, across weekends, holidays and both DST switches.
        #[test]
        fn add_and_between_round_trip(days in 0i64..800, minute in 0i64..1440, mins in 0i64..20_000) {
            let c = office(Some("DE-NW"));
            let start = berlin(2025, 1, 1, 0, 0) + SignedDuration::from_hours(24 * days) + SignedDuration::from_mins(minute);
            let end = c.add(start, mins).unwrap();
            prop_assert!(end >= start);
            prop_assert_eq!(c.between(start, end), SignedDuration::from_mins(mins));
            let back = c.sub(end, mins).unwrap();
            prop_assert_eq!(c.between(back, end), SignedDuration::from_mins(mins));
            prop_assert!(back >= start);
        }

        /// Adding in two steps is adding once.
        #[test]
        fn adding_is_associative(days in 0i64..800, a in 1i64..5_000, b in 1i64..5_000) {
            let c = office(Some("DE-BE"));
            let start = berlin(2025, 3, 1, 7, 13) + SignedDuration::from_hours(24 * days);
            prop_assert_eq!(c.add(c.add(start, a).unwrap(), b).unwrap(), c.add(start, a + b).unwrap());
        }
    }
}
