//! Money: integer minor units with a currency. Never floats.

use std::fmt;

use crate::ParseError;

/// An ISO 4217 currency code such as `EUR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");

    /// Parses a three-letter code, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let up = raw.trim().to_ascii_uppercase();
        match up.as_bytes() {
            [a, b, c] if up.bytes().all(|b| b.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(ParseError::new(
                "currency",
                format!("'{raw}' is not a three-letter currency code"),
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal separator (ISO 4217 minor unit).
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in minor units (cents) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// Amount in minor units; negative for credits.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount of `minor` units.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses a decimal amount such as `49.90`, `49,90` or `-3` in `currency`. More decimals
    /// than the currency has are an error, never rounded.
    pub fn parse_decimal(raw: &str, currency: Currency) -> Result<Self, ParseError> {
        let err =
            |m: &str| ParseError::new("amount", format!("'{raw}' is not a valid amount: {m}"));
        let s = raw.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match s.split_once(['.', ',']) {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err("use digits with at most one decimal separator"));
        }
        let exp = currency.exponent();
        if frac.len() > exp as usize {
            return Err(err("too many decimal places for the currency"));
        }
        let scale = 10i64.pow(exp);
        let whole: i64 = whole.parse().map_err(|_| err("too large"))?;
        let frac_val: i64 = if frac.is_empty() {
            0
        } else {
            let f: i64 = frac.parse().map_err(|_| err("too large"))?;
            f * 10i64.pow(exp - frac.len() as u32)
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|m| m.checked_add(frac_val))
            .ok_or_else(|| err("too large"))?;
        Ok(Self::new(if negative { -minor } else { minor }, currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(exp);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_german_and_english_decimals() {
        assert_eq!(
            Money::parse_decimal("49,90", Currency::EUR),
            Ok(Money::new(4990, Currency::EUR))
        );
        assert_eq!(
            Money::parse_decimal("49.9", Currency::EUR),
            Ok(Money::new(4990, Currency::EUR))
        );
        assert_eq!(
            Money::parse_decimal("-3", Currency::EUR),
            Ok(Money::new(-300, Currency::EUR))
        );
        assert!(Money::parse_decimal("1.234", Currency::EUR).is_err());
        assert!(Money::parse_decimal("1e3", Currency::EUR).is_err());
        assert_eq!(Money::new(4990, Currency::EUR).to_string(), "49.90 EUR");
        assert!(Currency::parse("euro").is_err());
    }

    proptest! {
        #[test]
        fn display_roundtrips(minor in -1_000_000_000i64..1_000_000_000) {
            let m = Money::new(minor, Currency::EUR);
            let shown = m.to_string();
            let number = shown.trim_end_matches(" EUR");
            prop_assert_eq!(Money::parse_decimal(number, Currency::EUR), Ok(m));
        }

        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = Money::parse_decimal(&s, Currency::EUR);
        }
    }
}
