//! The counts of the standing limits (`services::limits`): per limit name and key, how many
//! times it was counted in the current fixed window and when that window started (Unix
//! seconds). Kept in the database so a restart of the backend frees nothing; the keys are
//! SHA-256 hashes the caller made. That pseudonymises, no more: a client id is a random
//! UUID, but a source address (2³² IPv4 values) can be found again by trying them all; the
//! database file is the owner's only (0600).

use rusqlite::{OptionalExtension, params};

use super::db::{Db, sql};
use crate::backend::error::Result;

impl Db<'_> {
    /// Count one use of `key` under the limit `name`: at most `limit` per `window_secs`-long
    /// window, which starts at the key's first use after the previous one ended (`limit` 0:
    /// no limit, nothing stored). `Ok(Err(seconds until the window ends, at least 1))` when
    /// the key is at its limit (not counted); `Err` only for a database error. Windows that
    /// ended are dropped on the way. `now` in Unix seconds; after the clock was set back by
    /// more than a window, the windows that seem to start in the future are dropped too.
    pub fn count_use(
        &self,
        name: &str,
        key: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> Result<std::result::Result<(), u64>> {
        if limit == 0 {
            return Ok(Ok(()));
        }
        let window = window_secs.max(1);
        let now_i = i64::try_from(now).unwrap_or(i64::MAX);
        let window_i = i64::try_from(window).unwrap_or(i64::MAX);
        self.tx
            .execute(
                "DELETE FROM limit_counts WHERE name = ?1 AND (window_start <= ?2 - ?3 OR window_start > ?2 + ?3)",
                params![name, now_i, window_i],
            )
            .map_err(sql)?;
        let row: Option<(i64, i64)> = self
            .tx
            .query_row(
                "SELECT window_start, count FROM limit_counts WHERE name = ?1 AND key = ?2",
                params![name, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        match row {
            Some((start, count)) if count >= i64::from(limit) => {
                let ends = start.saturating_add(window_i);
                Ok(Err(u64::try_from(ends.saturating_sub(now_i))
                    .unwrap_or(0)
                    .max(1)))
            }
            Some(_) => {
                self.tx
                    .execute(
                        "UPDATE limit_counts SET count = count + 1 WHERE name = ?1 AND key = ?2",
                        params![name, key],
                    )
                    .map_err(sql)?;
                Ok(Ok(()))
            }
            None => {
                self.tx
                    .execute(
                        "INSERT INTO limit_counts (name, key, window_start, count) VALUES (?1, ?2, ?3, 1)",
                        params![name, key, now_i],
                    )
                    .map_err(sql)?;
                Ok(Ok(()))
            }
        }
    }
}
