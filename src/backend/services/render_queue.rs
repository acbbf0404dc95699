//! The render queue: jobs run on a bounded pool of workers; each runs `engine::replace` (one
//! clip) or `engine::render_timeline` (a record with a draft: see `timeline`) on a blocking
//! thread, reports progress through the engine's progress reporter (whose `false`
//! stops it on cancel or shutdown), and ends `completed` (credits charged) or
//! `failed`/`cancelled` (credits released, partial output removed). No HTTP here: the render
//! routes create the record and hand its id to `start`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore};
use tokio_util::task::TaskTracker;

use super::backdrop::{self, BackdropError};
#[cfg(feature = "faults")]
use super::faults::FaultBox;
use crate::api::RenderState;
use crate::backend::store::{RenderRecord, Store};
use crate::engine::matte::{MatteMode, MatteOptions};
use crate::engine::{self, Progress, ProgressReporter, Quality, ReplaceOptions};

/// Live control of one queued or running job.
#[derive(Default)]
pub struct JobCtl {
    cancel: AtomicBool,
    /// Wakes a job still waiting for a worker.
    cancelled: Notify,
    /// Percent × 100, as integer bits for lock-free updates from the render thread.
    progress: AtomicU64,
}

impl JobCtl {
    fn progress(&self) -> f64 {
        self.progress.load(Ordering::Relaxed) as f64 / 100.0
    }
}

pub struct RenderQueue {
    store: Store,
    /// The folders a draft's backdrop path may name (`--url-root`).
    url_roots: Vec<PathBuf>,
    workers: Arc<Semaphore>,
    jobs: Mutex<HashMap<String, Arc<JobCtl>>>,
    tracker: TaskTracker,
    shutting_down: AtomicBool,
    #[cfg(feature = "faults")]
    faults: Arc<FaultBox>,
}

impl RenderQueue {
    /// A queue running at most `workers` renders at once on the records of `store`.
    pub fn new(
        workers: usize,
        store: Store,
        url_roots: Vec<PathBuf>,
        #[cfg(feature = "faults")] faults: Arc<FaultBox>,
    ) -> Self {
        RenderQueue {
            store,
            url_roots,
            workers: Arc::new(Semaphore::new(workers.max(1))),
            jobs: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
            #[cfg(feature = "faults")]
            faults,
        }
    }

    /// Queue the stored render `id` (status `pending`, credits frozen).
    pub fn start(self: &Arc<Self>, id: String, q: Quality) {
        let ctl = Arc::new(JobCtl::default());
        self.jobs().insert(id.clone(), ctl.clone());
        self.tracker.spawn(run_job(self.clone(), id, q, ctl));
    }

    /// Live progress (0–100) of a queued or running render.
    pub fn progress(&self, id: &str) -> Option<f64> {
        self.job(id).map(|ctl| ctl.progress())
    }

    /// Stop a queued or running render; it ends `cancelled`. False when it is not live.
    pub fn cancel(&self, id: &str) -> bool {
        let Some(ctl) = self.job(id) else {
            return false;
        };
        ctl.cancel.store(true, Ordering::SeqCst);
        ctl.cancelled.notify_one();
        #[cfg(feature = "faults")]
        self.faults.wake();
        true
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<JobCtl>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn job(&self, id: &str) -> Option<Arc<JobCtl>> {
        self.jobs().get(id).cloned()
    }

    /// Stop every job as a killed process would: engines are stopped, records are left as
    /// they are (the next start reports them failed). Waits for the job tasks to end.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for ctl in self.jobs().values() {
            ctl.cancel.store(true, Ordering::SeqCst);
            ctl.cancelled.notify_one();
        }
        #[cfg(feature = "faults")]
        self.faults.wake();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Reports progress into the job's control block; stops the engine once the job is
/// cancelled (and, in test builds, holds while the `hold_renders` fault says so).
struct JobReporter {
    ctl: Arc<JobCtl>,
    #[cfg(feature = "faults")]
    faults: Arc<FaultBox>,
}

impl ProgressReporter for JobReporter {
    fn update(&mut self, p: &Progress) -> bool {
        // Never 100 before the output is in place.
        let pct = p.percent().min(99.0);
        self.ctl
            .progress
            .store((pct * 100.0) as u64, Ordering::Relaxed);
        #[cfg(feature = "faults")]
        if !self.faults.wait_while_held(&self.ctl.cancel) {
            return false;
        }
        !self.ctl.cancel.load(Ordering::SeqCst)
    }

    fn warn(&mut self, message: &str) {
        tracing::warn!("render: {message}");
    }
}

async fn run_job(queue: Arc<RenderQueue>, id: String, q: Quality, ctl: Arc<JobCtl>) {
    let permit = tokio::select! {
        p = queue.workers.clone().acquire_owned() => p.ok(),
        _ = ctl.cancelled.notified() => None,
    };
    let outcome = match permit {
        Some(_permit) if !ctl.cancel.load(Ordering::SeqCst) => {
            let rid = id.clone();
            let started = queue.store.run(move |db| db.mark_processing(&rid)).await;
            match started {
                Ok(true) => execute(&queue, &id, q, ctl.clone()).await,
                Ok(false) => Err("cancelled".to_string()),
                Err(e) => Err(format!("could not save the render's state: {e}")),
            }
        }
        _ => Err("cancelled".to_string()),
    };
    if queue.shutting_down.load(Ordering::SeqCst) {
        // As if the process had been killed: the next start reports it interrupted.
        queue.jobs().remove(&id);
        return;
    }
    finish(&queue.store, &id, &ctl, outcome).await;
    queue.jobs().remove(&id);
}

/// What a job renders, read from the store in one transaction.
enum Work {
    /// A whole draft (several clips, trims, titles, music, another canvas shape).
    Timeline(engine::timeline::TimelineOptions),
    /// One clip's background swap.
    Clip {
        /// Boxed: a record is much larger than the timeline's options.
        rec: Box<RenderRecord>,
        input: PathBuf,
        bg_input: BgInput,
        output: PathBuf,
    },
}

/// A clip render's backdrop: an upload in the store, or the record's text (words or a
/// path-like string for the gate, with the roots it is checked against).
enum BgInput {
    Stored(PathBuf),
    Given(String, Vec<PathBuf>),
}

/// Run the engine for record `id` on a blocking thread.
async fn execute(
    queue: &RenderQueue,
    id: &str,
    q: Quality,
    ctl: Arc<JobCtl>,
) -> Result<(), String> {
    let (roots, rid) = (queue.url_roots.clone(), id.to_string());
    let work = queue
        .store
        .run(move |db| {
            let lookup = || -> Result<Work, String> {
                let rec = db
                    .render(&rid)
                    .map_err(|e| e.to_string())?
                    .ok_or("the render record disappeared")?;
                if let Some(draft) = &rec.draft {
                    let out = db.render_output(&rec);
                    return super::timeline::build(
                        db,
                        &rec.user_id,
                        &roots,
                        draft,
                        out,
                        q,
                        rec.max_long_side,
                    )
                    .map(|(mut opts, _)| {
                        opts.matte = MatteOptions::for_mode(matte_mode(&rec));
                        Work::Timeline(opts)
                    })
                    .map_err(|e| e.to_string());
                }
                let media = db
                    .media(&rec.media_id)
                    .map_err(|e| e.to_string())?
                    .ok_or("the clip was removed from the store")?;
                let bg_input = match &rec.bg_media {
                    Some(mid) => {
                        let m = db
                            .media(mid)
                            .map_err(|e| e.to_string())?
                            .ok_or("the backdrop file was removed from the store")?;
                        BgInput::Stored(db.media_file(&m))
                    }
                    None => BgInput::Given(rec.bg.clone(), roots.clone()),
                };
                let input = db.media_file(&media);
                let output = db.render_output(&rec);
                Ok(Work::Clip {
                    rec: Box::new(rec),
                    input,
                    bg_input,
                    output,
                })
            };
            Ok(lookup())
        })
        .await
        .map_err(|e| e.to_string())??;
    run_blocking(queue, ctl, move |reporter| match work {
        Work::Timeline(opts) => engine::render_timeline(&opts, reporter).map(|_| ()),
        Work::Clip {
            rec,
            input,
            bg_input,
            output,
        } => {
            // Checked again at run time: the gate's answer may have changed since submit.
            let backdrop = match &bg_input {
                BgInput::Stored(file) => backdrop::stored(file),
                BgInput::Given(text, roots) => backdrop::given(roots, text),
            }
            .map_err(|e| match e {
                BackdropError::Engine(e) => e,
                BackdropError::Path(refused) => engine::Error::Backdrop {
                    spec: refused.given.clone(),
                    message: refused.to_string(),
                },
            })?;
            let mut opts = ReplaceOptions::new(input, output, backdrop);
            opts.quality = q;
            opts.max_long_side = rec.max_long_side;
            opts.matte = MatteOptions::for_mode(matte_mode(&rec));
            engine::replace(&opts, reporter).map(|_| ())
        }
    })
    .await
}

/// The matte a render record asks for (`output.matte`); the engine's default when it names
/// none. One rule for clips and timelines, so both exports cut the same way; the options
/// come from [`MatteOptions::for_mode`], so `balanced` brings its keyframe settings.
fn matte_mode(rec: &RenderRecord) -> MatteMode {
    MatteMode::parse(&rec.matte).unwrap_or_default()
}

/// Run `work` on a blocking thread with the job's progress reporter (after the test-only
/// faults had their say); a cancelled job is the error "cancelled".
async fn run_blocking(
    queue: &RenderQueue,
    ctl: Arc<JobCtl>,
    work: impl FnOnce(&mut JobReporter) -> engine::Result<()> + Send + 'static,
) -> Result<(), String> {
    #[cfg(feature = "faults")]
    let faults = queue.faults.clone();
    #[cfg(not(feature = "faults"))]
    let _ = queue;
    let joined = tokio::task::spawn_blocking(move || -> Result<(), String> {
        #[cfg(feature = "faults")]
        {
            if !faults.wait_while_held(&ctl.cancel) {
                return Err("cancelled".into());
            }
            if let Some(msg) = faults.take_render_failure() {
                return Err(msg);
            }
        }
        let mut reporter = JobReporter {
            ctl,
            #[cfg(feature = "faults")]
            faults,
        };
        work(&mut reporter).map_err(|e| match e {
            engine::Error::Cancelled => "cancelled".to_string(),
            other => other.to_string(),
        })
    })
    .await;
    joined.unwrap_or_else(|e| Err(format!("the render thread failed: {e}")))
}

/// Write the final state and settle the credits (one transaction), remove output that must
/// not stay.
async fn finish(store: &Store, id: &str, ctl: &JobCtl, outcome: Result<(), String>) {
    let cancelled = ctl.cancel.load(Ordering::SeqCst);
    let progress = ctl.progress();
    let rid = id.to_string();
    let saved = store
        .run(move |db| {
            let Some(rec) = db.render(&rid)? else {
                return Ok(None);
            };
            let output = db.render_output(&rec);
            // The engine writes ordinary (0644) files; a render in the store is owner-only.
            if output.is_file()
                && let Err(e) = crate::backend::store::make_private(&output, false)
            {
                tracing::warn!("cannot make {} private: {e}", output.display());
            }
            let (status, error) = match outcome {
                _ if cancelled => (RenderState::Cancelled, None),
                Ok(()) if output.is_file() => (RenderState::Completed, None),
                Ok(()) => (
                    RenderState::Failed,
                    Some("the engine reported success but wrote no output".to_string()),
                ),
                Err(e) => (RenderState::Failed, Some(e)),
            };
            if status != RenderState::Completed {
                let _ = std::fs::remove_file(&output);
            }
            db.finish_render(&rid, status, error, progress)
        })
        .await;
    match saved {
        Ok(Some(r)) => match &r.error {
            Some(e) => tracing::warn!("render {id} failed: {e}"),
            None => tracing::info!("render {id} {:?}", r.status),
        },
        Ok(None) => {}
        Err(e) => tracing::error!("render {id}: saving its final state failed: {e}"),
    }
}
