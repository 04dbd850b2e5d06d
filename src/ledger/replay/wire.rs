//! A protobuf reader for the two messages a replay reads millions of times
//! (`LogEntry` and `Event`), in place: no copies of the fields, only the body
//! decoded (by prost). It handles the encodings prost writes and leaves
//! anything else to prost (`None`), so whatever it accepts, prost decodes to
//! the same fields. Reads untrusted bytes: it never panics and allocates only
//! what prost allocates for the body.

use std::borrow::Cow;

use prost::Message;

use crate::pb;

/// The fields of an encoded `LogEntry`, borrowed.
pub struct Fields<'a> {
    pub event: &'a [u8],
    pub signature: &'a [u8],
    pub key_id: &'a [u8],
}

/// Reads a `LogEntry` in place, without copying its fields out. Handles the
/// encodings prost writes (the three fields, each once or again, in any
/// order); anything else is left to prost (`None`), so whatever this accepts
/// prost decodes to the same fields.
pub fn entry_fields(bytes: &[u8]) -> Option<Fields<'_>> {
    let mut fields = Fields {
        event: &[],
        signature: &[],
        key_id: &[],
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (tag, after_tag) = varint(rest)?;
        let (length, after_length) = varint(after_tag)?;
        let length = usize::try_from(length).ok()?;
        if after_length.len() < length {
            return None;
        }
        let (value, after) = after_length.split_at(length);
        match tag {
            0x0a => fields.event = value,
            0x12 => fields.signature = value,
            0x1a => fields.key_id = value,
            _ => return None,
        }
        rest = after;
    }
    Some(fields)
}

/// What a replay needs of an `Event`: its place and its body.
pub struct EventParts<'a> {
    pub state: Cow<'a, [u8]>,
    pub index: u64,
    pub body: Option<pb::event::Body>,
}

/// Reads an `Event` without copying its state and id out (only its body is
/// decoded, by prost). Handles the encodings prost writes, each field checked
/// as prost checks it (text is UTF-8, the timestamp decodes); anything else,
/// including a second body, is left to prost (`None`).
pub fn event_parts(bytes: &[u8]) -> Option<EventParts<'_>> {
    use pb::event::Body;
    let mut parts = EventParts {
        state: Cow::Borrowed(&[]),
        index: 0,
        body: None,
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let (tag, after_tag) = varint(rest)?;
        if tag == 0x10 {
            (parts.index, rest) = varint(after_tag)?;
            continue;
        }
        if tag & 7 != 2 {
            return None;
        }
        let (length, after_length) = varint(after_tag)?;
        let length = usize::try_from(length).ok()?;
        if after_length.len() < length {
            return None;
        }
        let (value, after) = after_length.split_at(length);
        rest = after;
        let body = match tag >> 3 {
            1 => {
                std::str::from_utf8(value).ok()?;
                parts.state = Cow::Borrowed(value);
                continue;
            }
            3 => {
                std::str::from_utf8(value).ok()?;
                continue;
            }
            4 => {
                prost_types::Timestamp::decode(value).ok()?;
                continue;
            }
            _ if parts.body.is_some() => return None,
            30 => Body::Record(Message::decode(value).ok()?),
            31 => Body::CredentialGranted(Message::decode(value).ok()?),
            32 => Body::CredentialRenewed(Message::decode(value).ok()?),
            33 => Body::DisciplineImposed(Message::decode(value).ok()?),
            34 => Body::ReinstatementGranted(Message::decode(value).ok()?),
            35 => Body::SigningKeyRotated(Message::decode(value).ok()?),
            36 => Body::RecordsExpunged(Message::decode(value).ok()?),
            37 => Body::RecordVoided(Message::decode(value).ok()?),
            _ => return None,
        };
        parts.body = Some(body);
    }
    Some(parts)
}

/// A protobuf varint and the bytes after it.
fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// What the in-place reader takes from one stored entry, owned: the entry's
/// fields, then the event's state, index and body (`None` where the reader
/// leaves the bytes to prost). Only for `tests/fuzz.rs`, which checks that
/// it agrees with prost on every input.
#[doc(hidden)]
pub type InPlace = Option<(pb::LogEntry, Option<(String, u64, Option<pb::event::Body>)>)>;

#[doc(hidden)]
pub fn read_in_place(bytes: &[u8]) -> InPlace {
    let fields = entry_fields(bytes)?;
    let event = event_parts(fields.event).map(|parts| {
        (
            String::from_utf8_lossy(&parts.state).into_owned(),
            parts.index,
            parts.body,
        )
    });
    let entry = pb::LogEntry {
        event: fields.event.to_vec(),
        signature: fields.signature.to_vec(),
        key_id: fields.key_id.to_vec(),
    };
    Some((entry, event))
}
