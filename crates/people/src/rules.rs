//! Pure rules about personal data: resident identity numbers and phone
//! numbers, how they are validated, normalised and masked for display.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Length of a resident identity number (GB 11643-1999).
pub const ID_NUMBER_LEN: usize = 18;

/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of the weighted sum modulo 11.
const ID_CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Earliest birth year accepted in an identity number.
const ID_MIN_BIRTH_YEAR: i32 = 1900;

/// The mask character used by every `masked()`.
pub const MASK: char = '*';

/// A validated PRC resident identity number, normalised to upper case.
///
/// `Debug` shows only the masked form, so the number does not leak into logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

/// Why a text is not a valid identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an identity number has 18 characters")]
    Length,
    #[error("an identity number has 17 digits followed by a digit or X")]
    Characters,
    #[error("the region code of an identity number cannot start with 0")]
    Region,
    #[error("the birth date of an identity number is not a real date between 1900 and today")]
    BirthDate,
    #[error("the check character of an identity number does not match")]
    CheckDigit,
}

impl IdNumberError {
    /// The translation key of the message shown to the user.
    pub fn message_key(self) -> &'static str {
        match self {
            IdNumberError::Length => "person.error.id_length",
            IdNumberError::Characters => "person.error.id_characters",
            IdNumberError::Region => "person.error.id_region",
            IdNumberError::BirthDate => "person.error.id_birth_date",
            IdNumberError::CheckDigit => "person.error.id_check_digit",
        }
    }
}

/// The check character (`0`–`9` or `X`) of the first 17 digits of an
/// identity number, or `None` if `body` is not exactly 17 ASCII digits.
pub fn id_check_character(body: &str) -> Option<char> {
    let bytes = body.as_bytes();
    if bytes.len() != ID_NUMBER_LEN - 1 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(char::from(ID_CHECK_CHARS[(sum % 11) as usize]))
}

impl IdNumber {
    /// Parses an identity number. Surrounding whitespace is ignored and a
    /// lowercase `x` is accepted as `X`. `today` bounds the birth date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let input = input.trim();
        if input.chars().count() != ID_NUMBER_LEN {
            return Err(IdNumberError::Length);
        }
        if !input.is_ascii() {
            return Err(IdNumberError::Characters);
        }
        let value = input.to_ascii_uppercase();
        let (body, check) = value.split_at(ID_NUMBER_LEN - 1);
        let check_ok = matches!(check.as_bytes()[0], b'0'..=b'9' | b'X');
        if !body.bytes().all(|b| b.is_ascii_digit()) || !check_ok {
            return Err(IdNumberError::Characters);
        }
        if body.starts_with('0') {
            return Err(IdNumberError::Region);
        }
        let birth_date = birth_date_of(&body[6..14])
            .filter(|date| date.year() >= ID_MIN_BIRTH_YEAR && *date <= today)
            .ok_or(IdNumberError::BirthDate)?;
        if id_check_character(body).map(String::from).as_deref() != Some(check) {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber { value, birth_date })
    }

    /// The full number (18 characters, check character upper case).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The birth date recorded in positions 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The first 3 and the last 4 characters, the 11 between them masked:
    /// `110***********002X`.
    pub fn masked(&self) -> String {
        mask_middle(&self.value, 3, 4)
    }

    /// Consumes the number, returning its text.
    pub fn into_string(self) -> String {
        self.value
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

fn birth_date_of(digits: &str) -> Option<NaiveDate> {
    let year = digits.get(0..4)?.parse().ok()?;
    let month = digits.get(4..6)?.parse().ok()?;
    let day = digits.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Keeps the first `head` and last `tail` characters of an ASCII text and
/// masks the rest.
fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let len = value.len();
    if len <= head + tail {
        return MASK.to_string().repeat(len);
    }
    let mut out = String::with_capacity(len);
    out.push_str(&value[..head]);
    out.extend(std::iter::repeat_n(MASK, len - head - tail));
    out.push_str(&value[len - tail..]);
    out
}

/// A validated mainland phone number: an 11-digit mobile (`13812345678`) or
/// a landline (`0591-87654321`, or `87654321` without an area code).
///
/// `Debug` shows only the masked form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    value: String,
    kind: PhoneKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    Mobile,
    Landline,
}

/// Why a text is not a valid phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a mainland mobile or landline number")]
    Format,
}

impl PhoneError {
    /// The translation key of the message shown to the user.
    pub fn message_key(self) -> &'static str {
        match self {
            PhoneError::Format => "person.error.phone_format",
        }
    }
}

impl Phone {
    /// Parses a phone number. Spaces are ignored and a `+86` prefix is
    /// dropped. Mobiles are kept as 11 digits (`138-1234-5678` is accepted
    /// and the hyphens removed); landlines as `area-number`, or `number` alone.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let (international, rest) = match compact.strip_prefix("+86") {
            Some(rest) => (true, rest.strip_prefix('-').unwrap_or(rest)),
            None => (false, compact.as_str()),
        };
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(PhoneError::Format);
        }
        if rest.starts_with('-') || rest.ends_with('-') || rest.contains("--") {
            return Err(PhoneError::Format);
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let groups: Vec<usize> = rest.split('-').map(str::len).collect();
        if is_mobile(&digits) && (groups.len() == 1 || groups == [3, 4, 4]) {
            return Ok(Phone {
                value: digits,
                kind: PhoneKind::Mobile,
            });
        }
        let hyphens = rest.matches('-').count();
        if hyphens > 1 {
            return Err(PhoneError::Format);
        }
        // Abroad the trunk prefix 0 of the area code is dropped: +86 591 ….
        let mut national = rest.to_string();
        if international {
            if national.starts_with('0') {
                return Err(PhoneError::Format);
            }
            national.insert(0, '0');
        }
        let (area, number) = match national.split_once('-') {
            Some((area, number)) => (Some(area), number),
            None if national.starts_with('0') => {
                // Too short for its own area code ("01") is no number at all.
                let (area, number) = national
                    .split_at_checked(area_code_len(&national))
                    .ok_or(PhoneError::Format)?;
                (Some(area), number)
            }
            None => (None, national.as_str()),
        };
        if let Some(area) = area {
            let area_ok = (3..=4).contains(&area.len())
                && area.starts_with('0')
                && !area.starts_with("00")
                && area.len() == area_code_len(area);
            if !area_ok {
                return Err(PhoneError::Format);
            }
        } else if international {
            return Err(PhoneError::Format);
        }
        let number_ok =
            (7..=8).contains(&number.len()) && !number.starts_with('0') && !number.starts_with('1');
        if !number_ok {
            return Err(PhoneError::Format);
        }
        let value = match area {
            Some(area) => format!("{area}-{number}"),
            None => number.to_string(),
        };
        Ok(Phone {
            value,
            kind: PhoneKind::Landline,
        })
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// Mobiles keep the first 3 and last 4 digits (`138****1234`); landlines
    /// keep the area code and the last 2 digits (`0591-******21`).
    pub fn masked(&self) -> String {
        match self.kind {
            PhoneKind::Mobile => mask_middle(&self.value, 3, 4),
            PhoneKind::Landline => match self.value.split_once('-') {
                Some((area, number)) => format!("{area}-{}", mask_middle(number, 0, 2)),
                None => mask_middle(&self.value, 0, 2),
            },
        }
    }

    /// Consumes the number, returning its text.
    pub fn into_string(self) -> String {
        self.value
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

fn is_mobile(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1])
}

/// The length of the area code a national number starting with `0` begins
/// with: 3 for Beijing (010) and the 02x cities, 4 elsewhere.
fn area_code_len(national: &str) -> usize {
    if national.starts_with("01") || national.starts_with("02") {
        3
    } else {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn parse_id(s: &str) -> Result<IdNumber, IdNumberError> {
        IdNumber::parse(s, today())
    }

    /// Appends the check character to 17 digits.
    fn with_check(body: &str) -> String {
        format!("{body}{}", id_check_character(body).unwrap())
    }

    #[test]
    fn accepts_a_known_number_and_normalises_x() {
        let id = parse_id(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.masked(), "110***********002X");
        assert_eq!(format!("{id:?}"), "IdNumber(\"110***********002X\")");
    }

    #[test]
    fn computes_the_check_character() {
        assert_eq!(id_check_character("11010519491231002"), Some('X'));
        assert_eq!(id_check_character("1101051949123100"), None);
        assert_eq!(id_check_character("1101051949123100a"), None);
        let id = with_check("44030819900307123");
        assert!(parse_id(&id).is_ok());
    }

    #[test]
    fn reports_each_kind_of_error() {
        assert_eq!(parse_id("1101051949123100"), Err(IdNumberError::Length));
        assert_eq!(
            parse_id("1101051949123100２X"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            parse_id("11010519491231002Y"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            parse_id("1101051949123100AX"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            parse_id(&with_check("01010519491231002")),
            Err(IdNumberError::Region)
        );
        assert_eq!(
            parse_id("110105194912310021"),
            Err(IdNumberError::CheckDigit)
        );
        for body in [
            "11010519490230002", // 30 February
            "11010519491301002", // month 13
            "11010518991231002", // before 1900
            "11010520250602002", // after today
            "11010519000229002", // 1900 was not a leap year
        ] {
            assert_eq!(
                parse_id(&with_check(body)),
                Err(IdNumberError::BirthDate),
                "{body}"
            );
        }
        assert!(parse_id(&with_check("11010520000229002")).is_ok());
        assert!(parse_id(&with_check("11010520250601002")).is_ok());
        assert!(parse_id(&with_check("11010519000101002")).is_ok());
    }

    #[test]
    fn error_keys_are_person_errors() {
        assert_eq!(
            IdNumberError::Length.message_key(),
            "person.error.id_length"
        );
        assert_eq!(
            IdNumberError::CheckDigit.message_key(),
            "person.error.id_check_digit"
        );
        assert_eq!(
            IdNumberError::BirthDate.message_key(),
            "person.error.id_birth_date"
        );
        assert_eq!(
            PhoneError::Format.message_key(),
            "person.error.phone_format"
        );
    }

    #[test]
    fn parses_mobiles() {
        for input in [
            "13812341234",
            "138 1234 1234",
            "+8613812341234",
            "+86 138-1234-1234",
        ] {
            let phone = Phone::parse(input).unwrap();
            assert_eq!(phone.as_str(), "13812341234", "{input}");
            assert_eq!(phone.kind(), PhoneKind::Mobile);
            assert_eq!(phone.masked(), "138****1234");
        }
        assert_eq!(
            Phone::parse("19912345678").unwrap().kind(),
            PhoneKind::Mobile
        );
    }

    #[test]
    fn parses_landlines() {
        let cases = [
            ("0591-87654321", "0591-87654321", "0591-******21"),
            ("0591 8765 4321", "0591-87654321", "0591-******21"),
            ("059187654321", "0591-87654321", "0591-******21"),
            ("010-62345678", "010-62345678", "010-******78"),
            ("01023456789", "010-23456789", "010-******89"),
            ("0755-2345678", "0755-2345678", "0755-*****78"),
            ("+86 591 87654321", "0591-87654321", "0591-******21"),
            ("+86-10-23456789", "010-23456789", "010-******89"),
            ("87654321", "87654321", "******21"),
        ];
        for (input, normal, masked) in cases {
            let phone = Phone::parse(input).unwrap_or_else(|_| panic!("{input}"));
            assert_eq!(phone.as_str(), normal, "{input}");
            assert_eq!(phone.kind(), PhoneKind::Landline);
            assert_eq!(phone.masked(), masked, "{input}");
        }
        assert_eq!(
            format!("{:?}", Phone::parse("0591-87654321").unwrap()),
            "Phone(\"0591-******21\")"
        );
    }

    #[test]
    fn rejects_malformed_phones() {
        for input in [
            "",
            "   ",
            "12812341234",    // 12x is no mobile prefix
            "1381234123",     // 10 digits
            "138123412345",   // 12 digits
            "0591-876543",    // 6-digit number
            "0591-876543210", // 9-digit number
            "05-87654321",    // 2-digit area code
            "05911-87654321", // 5-digit area code
            "0591-0765432",   // number starting with 0
            "010-12345678",   // number starting with 1
            "0591--87654321",
            "0591-8765-4321",
            "-87654321",
            "87654321-",
            "+86 0591 87654321",
            "+86 87654321",
            "0591-8765432a",
            "0010-87654321",
            "0591-８7654321",
            "+85213812341234",
            "1-3812341234",
            "1381-234-1234",
            "0",   // shorter than any area code
            "01",  // shorter than its own area code
            "059", // an area code alone
            "+86 1",
        ] {
            assert_eq!(Phone::parse(input), Err(PhoneError::Format), "{input:?}");
        }
    }

    /// 17 digits with a region not starting with 0 and a real birth date
    /// between 1900 and `today()`.
    fn body_strategy() -> impl Strategy<Value = String> {
        let min = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let days = (today() - min).num_days();
        (100_000u32..1_000_000, 0..=days, 0u32..1000).prop_map(move |(region, offset, seq)| {
            let birth = min + chrono::Duration::days(offset);
            format!("{region}{}{seq:03}", birth.format("%Y%m%d"))
        })
    }

    /// Counts the characters of `masked` that show the original, checking
    /// that each shown character stands where it stands in `original`.
    fn revealed(original: &str, masked: &str) -> usize {
        assert_eq!(original.chars().count(), masked.chars().count());
        original
            .chars()
            .zip(masked.chars())
            .filter(|(o, m)| {
                if *m == MASK {
                    false
                } else {
                    assert_eq!(o, m);
                    true
                }
            })
            .count()
    }

    proptest! {
        #[test]
        fn valid_body_with_check_character_parses(body in body_strategy()) {
            let id = parse_id(&with_check(&body)).unwrap();
            prop_assert_eq!(&id.as_str()[..17], body.as_str());
        }

        #[test]
        fn changing_one_digit_fails(
            body in body_strategy(),
            position in 0usize..18,
            replacement in 0u8..10,
        ) {
            let valid = with_check(&body);
            let mut bytes = valid.clone().into_bytes();
            let new = b'0' + replacement;
            prop_assume!(bytes[position] != new);
            bytes[position] = new;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(parse_id(&changed).is_err(), "{} -> {}", valid, changed);
        }

        #[test]
        fn any_phone_text_parses_or_is_refused(input in "[0-9+ -]{0,16}") {
            if let Ok(phone) = Phone::parse(&input) {
                prop_assert_eq!(Phone::parse(phone.as_str()), Ok(phone));
            }
        }

        #[test]
        fn masked_id_reveals_at_most_seven(body in body_strategy()) {
            let id = parse_id(&with_check(&body)).unwrap();
            let masked = id.masked();
            prop_assert_eq!(masked.len(), id.as_str().len());
            prop_assert!(revealed(id.as_str(), &masked) <= 7);
        }

        #[test]
        fn masked_mobile_reveals_at_most_seven(second in 3u8..10, rest in "[0-9]{9}") {
            let phone = Phone::parse(&format!("1{second}{rest}")).unwrap();
            let masked = phone.masked();
            prop_assert_eq!(masked.len(), phone.as_str().len());
            prop_assert!(revealed(phone.as_str(), &masked) <= 7);
        }

        #[test]
        fn masked_landline_reveals_at_most_seven(
            area in "0(10|2[0-9]|[3-9][0-9]{2})",
            number in "[2-9][0-9]{6,7}",
        ) {
            let phone = Phone::parse(&format!("{area}-{number}")).unwrap();
            let masked = phone.masked();
            prop_assert_eq!(masked.len(), phone.as_str().len());
            prop_assert!(revealed(phone.as_str(), &masked) <= 7);
        }
    }
}
