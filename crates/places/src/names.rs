//! Names of places: pinyin initials for search.

use pinyin::ToPinyin;

/// Longest initials kept (the width of `place.initials`).
pub const MAX_INITIALS: usize = 64;

/// Lowercase pinyin initials of a name, for search by typing: 仓山区 →
/// "csq", 金山街道 → "jsjd".
///
/// ASCII letters and digits are kept (lowercased), as are their full-width
/// forms (Ａ, ０); a Chinese character gives the first letter of its default
/// reading (the first reading the `pinyin` crate lists); everything else
/// (punctuation, brackets, characters without a reading) is dropped. Place-name words whose
/// characters read otherwise than by default (长乐 cháng, 重庆 chóng, 厦门 xià …)
/// take their initials from [`READINGS`]. At most [`MAX_INITIALS`] letters
/// are returned.
pub fn initials(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(ch) = rest.chars().next() {
        if let Some((word, letters)) = READINGS.iter().find(|(w, _)| rest.starts_with(w)) {
            out.push_str(letters);
            rest = &rest[word.len()..];
            continue;
        }
        out.extend(initial(ch));
        rest = &rest[ch.len_utf8()..];
    }
    out.chars().take(MAX_INITIALS).collect()
}

/// Words of place names whose initials differ from the characters' default
/// readings.
const READINGS: &[(&str, &str)] = &[
    ("长乐", "cl"),
    ("长安", "ca"),
    ("长沙", "cs"),
    ("长春", "cc"),
    ("长宁", "cn"),
    ("长汀", "ct"),
    ("长泰", "ct"),
    ("长寿", "cs"),
    ("长治", "cz"),
    ("长兴", "cx"),
    ("重庆", "cq"),
    ("厦门", "xm"),
    ("六安", "la"),
    ("蚌埠", "bb"),
    ("乐清", "yq"),
    ("乐亭", "lt"),
    ("番禺", "py"),
    ("东阿", "de"),
    ("尉氏", "ws"),
];

fn initial(ch: char) -> Option<char> {
    if ch.is_ascii_alphanumeric() {
        return Some(ch.to_ascii_lowercase());
    }
    // Full-width ASCII (U+FF01..U+FF5E) sits at a fixed offset from ASCII.
    if ('\u{FF01}'..='\u{FF5E}').contains(&ch) {
        let ascii = char::from_u32(ch as u32 - 0xFF01 + 0x21)?;
        return ascii
            .is_ascii_alphanumeric()
            .then(|| ascii.to_ascii_lowercase());
    }
    let letter = ch.to_pinyin()?.first_letter().chars().next()?;
    letter
        .is_ascii_alphabetic()
        .then(|| letter.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_chinese_names() {
        assert_eq!(initials("仓山区"), "csq");
        assert_eq!(initials("金山街道"), "jsjd");
        assert_eq!(initials("福建省"), "fjs");
        assert_eq!(initials("螺洲镇"), "lzz");
        assert_eq!(initials("长乐区"), "clq");
        assert_eq!(initials("重庆市"), "cqs");
        assert_eq!(initials("厦门市思明区"), "xmssmq");
        assert_eq!(initials("红星农场"), "hxnc");
    }

    #[test]
    fn ascii_is_kept_lowercased_and_the_rest_dropped() {
        assert_eq!(initials("A区3号楼"), "aq3hl");
        assert_eq!(initials("金山（一期）"), "jsyq");
        assert_eq!(initials("Ｂ栋０１"), "bd01");
        assert_eq!(initials("·、-() "), "");
        assert_eq!(initials(""), "");
        // A private-use character has no reading.
        assert_eq!(initials("\u{E08B}村"), "c");
    }

    #[test]
    fn heteronyms_take_the_default_reading_outside_known_words() {
        // 行 is xíng first (also háng), 重 is zhòng first (chóng in 重庆).
        assert_eq!(initials("行"), "x");
        assert_eq!(initials("重阳社区"), "zysq");
        assert_eq!(initials("重庆市"), "cqs");
    }

    #[test]
    fn initials_fit_the_column() {
        let long = "街".repeat(200);
        assert_eq!(initials(&long).len(), MAX_INITIALS);
    }
}
