//! A closed-loop load generator: `clients` tasks each calling as fast as
//! answers come back, for a fixed time, recording every latency.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Throughput and latency of one load run.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub calls: usize,
}

impl Figures {
    pub fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
        latencies.sort();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
            latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        Figures {
            per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            calls: latencies.len(),
        }
    }

    /// "p50 1.2 ms, p99 3.4 ms".
    pub fn latency_text(&self) -> String {
        format!("p50 {:.2} ms, p99 {:.2} ms", self.p50_ms, self.p99_ms)
    }
}

/// Runs `call(task, i)` from `clients` tasks (each with its own `state`,
/// made by `setup(task)`) for `seconds`. Any failed call fails the run.
pub async fn closed_loop<S, Setup, SetupFut, Call, CallFut>(
    clients: usize,
    seconds: f64,
    setup: Setup,
    call: Call,
) -> Result<Figures>
where
    S: Send + 'static,
    Setup: Fn(usize) -> SetupFut,
    SetupFut: Future<Output = Result<S>>,
    Call: Fn(&S, usize, usize) -> CallFut + Clone + Send + Sync + 'static,
    CallFut: Future<Output = Result<()>> + Send,
{
    let mut states = Vec::with_capacity(clients);
    for task in 0..clients {
        states.push(setup(task).await?);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(clients);
    for (task, state) in states.into_iter().enumerate() {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let begun = Instant::now();
                call(&state, task, i).await?;
                latencies.push(begun.elapsed());
                i += 1;
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(
            task.await
                .map_err(|e| Error::Internal(format!("a load task failed: {e}")))??,
        );
    }
    Ok(Figures::from_latencies(all, started.elapsed()))
}
