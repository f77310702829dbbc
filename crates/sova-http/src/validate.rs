//! Field validation for Connect bodies. Each check returns a 400 naming the field and saying what is expected.

use chrono::{Datelike, NaiveDate, Utc};

use crate::error::ApiError;

/// ISO 3166-1 alpha-2 codes (officially assigned).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE \
JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A non-empty string of at most `max` characters, trimmed.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::validation(field, format!("`{field}` must not be empty")));
    }
    if v.chars().count() > max {
        return Err(ApiError::validation(field, format!("`{field}` must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(ApiError::validation(field, format!("`{field}` must not contain control characters")));
    }
    Ok(v.to_string())
}

/// An email address (RFC 5322 addr-spec as the `email_address` crate checks it), lower-cased domain.
pub fn email(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    let bad = || ApiError::validation(field, format!("`{field}` must be an email address like name@example.com"));
    let parsed: email_address::EmailAddress = v.parse().map_err(|_| bad())?;
    if !parsed.domain().contains('.') || v.len() > 254 {
        return Err(bad());
    }
    Ok(format!("{}@{}", parsed.local_part(), parsed.domain().to_ascii_lowercase()))
}

/// A phone number in E.164: `+` then 7 to 15 digits, the first not 0.
pub fn phone(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    let digits = v.strip_prefix('+').unwrap_or("");
    let ok = (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if ok {
        Ok(v.to_string())
    } else {
        Err(ApiError::validation(field, format!("`{field}` must be E.164: `+` and 7 to 15 digits, e.g. +14155550100")))
    }
}

/// The reference's phone: a country (ISO 3166-1 alpha-2) and a national mobile number valid there (libphonenumber's
/// metadata, through the `phonenumber` crate). Returns the country upper-case, the E.164 form and the national
/// number's digits.
pub fn mobile_phone(country_code: &str, number: &str) -> Result<(String, String, String), ApiError> {
    use std::str::FromStr;
    let cc = country("phone_country_code", country_code)?;
    let bad = |why: &str| {
        ApiError::validation("phone_number", format!("`phone_number` must be a mobile number valid in {cc}: {why}"))
    };
    if number.trim().is_empty() || number.chars().count() > 20 {
        return Err(bad("1 to 20 characters"));
    }
    let id = phonenumber::country::Id::from_str(&cc).map_err(|_| bad("no numbering plan is known for this country"))?;
    let parsed = phonenumber::parse(Some(id), number.trim()).map_err(|_| bad("it cannot be read as a phone number"))?;
    if !parsed.is_valid() || parsed.country().id() != Some(id) {
        return Err(bad("it is not a valid number there"));
    }
    use phonenumber::Type;
    if !matches!(parsed.number_type(&phonenumber::metadata::DATABASE), Type::Mobile | Type::FixedLineOrMobile) {
        return Err(bad("it is not a mobile number"));
    }
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    let national = e164.get(1 + parsed.code().value().to_string().len()..).unwrap_or_default().to_string();
    Ok((cc, e164, national))
}

/// A positive decimal string of a currency with `decimals` places and at most `max` per operation, canonicalised:
/// digits, at most one point, no sign, spaces, exponent or leading zeros. Above `max`: `400 AMOUNT_OUT_OF_RANGE`.
pub fn amount(field: &str, v: &str, decimals: u32, max: u64, unit: &str) -> Result<rust_decimal::Decimal, ApiError> {
    use std::str::FromStr;
    let bad = |why: &str| ApiError::validation(field, format!("`{field}` {why}, got `{v}`"));
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits_ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (!v.contains('.') || !frac.is_empty());
    if !digits_ok {
        return Err(bad("must be a decimal such as \"0.5\" (digits, no sign, spaces, exponent or leading zeros)"));
    }
    if frac.trim_end_matches('0').len() > decimals as usize {
        return Err(bad(&format!("has more than {decimals} decimal places")));
    }
    let too_large = || {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            sova_proto::ErrorCode::AmountOutOfRange,
            format!("`{field}` must be at most {max} {unit}, got `{v}`"),
        )
        .with_field(field)
    };
    let d = rust_decimal::Decimal::from_str(v).map_err(|_| too_large())?;
    if d.is_zero() {
        return Err(bad("must be greater than zero"));
    }
    if d > rust_decimal::Decimal::from(max) {
        return Err(too_large());
    }
    Ok(d.normalize())
}

/// An ISO 3166-1 alpha-2 country code, returned upper-case.
pub fn country(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 2 && COUNTRIES.split(' ').any(|c| c == v) {
        Ok(v)
    } else {
        Err(ApiError::validation(
            field,
            format!("`{field}` must be an ISO 3166-1 alpha-2 code such as US or DE, got `{value}`"),
        ))
    }
}

/// A date of birth `YYYY-MM-DD`: a real calendar date, not in the future, not before 1900.
pub fn birth_date(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|_| v.len() == 10)
        .ok_or_else(|| ApiError::validation(field, format!("`{field}` must be a date YYYY-MM-DD, got `{value}`")))?;
    let today = Utc::now().date_naive();
    if d > today || d.year() < 1900 {
        return Err(ApiError::validation(field, format!("`{field}` must be between 1900-01-01 and today")));
    }
    Ok(d.format("%Y-%m-%d").to_string())
}

/// A client-chosen slug: 3 to 64 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn slug(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    let ok = (3..=64).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(v.to_string())
    } else {
        Err(ApiError::validation(
            field,
            format!("`{field}` must be 3 to 64 characters of a-z, 0-9, - and _, got `{value}`"),
        ))
    }
}

/// One of the allowed values (case-insensitive); returns the canonical spelling.
pub fn one_of(field: &str, value: &str, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
    allowed.iter().copied().find(|a| a.eq_ignore_ascii_case(value.trim())).ok_or_else(|| {
        ApiError::validation(field, format!("`{field}` must be one of {}, got `{value}`", allowed.join(", ")))
    })
}

/// A UUID path parameter; anything else is simply not found.
pub fn uuid_path(value: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value).map(|u| u.to_string()).map_err(|_| ApiError::not_found(what))
}

/// The literal text of a decimal sent as a JSON string (`"0.5"`) or number (`0.5`), never through a float.
pub fn decimal_text(field: &str, raw: &serde_json::value::RawValue) -> Result<String, ApiError> {
    let text = raw.get().trim();
    let bad = || ApiError::validation(field, format!("`{field}` must be a decimal string or a JSON number"));
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|_| bad())
    } else if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        Ok(text.to_string())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert!(email("email", "john.doe@example.com").is_ok());
        assert!(email("email", "not-an-email").is_err());
        assert!(email("email", "a@localhost").is_err());
        assert!(phone("phone", "+1234567890").is_ok());
        assert!(phone("phone", "1234567890").is_err());
        assert!(phone("phone", "+0123456789").is_err());
        assert_eq!(country("country", "us").ok().as_deref(), Some("US"));
        let us = mobile_phone("us", "(201) 555-0123").map_err(|e| e.message).unwrap_or_default();
        assert_eq!(us, ("US".into(), "+12015550123".into(), "2015550123".into()));
        let gb = mobile_phone("GB", "07400 123456").map_err(|e| e.message).unwrap_or_default();
        assert_eq!(gb, ("GB".into(), "+447400123456".into(), "7400123456".into()));
        assert!(mobile_phone("GB", "020 7946 0000").is_err(), "a London landline is not a mobile");
        assert!(mobile_phone("US", "+44 7400 123456").is_err(), "another country's number");
        assert!(mobile_phone("US", "12").is_err());
        assert!(mobile_phone("XX", "2015550123").is_err());
        assert!(country("country", "XX").is_err());
        assert!(country("country", "USA").is_err());
        assert!(birth_date("date_of_birth", "1990-01-01").is_ok());
        assert!(birth_date("date_of_birth", "1990-02-30").is_err());
        assert!(birth_date("date_of_birth", "3000-01-01").is_err());
        assert!(birth_date("date_of_birth", "01/01/1990").is_err());
        assert!(slug("customer_id", "corp-redundant-firewall").is_ok());
        assert!(slug("customer_id", "Corp!").is_err());
        assert_eq!(one_of("user_type", "Individual", &["individual", "business"]).ok(), Some("individual"));
    }
}
