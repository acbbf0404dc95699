//! The table test of issue 21: every request shape the edit_video description promises, in
//! several phrasings, English and Chinese, parsed into the same typed operation. Clips are
//! pointed at by position ("the third clip", "clip 3", "the final one", "第二个片段",
//! "最后一段") and by name; times in numbers and in words. The counts per shape are printed
//! (`cargo test --lib agent::table -- --nocapture`) and every row must pass.

use super::intent::Names;
use super::understand_with;
use crate::api::{AspectRatio, ClipRef, EditOp, TitlePosition};

fn names() -> Names {
    Names {
        media: vec![
            "intro.mp4".into(),
            "talk.mp4".into(),
            "outro.mp4".into(),
            "lofi.mp3".into(),
            "beach.png".into(),
        ],
        clips: vec!["intro.mp4".into(), "talk.mp4".into(), "outro.mp4".into()],
        audio: vec!["lofi.mp3".into()],
    }
}

fn name(s: &str) -> ClipRef {
    ClipRef::Name(s.into())
}
fn first() -> ClipRef {
    name("first")
}
fn last() -> ClipRef {
    name("last")
}
fn trim(clip: Option<ClipRef>, first_s: Option<f64>, last_s: Option<f64>) -> EditOp {
    EditOp::Trim {
        clip,
        remove_first_s: first_s,
        remove_last_s: last_s,
    }
}
fn keep(clip: Option<ClipRef>, a: Option<f64>, b: f64) -> EditOp {
    EditOp::Keep {
        clip,
        start_s: a,
        end_s: Some(b),
        last_s: None,
    }
}
fn mv(clip: ClipRef, to: ClipRef) -> EditOp {
    EditOp::Move {
        clip,
        to: Some(to),
        before: None,
        after: None,
    }
}

/// (shape, phrasings, the operation every phrasing must become).
fn table() -> Vec<(&'static str, Vec<&'static str>, EditOp)> {
    let title = EditOp::Title {
        text: "Urban Dreams".into(),
        start_s: None,
        end_s: Some(3.0),
        last_s: None,
        position: Some(TitlePosition::Top),
        size: None,
        colour: None,
        fade: None,
    };
    let title_zh = EditOp::Title {
        text: "城市之梦".into(),
        start_s: None,
        end_s: Some(3.0),
        last_s: None,
        position: Some(TitlePosition::Top),
        size: None,
        colour: None,
        fade: None,
    };
    vec![
        (
            "trim a clip by position (start)",
            vec![
                "cut the first 2 seconds of the third clip",
                "trim 2 seconds from the start of clip 3",
                "cut the first two seconds of the final one",
                "remove the first 2 seconds from the last clip",
                "剪掉第三个片段的前2秒",
                "把最后一段的前两秒剪掉",
                "剪掉最后一个片段的开头2秒",
            ],
            trim(Some(ClipRef::Index(3)), Some(2.0), None),
        ),
        (
            "trim a clip by position (end)",
            vec![
                "cut the last 3 seconds of the first clip",
                "trim the last three seconds off the first one",
                "cut the last 3 seconds of clip 1",
                "剪掉第一个片段的最后3秒",
                "把第一段的结尾三秒剪掉",
            ],
            trim(Some(first()), None, Some(3.0)),
        ),
        (
            "trim a clip by name",
            vec![
                "cut the first 2 seconds of talk.mp4",
                "trim the first two seconds of the talk clip",
                "剪掉talk.mp4的前2秒",
            ],
            trim(Some(name("talk.mp4")), Some(2.0), None),
        ),
        (
            "trim the timeline, time in words",
            vec![
                "cut the first two seconds",
                "cut the first 2 seconds",
                "trim off the first 2 s",
                "remove the first 2 secs",
                "剪掉前2秒",
                "剪掉开头两秒",
            ],
            trim(None, Some(2.0), None),
        ),
        (
            "keep a range, clock times",
            vec![
                "keep from 0:05 to 0:12",
                "keep 0:05-0:12",
                "only keep 0:05 to 0:12",
                "trim to 0:05–0:12",
                "保留0:05到0:12",
                "只保留0:05至0:12",
            ],
            keep(None, Some(5.0), 12.0),
        ),
        (
            "keep a range of a clip by position",
            vec![
                "keep 0:01 to 0:04 of the second clip",
                "in clip 2 keep only 0:01-0:04",
                "保留第二个片段的0:01到0:04",
            ],
            keep(Some(ClipRef::Index(2)), Some(1.0), 4.0),
        ),
        (
            "move a clip by position to the front",
            vec![
                "move the third clip to the start",
                "put clip 3 first",
                "move the final one to the beginning",
                "put the last clip at the front",
                "把第三个片段放到最前面",
                "把最后一段移到开头",
                "把最后一个片段挪到最前",
            ],
            mv(ClipRef::Index(3), first()),
        ),
        (
            "move a clip by name to the end",
            vec![
                "move intro.mp4 to the end",
                "put the intro last",
                "把intro.mp4放到最后",
            ],
            mv(name("intro.mp4"), last()),
        ),
        (
            "remove a clip by position",
            vec![
                "remove the second clip",
                "delete clip 2",
                "drop the 2nd clip",
                "删除第二个片段",
                "删掉第2段",
                "去掉第二个视频",
            ],
            EditOp::Remove {
                clip: ClipRef::Index(2),
            },
        ),
        (
            "remove the last clip",
            vec![
                "remove the final one",
                "delete the last clip",
                "删除最后一段",
                "删掉最后一个片段",
            ],
            EditOp::Remove { clip: last() },
        ),
        (
            "swap two clips by position",
            vec![
                "swap the first and the last clip",
                "swap clip 1 and clip 3",
                "switch the first clip and the third clip",
                "交换第一个片段和最后一个片段",
                "把第一段和最后一段互换",
            ],
            EditOp::Swap {
                clip: first(),
                with: last(),
            },
        ),
        (
            "title for a range",
            vec![
                "add the title 'Urban Dreams' for the first 3 seconds at the top",
                "put a caption \"Urban Dreams\" at the top for the first three seconds",
                "add the title 'Urban Dreams' at the top from 0:00 to 0:03",
            ],
            title,
        ),
        (
            "title for a range (Chinese)",
            vec![
                "加上标题「城市之梦」，显示前3秒，放在顶部",
                "在顶部加字幕“城市之梦”，前三秒",
            ],
            title_zh,
        ),
        (
            "music from an upload",
            vec![
                "add the music at 35%",
                "add lofi.mp3 as background music at 35%",
                "添加背景音乐，音量35%",
                "配上音乐lofi.mp3，音量百分之三十五",
            ],
            EditOp::Music {
                media: Some("lofi.mp3".into()),
                volume: Some(35.0),
                fade_in_s: None,
                fade_out_s: None,
                ducking: None,
                looped: None,
                start_s: None,
                end_s: None,
            },
        ),
        (
            "music for a range only",
            vec![
                "add the music from 0:02 to 0:05",
                "play lofi.mp3 from 2 to 5 seconds",
                "add music between 2 and 5 s",
                "只在第2到5秒放音乐",
                "在2至5秒加上背景音乐lofi.mp3",
            ],
            EditOp::Music {
                media: Some("lofi.mp3".into()),
                volume: None,
                fade_in_s: None,
                fade_out_s: None,
                ducking: None,
                looped: None,
                start_s: Some(2.0),
                end_s: Some(5.0),
            },
        ),
        (
            "music volume",
            vec![
                "set the music volume to 20%",
                "music volume 20%",
                "音乐音量调到20%",
            ],
            EditOp::Music {
                media: None,
                volume: Some(20.0),
                fade_in_s: None,
                fade_out_s: None,
                ducking: None,
                looped: None,
                start_s: None,
                end_s: None,
            },
        ),
        (
            "aspect ratio",
            vec![
                "make it 9:16",
                "convert to vertical 9:16",
                "改成9:16竖屏",
                "画面比例改为9:16",
            ],
            EditOp::AspectRatio {
                ratio: AspectRatio::Portrait,
            },
        ),
        (
            "backdrop of one clip by position",
            vec![
                "blur the background of the second clip",
                "blur the background of clip 2",
                "第二个片段的背景虚化",
            ],
            EditOp::Backdrop {
                backdrop: "blur".into(),
                clip: Some(ClipRef::Index(2)),
            },
        ),
        (
            "undo",
            vec![
                "undo",
                "undo that",
                "Undo the last edit",
                "撤销",
                "撤销上一步",
            ],
            EditOp::Undo { steps: None },
        ),
        (
            "redo",
            vec!["redo", "redo that", "重做"],
            EditOp::Redo { steps: None },
        ),
    ]
}

/// `op` with every clip reference as its 1-based position on the table's three clips
/// ("last" and 3 are the same clip here).
fn positions(op: &EditOp) -> serde_json::Value {
    let clips = names().clips;
    let mut v = serde_json::to_value(op).expect("op");
    for key in ["clip", "with", "to", "before", "after"] {
        if let Some(x) = v.get_mut(key) {
            let r: ClipRef = serde_json::from_value(x.clone()).expect("clip ref");
            let n = r.position(clips.len()).or_else(|| match &r {
                ClipRef::Name(n) => clips.iter().position(|c| c == n).map(|i| i + 1),
                ClipRef::Index(_) => None,
            });
            *x = serde_json::json!(n);
        }
    }
    v
}

#[test]
fn every_promised_shape_in_every_phrasing() {
    let names = names();
    let mut failures = Vec::new();
    let (mut rows, mut passed) = (0, 0);
    println!("| shape | phrasings | passed |\n|---|---|---|");
    for (shape, phrasings, want) in table() {
        let mut ok = 0;
        for text in &phrasings {
            match understand_with(&names, text) {
                Ok(ops) if ops.len() == 1 && positions(&ops[0]) == positions(&want) => ok += 1,
                other => failures.push(format!("{shape}: {text:?} → {other:?}")),
            }
        }
        println!("| {shape} | {} | {ok} |", phrasings.len());
        rows += phrasings.len();
        passed += ok;
    }
    println!("total: {passed}/{rows}");
    assert!(
        failures.is_empty(),
        "{} of {rows} phrasings failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn what_it_cannot_do_gets_the_list() {
    let names = names();
    for text in [
        "speed up the third clip",
        "add a crossfade between the clips",
        "把第二个片段加速两倍",
    ] {
        let e = understand_with(&names, text).unwrap_err().to_string();
        assert!(
            e.contains("cannot do") || e.contains("做不到"),
            "{text}: {e}"
        );
        assert!(e.contains("9:16"), "the list of what it can do: {e}");
    }
}

/// Every operation with the fields a sentence can say, each with the operation(s) its cloud
/// sentence must read back as (itself, unless noted).
fn round_trip_cases() -> Vec<(EditOp, Vec<EditOp>)> {
    use crate::api::TitleSize;
    let same = |op: EditOp| (op.clone(), vec![op]);
    let music = |media: Option<&str>, volume: Option<f64>| EditOp::Music {
        media: media.map(str::to_string),
        volume,
        fade_in_s: None,
        fade_out_s: None,
        ducking: None,
        looped: None,
        start_s: None,
        end_s: None,
    };
    let title = |start_s, end_s, last_s| EditOp::Title {
        text: "Urban Dreams".into(),
        start_s,
        end_s,
        last_s,
        position: None,
        size: None,
        colour: None,
        fade: None,
    };
    let mut cases = vec![
        same(trim(Some(ClipRef::Index(3)), Some(2.0), None)),
        same(trim(Some(first()), None, Some(3.0))),
        same(trim(Some(name("talk.mp4")), Some(1.5), None)),
        same(trim(None, Some(2.0), None)),
        (
            trim(Some(ClipRef::Index(2)), Some(1.0), Some(0.5)),
            vec![
                trim(Some(ClipRef::Index(2)), Some(1.0), None),
                trim(Some(ClipRef::Index(2)), None, Some(0.5)),
            ],
        ),
        same(keep(None, Some(5.0), 12.0)),
        same(keep(Some(ClipRef::Index(2)), Some(1.0), 4.0)),
        same(keep(Some(last()), Some(0.5), 1.5)),
        same(EditOp::Keep {
            clip: None,
            start_s: None,
            end_s: None,
            last_s: Some(3.0),
        }),
        same(mv(ClipRef::Index(3), first())),
        same(mv(name("intro.mp4"), last())),
        same(mv(first(), ClipRef::Index(2))),
        same(EditOp::Move {
            clip: ClipRef::Index(3),
            to: None,
            before: Some(ClipRef::Index(2)),
            after: None,
        }),
        same(EditOp::Move {
            clip: first(),
            to: None,
            before: None,
            after: Some(name("talk.mp4")),
        }),
        same(EditOp::Swap {
            clip: first(),
            with: last(),
        }),
        same(EditOp::Swap {
            clip: ClipRef::Index(1),
            with: ClipRef::Index(2),
        }),
        same(EditOp::Remove {
            clip: ClipRef::Index(2),
        }),
        same(EditOp::Remove { clip: last() }),
        same(EditOp::Remove {
            clip: name("talk.mp4"),
        }),
        same(title(None, Some(3.0), None)),
        same(title(Some(1.0), Some(4.0), None)),
        same(title(None, None, Some(2.0))),
        same(EditOp::Title {
            text: "Urban Dreams".into(),
            start_s: Some(1.0),
            end_s: Some(4.5),
            last_s: None,
            position: Some(TitlePosition::Bottom),
            size: Some(TitleSize::Large),
            colour: Some("yellow".into()),
            fade: Some(true),
        }),
        same(EditOp::Title {
            text: "城市之梦".into(),
            start_s: None,
            end_s: Some(2.0),
            last_s: None,
            position: Some(TitlePosition::Center),
            size: Some(TitleSize::Small),
            colour: Some("#FF8800".into()),
            fade: Some(false),
        }),
        same(EditOp::RemoveTitles {}),
        same(music(Some("lofi.mp3"), Some(35.0))),
        same(EditOp::Music {
            media: Some("lofi.mp3".into()),
            volume: Some(40.0),
            fade_in_s: Some(1.0),
            fade_out_s: Some(2.5),
            ducking: Some(true),
            looped: Some(false),
            start_s: Some(2.0),
            end_s: Some(5.0),
        }),
        same(EditOp::Music {
            media: None,
            volume: None,
            fade_in_s: None,
            fade_out_s: None,
            ducking: None,
            looped: None,
            start_s: Some(1.5),
            end_s: Some(4.0),
        }),
        same(EditOp::Music {
            media: Some("lofi.mp3".into()),
            volume: None,
            fade_in_s: None,
            fade_out_s: None,
            ducking: None,
            looped: None,
            start_s: Some(3.0),
            end_s: None,
        }),
        same(music(None, Some(20.0))),
        same(EditOp::RemoveMusic {}),
        // The percent form of the volume is the music's volume setting.
        (
            EditOp::Volume {
                percent: Some(50.0),
                scale: None,
            },
            vec![music(None, Some(50.0))],
        ),
        same(EditOp::Volume {
            percent: None,
            scale: Some(0.6),
        }),
        same(EditOp::Volume {
            percent: None,
            scale: Some(1.5),
        }),
        same(EditOp::Volume {
            percent: None,
            scale: Some(0.8),
        }),
        same(EditOp::Backdrop {
            backdrop: "blur".into(),
            clip: None,
        }),
        // The parser drops a trailing "backdrop"/"background": the same words for the
        // backdrop resolver.
        (
            EditOp::Backdrop {
                backdrop: "clean studio backdrop".into(),
                clip: Some(ClipRef::Index(2)),
            },
            vec![EditOp::Backdrop {
                backdrop: "clean studio".into(),
                clip: Some(ClipRef::Index(2)),
            }],
        ),
        same(EditOp::Backdrop {
            backdrop: "gradient navy to teal".into(),
            clip: None,
        }),
        same(EditOp::Backdrop {
            backdrop: "beach.png".into(),
            clip: Some(last()),
        }),
        same(EditOp::Undo { steps: None }),
        same(EditOp::Undo { steps: Some(2) }),
        same(EditOp::Redo { steps: None }),
        same(EditOp::Redo { steps: Some(3) }),
    ];
    for ratio in AspectRatio::ALL {
        cases.push(same(EditOp::AspectRatio { ratio }));
    }
    cases
}

/// The cloud path says each operation as a sentence (`api::edit_sentence`); the local agent must
/// read every such sentence back as the same operation(s), so both paths say the same.
#[test]
fn every_cloud_sentence_reads_back_as_its_operation() {
    let names = names();
    let cases = round_trip_cases();
    let mut failures = Vec::new();
    for (op, want) in &cases {
        let said = crate::api::edit_sentence::sentence(op);
        let got = understand_with(&names, &said);
        let same = match &got {
            Ok(ops) => {
                ops.len() == want.len()
                    && ops
                        .iter()
                        .zip(want)
                        .all(|(a, b)| positions(a) == positions(b))
            }
            Err(_) => false,
        };
        if !same {
            failures.push(format!("{op:?}\n  said {said:?}\n  read {got:?}"));
        }
    }
    println!(
        "round trip: {}/{} operations",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} sentences read back differently:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
