//! The scenarios, in the order the issue lists them.

use std::future::Future;
use std::pin::Pin;

use super::{Report, Scale};
use crate::error::Result;

type Scenario = for<'a> fn(Scale, &'a mut Report) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Every scenario by name (`peerreg bench --only NAME` selects by substring).
pub const ALL: [(&str, Scenario); 11] = [
    ("commands", |scale, report| {
        Box::pin(super::commands::run(scale, report))
    }),
    ("checks", |scale, report| Box::pin(super::checks::run(scale, report))),
    ("mixed", |scale, report| Box::pin(super::mixed::run(scale, report))),
    ("replay", |scale, report| Box::pin(super::replay::run(scale, report))),
    ("growth", |scale, report| Box::pin(super::growth::run(scale, report))),
    ("storage", |scale, report| Box::pin(super::storage::run(scale, report))),
    ("import", |scale, report| Box::pin(super::import::run(scale, report))),
    ("register", |scale, report| {
        Box::pin(super::register::run(scale, report))
    }),
    ("web", |scale, report| Box::pin(super::web::run(scale, report))),
    ("witness", |scale, report| Box::pin(super::witness::run(scale, report))),
    ("tiles", |scale, report| Box::pin(super::tiles::run(scale, report))),
];
