//! GUI-speak translation: the backend agent writes for people sitting in front of the NemoVideo
//! editor ("click Export", "drag your clip here", "点击导出"). Over MCP there is no editor, so
//! each such clause is rewritten into what this server does or which tool to call next, while
//! the sentences that describe the content are kept as they are.

use std::sync::LazyLock;

use regex::Regex;

/// One kind of GUI instruction and what to say instead, in English and Chinese.
struct Rule {
    pattern: Regex,
    english: &'static str,
    chinese: &'static str,
}

fn rule(pattern: &str, english: &'static str, chinese: &'static str) -> Rule {
    Rule {
        pattern: Regex::new(pattern).expect("static GUI-speak pattern"),
        english,
        chinese,
    }
}

/// In priority order: when two rules match at the same place, the earlier one wins
/// (so "click Export" is an export, not a generic click).
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"(?i)\b(click|clicking|press|pressing|tap|hit|select|open)\b[^.!?\n]{0,40}?\bexport\b|\bexport (button|menu|panel)\b|^\s*(please\s+)?export\b|\b(you can|you may|ready to)\s+export\b|(点击|点一下|按下?|选择|打开)[^。！？\n]{0,10}?导出|导出按钮",
            "Call export_video (with an output path) to render and save the MP4.",
            "调用 export_video（给出输出路径）即可渲染并保存 MP4。",
        ),
        // The seed: a drag or drop in the editor is an edit, so it goes through the agent in
        // words (not an upload).
        rule(
            r"(?i)\b(drag|dragging|drop)\b|(请?把[^。！？\n]{0,12}?)?(拖拽|拖动|拖入|拖到)",
            "Ask for the change in words and it will be made (call edit_video).",
            "直接用文字说明想要的修改即可（调用 edit_video）。",
        ),
        // The seed: "check your account / billing / 余额" is the credit balance.
        rule(
            r"(?i)\b(check|view|see|open|visit|go to|manage)\b[^.!?\n]{0,30}?\b(account|billing|balance|credits?|subscription|plan)\b|\b(top up|recharge)\b|(查看|检查|打开)?(您的|你的)?(余额|充值|账户|账号|计费|额度)",
            "Call get_credits to see the credit balance.",
            "调用 get_credits 查看余额。",
        ),
        rule(
            r"(?i)\b(click|clicking|press|tap|hit|open)\b[^.!?\n]{0,40}?\bpreview\b|\bpreview (it|the (video|result|edit|clip))\b|(点击|打开)[^。！？\n]{0,10}?预览",
            "Call show_timeline to check the result (replace_background also returns a before/after preview image).",
            "调用 show_timeline 查看结果（replace_background 也会返回前后对比预览图）。",
        ),
        rule(
            r"(?i)\bopen\b[^.!?\n]{0,30}?\b(editor|app|timeline|panel|project|studio|workspace|tab|menu|sidebar|settings)\b|打开",
            "Call show_timeline to see the timeline.",
            "调用 show_timeline 查看时间线。",
        ),
        rule(
            r"(?i)\b(click|clicking|tap|tapping|press|pressing)\b|点击",
            "Ask for the change in words and it will be made (call edit_video).",
            "直接用文字说明想要的修改即可（调用 edit_video）。",
        ),
    ]
});

/// Lead-ins left dangling once the GUI clause after them is removed.
static DANGLING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:[\s,;:，、：；—-]+|\b(?:and|then|now|just|simply|please|you can|you may|can|to|or)\b|请|然后|再|您可以|你可以|可以)*$",
    )
    .expect("static pattern")
});

/// Rewrite GUI instructions in `text` into tool hints; content descriptions stay untouched.
pub fn translate(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hints_given: Vec<&'static str> = Vec::new();
    for sentence in split_sentences(text) {
        match earliest_match(sentence) {
            None => out.push(sentence.trim().to_string()),
            Some((start, rule, chinese)) => {
                let kept = DANGLING.replace(&sentence[..start], "").trim().to_string();
                if !kept.is_empty() {
                    out.push(close_sentence(&kept, chinese));
                }
                let hint = if chinese { rule.chinese } else { rule.english };
                if !hints_given.contains(&hint) {
                    hints_given.push(hint);
                    out.push(hint.to_string());
                }
            }
        }
    }
    let mut joined = String::new();
    for part in out.iter().filter(|s| !s.is_empty()) {
        // Chinese sentences run on without a space after their full stop.
        if !joined.is_empty() && !joined.ends_with(['。', '！', '？']) {
            joined.push(' ');
        }
        joined.push_str(part);
    }
    joined
}

/// Where the first GUI instruction of a sentence starts, the rule it matched and whether the
/// instruction itself is written in Chinese.
fn earliest_match(sentence: &str) -> Option<(usize, &'static Rule, bool)> {
    let mut best: Option<(usize, &'static Rule, bool)> = None;
    for rule in RULES.iter() {
        if let Some(m) = rule.pattern.find(sentence)
            && best.is_none_or(|(start, _, _)| m.start() < start)
        {
            best = Some((m.start(), rule, m.as_str().chars().any(is_cjk)));
        }
    }
    best
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Sentences with their closing punctuation, split after `.!?。！？` and at line breaks.
/// A dot inside a word or number ("v1.2", "clip.mp4") does not end a sentence.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let ends = match c {
            '。' | '！' | '？' | '\n' => true,
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        if ends {
            let end = i + c.len_utf8();
            parts.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

fn close_sentence(kept: &str, chinese: bool) -> String {
    if kept.ends_with(['.', '!', '?', '。', '！', '？']) {
        kept.to_string()
    } else if chinese || kept.chars().last().is_some_and(is_cjk) {
        format!("{kept}。")
    } else {
        format!("{kept}.")
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn click_export_becomes_export_video() {
        let out = translate(
            "I replaced the background with a clean studio backdrop. Click Export to download your video.",
        );
        assert!(out.starts_with("I replaced the background with a clean studio backdrop."));
        assert!(out.contains("call export_video") || out.contains("Call export_video"));
        assert!(!out.to_lowercase().contains("click"));
    }

    #[test]
    fn content_kept_when_instruction_shares_the_sentence() {
        let out = translate("Your background is now a soft gradient, then press the Export button");
        assert_eq!(
            out,
            "Your background is now a soft gradient. Call export_video (with an output path) to render and save the MP4."
        );
    }

    #[test]
    fn drag_becomes_an_edit_through_the_agent() {
        let out = translate("Drag the title to the start of the timeline.");
        assert_eq!(
            out,
            "Ask for the change in words and it will be made (call edit_video)."
        );
        let out = translate("I added the music. Drop another clip after it to extend the video.");
        assert!(out.starts_with("I added the music."), "{out}");
        assert!(
            out.contains("edit_video") && !out.contains("upload_media"),
            "{out}"
        );
    }

    #[test]
    fn account_and_billing_become_get_credits() {
        for text in [
            "The export needs 12 credits. Check your account balance before exporting.",
            "Please visit the billing page to add credits.",
            "You can top up in the app.",
        ] {
            let out = translate(text);
            assert!(out.contains("Call get_credits"), "{text} → {out}");
            assert!(!out.contains("show_timeline"), "{text} → {out}");
        }
        let out = translate("导出需要 12 积分。请查看您的余额。");
        assert_eq!(out, "导出需要 12 积分。调用 get_credits 查看余额。");
    }

    #[test]
    fn preview_and_open_become_show_timeline() {
        let out = translate("Click Preview to watch it. Open the editor to see the tracks.");
        assert!(out.contains("Call show_timeline to check the result"));
        assert!(out.contains("Call show_timeline to see the timeline."));
        assert!(!out.contains("Click"));
        assert!(!out.contains("Open the editor"));
    }

    #[test]
    fn generic_click_becomes_edit_video() {
        let out = translate("The title is set. Tap the title to change its font.");
        assert_eq!(
            out,
            "The title is set. Ask for the change in words and it will be made (call edit_video)."
        );
    }

    #[test]
    fn chinese_instructions_are_rewritten_in_chinese() {
        let out = translate("背景已替换为白色摄影棚。点击导出按钮下载视频。请把文件拖拽到时间线。");
        assert!(out.starts_with("背景已替换为白色摄影棚。"));
        assert!(out.contains("调用 export_video"));
        assert!(out.contains("调用 edit_video"));
        assert!(!out.contains("点击"));
        assert!(!out.contains("拖拽"));
    }

    #[test]
    fn chinese_open_becomes_show_timeline() {
        let out = translate("字幕已添加，打开编辑器即可查看");
        assert_eq!(out, "字幕已添加。调用 show_timeline 查看时间线。");
    }

    #[test]
    fn plain_descriptions_are_untouched() {
        let text = "Replaced the background of city.mp4 with a navy-to-teal gradient (0-10s). Added BGM at 35%.";
        assert_eq!(translate(text), text);
    }

    #[test]
    fn repeated_hints_are_given_once() {
        let out = translate("Click Export. Then click Export again to get the 1080p file.");
        assert_eq!(out.matches("export_video").count(), 1);
    }

    #[test]
    fn file_names_with_dots_do_not_split() {
        let out = translate("Uploaded city.mp4 and press export when ready");
        assert!(out.starts_with("Uploaded city.mp4."));
    }

    #[test]
    fn imperative_export_becomes_export_video() {
        let out = translate(
            "Done: the background of a.mp4 is now soft light studio backdrop. Export the video when you are ready.",
        );
        assert_eq!(
            out,
            "Done: the background of a.mp4 is now soft light studio backdrop. Call export_video (with an output path) to render and save the MP4."
        );
        let out = translate("All set, you can export it now.");
        assert_eq!(
            out,
            "All set. Call export_video (with an output path) to render and save the MP4."
        );
        // Past-tense descriptions are content, not directions.
        let text = "The last render was exported at 720p.";
        assert_eq!(translate(text), text);
    }

    #[test]
    fn empty_text_stays_empty() {
        assert_eq!(translate(""), "");
        assert_eq!(translate("   "), "");
    }
}
