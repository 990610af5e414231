//! Languages. Simplified Chinese first, English second. Every string a person
//! reads lives in `locales/*.yml` (one file per area, both languages side by
//! side); code names keys, never sentences.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// Cookie holding the language a visitor chose.
pub const LANG_COOKIE: &str = "jinlin_lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag, as used in `<html lang>` and the locale files.
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "中文",
            Lang::En => "English",
        }
    }

    /// Parses a tag loosely: `zh`, `zh-CN`, `zh-Hans`, `en-GB` …
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header,
    /// honouring q-values; `None` when nothing supported is named.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((lang, q));
            }
        }
        best.map(|(lang, _)| lang)
    }

    /// The translation of `key`; the key itself if it is missing (a test
    /// keeps every key present in both languages).
    pub fn t(self, key: &str) -> Cow<'static, str> {
        match crate::_rust_i18n_try_translate(self.code(), key) {
            Some(text) => Cow::Owned(text.into_owned()),
            None => {
                tracing::warn!(key, lang = self.code(), "missing translation");
                Cow::Owned(key.to_string())
            }
        }
    }

    /// The translation of `key` with `%{name}` placeholders filled in.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key).into_owned();
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }
}

tokio::task_local! {
    /// The language of the request being served; set by the web shell's
    /// middleware so errors raised anywhere speak the requester's language.
    static REQUEST_LANG: Lang;
}

/// Runs `fut` with `lang` as the request language.
pub async fn scope<F: Future>(lang: Lang, fut: F) -> F::Output {
    REQUEST_LANG.scope(lang, fut).await
}

/// The current request's language (Chinese outside a request).
pub fn current() -> Lang {
    REQUEST_LANG.try_with(|l| *l).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn negotiates_by_quality() {
        assert_eq!(Lang::negotiate("en-US,en;q=0.9,zh;q=0.8"), Some(Lang::En));
        assert_eq!(
            Lang::negotiate("fr, zh-CN;q=0.5, en;q=0.4"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::negotiate("zh-Hans"), Some(Lang::ZhCn));
        assert_eq!(Lang::negotiate("de, fr"), None);
        assert_eq!(Lang::negotiate("en;q=0, zh;q=0.1"), Some(Lang::ZhCn));
        assert_eq!(Lang::negotiate(""), None);
    }

    #[test]
    fn translates_and_fills_placeholders() {
        assert_eq!(Lang::En.t("app.name"), "Jinlin");
        assert_eq!(Lang::ZhCn.t("app.name"), "近邻");
        assert!(Lang::En.tf("error.not_found", &[]).len() > 3);
    }

    /// Every key of every locale file names both languages, non-empty.
    #[test]
    fn every_key_has_both_languages() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/locales");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let file: BTreeMap<String, serde_json::Value> =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            for (key, value) in file {
                if key == "_version" {
                    continue;
                }
                for lang in Lang::ALL {
                    let text = value.get(lang.code()).and_then(|v| v.as_str());
                    assert!(
                        text.is_some_and(|t| !t.trim().is_empty()),
                        "{path:?}: key {key} lacks {}",
                        lang.code()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 10, "only {checked} keys found");
    }
}
