//! The CSV formats `peerreg import` reads (documented column by column in
//! `examples/import/README.md`): one file per kind, recognised by its header,
//! or one file whose first column is `kind`.

/// What a row states. The order is the order a person's commands are
/// recorded in (enrolment first; a credential's later life last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Person,
    NameChange,
    Training,
    Experience,
    Exam,
    Ce,
    Credential,
    Renewal,
    Status,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Person,
        Kind::NameChange,
        Kind::Training,
        Kind::Experience,
        Kind::Exam,
        Kind::Ce,
        Kind::Credential,
        Kind::Renewal,
        Kind::Status,
    ];

    /// The name in a `kind` column.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::NameChange => "name_change",
            Kind::Training => "training",
            Kind::Experience => "experience",
            Kind::Exam => "exam",
            Kind::Ce => "ce",
            Kind::Credential => "credential",
            Kind::Renewal => "renewal",
            Kind::Status => "status",
        }
    }

    /// A file of this kind, for messages ("the credentials file").
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::Person => "people",
            Kind::NameChange => "name changes",
            Kind::Training => "training",
            Kind::Experience => "experience",
            Kind::Exam => "exams",
            Kind::Ce => "continuing education",
            Kind::Credential => "credentials",
            Kind::Renewal => "renewals",
            Kind::Status => "status history",
        }
    }

    /// Parses a `kind` cell; `discipline` is taken for `status`.
    pub fn parse(text: &str) -> Option<Kind> {
        let text = text.trim().to_ascii_lowercase();
        if text == "discipline" {
            return Some(Kind::Status);
        }
        Kind::ALL.into_iter().find(|k| k.name() == text)
    }

    /// Every column a file of this kind has (in any order); the header names
    /// each exactly once.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Person => &[
                "peer_id",
                "legal_name",
                "eligibility_attested",
                "ethics_code_signed",
                "source_id",
            ],
            Kind::NameChange => &["peer_id", "new_legal_name", "changed_on"],
            Kind::Training => &[
                "peer_id",
                "course_id",
                "course_title",
                "provider",
                "hours",
                "completed_on",
                "domains",
            ],
            Kind::Experience => &["peer_id", "experience_kind", "hours", "period_start", "period_end"],
            Kind::Exam => &["peer_id", "exam_id", "score_percent", "pass_mark_percent", "taken_on"],
            Kind::Ce => &["peer_id", "topic", "hours", "provider", "completed_on"],
            Kind::Credential => &[
                "credential_number",
                "peer_id",
                "credential_type",
                "issued_on",
                "expires_on",
                "source_id",
            ],
            Kind::Renewal => &["credential_number", "renewed_on", "new_expires_on"],
            Kind::Status => &[
                "credential_number",
                "action",
                "effective_on",
                "ends_on",
                "public_summary",
            ],
        }
    }
}

/// What a file's header says it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One kind; `columns[i]` is the name of the i-th column.
    Single { kind: Kind, columns: Vec<String> },
    /// A leading `kind` column, then any columns of any kinds.
    Mixed { columns: Vec<String> },
}

impl Layout {
    pub fn columns(&self) -> &[String] {
        match self {
            Layout::Single { columns, .. } | Layout::Mixed { columns } => columns,
        }
    }
}

/// Recognises a header row, or says exactly what is wrong with it (missing
/// and unknown columns, against the kind it resembles most).
pub fn recognise(header: &[String]) -> Result<Layout, String> {
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
    if columns.iter().all(|c| c.is_empty()) {
        return Err("the file is empty or its first line is blank: the first line must be a header row".into());
    }
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].contains(column) {
            return Err(format!("column {column:?} appears twice in the header"));
        }
    }
    if columns.first().map(String::as_str) == Some("kind") {
        let unknown: Vec<&str> = columns[1..]
            .iter()
            .filter(|c| !Kind::ALL.iter().any(|k| k.columns().contains(&c.as_str())))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!("unknown column(s): {}", unknown.join(", ")));
        }
        return Ok(Layout::Mixed { columns });
    }
    let fit = |kind: Kind| {
        let missing: Vec<&str> = kind
            .columns()
            .iter()
            .copied()
            .filter(|c| !columns.iter().any(|h| h == c))
            .collect();
        let unknown: Vec<&str> = columns
            .iter()
            .map(String::as_str)
            .filter(|h| !kind.columns().contains(h))
            .collect();
        (missing, unknown)
    };
    if let Some(kind) = Kind::ALL.into_iter().find(|&k| {
        let (missing, unknown) = fit(k);
        missing.is_empty() && unknown.is_empty()
    }) {
        return Ok(Layout::Single { kind, columns });
    }
    let closest = Kind::ALL
        .into_iter()
        .max_by_key(|&k| {
            let shared = k.columns().iter().filter(|c| columns.iter().any(|h| h == *c)).count();
            (shared, usize::MAX - k.columns().len())
        })
        .unwrap_or(Kind::Person);
    let (missing, unknown) = fit(closest);
    let mut reason = format!(
        "the header matches no import format (closest: a {} file)",
        closest.file_name()
    );
    if !missing.is_empty() {
        reason.push_str(&format!("; missing column(s): {}", missing.join(", ")));
    }
    if !unknown.is_empty() {
        reason.push_str(&format!("; unknown column(s): {}", unknown.join(", ")));
    }
    Err(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Vec<String> {
        text.split(',').map(str::to_string).collect()
    }

    #[test]
    fn every_kind_is_recognised_by_its_columns_in_any_order() {
        for kind in Kind::ALL {
            let mut columns: Vec<String> = kind.columns().iter().map(|c| c.to_uppercase()).collect();
            columns.reverse();
            match recognise(&columns) {
                Ok(Layout::Single { kind: found, .. }) => assert_eq!(found, kind),
                other => panic!("{kind:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_wrong_header_names_what_is_missing_and_unknown() {
        let error = recognise(&header(
            "credential_number,peer_id,credential_type,issued_on,expiry,source_id",
        ))
        .expect_err("refused");
        assert!(error.contains("credentials"), "{error}");
        assert!(error.contains("missing column(s): expires_on"), "{error}");
        assert!(error.contains("unknown column(s): expiry"), "{error}");
        assert!(recognise(&header("kind,peer_id,colour"))
            .expect_err("refused")
            .contains("colour"));
        assert!(recognise(&header("peer_id,peer_id"))
            .expect_err("refused")
            .contains("twice"));
    }
}
