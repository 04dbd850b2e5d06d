//! The workforce: credentials by type and status today (the numbers of
//! `GetStatistics`, from `registry::statistics_of`) and their change per month
//! over the last [`MONTHS`] months (`projection::monthly`), as a server-drawn
//! SVG chart, two tables and JSON (`GET /api/workforce`).
//!
//! Both walk every credential, so the answer is computed once per (log size,
//! date) and kept in [`Cache`]: one entry, replaced when the log grows or the
//! day changes, so a page view at 100,000 credentials costs a lookup until
//! then. Computing runs on the bounded blocking pool.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Serialize;

use super::page::{self, layout};
use super::WebState;
use crate::error::Result;
use crate::ledger::Ledger;
use crate::pb;
use crate::projection::monthly::{monthly_changes, MonthlyChange};
use crate::report;
use crate::service::registry::statistics_of;

const PATH: &str = "/workforce";
const TITLE: &str = "The workforce";

/// Months of change shown, the current one last.
pub const MONTHS: u32 = 24;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(PATH, get(workforce_page))
        .route("/api/workforce", get(workforce_json))
}

/// The workforce on one date, as the page and `GET /api/workforce` show it.
#[derive(Debug, Serialize)]
pub struct Workforce {
    pub state: String,
    pub as_of: String,
    pub log_size: u64,
    pub peers: u64,
    /// Credentials by type and status on `as_of`, as `GetStatistics` counts them.
    pub by_type_and_status: Vec<TypeStatusCount>,
    /// Oldest month first; see `projection::monthly` for what is counted.
    pub monthly: Vec<MonthRow>,
}

#[derive(Debug, Serialize)]
pub struct TypeStatusCount {
    /// e.g. "peer_support_specialist".
    pub credential_type: String,
    /// e.g. "active", "suspended".
    pub status: String,
    pub count: u64,
    #[serde(skip)]
    type_code: i32,
    #[serde(skip)]
    status_code: i32,
}

#[derive(Debug, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub issued: u64,
    pub renewed: u64,
    pub lapsed: u64,
}

/// What an answer was computed for: the log size and the date.
type CacheKey = (u64, NaiveDate);

/// The last computed answer, keyed by (log size, date): bounded to one entry.
#[derive(Default)]
pub struct Cache {
    latest: Mutex<Option<(CacheKey, Arc<Workforce>)>>,
}

impl Cache {
    fn get(&self, key: (u64, NaiveDate)) -> Option<Arc<Workforce>> {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        latest.as_ref().filter(|(k, _)| *k == key).map(|(_, w)| Arc::clone(w))
    }

    fn put(&self, key: (u64, NaiveDate), workforce: Arc<Workforce>) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, workforce));
    }
}

/// The workforce today, from the cache when the log and the date are unchanged.
async fn current(state: &WebState) -> Result<Arc<Workforce>> {
    let today = state.ledger.today();
    let key = (state.ledger.registry().size, today);
    if let Some(hit) = state.workforce.get(key) {
        return Ok(hit);
    }
    let ledger = state.ledger.clone();
    let computed = state
        .blocking
        .run(move || Ok(Arc::new(compute(&ledger, today))))
        .await?;
    state.workforce.put((computed.log_size, today), Arc::clone(&computed));
    Ok(computed)
}

/// Statistics and monthly changes of one registry view.
fn compute(ledger: &Ledger, today: NaiveDate) -> Workforce {
    let registry = ledger.registry();
    let statistics = statistics_of(&registry, ledger.state(), today);
    let monthly = monthly_changes(&registry, today, MONTHS);
    Workforce {
        state: statistics.state,
        as_of: statistics.as_of,
        log_size: statistics.log_size,
        peers: statistics.peers,
        by_type_and_status: statistics.rows.iter().map(type_status_count).collect(),
        monthly: monthly.iter().map(month_row).collect(),
    }
}

fn type_status_count(row: &pb::StatisticsRow) -> TypeStatusCount {
    TypeStatusCount {
        credential_type: report::type_name(row.credential_type),
        status: report::status_code_name(row.status),
        count: row.count,
        type_code: row.credential_type,
        status_code: row.status,
    }
}

fn month_row(change: &MonthlyChange) -> MonthRow {
    MonthRow {
        month: change.month.format("%Y-%m").to_string(),
        issued: change.issued,
        renewed: change.renewed,
        lapsed: change.lapsed,
    }
}

async fn workforce_json(State(state): State<WebState>) -> Response {
    match current(&state).await {
        Ok(workforce) => Json(&*workforce).into_response(),
        Err(refused) => page::json_error(&refused),
    }
}

async fn workforce_page(State(state): State<WebState>) -> Response {
    match current(&state).await {
        Ok(workforce) => layout(&state, PATH, TITLE, body(&workforce)).into_response(),
        Err(refused) => page::error_page(&state, PATH, TITLE, &refused),
    }
}

fn body(workforce: &Workforce) -> Markup {
    let total: u64 = workforce.by_type_and_status.iter().map(|r| r.count).sum();
    html! {
        p { (total) " credentials held by " (workforce.peers) " people on " (workforce.as_of)
            ", from the signed log at size " (workforce.log_size) ". Also as JSON: "
            a href="/api/workforce" { code { "/api/workforce" } } "." }
        h2 { "Change per month" }
        p.hint { "Issued: credentials first issued that month. Renewed: renewals recorded that month. "
            "Lapsed: credentials whose expiry passed that month without a renewal by then. "
            "Only days up to " (workforce.as_of) " are counted." }
        (chart(&workforce.monthly))
        div.table-wrap { (monthly_table(&workforce.monthly)) }
        h2 { "Credentials by type and status" }
        div.table-wrap { (type_status_table(workforce)) }
    }
}

fn type_status_table(workforce: &Workforce) -> Markup {
    use pb::CredentialStatus as S;
    use pb::CredentialType as T;
    let types = [
        T::PeerSupportSpecialist,
        T::PeerRecoverySpecialist,
        T::FamilyPeer,
        T::YouthPeer,
        T::PeerSupervisor,
    ];
    let statuses = [
        S::Active,
        S::Probation,
        S::Restricted,
        S::NotYetValid,
        S::Expired,
        S::Suspended,
        S::Surrendered,
        S::Revoked,
    ];
    let count = |kind: i32, status: Option<i32>| -> u64 {
        let rows = workforce.by_type_and_status.iter();
        rows.filter(|r| r.type_code == kind && status.is_none_or(|s| r.status_code == s))
            .map(|r| r.count)
            .sum()
    };
    html! {
        table #workforce-table {
            caption { "Credentials by type (rows) and status on " (workforce.as_of) " (columns)" }
            thead { tr {
                th scope="col" { "Credential type" }
                @for status in statuses { th scope="col" { (report::status_name(status as i32)) } }
                th scope="col" { "All" }
            } }
            tbody {
                @for kind in types {
                    tr {
                        th scope="row" { (report::type_name(kind as i32).replace('_', " ")) }
                        @for status in statuses { td { (count(kind as i32, Some(status as i32))) } }
                        td { (count(kind as i32, None)) }
                    }
                }
            }
        }
    }
}

fn monthly_table(monthly: &[MonthRow]) -> Markup {
    html! {
        table #workforce-monthly {
            caption { "Credentials issued, renewed and lapsed per month, oldest first" }
            thead { tr { th scope="col" { "Month" } th scope="col" { "Issued" } th scope="col" { "Renewed" } th scope="col" { "Lapsed" } } }
            tbody {
                @for month in monthly {
                    tr { th scope="row" { (month.month) } td { (month.issued) } td { (month.renewed) } td { (month.lapsed) } }
                }
            }
        }
    }
}

/// A series of the chart: its name, colour (Okabe–Ito, at least 3:1 against
/// white as WCAG asks of graphics) and dash pattern (so colour is not the only
/// difference).
struct Series {
    name: &'static str,
    colour: &'static str,
    dash: &'static str,
    /// How the line looks, in words, for the legend.
    looks: &'static str,
    value: fn(&MonthRow) -> u64,
}

const SERIES: [Series; 3] = [
    Series {
        name: "Issued",
        colour: "#0072B2",
        dash: "",
        looks: "solid blue line",
        value: |m| m.issued,
    },
    Series {
        name: "Renewed",
        colour: "#007A5A",
        dash: "8 4",
        looks: "dashed green line",
        value: |m| m.renewed,
    },
    Series {
        name: "Lapsed",
        colour: "#C0392B",
        dash: "2 3",
        looks: "dotted red line",
        value: |m| m.lapsed,
    },
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

/// Lines of issued, renewed and lapsed per month, with axes, their labels and
/// a legend in text; the title and description say the same for a screen reader.
fn chart(monthly: &[MonthRow]) -> Markup {
    let most = monthly
        .iter()
        .flat_map(|m| SERIES.iter().map(move |s| (s.value)(m)))
        .max()
        .unwrap_or(0);
    let step = tick_step(most);
    let top = most.div_ceil(step).max(1) * step;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + plot_width * (i as f64 + 0.5) / monthly.len().max(1) as f64;
    let y = |v: u64| TOP + plot_height * (1.0 - v as f64 / top as f64);
    let ticks: Vec<u64> = (0..=top / step).map(|n| n * step).collect();
    let (first, last) = (
        monthly.first().map_or("", |m| m.month.as_str()),
        monthly.last().map_or("", |m| m.month.as_str()),
    );
    html! {
        figure {
            svg #workforce-chart role="img" aria-labelledby="workforce-chart-title workforce-chart-desc"
                viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%" xmlns="http://www.w3.org/2000/svg" {
                title #workforce-chart-title { "Credentials issued, renewed and lapsed per month, " (first) " to " (last) }
                desc #workforce-chart-desc { (describe(monthly)) }
                @for tick in &ticks {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(*tick)) y2=(y(*tick)) stroke="#d9d9d9" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(y(*tick) + 4.0) text-anchor="end" font-size="12" fill="#1b1b1b" { (tick) }
                }
                line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(HEIGHT - BOTTOM) stroke="#1b1b1b" {}
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(HEIGHT - BOTTOM) y2=(HEIGHT - BOTTOM) stroke="#1b1b1b" {}
                @for (i, month) in monthly.iter().enumerate() {
                    @if i % 3 == 0 || i + 1 == monthly.len() {
                        text x=(x(i)) y=(HEIGHT - BOTTOM + 18.0) text-anchor="middle" font-size="11" fill="#1b1b1b" { (month.month) }
                    }
                }
                text x=(LEFT + plot_width / 2.0) y=(HEIGHT - 10.0) text-anchor="middle" font-size="13" fill="#1b1b1b" { "Month" }
                text x="14" y=(TOP + plot_height / 2.0) text-anchor="middle" font-size="13" fill="#1b1b1b"
                    transform={ "rotate(-90 14 " (TOP + plot_height / 2.0) ")" } { "Credentials per month" }
                @for series in &SERIES {
                    polyline fill="none" stroke=(series.colour) stroke-width="2.5" stroke-dasharray=(series.dash)
                        points=(points(monthly, series, x, y)) {}
                }
            }
            figcaption {
                "Legend: "
                @for series in &SERIES {
                    span.legend { svg width="28" height="10" aria-hidden="true" {
                        line x1="0" x2="28" y1="5" y2="5" stroke=(series.colour) stroke-width="3" stroke-dasharray=(series.dash) {}
                    } " " (series.name) " (" (series.looks) ") " }
                }
                " The table below gives the same numbers."
            }
        }
    }
}

fn points(monthly: &[MonthRow], series: &Series, x: impl Fn(usize) -> f64, y: impl Fn(u64) -> f64) -> String {
    let mut text = String::new();
    for (i, month) in monthly.iter().enumerate() {
        let _ = write!(text, "{:.1},{:.1} ", x(i), y((series.value)(month)));
    }
    text
}

/// The chart in a sentence: each series' total and its busiest month.
fn describe(monthly: &[MonthRow]) -> String {
    let parts: Vec<String> = SERIES
        .iter()
        .map(|series| {
            let total: u64 = monthly.iter().map(series.value).sum();
            let busiest = monthly.iter().max_by_key(|m| (series.value)(m));
            match busiest {
                Some(m) if total > 0 => format!(
                    "{}: {total} in all, most in {} ({})",
                    series.name,
                    m.month,
                    (series.value)(m)
                ),
                _ => format!("{}: none", series.name),
            }
        })
        .collect();
    format!("Over {} months. {}.", monthly.len(), parts.join("; "))
}

/// A round step for about four ticks up to `most`: 1, 2 or 5 times a power of ten.
fn tick_step(most: u64) -> u64 {
    let rough = most.div_ceil(4).max(1);
    let mut power = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let step = power.saturating_mul(factor);
            if step >= rough {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_steps_are_round_and_cover_the_largest_value() {
        for (most, step) in [
            (0, 1),
            (3, 1),
            (4, 1),
            (5, 2),
            (9, 5),
            (20, 5),
            (21, 10),
            (1999, 500),
            (100_000, 50_000),
        ] {
            assert_eq!(tick_step(most), step, "{most}");
            assert!(tick_step(most) * 5 >= most);
        }
    }
}
