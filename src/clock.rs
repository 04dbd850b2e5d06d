//! Time, injected: the node's clock decides "today" for validation and expiry,
//! and tests (and expiry-driven streams) need to control it.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;

    /// Today's calendar date (UTC).
    fn today(&self) -> NaiveDate {
        DateTime::<Utc>::from(self.now()).date_naive()
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock tests set by hand.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock at midday UTC of `date`.
    pub fn at(date: NaiveDate) -> ManualClock {
        let clock = ManualClock {
            now: Arc::new(Mutex::new(SystemTime::UNIX_EPOCH)),
        };
        clock.set(date);
        clock
    }

    pub fn set(&self, date: NaiveDate) {
        let midday = date.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = SystemTime::from(midday);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}
