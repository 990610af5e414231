//! The pure rules of erasure: the name an erased person is left with, what
//! a reason must be, and how a person's own words lose their name and phone.

/// The longest reason kept (characters).
pub const REASON_MAX: usize = 500;

/// The name an erased person's record keeps: says what happened, and the
/// id keeps records of several erased people apart.
pub fn erased_label(person_id: i64) -> String {
    format!("已删除 #{person_id}")
}

/// The username an erased account keeps: unique, and nothing of the person.
pub fn erased_username(account_id: i64) -> String {
    format!("erased-{account_id}")
}

/// Why a reason is refused (the message key of the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonError {
    Missing,
    TooLong,
}

impl ReasonError {
    pub fn message_key(self) -> &'static str {
        match self {
            ReasonError::Missing => "privacy.error.reason_missing",
            ReasonError::TooLong => "privacy.error.reason_too_long",
        }
    }
}

/// A reason as given, trimmed: not empty, at most [`REASON_MAX`] characters.
pub fn reason(raw: &str) -> Result<String, ReasonError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ReasonError::Missing);
    }
    if trimmed.chars().count() > REASON_MAX {
        return Err(ReasonError::TooLong);
    }
    Ok(trimmed.to_string())
}

/// The strings erasure takes out of free text: the name (replaced by the
/// label) and the phone (removed). A one-character name is left alone:
/// replacing one common character would garble every text it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrub {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub label: String,
}

impl Scrub {
    pub fn new(name: &str, phone: Option<&str>, label: String) -> Scrub {
        let name = name.trim();
        let phone = phone.map(str::trim).filter(|p| p.chars().count() >= 5);
        Scrub {
            name: (name.chars().count() >= 2 && name != label).then(|| name.to_string()),
            phone: phone.map(str::to_string),
            label,
        }
    }

    /// The text with the phone removed, then the name replaced, as the
    /// database's nested `REPLACE` does it (every occurrence, left to
    /// right). The phone goes first so that its removal cannot join two
    /// halves of the name.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(phone) = &self.phone {
            out = out.replace(phone.as_str(), "");
        }
        if let Some(name) = &self.name {
            out = out.replace(name.as_str(), &self.label);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reasons() {
        assert_eq!(reason("  本人申请  ").unwrap(), "本人申请");
        assert_eq!(reason(" \n "), Err(ReasonError::Missing));
        assert_eq!(reason(&"字".repeat(501)), Err(ReasonError::TooLong));
        assert!(reason(&"字".repeat(500)).is_ok());
    }

    #[test]
    fn short_names_are_not_scrubbed() {
        let s = Scrub::new("王", None, erased_label(3));
        assert_eq!(s.apply("王府井的王"), "王府井的王");
    }

    #[test]
    fn name_and_phone_leave_the_text() {
        let s = Scrub::new("林美华", Some("13812341234"), erased_label(7));
        assert_eq!(
            s.apply("我是林美华，电话13812341234，请联系林美华"),
            "我是已删除 #7，电话，请联系已删除 #7"
        );
    }

    proptest! {
        /// Whatever the text, neither the name nor the phone survives, and
        /// scrubbing twice changes nothing more (erasure is idempotent).
        #[test]
        fn nothing_of_the_name_or_phone_is_left(
            name in "[\\u{4e00}-\\u{4e0f}]{2,4}",
            phone in "1[3-9][0-9]{9}",
            parts in proptest::collection::vec("[a-z\\u{4e00}-\\u{4e0f} ]{0,6}", 0..6),
            id in 1i64..1_000_000,
        ) {
            let text = parts.join(&name) + &phone;
            let s = Scrub::new(&name, Some(&phone), erased_label(id));
            let once = s.apply(&text);
            prop_assert!(!once.contains(&phone));
            prop_assert!(!once.contains(&name));
            prop_assert_eq!(s.apply(&once), once.clone());
        }
    }
}
