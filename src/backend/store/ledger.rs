//! The credits ledger of one user: `available` to spend, `frozen` while a render runs,
//! `used` once charged, and an append-only list of entries saying why each moved.

use serde::{Deserialize, Serialize};

use super::ids::now_secs;
use crate::backend::error::Error;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub available: f64,
    pub frozen: f64,
    pub used: f64,
    #[serde(default)]
    pub ledger: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub at: u64,
    /// grant · spend · freeze · charge · release
    pub kind: String,
    pub amount: f64,
    /// What it was for (an edit's session, a render id).
    pub reference: String,
}

impl Account {
    pub fn new(initial: f64) -> Self {
        let mut a = Account::default();
        a.push("grant", initial, "initial allowance");
        a.available = initial;
        a
    }

    fn push(&mut self, kind: &str, amount: f64, reference: &str) {
        self.ledger.push(Entry {
            at: now_secs(),
            kind: kind.into(),
            amount,
            reference: reference.into(),
        });
    }

    fn check(&self, cost: f64, what: &str) -> Result<(), Error> {
        let available = self.available;
        if available + 1e-9 < cost {
            return Err(Error::OutOfCredits(format!(
                "out of credits: {what} costs {cost} and {available} are available; register or top up, then retry"
            )));
        }
        Ok(())
    }

    /// Spend at once (agent edits).
    pub fn spend(&mut self, cost: f64, reference: &str) -> Result<(), Error> {
        self.check(cost, "this edit")?;
        self.available -= cost;
        self.used += cost;
        self.push("spend", cost, reference);
        Ok(())
    }

    /// Hold credits for running work.
    pub fn freeze(&mut self, cost: f64, reference: &str) -> Result<(), Error> {
        self.check(cost, "this render")?;
        self.available -= cost;
        self.frozen += cost;
        self.push("freeze", cost, reference);
        Ok(())
    }

    /// Work finished: the held credits are used.
    pub fn charge(&mut self, cost: f64, reference: &str) {
        let cost = cost.min(self.frozen);
        self.frozen -= cost;
        self.used += cost;
        self.push("charge", cost, reference);
    }

    /// Work failed or was cancelled: the held credits come back.
    pub fn release(&mut self, cost: f64, reference: &str) {
        let cost = cost.min(self.frozen);
        self.frozen -= cost;
        self.available += cost;
        self.push("release", cost, reference);
    }

    /// `(available, frozen, total)` as answered to clients.
    pub fn balance(&self) -> (f64, f64, f64) {
        (self.available, self.frozen, self.available + self.frozen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeze_then_charge_or_release() {
        let mut a = Account::new(10.0);
        a.freeze(4.0, "r1").unwrap();
        assert_eq!(a.balance(), (6.0, 4.0, 10.0));
        a.charge(4.0, "r1");
        assert_eq!(a.balance(), (6.0, 0.0, 6.0));
        a.freeze(5.0, "r2").unwrap();
        a.release(5.0, "r2");
        assert_eq!(a.balance(), (6.0, 0.0, 6.0));
        assert!(a.freeze(7.0, "r3").is_err());
        assert!(a.spend(6.5, "e").is_err());
        assert_eq!(a.ledger.len(), 5);
    }
}
