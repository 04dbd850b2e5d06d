//! Scenario: growth (to be written).

use super::{Report, Scale};
use crate::error::Result;

pub async fn run(_scale: Scale, _report: &mut Report) -> Result<()> {
    Ok(())
}
