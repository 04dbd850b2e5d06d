//! Reading one import file: its size, its encoding, its header, its rows.
//! A problem with the file as a whole is a [`FileError`] (nothing at all is
//! imported); a problem with one row is that row's refusal.

use std::fmt;

use super::format::{recognise, Kind, Layout};
use super::rows::{parse_row, ParsedRow, RowError};
use crate::limits::{IMPORT_FILE_BYTES_MAX, IMPORT_ROWS_PER_FILE_MAX, IMPORT_ROW_BYTES_MAX};

/// A file that cannot be imported at all, with where (line, and byte offset
/// for an encoding error) and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{} line {}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for FileError {}

/// A row that could not be read, with its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedRow {
    pub line: u64,
    pub kind: Option<Kind>,
    /// The row's `peer_id` and `credential_number` cells as written (maybe
    /// empty), so that the person it belongs to is not half-imported.
    pub peer_id: String,
    pub credential_number: String,
    pub error: RowError,
}

/// One file, read: every data row parsed or refused, in file order.
#[derive(Debug, Default)]
pub struct ReadFile {
    /// The bare file name (what reports and records name).
    pub name: String,
    pub rows: Vec<Result<ParsedRow, RefusedRow>>,
}

/// Refuses a file from its size alone, before reading it.
pub fn check_size(name: &str, bytes: u64) -> Result<(), FileError> {
    if bytes > IMPORT_FILE_BYTES_MAX {
        return Err(FileError {
            file: name.to_string(),
            line: 0,
            message: format!(
                "{bytes} bytes is larger than an import file may be ({IMPORT_FILE_BYTES_MAX} bytes); split it into several files of the same kind"
            ),
        });
    }
    Ok(())
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Checks that `bytes` are UTF-8 (a leading byte-order mark is allowed and
/// dropped) and returns the text.
pub fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        FileError {
            file: name.to_string(),
            line: line_of(bytes, offset),
            message: format!(
                "byte offset {offset} is not UTF-8 (the file is in another encoding, e.g. Windows-1252 or Latin-1); re-save it as \"CSV UTF-8\" (Excel: Save As › CSV UTF-8; LibreOffice: Save As › Text CSV, character set Unicode (UTF-8))"
            ),
        }
    })
}

/// Reads one file's contents: `name` is the bare file name.
pub fn read(name: &str, bytes: &[u8]) -> Result<ReadFile, FileError> {
    check_size(name, bytes.len() as u64)?;
    let text = utf8(name, bytes)?;
    let file_error = |line: u64, message: String| FileError {
        file: name.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(record)) => record.iter().map(str::to_string).collect(),
        Some(Err(e)) => return Err(file_error(1, format!("the header cannot be read: {e}"))),
        None => return Err(file_error(0, "the file is empty: it needs a header row".into())),
    };
    let layout = recognise(&header).map_err(|reason| file_error(1, reason))?;
    let mut rows = Vec::new();
    let mut lines = LineCounter::default();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(text, p.byte()));
                return Err(file_error(line, format!("not valid CSV: {e}")));
            }
        };
        let line = record.position().map_or(0, |p| lines.line_at(text, p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == IMPORT_ROWS_PER_FILE_MAX {
            return Err(file_error(
                line,
                format!(
                    "more than {IMPORT_ROWS_PER_FILE_MAX} rows; split the file into several files of the same kind"
                ),
            ));
        }
        if record.as_slice().len() > IMPORT_ROW_BYTES_MAX {
            return Err(file_error(
                line,
                format!("the row is longer than {IMPORT_ROW_BYTES_MAX} bytes"),
            ));
        }
        if record.len() != header.len() {
            return Err(file_error(
                line,
                format!(
                    "the row has {} cells but the header has {} columns (a missing or extra comma, or an unquoted comma inside a cell)",
                    record.len(),
                    header.len()
                ),
            ));
        }
        rows.push(row(&layout, &record, line));
    }
    Ok(ReadFile {
        name: name.to_string(),
        rows,
    })
}

/// Line numbers from byte offsets, counted once (the CSV reader's own line
/// numbers skip blank lines).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset).unwrap_or(usize::MAX).min(text.len());
        // The reader's position may be at the blank lines it skipped.
        while matches!(text.as_bytes().get(offset), Some(b'\n' | b'\r')) {
            offset += 1;
        }
        if offset < self.offset {
            *self = LineCounter::default();
        }
        let bytes = &text.as_bytes()[self.offset..offset];
        self.line += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        self.offset = offset;
        self.line + 1
    }
}

fn row(layout: &Layout, record: &csv::StringRecord, line: u64) -> Result<ParsedRow, RefusedRow> {
    let cells: Vec<(&str, &str)> = layout
        .columns()
        .iter()
        .map(String::as_str)
        .zip(record.iter().map(str::trim))
        .collect();
    let cell = |name: &str| {
        cells
            .iter()
            .find(|(column, _)| *column == name)
            .map_or(String::new(), |(_, value)| value.to_string())
    };
    let refused = |kind: Option<Kind>, error: RowError| RefusedRow {
        line,
        kind,
        peer_id: cell("peer_id"),
        credential_number: cell("credential_number"),
        error,
    };
    let kind = match layout {
        Layout::Single { kind, .. } => *kind,
        Layout::Mixed { .. } => {
            let cell = cells.first().map_or("", |(_, value)| value);
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            let kind = Kind::parse(cell).ok_or_else(|| {
                let reason = format!("{cell:?} is not a kind: one of {}", names.join(", "));
                refused(None, RowError::new("kind", reason))
            })?;
            check_mixed_cells(kind, &cells[1..]).map_err(|error| refused(Some(kind), error))?;
            kind
        }
    };
    let mut parsed = parse_row(kind, &cells).map_err(|error| refused(Some(kind), error))?;
    parsed.line = line;
    Ok(parsed)
}

/// In a file with a `kind` column, a row fills only its kind's columns, and
/// the header has all of them.
fn check_mixed_cells(kind: Kind, cells: &[(&str, &str)]) -> Result<(), RowError> {
    for needed in kind.columns() {
        if !cells.iter().any(|(column, _)| column == needed) {
            return Err(RowError::new(
                needed,
                format!("the header has no column {needed:?}, which a {} row needs", kind.name()),
            ));
        }
    }
    match cells
        .iter()
        .find(|(column, value)| !value.is_empty() && !kind.columns().contains(column))
    {
        Some((column, _)) => Err(RowError::new(
            column,
            format!("a {} row has no column {column:?}: leave it empty", kind.name()),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_another_encoding_is_refused_with_its_line_and_offset() {
        let bytes =
            b"peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\nP-1,Jos\xe9 Ruiz,yes,yes,\n";
        let error = read("people.csv", bytes).expect_err("refused");
        assert_eq!(error.line, 2);
        let text = error.to_string();
        assert!(
            text.starts_with("people.csv line 2: byte offset 76 is not UTF-8"),
            "{text}"
        );
        assert!(text.contains("CSV UTF-8"), "{text}");
    }

    #[test]
    fn a_byte_order_mark_is_fine_and_blank_lines_are_skipped() {
        let bytes = "\u{feff}peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id\n\nP-1,José Ruiz,yes,no,L-1\n";
        let file = read("people.csv", bytes.as_bytes()).expect("read");
        assert_eq!(file.rows.len(), 1);
        let row = file.rows[0].as_ref().expect("parsed");
        assert_eq!(row.line, 3);
    }

    #[test]
    fn a_mixed_file_names_an_unknown_kind_and_a_cell_of_another_kind() {
        let text = "kind,peer_id,legal_name,eligibility_attested,ethics_code_signed,source_id,credential_number\n\
                    person,P-1,Ann Lee,yes,yes,,\n\
                    licence,P-2,Bo Lee,yes,yes,,\n\
                    person,P-3,Cy Lee,yes,yes,,C-1\n";
        let file = read("all.csv", text.as_bytes()).expect("read");
        assert!(file.rows[0].is_ok());
        let refused = file.rows[1].as_ref().expect_err("unknown kind");
        assert_eq!((refused.line, refused.error.column.as_str()), (3, "kind"));
        let refused = file.rows[2].as_ref().expect_err("cell of another kind");
        assert_eq!(refused.error.column, "credential_number");
    }
}
