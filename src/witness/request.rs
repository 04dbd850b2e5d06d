//! The body of a C2SP `tlog-witness` `add-checkpoint` request:
//!
//! ```text
//! old <size>\n
//! <base64 hash>\n      (zero or more consistency proof lines)
//! \n
//! <signed checkpoint note>
//! ```
//!
//! Parsed strictly and within bounds before anything is verified: the size is
//! a canonical decimal, there are at most [`PROOF_LINES_MAX`] proof lines of
//! exactly 32 bytes each, and the whole body is at most
//! [`limits::WITNESS_REQUEST_BYTES_MAX`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::limits;
use crate::log::merkle::Hash;

/// A consistency proof between two trees of at most 2^64 leaves has at most
/// 2·64 hashes; C2SP's witnesses accept 63 lines, so do we.
pub const PROOF_LINES_MAX: usize = 63;

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness last cosigned.
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed note, as sent.
    pub note: Vec<u8>,
}

impl AddCheckpoint {
    /// The request's bytes, as a log sends them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for hash in &self.proof {
            out.extend_from_slice(BASE64.encode(hash).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.note);
        out
    }

    /// Parses a request body; the error says what is wrong, for a 400 answer.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, String> {
        if body.len() > limits::WITNESS_REQUEST_BYTES_MAX {
            return Err(format!(
                "the request is larger than {} bytes",
                limits::WITNESS_REQUEST_BYTES_MAX
            ));
        }
        let split = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or("no blank line between the old size and proof, and the checkpoint")?;
        let head = std::str::from_utf8(&body[..=split]).map_err(|_| "the request head is not UTF-8")?;
        let mut lines = head.lines();
        let old_size = parse_old(lines.next().unwrap_or_default())?;
        let proof = lines.map(parse_hash).collect::<Result<Vec<_>, _>>()?;
        if proof.len() > PROOF_LINES_MAX {
            return Err(format!("a consistency proof has at most {PROOF_LINES_MAX} lines"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            note: body[split + 2..].to_vec(),
        })
    }
}

fn parse_old(line: &str) -> Result<u64, String> {
    let digits = line.strip_prefix("old ").ok_or("the first line must be 'old <size>'")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'));
    if !canonical {
        return Err("the old size is not a canonical decimal number".into());
    }
    digits
        .parse()
        .map_err(|_| "the old size does not fit 64 bits".to_string())
}

fn parse_hash(line: &str) -> Result<Hash, String> {
    let bytes = BASE64
        .decode(line)
        .map_err(|_| "a proof line is not standard base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "a proof line is not a 32-byte hash".to_string())
}

/// The body of a `409 Conflict` answer (`text/x.tlog.size`): the size the
/// witness holds, in decimal, then a newline.
pub fn parse_size_body(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?.strip_suffix('\n')?;
    parse_old(&format!("old {text}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_the_spec_shape_parses() {
        let request = AddCheckpoint {
            old_size: 10,
            proof: vec![[1; 32], [2; 32]],
            note: b"o\n12\nroot\n\n\xe2\x80\x94 o sig\n".to_vec(),
        };
        let bytes = request.encode();
        assert!(bytes.starts_with(b"old 10\nAQEB"));
        assert_eq!(AddCheckpoint::parse(&bytes), Ok(request));
        let empty = AddCheckpoint::parse(b"old 0\n\nnote\n").expect("no proof lines");
        assert_eq!((empty.old_size, empty.proof.len()), (0, 0));
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        for (body, why) in [
            (&b"old 01\n\nn\n"[..], "canonical"),
            (b"old -1\n\nn\n", "canonical"),
            (b"new 1\n\nn\n", "old <size>"),
            (b"old 1\nnot-base64!\n\nn\n", "base64"),
            (b"old 1\nAQID\n\nn\n", "32-byte"),
            (b"old 1\nn\n", "blank line"),
            (b"old 99999999999999999999\n\nn\n", "64 bits"),
        ] {
            let error = AddCheckpoint::parse(body).expect_err("refused");
            assert!(error.contains(why), "{error:?} should mention {why:?}");
        }
        let many = format!("old 1\n{}\nn\n", format!("{}\n", BASE64.encode([0u8; 32])).repeat(64));
        assert!(AddCheckpoint::parse(many.as_bytes())
            .expect_err("too many")
            .contains("at most 63"));
        let huge = vec![b'a'; limits::WITNESS_REQUEST_BYTES_MAX + 1];
        assert!(AddCheckpoint::parse(&huge).expect_err("too big").contains("larger"));
    }

    #[test]
    fn size_bodies_are_canonical_decimals_with_a_newline() {
        assert_eq!(parse_size_body(b"50\n"), Some(50));
        assert_eq!(parse_size_body(b"0\n"), Some(0));
        for bad in [&b"50"[..], b"050\n", b"\n", b"5 0\n"] {
            assert_eq!(parse_size_body(bad), None, "{bad:?}");
        }
    }
}
