//! The import report: one line per row (file, line, column, outcome, reason)
//! as CSV, and a summary a person reads.

use std::collections::BTreeSet;

/// What became of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded (or, in a dry run, would be).
    Accepted,
    /// Recorded by an earlier run (resumption finds it again).
    AlreadyRecorded,
    /// Refused: the reason says why.
    Refused,
    /// Not recorded because another row of the same person was refused.
    Withheld,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::AlreadyRecorded => "already_recorded",
            Outcome::Refused => "refused",
            Outcome::Withheld => "withheld",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLine {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub outcome: Outcome,
    pub reason: String,
}

impl ReportLine {
    pub fn new(file: &str, line: u64, column: &str, outcome: Outcome, reason: &str) -> ReportLine {
        ReportLine {
            file: file.to_string(),
            line,
            column: column.to_string(),
            outcome,
            reason: reason.to_string(),
        }
    }
}

/// Every row's outcome and the people refused.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub dry_run: bool,
    pub source_system: String,
    pub imported_on: String,
    pub lines: Vec<ReportLine>,
    pub people_refused: BTreeSet<String>,
    /// People with at least one row accepted.
    pub people_accepted: usize,
    /// Commands sent to the node per second, if any were sent.
    pub rate: Option<f64>,
}

/// Row counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    pub already_recorded: usize,
    pub refused: usize,
    pub withheld: usize,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for line in &self.lines {
            match line.outcome {
                Outcome::Accepted => counts.accepted += 1,
                Outcome::AlreadyRecorded => counts.already_recorded += 1,
                Outcome::Refused => counts.refused += 1,
                Outcome::Withheld => counts.withheld += 1,
            }
        }
        counts
    }

    /// Whether every row was accepted or already recorded.
    pub fn clean(&self) -> bool {
        let counts = self.counts();
        counts.refused == 0 && counts.withheld == 0
    }

    /// `file,line,column,outcome,reason`, one row per data row, in file order.
    pub fn csv(&self) -> String {
        let mut lines = self.lines.clone();
        lines.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut write = |fields: [&str; 5]| writer.write_record(fields).is_ok();
        write(["file", "line", "column", "outcome", "reason"]);
        for line in &lines {
            write([
                &line.file,
                &line.line.to_string(),
                &line.column,
                line.outcome.name(),
                &line.reason,
            ]);
        }
        writer
            .into_inner()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// A readable summary; refusals listed up to `listed`.
    pub fn summary(&self, listed: usize) -> String {
        let counts = self.counts();
        let mode = if self.dry_run {
            "Dry run: nothing was recorded."
        } else {
            "Import finished."
        };
        let accepted = if self.dry_run { "would be recorded" } else { "recorded" };
        let mut text = format!(
            "{mode}\nsource system: {}; import date: {}\nrows {accepted}: {}\nrows already recorded: {}\nrows refused: {}\nrows withheld (another row of the same person was refused): {}\npeople {accepted}: {}\npeople refused (conflicting or refused data; nothing of theirs recorded): {}\n",
            self.source_system,
            self.imported_on,
            counts.accepted,
            counts.already_recorded,
            counts.refused,
            counts.withheld,
            self.people_accepted,
            self.people_refused.len(),
        );
        if let Some(rate) = self.rate {
            text.push_str(&format!("speed: {rate:.0} commands per second\n"));
        }
        let refusals: Vec<&ReportLine> = self.lines.iter().filter(|l| l.outcome == Outcome::Refused).collect();
        for line in refusals.iter().take(listed) {
            let column = if line.column.is_empty() {
                String::new()
            } else {
                format!(" column {}", line.column)
            };
            text.push_str(&format!(
                "  {} line {}{column}: {}\n",
                line.file, line.line, line.reason
            ));
        }
        if refusals.len() > listed {
            text.push_str(&format!(
                "  ... and {} more refusals (see the report)\n",
                refusals.len() - listed
            ));
        }
        text
    }
}
