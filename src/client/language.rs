//! The session's `language`: "an ISO code matching the user's language (`en`, `zh-CN`, `ja`,
//! `es`…)" (DESIGN.md, session row). Detected from the user's own words with `whatlang`
//! (writing system first: Han without kana is Chinese, kana is Japanese, Hangul Korean), else
//! from the OS locale (`zh_CN.UTF-8` → `zh-CN`), else English.

use whatlang::{Detector, Lang, Script};

/// What the session is created in when nothing else is known.
pub const FALLBACK: &str = "en";

/// Latin-script languages considered for a Latin text: a short list keeps short instructions
/// from being read as a rare language with a similar spelling.
const LATIN: &[Lang] = &[
    Lang::Eng,
    Lang::Spa,
    Lang::Fra,
    Lang::Deu,
    Lang::Por,
    Lang::Ita,
    Lang::Nld,
    Lang::Pol,
    Lang::Tur,
    Lang::Vie,
    Lang::Ind,
    Lang::Swe,
    Lang::Dan,
    Lang::Ces,
    Lang::Ron,
    Lang::Hun,
    Lang::Fin,
];

/// The ISO code of the language `text` is written in; `None` when it cannot be told (too
/// short, only numbers or paths, an unlisted language).
pub fn from_text(text: &str) -> Option<String> {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 {
        return None;
    }
    // Writing systems decide for the scripts that belong to one language.
    let kana = text.chars().filter(|c| is_kana(*c)).count();
    let han = text.chars().filter(|c| is_han(*c)).count();
    let hangul = text.chars().filter(|c| is_hangul(*c)).count();
    if kana > 0 && kana + han >= letters / 3 {
        return Some("ja".into());
    }
    if hangul > 0 && hangul >= letters / 3 {
        return Some("ko".into());
    }
    if han > 0 && han >= letters / 3 {
        return Some("zh-CN".into());
    }
    let script = whatlang::detect_script(text)?;
    let info = match script {
        Script::Latin => Detector::with_allowlist(LATIN.to_vec()).detect(text)?,
        // whatlang reads a short Russian sentence as Bulgarian, Macedonian or Ukrainian as
        // often as not. The alphabet tells better: і ї є ґ are Ukrainian letters that Russian
        // never uses, and the frequent і is in almost every Ukrainian sentence.
        Script::Cyrillic => {
            let ukrainian = text.chars().any(|c| "іїєґІЇЄҐ".contains(c));
            return Some(if ukrainian { "uk" } else { "ru" }.into());
        }
        _ => whatlang::detect(text)?,
    };
    // Two- or three-word texts are often unreliable in whatlang's sense; its best guess is
    // still better than none there, so only a near tie is refused.
    if info.confidence() < 0.2 && letters > 40 {
        return None;
    }
    iso_code(info.lang()).map(str::to_string)
}

/// `zh_CN.UTF-8` → `zh-CN`, `zh_TW` → `zh-TW`, `ja_JP` → `ja`, `es-ES` → `es`, `pt_BR` →
/// `pt-BR`; `C` / `POSIX` → `None`.
pub fn from_locale(locale: &str) -> Option<String> {
    let base = locale.split(['.', '@']).next().unwrap_or_default().trim();
    if base.is_empty() || base.eq_ignore_ascii_case("c") || base.eq_ignore_ascii_case("posix") {
        return None;
    }
    let mut parts = base.split(['_', '-']);
    let lang = parts.next()?.to_ascii_lowercase();
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let region = parts.next().map(str::to_ascii_uppercase);
    Some(match (lang.as_str(), region.as_deref()) {
        // Chinese and Portuguese keep the region: they are written differently there.
        ("zh", Some(r @ ("TW" | "HK" | "MO"))) => format!("zh-{r}"),
        ("zh", Some("HANT")) => "zh-TW".into(),
        ("zh", _) => "zh-CN".into(),
        ("pt", Some("BR")) => "pt-BR".into(),
        _ => lang,
    })
}

/// The session language: the user's text when it tells, else the OS locale, else `en`.
pub fn resolve(text: Option<&str>, locale: Option<&str>) -> String {
    text.and_then(from_text)
        .or_else(|| locale.and_then(from_locale))
        .unwrap_or_else(|| FALLBACK.to_string())
}

fn iso_code(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Eng => "en",
        Lang::Cmn => "zh-CN",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        Lang::Spa => "es",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Rus => "ru",
        Lang::Ukr => "uk",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Pol => "pl",
        Lang::Vie => "vi",
        Lang::Tha => "th",
        Lang::Ind => "id",
        Lang::Swe => "sv",
        Lang::Dan => "da",
        Lang::Ces => "cs",
        Lang::Ron => "ro",
        Lang::Hun => "hu",
        Lang::Fin => "fi",
        Lang::Heb => "he",
        Lang::Ell => "el",
        Lang::Pes => "fa",
        Lang::Ben => "bn",
        _ => return None,
    })
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_from_the_users_words() {
        let cases = [
            ("把我的办公室背景换成干净的影棚背景", "zh-CN"),
            ("背景をきれいなスタジオに変えてください", "ja"),
            ("사무실 배경을 깨끗한 스튜디오로 바꿔 주세요", "ko"),
            (
                "Cambia el fondo de mi oficina por un estudio limpio, por favor",
                "es",
            ),
            (
                "Remplace l'arrière-plan de mon bureau par un studio propre",
                "fr",
            ),
            (
                "Ersetze den Hintergrund meines Büros durch ein sauberes Studio",
                "de",
            ),
            (
                "replace my office background with a clean studio backdrop",
                "en",
            ),
            ("Замени фон моего офиса на чистую студию", "ru"),
            ("Поменяй фон на пляж", "ru"),
            ("Заміни фон мого офісу на чисту студію", "uk"),
            // A Chinese instruction naming an English file is still Chinese.
            ("把 office_talk.mp4 的背景换成海滩", "zh-CN"),
        ];
        for (text, want) in cases {
            assert_eq!(from_text(text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(from_text(""), None);
        assert_eq!(from_text("42 / 7"), None);
    }

    #[test]
    fn languages_from_the_os_locale() {
        assert_eq!(from_locale("zh_CN.UTF-8").as_deref(), Some("zh-CN"));
        assert_eq!(from_locale("zh_TW.UTF-8").as_deref(), Some("zh-TW"));
        assert_eq!(from_locale("zh-Hant").as_deref(), Some("zh-TW"));
        assert_eq!(from_locale("ja_JP.UTF-8").as_deref(), Some("ja"));
        assert_eq!(from_locale("es-ES").as_deref(), Some("es"));
        assert_eq!(from_locale("pt_BR").as_deref(), Some("pt-BR"));
        assert_eq!(from_locale("en_US.UTF-8").as_deref(), Some("en"));
        assert_eq!(from_locale("de_DE@euro").as_deref(), Some("de"));
        assert_eq!(from_locale("C.UTF-8"), None);
        assert_eq!(from_locale("POSIX"), None);
    }

    #[test]
    fn text_then_locale_then_english() {
        assert_eq!(resolve(Some("换成海滩背景"), Some("en_US.UTF-8")), "zh-CN");
        assert_eq!(resolve(None, Some("ja_JP.UTF-8")), "ja");
        assert_eq!(resolve(Some("123"), Some("es_ES.UTF-8")), "es");
        assert_eq!(resolve(None, None), "en");
    }
}
