//! The retention sweeper: applies `config.retention` at start and then every
//! `retention.sweep_every`, until the backend shuts down.

use tokio::task::JoinHandle;

use crate::backend::store::Store;
use crate::config::backend::Retention;

/// Start sweeping `store`; abort the handle to stop.
pub fn spawn(store: Store, retention: Retention) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(retention.sweep_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match store.sweep(retention.clone()).await {
                Ok(s) if s.uploads + s.render_outputs + s.ledger_entries_folded + s.tokens > 0 => {
                    tracing::info!(
                        "retention: removed {} uploads, {} render outputs, {} expired tokens; folded {} ledger entries",
                        s.uploads,
                        s.render_outputs,
                        s.tokens,
                        s.ledger_entries_folded
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!("retention sweep failed: {e}"),
            }
        }
    })
}
