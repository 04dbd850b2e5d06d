//! Bitstring Status List v1.0's bitstring: index 0 is the left-most bit
//! (the most significant bit of the first byte); `encodedList` is multibase
//! base64url (no padding) of the GZIP (RFC 1952) compressed bitstring, at least
//! 16 KB (131,072 entries) uncompressed, the spec's minimum for herd privacy.
//!
//! GZIP here is written as the spec's own example was (no file name, time 0,
//! operating system 3), so an all-zero list encodes to that example exactly.
//! Decoding is bounded: a list that inflates past [`ENCODED_LIST_BYTES_MAX`]
//! is refused, whatever its compressed size.

use std::io::{Read, Write};

use super::multibase;
use crate::error::{Error, Result};

/// The spec's minimum number of entries (16 KB of bits).
pub const MIN_ENTRIES: usize = 131_072;
const _: () = assert!(crate::limits::VC_STATUS_LIST_ENTRIES >= MIN_ENTRIES);
/// The largest uncompressed list a verifier inflates.
pub const ENCODED_LIST_BYTES_MAX: usize = crate::limits::VC_LIST_INFLATED_BYTES_MAX;

/// A list of single-bit statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// `entries` unset bits; `entries` must be a multiple of 8 and at least [`MIN_ENTRIES`].
    pub fn new(entries: usize) -> Result<Bitstring> {
        if entries < MIN_ENTRIES || entries % 8 != 0 {
            return Err(Error::InvalidArgument(format!(
                "a status list holds a multiple of 8 entries, at least {MIN_ENTRIES}; not {entries}"
            )));
        }
        Ok(Bitstring {
            bytes: vec![0; entries / 8],
        })
    }

    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn position(&self, index: usize) -> Result<(usize, u8)> {
        if index >= self.len() {
            return Err(Error::OutOfRange(format!(
                "status list index {index} is past the list's {} entries",
                self.len()
            )));
        }
        Ok((index / 8, 0x80 >> (index % 8)))
    }

    pub fn set(&mut self, index: usize) -> Result<()> {
        let (byte, mask) = self.position(index)?;
        self.bytes[byte] |= mask;
        Ok(())
    }

    pub fn get(&self, index: usize) -> Result<bool> {
        let (byte, mask) = self.position(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    /// The `encodedList` value: `u` + base64url(GZIP(bits)).
    pub fn encode(&self) -> Result<String> {
        let failed = |e: std::io::Error| Error::Internal(format!("compressing a status list: {e}"));
        let mut gzip = flate2::GzBuilder::new()
            .operating_system(3)
            .write(Vec::new(), flate2::Compression::default());
        gzip.write_all(&self.bytes).map_err(failed)?;
        Ok(multibase::base64url(&gzip.finish().map_err(failed)?))
    }

    /// Reads an `encodedList` value, refusing one shorter than [`MIN_ENTRIES`]
    /// or inflating past [`ENCODED_LIST_BYTES_MAX`].
    pub fn decode(encoded: &str) -> Result<Bitstring> {
        let compressed = multibase::from_base64url("the encodedList", encoded)?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .take(ENCODED_LIST_BYTES_MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::InvalidArgument(format!("the encodedList is not GZIP data: {e}")))?;
        if bytes.len() > ENCODED_LIST_BYTES_MAX {
            return Err(Error::ResourceExhausted(format!(
                "the encodedList inflates past {ENCODED_LIST_BYTES_MAX} bytes"
            )));
        }
        if bytes.len() * 8 < MIN_ENTRIES {
            return Err(Error::InvalidArgument(format!(
                "the status list holds {} entries, fewer than the {MIN_ENTRIES} the spec requires",
                bytes.len() * 8
            )));
        }
        Ok(Bitstring { bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_numbered_from_the_left() {
        let mut list = Bitstring::new(MIN_ENTRIES).expect("a list");
        list.set(0).expect("in range");
        list.set(9).expect("in range");
        assert_eq!(&list.bytes[..2], &[0x80, 0x40]);
        let back = Bitstring::decode(&list.encode().expect("encodes")).expect("decodes");
        assert_eq!(back, list);
        assert!(back.get(0).expect("in range") && back.get(9).expect("in range"));
        assert!(!back.get(1).expect("in range"));
        assert!(back.get(MIN_ENTRIES).is_err());
    }

    #[test]
    fn short_lists_and_bombs_are_refused() {
        assert!(Bitstring::new(MIN_ENTRIES - 8).is_err());
        let short = Bitstring {
            bytes: vec![0; MIN_ENTRIES / 8 - 1],
        };
        assert!(Bitstring::decode(&short.encode().expect("encodes")).is_err());
        let bomb = Bitstring {
            bytes: vec![0; ENCODED_LIST_BYTES_MAX + 1],
        };
        let encoded = bomb.encode().expect("encodes");
        assert!(encoded.len() < 64 * 1024, "a zero bomb is small");
        assert!(matches!(Bitstring::decode(&encoded), Err(Error::ResourceExhausted(_))));
        assert!(Bitstring::decode("uAAAA").is_err());
    }
}
