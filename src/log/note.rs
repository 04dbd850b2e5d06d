//! Checkpoints as C2SP signed notes (tlog-checkpoint + signed-note), and the
//! Ed25519 keys that sign them, in the formats the transparency-log ecosystem
//! (Go's `note` package, witnesses) already reads.
//!
//! - Key ID: first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
//! - Verifier key: `<name>+<8 hex key ID>+<base64(0x01 ‖ public key)>`.
//! - Signer key (our key file): `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 ‖ seed)>`.
//! - Signed note: body, an empty line, then lines `— <name> <base64(key ID ‖ sig)>`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;
use crate::limits;

/// The Ed25519 algorithm byte of the signed-note key formats.
const ALGORITHM_ED25519: u8 = 0x01;
/// Signature lines start with an em dash (U+2014) and a space.
pub(super) const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// A 4-byte key ID: names a key inside signatures without the whole key.
pub type KeyId = [u8; 4];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    MalformedKey(String),
    #[error("malformed signed note: {0}")]
    Malformed(String),
    #[error("the note carries no signature by key {0}")]
    NotSignedBy(String),
    #[error("the signature by key {0} does not verify: the note was altered or forged")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
}

/// The key ID of `public` under `name` (C2SP signed-note).
pub fn key_id(name: &str, public: &VerifyingKey) -> KeyId {
    typed_key_id(name, ALGORITHM_ED25519, public)
}

/// The key ID of a key of signature type `algorithm` (0x01 a log key, 0x04 a
/// witness's cosigning key): SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4].
pub(super) fn typed_key_id(name: &str, algorithm: u8, public: &VerifyingKey) -> KeyId {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([algorithm]);
    hasher.update(public.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A key name must be non-empty UTF-8 with no spaces or plus signs (C2SP);
/// ours also has no control characters, a bounded length, and no `.` or `..`
/// path segment. Key names become origins, and an origin names a directory
/// (a mirror's): whatever else protects that directory, a name that reads as
/// "the parent directory" is refused where it enters.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.len() > limits::KEY_NAME_BYTES_MAX {
        return Err(NoteError::MalformedKey(format!(
            "a key name (origin) must be 1 to {} bytes",
            limits::KEY_NAME_BYTES_MAX
        )));
    }
    if name.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control()) {
        return Err(NoteError::MalformedKey(format!(
            "key name {} must not contain spaces, '+' or control characters",
            limits::quote(name)
        )));
    }
    if name.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(NoteError::MalformedKey(format!(
            "key name {} must not contain a '.' or '..' path segment",
            limits::quote(name)
        )));
    }
    Ok(())
}

/// Splits `<name>+<hex id>+<base64 key>` and checks the algorithm byte.
fn parse_key_parts(text: &str) -> Result<(&str, KeyId, [u8; 32]), NoteError> {
    let malformed = |why: &str| NoteError::MalformedKey(why.to_string());
    // Names and hex IDs hold no '+'; base64 keys may, so split from the left.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(hex_id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected <name>+<8 hex digits>+<base64 key>"));
    };
    check_key_name(name)?;
    let id_bytes = hex::decode(hex_id).map_err(|_| malformed("the key ID is not hex"))?;
    let id: KeyId = id_bytes
        .try_into()
        .map_err(|_| malformed("the key ID is not 4 bytes"))?;
    let raw = BASE64
        .decode(key)
        .map_err(|_| malformed("the key is not standard base64"))?;
    let Some((&ALGORITHM_ED25519, material)) = raw.split_first() else {
        return Err(malformed("only Ed25519 keys (algorithm byte 0x01) are supported"));
    };
    let material: [u8; 32] = material
        .try_into()
        .map_err(|_| malformed("an Ed25519 key is 32 bytes"))?;
    Ok((name, id, material))
}

/// Checks signatures by one named key. Public: anyone may hold one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: KeyId,
    public: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key string and checks that its key ID matches its key.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let (name, id, material) = parse_key_parts(text)?;
        let public = VerifyingKey::from_bytes(&material)
            .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key".into()))?;
        if key_id(name, &public) != id {
            return Err(NoteError::MalformedKey("the key ID does not match the key".into()));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            id,
            public,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The verifier key string, `<name>+<hex id>+<base64 key>`.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALGORITHM_ED25519];
        raw.extend_from_slice(self.public.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), BASE64.encode(raw))
    }

    /// Checks an Ed25519 signature over `message` (strict: no malleable forms).
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.public.verify_strict(message, &signature).is_ok()
    }

    /// Verifies a signed note and returns its body (text up to and including the
    /// newline before the blank line). Signatures by other keys are ignored, as
    /// C2SP requires; a note without a valid signature by this key is refused.
    pub fn open<'a>(&self, note: &'a [u8]) -> Result<&'a str, NoteError> {
        let (body, signatures) = split_note(note)?;
        let mut found = false;
        for line in signatures.lines() {
            let (name, id, signature) = parse_signature_line(line)?;
            if name != self.name || id != self.id {
                continue;
            }
            if !self.verify_bytes(body.as_bytes(), &signature) {
                return Err(NoteError::BadSignature(self.to_key_string()));
            }
            found = true;
        }
        if found {
            Ok(body)
        } else {
            Err(NoteError::NotSignedBy(self.to_key_string()))
        }
    }
}

/// Splits a note into its body (with final newline) and its signature block.
pub(crate) fn split_note(note: &[u8]) -> Result<(&str, &str), NoteError> {
    let malformed = |why: &str| NoteError::Malformed(why.to_string());
    if note.len() > limits::NOTE_BYTES_MAX {
        return Err(malformed("the note is larger than any checkpoint we accept"));
    }
    let text = std::str::from_utf8(note).map_err(|_| malformed("the note is not UTF-8"))?;
    if !text.ends_with('\n') {
        return Err(malformed("the note does not end with a newline"));
    }
    let Some(split) = text.find("\n\n") else {
        return Err(malformed("no blank line between the body and the signatures"));
    };
    let (body, signatures) = (&text[..=split], &text[split + 2..]);
    if signatures.is_empty() {
        return Err(malformed("the note has no signature lines"));
    }
    Ok((body, signatures))
}

/// The body of a signed note, *unverified*: only to learn which key must
/// verify it (a checkpoint's size decides its key, see `keys`).
pub fn unverified_body(note: &[u8]) -> Result<&str, NoteError> {
    split_note(note).map(|(body, _)| body)
}

/// Parses `— <name> <base64(key ID ‖ signature)>`.
pub(super) fn parse_signature_line(line: &str) -> Result<(&str, KeyId, Vec<u8>), NoteError> {
    let malformed = |why: &str| NoteError::Malformed(why.to_string());
    let Some(rest) = line.strip_prefix(SIGNATURE_LINE_PREFIX) else {
        return Err(malformed("a signature line must start with an em dash and a space"));
    };
    let Some((name, encoded)) = rest.split_once(' ') else {
        return Err(malformed("a signature line is '— <name> <base64>'"));
    };
    let raw = BASE64
        .decode(encoded)
        .map_err(|_| malformed("a signature is not standard base64"))?;
    if raw.len() < 5 {
        return Err(malformed("a signature is shorter than its key ID"));
    }
    let id: KeyId = [raw[0], raw[1], raw[2], raw[3]];
    Ok((name, id, raw[4..].to_vec()))
}

/// The first line of every request a node signs for another state: a state
/// proves who it is to an origin with the key the origin pins for it
/// (DESIGN.md §8), and no entry, note or cosignature starts this way.
pub const REQUEST_CONTEXT: &str = "peerreg/v1/evidence-request\n";

/// A log key that signs only requests: messages starting with [`REQUEST_CONTEXT`].
#[derive(Clone)]
pub struct RequestSigner {
    signing: SigningKey,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestSigner")
    }
}

impl RequestSigner {
    /// Signs `message`, which must start with [`REQUEST_CONTEXT`].
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        assert!(
            message.starts_with(REQUEST_CONTEXT.as_bytes()),
            "a request signer signs requests only"
        );
        self.signing.sign(message).to_bytes()
    }
}

/// The private half: signs log entries and checkpoints. Never logged or printed.
pub struct NoteSigner {
    verifier: NoteVerifier,
    signing: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier.to_key_string())
    }
}

impl NoteSigner {
    /// A fresh key for `name` from the operating system's random source.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| NoteError::MalformedKey(format!("no randomness for a new key: {e}")))?;
        NoteSigner::from_seed(name, seed)
    }

    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        check_key_name(name)?;
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key();
        let verifier = NoteVerifier {
            name: name.to_string(),
            id: key_id(name, &public),
            public,
        };
        Ok(NoteSigner { verifier, signing })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>` (Go note format).
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let Some(rest) = text.trim().strip_prefix("PRIVATE+KEY+") else {
            return Err(NoteError::MalformedKey("a signer key starts with PRIVATE+KEY+".into()));
        };
        let (name, id, seed) = parse_key_parts(rest)?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.verifier.id != id {
            return Err(NoteError::MalformedKey("the key ID does not match the key".into()));
        }
        Ok(signer)
    }

    /// The signer key string. Secret: written only to a 0600 key file.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALGORITHM_ED25519];
        raw.extend_from_slice(self.signing.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.verifier.name,
            hex::encode(self.verifier.id),
            BASE64.encode(raw)
        )
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The same key, able to sign only requests this node makes of other
    /// states (see [`RequestSigner`]).
    pub fn request_signer(&self) -> RequestSigner {
        RequestSigner {
            signing: self.signing.clone(),
        }
    }

    /// Signs `body` (which must end in a newline) into a complete signed note.
    pub fn sign_note(&self, body: &str) -> String {
        assert!(
            body.ends_with('\n') && !body.contains("\n\n"),
            "a note body is newline-terminated lines"
        );
        let mut raw = self.verifier.id.to_vec();
        raw.extend_from_slice(&self.sign_bytes(body.as_bytes()));
        format!(
            "{body}\n{SIGNATURE_LINE_PREFIX}{} {}\n",
            self.verifier.name,
            BASE64.encode(raw)
        )
    }
}

/// A C2SP tlog-checkpoint body: origin, tree size, root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The three-line body that is signed.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root))
    }

    /// Parses a checkpoint body. Extension lines after the third are allowed by
    /// C2SP and ignored here.
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let malformed = |why: &str| NoteError::MalformedCheckpoint(why.to_string());
        let mut lines = body.lines();
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(malformed("a checkpoint body has at least three lines"));
        };
        if origin.is_empty() {
            return Err(malformed("the origin line is empty"));
        }
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(malformed("the tree size is not a canonical decimal number"));
        }
        let size = size
            .parse()
            .map_err(|_| malformed("the tree size does not fit 64 bits"))?;
        let root = BASE64
            .decode(root)
            .map_err(|_| malformed("the root hash is not standard base64"))?;
        let root = root
            .try_into()
            .map_err(|_| malformed("the root hash is not 32 bytes"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// Signs this checkpoint into a note.
    pub fn sign(&self, signer: &NoteSigner) -> String {
        signer.sign_note(&self.body())
    }

    /// Verifies `note` with `verifier` and parses its checkpoint, which must be for
    /// the verifier's own origin (the key name is the origin).
    pub fn open(note: &[u8], verifier: &NoteVerifier) -> Result<Checkpoint, NoteError> {
        let checkpoint = Checkpoint::parse_body(verifier.open(note)?)?;
        if checkpoint.origin != verifier.name() {
            return Err(NoteError::MalformedCheckpoint(format!(
                "checkpoint origin {:?} is not the key's origin {:?}",
                checkpoint.origin,
                verifier.name()
            )));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_KEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const EXAMPLE_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::from_seed(name, [seed; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn key_names_that_read_as_paths_up_or_here_are_refused() {
        for bad in [".", "..", "../x", "a/..", "a/./b", "", "a b", "a+b", "a\u{7}b"] {
            assert!(check_key_name(bad).is_err(), "{bad:?} must be refused");
        }
        for good in ["peerreg.local/ms", "example.com/foo", "a..b", ".well-known/x", "a/b_c"] {
            assert_eq!(check_key_name(good), Ok(()), "{good:?} must be accepted");
        }
        let long = "x".repeat(limits::KEY_NAME_BYTES_MAX + 1);
        assert!(check_key_name(&long).is_err());
    }

    #[test]
    fn a_verifier_key_named_dot_dot_does_not_parse() {
        let public = signer("ok", 1).verifier().public;
        let forged = format!(
            "..+{}+{}",
            hex::encode(key_id("..", &public)),
            BASE64.encode([&[ALGORITHM_ED25519][..], public.as_bytes()].concat())
        );
        assert!(matches!(NoteVerifier::parse(&forged), Err(NoteError::MalformedKey(_))));
    }

    #[test]
    fn an_error_quotes_only_a_short_prefix_of_a_long_name() {
        let long = format!("{}+", "n".repeat(200));
        let Err(NoteError::MalformedKey(message)) = check_key_name(&long) else {
            panic!("a name with '+' must be refused");
        };
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn the_c2sp_example_note_verifies_with_the_example_key() {
        let verifier = NoteVerifier::parse(EXAMPLE_KEY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(verifier.to_key_string(), EXAMPLE_KEY);
        assert_eq!(
            verifier.open(EXAMPLE_NOTE.as_bytes()),
            Ok("This is an example message.\n")
        );
    }

    #[test]
    fn the_c2sp_example_known_answer_file_agrees() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc6962-and-signed-note.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or_default();
        let example = &json["signed_note_example"];
        assert_eq!(example["verifier_key"].as_str(), Some(EXAMPLE_KEY));
        assert_eq!(example["note"].as_str(), Some(EXAMPLE_NOTE));
    }

    #[test]
    fn altered_unsigned_and_foreign_notes_are_refused() {
        let verifier = NoteVerifier::parse(EXAMPLE_KEY).unwrap_or_else(|e| panic!("{e}"));
        let altered = EXAMPLE_NOTE.replace("example message", "exemple message");
        assert!(matches!(
            verifier.open(altered.as_bytes()),
            Err(NoteError::BadSignature(_))
        ));
        let unsigned = "This is an example message.\n\n";
        assert!(matches!(
            verifier.open(unsigned.as_bytes()),
            Err(NoteError::Malformed(_))
        ));
        let foreign = signer("example.com/foo", 9).sign_note("This is an example message.\n");
        assert!(matches!(
            verifier.open(foreign.as_bytes()),
            Err(NoteError::NotSignedBy(_))
        ));
        let no_blank_line = EXAMPLE_NOTE.replacen("\n\n", "\n", 1);
        assert!(matches!(
            verifier.open(no_blank_line.as_bytes()),
            Err(NoteError::Malformed(_))
        ));
    }

    #[test]
    fn a_signature_with_our_id_but_a_flipped_byte_is_refused() {
        let key = signer("peerreg.local/ms", 1);
        let note = key.sign_note("hello\n");
        let (head, tail) = note.split_at(note.len() - 6);
        let flipped = format!("{head}{}{}", if tail.starts_with('A') { "B" } else { "A" }, &tail[1..]);
        assert!(key.verifier().open(flipped.as_bytes()).is_err());
    }

    #[test]
    fn signer_and_verifier_strings_round_trip() {
        let key = signer("peerreg.local/ms", 7);
        let parsed = NoteSigner::parse(&key.to_key_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.verifier(), key.verifier());
        let verifier = NoteVerifier::parse(&key.verifier().to_key_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&verifier, key.verifier());
        let wrong_id = key.verifier().to_key_string().replacen("+", "+0", 1);
        assert!(NoteVerifier::parse(&wrong_id).is_err());
        assert!(NoteSigner::from_seed("has space", [1; 32]).is_err());
        assert!(NoteSigner::from_seed("has+plus", [1; 32]).is_err());
    }

    #[test]
    fn checkpoints_round_trip_and_bind_the_origin() {
        let key = signer("peerreg.local/ms", 3);
        let checkpoint = Checkpoint {
            origin: "peerreg.local/ms".into(),
            size: 42,
            root: [7; 32],
        };
        let note = checkpoint.sign(&key);
        assert!(note.starts_with("peerreg.local/ms\n42\nBwcH"));
        assert_eq!(Checkpoint::open(note.as_bytes(), key.verifier()), Ok(checkpoint));
        let other_origin = Checkpoint {
            origin: "peerreg.local/tn".into(),
            size: 1,
            root: [0; 32],
        }
        .sign(&key);
        assert!(Checkpoint::open(other_origin.as_bytes(), key.verifier()).is_err());
        for bad in ["o\n-1\nAA==\n", "o\n01\nAA==\n", "o\n1\n", "o\n1\nAAAA\n"] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?} must not parse");
        }
    }
}
