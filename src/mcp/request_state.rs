//! The `requestState` of this server's 2026-07-28 multi round-trip answers (the consent form
//! and the top-up page, see `consent`): sealed so that a retry is believed only when it brings
//! back a state this process gave out, for the same tool and the same arguments, once, within
//! `TTL`.
//!
//! Why: the state decides whether an answer in `inputResponses` counts, i.e. whether credits
//! are spent and files leave the machine. SEP-2322 (rmcp 3.11 `model::request_state`): "a
//! server that lets `requestState` influence authorization … MUST protect its integrity and
//! reject values that fail verification"; single use "still has to be done server-side". So:
//! - integrity: rmcp's `RequestStateCodec` (HMAC-SHA256, feature `request-state`) with a key of
//!   32 random bytes made when the process starts and never written anywhere — a state from
//!   another server process (an earlier run) does not verify;
//! - binding: the tool name and its arguments (canonical JSON) are the codec's associated
//!   data, and the payload names what was asked (`asked`), so a state is good for exactly the
//!   call it was given for;
//! - expiry: `TTL` from when it was given, as a monotonic deadline kept with the nonce and
//!   checked against an injectable clock (the codec's own TTL reads the system clock only); the
//!   payload's wall-clock expiry is information only, so a wall clock stepped back never
//!   lengthens a state's life;
//! - single use: the payload's random nonce must be among the live ones (given out, not yet
//!   brought back, not expired); opening a state takes its nonce out, so a replay finds none.
//!   The live set holds at most `MAX_LIVE`; past that the oldest is dropped, which only makes
//!   its state ask again — never lets one through.
//!
//! What the server needs back on the retry but the client must not choose (the answer a
//! top-up offer was made for) is kept with the nonce, not in the state: the state names no
//! job and carries nothing but the nonce, the expiry, what kind of question it is and a digest
//! of it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rmcp::model::{CallToolResult, JsonObject, RequestStateCodec, SealOptions};
use serde::{Deserialize, Serialize};

/// How long a state given out can be brought back: 5 minutes. The retry follows a person
/// reading one short form (or opening a page) at the host, which takes seconds to a minute or
/// two; a state found later (in a log, a transcript) is dead by then. A slow answer costs
/// nothing but being asked again.
pub const TTL: Duration = Duration::from_secs(5 * 60);

/// At most this many states are live (given out, not yet answered, not expired) at once. One
/// user's host has one or two questions open; the bound keeps a client that never answers from
/// growing the set (each entry may hold a tool result, see `held`).
const MAX_LIVE: usize = 256;

/// What the question of a state was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// The consent form before credits are spent or files leave (`consent::ask`).
    Consent,
    /// The registration / top-up page after code 2001 (`consent::offer_top_up`).
    TopUp,
}

/// The sealed payload (readable by the client, as the codec says: nothing secret in it).
#[derive(Serialize, Deserialize)]
struct Payload {
    /// The kind of question.
    k: Kind,
    /// A digest of what was asked (consent: the spend and the files), empty for the top-up.
    a: String,
    /// The nonce: 16 random bytes, hex.
    n: String,
    /// When it expires, Unix milliseconds by the wall clock: information for the reader;
    /// the server decides on its monotonic deadline (`Live::deadline`).
    e: i64,
}

/// A state given out and not yet brought back.
struct Live {
    nonce: String,
    /// When it expires on the monotonic clock (`Now::mono`).
    deadline: Duration,
    held: Option<CallToolResult>,
}

/// A reading of the clock: the wall clock (Unix milliseconds; stamped in the payload, for
/// information) and the monotonic clock (time since the process's first reading; the only
/// one expiry is decided on, as it never steps back).
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub wall_ms: i64,
    pub mono: Duration,
}

/// A state brought back and accepted (its nonce is now spent).
#[derive(Debug, Clone)]
pub struct Opened {
    pub kind: Kind,
    /// The digest of what was asked, as given to `seal`.
    pub asked: String,
    /// What `seal` was given to keep for the retry (the top-up offer's tool result).
    pub held: Option<CallToolResult>,
}

/// Why a state brought back was not accepted. Told apart in the server's log only: the client
/// gets one message for all (`refusal_text`), as rmcp asks ("map all token-opening failures to
/// a single client-facing error").
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Not sealed by this process for this tool and these arguments: forged, altered, made
    /// by another server process, or brought back with other arguments.
    #[error(
        "it does not verify ({0}): altered, forged, for other arguments, or from another server process"
    )]
    Unverified(#[from] rmcp::model::RequestStateError),
    /// Sealed here, but `TTL` has passed.
    #[error("it expired {0} ms ago")]
    Expired(i64),
    /// Sealed here and in time, but already brought back once (or dropped from the live set).
    #[error("it was already answered")]
    Spent,
}

/// The text of the tool error a refused state gets: what happened and what to do.
pub fn refusal_text(tool: &str) -> String {
    format!(
        "Not done: the requestState sent with this {tool} call cannot be used — states are good once, for the call they were given for, for {} minutes, and only with the server process that gave them (this one was altered, made for other arguments, already answered, expired, or given by an earlier run of the server). Nothing was sent to NemoVideo, nothing was uploaded and no credits were spent. Call {tool} again without requestState and inputResponses, and the user will be asked afresh.",
        TTL.as_secs() / 60
    )
}

/// The per-process key, the live nonces and the clock.
pub struct States {
    codec: RequestStateCodec,
    live: Mutex<VecDeque<Live>>,
    now: Box<dyn Fn() -> Now + Send + Sync>,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States").finish_non_exhaustive()
    }
}

impl Default for States {
    fn default() -> Self {
        States::new()
    }
}

impl States {
    /// A new random key (32 bytes from the thread's CSPRNG, seeded by the OS) and the system
    /// clocks (`SystemTime` for the wall, `Instant` for the monotonic one).
    pub fn new() -> States {
        let start = std::time::Instant::now();
        States::with_clock(Box::new(move || Now {
            wall_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            mono: start.elapsed(),
        }))
    }

    /// As `new`, with `now` as the clock: tests move time (either clock) without sleeping.
    fn with_clock(now: Box<dyn Fn() -> Now + Send + Sync>) -> States {
        let key: [u8; 32] = rand::random();
        States {
            codec: RequestStateCodec::try_new(key.to_vec())
                .expect("32 bytes is RequestStateCodec::MIN_KEY_LENGTH"),
            live: Mutex::default(),
            now,
        }
    }

    /// A state for asking `kind` (`asked`: a digest of the question) in a `tool` call with
    /// `args`; `held` is given back with it on the retry.
    pub fn seal(
        &self,
        kind: Kind,
        tool: &str,
        args: Option<&JsonObject>,
        asked: &str,
        held: Option<CallToolResult>,
    ) -> String {
        let now = (self.now)();
        let expires = now.wall_ms.saturating_add(TTL.as_millis() as i64);
        let deadline = now.mono.saturating_add(TTL);
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let payload = Payload {
            k: kind,
            a: asked.to_string(),
            n: nonce.clone(),
            e: expires,
        };
        let bound = bound(tool, args);
        let sealed = self
            .codec
            .seal_json_with(&payload, &SealOptions::new().associated_data(&bound))
            .expect("the payload is plain JSON");
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|l| l.deadline >= now.mono);
        while live.len() >= MAX_LIVE {
            live.pop_front();
        }
        live.push_back(Live {
            nonce,
            deadline,
            held,
        });
        sealed
    }

    /// The state `sealed` brought back with a `tool` call with `args`: accepted once, if this
    /// process sealed it for that call and it has not expired. Its nonce is spent either way
    /// once it verified.
    pub fn open(
        &self,
        sealed: &str,
        tool: &str,
        args: Option<&JsonObject>,
    ) -> Result<Opened, Refused> {
        let payload: Payload = self.codec.open_json_with(sealed, &bound(tool, args))?;
        let now = (self.now)();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let found = live
            .iter()
            .position(|l| l.nonce == payload.n)
            .and_then(|i| live.remove(i));
        live.retain(|l| l.deadline >= now.mono);
        let Some(live) = found else {
            // Gone: answered, or dropped (expired, or pushed out). The wall clock only tells
            // the log which, likely.
            return Err(match now.wall_ms - payload.e {
                late if late > 0 => Refused::Expired(late),
                _ => Refused::Spent,
            });
        };
        if now.mono > live.deadline {
            return Err(Refused::Expired(
                (now.mono - live.deadline).as_millis() as i64
            ));
        }
        Ok(Opened {
            kind: payload.k,
            asked: payload.a,
            held: live.held,
        })
    }

    #[cfg(test)]
    fn live(&self) -> usize {
        self.live.lock().unwrap().len()
    }
}

/// The associated data of a state: the method, the tool and its arguments as canonical JSON
/// (object keys sorted at every level), so that the same arguments in another key order still
/// match and any other argument does not.
fn bound(tool: &str, args: Option<&JsonObject>) -> Vec<u8> {
    let args = args
        .map(|a| canonical(&serde_json::Value::Object(a.clone())))
        .unwrap_or(serde_json::Value::Null);
    let mut out = b"ebc/tools/call\0".to_vec();
    out.extend_from_slice(tool.as_bytes());
    out.push(0);
    out.extend_from_slice(args.to_string().as_bytes());
    out
}

fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: std::collections::BTreeMap<&String, serde_json::Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    fn args(v: serde_json::Value) -> JsonObject {
        v.as_object().cloned().unwrap()
    }

    /// Clocks the test moves: the wall clock (Unix ms) and the monotonic one (ms).
    fn clocked2() -> (States, Arc<AtomicI64>, Arc<AtomicI64>) {
        let wall = Arc::new(AtomicI64::new(1_800_000_000_000));
        let mono = Arc::new(AtomicI64::new(5_000));
        let (w, m) = (wall.clone(), mono.clone());
        let s = States::with_clock(Box::new(move || Now {
            wall_ms: w.load(Ordering::SeqCst),
            mono: Duration::from_millis(m.load(Ordering::SeqCst) as u64),
        }));
        (s, wall, mono)
    }

    /// Both clocks moved together by the returned handle's `fetch_add`.
    fn clocked() -> (States, Both) {
        let (s, wall, mono) = clocked2();
        (s, Both(wall, mono))
    }

    struct Both(Arc<AtomicI64>, Arc<AtomicI64>);

    impl Both {
        fn fetch_add(&self, ms: i64, o: Ordering) {
            self.0.fetch_add(ms, o);
            self.1.fetch_add(ms, o);
        }
    }

    #[test]
    fn a_state_opens_once_for_its_own_call() {
        let (s, _) = clocked();
        let a = args(serde_json::json!({"backdrop": "blur", "x": {"b": 1, "a": 2}}));
        let state = s.seal(Kind::Consent, "replace_background", Some(&a), "d1", None);
        // Other arguments, another tool: refused, and the nonce stays live for its own call.
        let other = args(serde_json::json!({"backdrop": "gradient"}));
        assert!(matches!(
            s.open(&state, "replace_background", Some(&other)),
            Err(Refused::Unverified(_))
        ));
        assert!(matches!(
            s.open(&state, "export_video", Some(&a)),
            Err(Refused::Unverified(_))
        ));
        // The same arguments in another key order are the same call.
        let reordered = args(serde_json::json!({"x": {"a": 2, "b": 1}, "backdrop": "blur"}));
        let opened = s
            .open(&state, "replace_background", Some(&reordered))
            .expect("its own call");
        assert_eq!((opened.kind, opened.asked.as_str()), (Kind::Consent, "d1"));
        assert!(matches!(
            s.open(&state, "replace_background", Some(&a)),
            Err(Refused::Spent)
        ));
        assert_eq!(s.live(), 0);
    }

    #[test]
    fn an_altered_or_foreign_state_is_refused() {
        let (s, _) = clocked();
        let a = args(serde_json::json!({}));
        let state = s.seal(Kind::TopUp, "export_video", Some(&a), "", None);
        // Each character of the state changed in turn: never accepted.
        for i in 0..state.len() {
            let mut bytes = state.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(
                s.open(&altered, "export_video", Some(&a)).is_err(),
                "altered at {i}: {altered}"
            );
        }
        // Sealed by another process (another key): refused.
        let (other, _) = clocked();
        let foreign = other.seal(Kind::TopUp, "export_video", Some(&a), "", None);
        assert!(matches!(
            s.open(&foreign, "export_video", Some(&a)),
            Err(Refused::Unverified(_))
        ));
        // The old unkeyed form: refused.
        assert!(
            s.open("ebc-top-up-v1:job_1", "export_video", Some(&a))
                .is_err()
        );
        // The genuine one still opens.
        assert!(s.open(&state, "export_video", Some(&a)).is_ok());
    }

    #[test]
    fn an_expired_state_is_refused() {
        let (s, t) = clocked();
        let a = args(serde_json::json!({"backdrop": "blur"}));
        let ttl = TTL.as_millis() as i64;
        let late = s.seal(Kind::Consent, "replace_background", Some(&a), "d", None);
        let in_time = s.seal(Kind::Consent, "replace_background", Some(&a), "d", None);
        t.fetch_add(ttl, Ordering::SeqCst);
        assert!(
            s.open(&in_time, "replace_background", Some(&a)).is_ok(),
            "at exactly TTL it still opens"
        );
        t.fetch_add(1, Ordering::SeqCst);
        assert!(matches!(
            s.open(&late, "replace_background", Some(&a)),
            Err(Refused::Expired(1))
        ));
        assert_eq!(s.live(), 0, "expired states are dropped from the live set");
    }

    #[test]
    fn the_live_set_is_bounded_and_dropping_refuses() {
        let (s, _) = clocked();
        let a = args(serde_json::json!({}));
        let first = s.seal(Kind::Consent, "t", Some(&a), "", None);
        let rest: Vec<String> = (0..MAX_LIVE)
            .map(|_| s.seal(Kind::Consent, "t", Some(&a), "", None))
            .collect();
        assert_eq!(s.live(), MAX_LIVE);
        assert!(
            matches!(s.open(&first, "t", Some(&a)), Err(Refused::Spent)),
            "the oldest was dropped: asked again, never let through"
        );
        assert!(s.open(&rest[0], "t", Some(&a)).is_ok());
    }

    #[test]
    fn what_is_held_comes_back_with_the_state() {
        let (s, _) = clocked();
        let held = CallToolResult::error(vec![rmcp::model::ContentBlock::text("out of credits")]);
        let state = s.seal(Kind::TopUp, "export_video", None, "", Some(held));
        let opened = s.open(&state, "export_video", None).unwrap();
        assert_eq!(opened.kind, Kind::TopUp);
        assert!(opened.held.is_some_and(|r| r.is_error == Some(true)));
        assert!(!state.contains("job_"), "the state names no job: {state}");
    }

    /// Review fix 4 (round 9): expiry is decided on the monotonic clock. A wall clock stepped
    /// back does not lengthen a state's life, and one stepped ahead does not end it early.
    #[test]
    fn expiry_follows_the_monotonic_clock_not_the_wall_clock() {
        let (s, wall, mono) = clocked2();
        let a = args(serde_json::json!({"backdrop": "blur"}));
        let ttl = TTL.as_millis() as i64;
        let stale = s.seal(Kind::Consent, "replace_background", Some(&a), "d", None);
        // An hour back on the wall clock while TTL + 1 ms pass: expired all the same.
        wall.fetch_sub(3_600_000, Ordering::SeqCst);
        mono.fetch_add(ttl + 1, Ordering::SeqCst);
        assert!(
            matches!(
                s.open(&stale, "replace_background", Some(&a)),
                Err(Refused::Expired(1))
            ),
            "a wall clock stepped back must not keep a state alive"
        );
        // A day ahead on the wall clock while one second passes: still good.
        let fresh = s.seal(Kind::Consent, "replace_background", Some(&a), "d", None);
        wall.fetch_add(86_400_000, Ordering::SeqCst);
        mono.fetch_add(1_000, Ordering::SeqCst);
        assert!(
            s.open(&fresh, "replace_background", Some(&a)).is_ok(),
            "a wall clock stepped ahead must not end a state early"
        );
    }
}
