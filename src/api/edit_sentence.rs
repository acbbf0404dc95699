//! Typed edit operations as plain instruction sentences, one per operation: what an agent
//! that reads only text (the cloud's) is sent. The embedded backend gets the same sentences
//! with the operations themselves attached (`api::RunSseRequest::with_operations`), and its
//! free-text parser reads every one of these sentences back into the same operation(s)
//! (`backend::services::agent::table`'s round-trip test), so both paths say the same thing.
//! Here in `api` because both sides use it: the client sends the sentences, the backend's
//! test reads them back.

use super::edit_op::{ClipRef, EditOp};

fn secs(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// "0:05" for 5 s, "1:02.5" for 62.5 s.
fn clock(v: f64) -> String {
    let m = (v / 60.0).floor();
    let s = v - m * 60.0;
    if s.fract() == 0.0 {
        format!("{m:.0}:{s:02.0}")
    } else {
        format!("{m:.0}:{s:04.1}")
    }
}

fn clip(c: &ClipRef) -> String {
    c.to_string()
}

/// One sentence for `op`.
pub fn sentence(op: &EditOp) -> String {
    match op {
        EditOp::Trim {
            clip: c,
            remove_first_s,
            remove_last_s,
        } => {
            let of = c
                .as_ref()
                .map(|c| format!(" of {}", clip(c)))
                .unwrap_or_default();
            match (remove_first_s, remove_last_s) {
                (Some(a), Some(b)) => format!(
                    "Cut the first {} seconds{of}, then cut the last {} seconds{of}.",
                    secs(*a),
                    secs(*b)
                ),
                (Some(a), None) => format!("Cut the first {} seconds{of}.", secs(*a)),
                (None, Some(b)) => format!("Cut the last {} seconds{of}.", secs(*b)),
                (None, None) => String::new(),
            }
        }
        EditOp::Keep {
            clip: c,
            start_s,
            end_s,
            last_s,
        } => {
            let of = c
                .as_ref()
                .map(|c| format!(" of {}", clip(c)))
                .unwrap_or_default();
            match (last_s, end_s) {
                (Some(l), _) => format!("Keep only the last {} seconds{of}.", secs(*l)),
                (None, Some(e)) => format!(
                    "Keep only {} to {}{of}.",
                    clock(start_s.unwrap_or(0.0)),
                    clock(*e)
                ),
                (None, None) => String::new(),
            }
        }
        EditOp::Move {
            clip: c,
            to,
            before,
            after,
        } => match (to, before, after) {
            (Some(ClipRef::Name(n)), _, _) if n == "first" => {
                format!("Move {} to the beginning.", clip(c))
            }
            (Some(ClipRef::Name(n)), _, _) if n == "last" => {
                format!("Move {} to the end.", clip(c))
            }
            (Some(ClipRef::Index(n)), _, _) => format!("Move {} to position {n}.", clip(c)),
            (Some(other), _, _) => format!("Move {} to where {} is.", clip(c), clip(other)),
            (None, Some(b), _) => format!("Move {} before {}.", clip(c), clip(b)),
            (None, None, Some(a)) => format!("Move {} after {}.", clip(c), clip(a)),
            (None, None, None) => String::new(),
        },
        EditOp::Swap { clip: a, with } => format!("Swap {} and {}.", clip(a), clip(with)),
        EditOp::Remove { clip: c } => format!("Remove {} from the timeline.", clip(c)),
        EditOp::Title {
            text,
            start_s,
            end_s,
            last_s,
            position,
            size,
            colour,
            fade,
        } => {
            let mut s = format!("Add the title \"{text}\"");
            match (last_s, start_s, end_s) {
                (Some(l), _, _) => s.push_str(&format!(" for the last {} seconds", secs(*l))),
                (None, a, Some(b)) => s.push_str(&format!(
                    " from {} to {}",
                    clock(a.unwrap_or(0.0)),
                    clock(*b)
                )),
                (None, Some(a), None) => s.push_str(&format!(" from {}", clock(*a))),
                (None, None, None) => {}
            }
            if let Some(p) = position {
                s.push_str(&format!(" at the {}", p.as_str()));
            }
            if let Some(z) = size {
                s.push_str(&format!(", {} text", z.as_str()));
            }
            if let Some(c) = colour {
                s.push_str(&format!(", colour {c}"));
            }
            match fade {
                Some(true) => s.push_str(", with a fade"),
                Some(false) => s.push_str(", no fade"),
                None => {}
            }
            s.push('.');
            s
        }
        EditOp::RemoveTitles {} => "Remove the titles.".into(),
        EditOp::Music {
            media,
            volume,
            fade_in_s,
            fade_out_s,
            ducking,
            looped,
            start_s,
            end_s,
        } => {
            let mut s = match media {
                Some(m) => format!("Add {m} as the background music"),
                None => "Change the music".into(),
            };
            // The range in clock times, which the free-text agent reads back exactly.
            match (start_s, end_s) {
                (a, Some(b)) => s.push_str(&format!(
                    " from {} to {}",
                    clock(a.unwrap_or(0.0)),
                    clock(*b)
                )),
                (Some(a), None) => s.push_str(&format!(" from {} to the end", clock(*a))),
                (None, None) => {}
            }
            if let Some(v) = volume {
                s.push_str(&format!(" at {}%", secs(*v)));
            }
            if let Some(f) = fade_in_s {
                s.push_str(&format!(", fade in {} seconds", secs(*f)));
            }
            if let Some(f) = fade_out_s {
                s.push_str(&format!(", fade out {} seconds", secs(*f)));
            }
            match ducking {
                Some(true) => s.push_str(", ducked when someone speaks"),
                Some(false) => s.push_str(", don't duck"),
                None => {}
            }
            match looped {
                Some(true) => s.push_str(", looped"),
                Some(false) => s.push_str(", don't loop"),
                None => {}
            }
            s.push('.');
            s
        }
        EditOp::RemoveMusic {} => "Remove the music.".into(),
        EditOp::Volume { percent, scale } => match (percent, scale) {
            (Some(p), _) => format!("Set the music volume to {}%.", secs(*p)),
            (None, Some(k)) if *k < 1.0 => {
                format!("Make the music quieter: {} times its volume.", secs(*k))
            }
            (None, Some(k)) => format!("Make the music louder: {} times its volume.", secs(*k)),
            (None, None) => String::new(),
        },
        EditOp::AspectRatio { ratio } => format!("Make it {}.", ratio.as_str()),
        EditOp::Backdrop { backdrop, clip: c } => match c {
            Some(c) => format!("Replace the background of {} with {backdrop}.", clip(c)),
            None => format!("Replace the background with {backdrop}."),
        },
        EditOp::Undo { steps } => match steps {
            Some(n) if *n > 1 => format!("Undo the last {n} edits."),
            _ => "Undo the last edit.".into(),
        },
        EditOp::Redo { steps } => match steps {
            Some(n) if *n > 1 => format!("Redo {n} edits."),
            _ => "Redo.".into(),
        },
    }
}

/// The whole message: one sentence per operation, one per line.
pub fn message(ops: &[EditOp]) -> String {
    ops.iter().map(sentence).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AspectRatio, TitlePosition};

    #[test]
    fn sentences_say_each_operation() {
        let ops = vec![
            EditOp::Trim {
                clip: Some(ClipRef::Index(3)),
                remove_first_s: Some(2.0),
                remove_last_s: None,
            },
            EditOp::Title {
                text: "Hi".into(),
                start_s: None,
                end_s: Some(3.0),
                last_s: None,
                position: Some(TitlePosition::Top),
                size: None,
                colour: None,
                fade: None,
            },
            EditOp::AspectRatio {
                ratio: AspectRatio::Portrait,
            },
        ];
        assert_eq!(
            message(&ops),
            "Cut the first 2 seconds of clip 3.\nAdd the title \"Hi\" from 0:00 to 0:03 at the top.\nMake it 9:16."
        );
        assert_eq!(clock(62.5), "1:02.5");
    }
}
