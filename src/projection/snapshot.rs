//! Snapshots of the registry, so a node restarts without replaying everything.
//!
//! Format: the magic line, the 32-byte root of the log at the snapshot's size
//! (so a snapshot of another log, or of a fork, is never applied), the
//! registry's size, a table of sections (each one's kind, length, number of
//! records and SHA-256), a SHA-256 of all that, then the sections. A section
//! holds records of one map in key order, in a compact binary encoding (dates
//! as day numbers, text as length and UTF-8). The peers are split in two
//! sections so that two threads decode a snapshot: restart time is mostly
//! decoding. A snapshot that fails any check is ignored and the registry is
//! rebuilt from the log.

use std::sync::mpsc;

use chrono::NaiveDate;
use imbl::OrdMap;
use sha2::{Digest, Sha256};

use super::Registry;
use crate::domain::fact::{
    ContinuingEducation, CredentialType, Discipline, DisciplineKind, Evaluation, Exam, Experience, ExperienceKind,
    ImportedBasis, ReciprocityBasis, Reinstatement, Renewal, Training, TransferOutcome,
};
use crate::domain::records::{Credential, Peer, PeerExtras};
use crate::domain::requirements::Gap;
use crate::error::Result;
use crate::log::merkle::Hash;

/// v6: credentials gained their imported basis, renewals their imported
/// flag, peer extras their import provenance. A snapshot of an older version
/// is not read: the registry is rebuilt by replay and snapshotted anew.
const MAGIC: &[u8] = b"peerreg projection snapshot v6\n";

/// The kinds of section, in the order they are written.
const PEERS: u8 = 1;
const CREDENTIALS: u8 = 2;
const EVALUATIONS: u8 = 3;

type Decoded<T> = std::result::Result<T, String>;

/// Encodes `registry`, taken at the log whose root at `registry.size` is `root`.
pub fn encode(registry: &Registry, root: &Hash) -> Result<Vec<u8>> {
    // Halves of the peers and of the credentials, for two decoding threads.
    let mut sections = [
        (PEERS, Writer::default(), 0u64),
        (PEERS, Writer::default(), 0),
        (CREDENTIALS, Writer::default(), 0),
        (CREDENTIALS, Writer::default(), 0),
        (EVALUATIONS, Writer::default(), 0),
    ];
    let half = registry.peers.len() / 2;
    for (i, (key, peer)) in registry.peers.iter().enumerate() {
        let (_, out, count) = &mut sections[usize::from(i >= half)];
        out.key(key, &peer.peer_id);
        out.peer(peer);
        *count += 1;
    }
    let half = registry.credentials.len() / 2;
    for (i, (key, credential)) in registry.credentials.iter().enumerate() {
        let (_, out, count) = &mut sections[2 + usize::from(i >= half)];
        out.key(key, &credential.number);
        out.credential(credential);
        *count += 1;
    }
    let (_, out, count) = &mut sections[4];
    for ((state, number), evaluation) in &registry.evaluations {
        out.text(state);
        out.text(number);
        out.evaluation(evaluation);
        *count += 1;
    }
    let mut bytes = Vec::with_capacity(sections.iter().map(|(_, out, _)| out.bytes.len()).sum::<usize>() + 512);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(root);
    bytes.extend_from_slice(&registry.size.to_le_bytes());
    bytes.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    for (kind, out, count) in &sections {
        bytes.push(*kind);
        bytes.extend_from_slice(&(out.bytes.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&Sha256::digest(&out.bytes));
    }
    let checksum: Hash = Sha256::digest(&bytes).into();
    bytes.extend_from_slice(&checksum);
    for (_, out, _) in &sections {
        bytes.extend_from_slice(&out.bytes);
    }
    Ok(bytes)
}

/// One section as found in the table, its bytes not yet checked.
struct Section<'a> {
    kind: u8,
    count: u64,
    checksum: &'a [u8],
    bytes: &'a [u8],
}

impl<'a> Section<'a> {
    fn check(&self) -> Decoded<()> {
        if Sha256::digest(self.bytes).as_slice() != self.checksum {
            return Err("checksum mismatch".into());
        }
        Ok(())
    }

    /// The section's records, checked against its checksum and count.
    fn records<T>(&self, read: impl Fn(&mut Reader<'a>) -> Decoded<T>) -> Decoded<Vec<T>> {
        self.check()?;
        let mut reader = Reader { bytes: self.bytes };
        // No more memory than the section's bytes, whatever its count says.
        let capacity = usize::try_from(self.count)
            .unwrap_or(0)
            .min(self.bytes.len() / size_of::<T>().max(1));
        let mut records = Vec::with_capacity(capacity);
        for _ in 0..self.count {
            records.push(read(&mut reader)?);
        }
        if !reader.bytes.is_empty() {
            return Err("trailing bytes in a section".into());
        }
        Ok(records)
    }
}

/// Decodes a snapshot into the registry and the log root it was taken at.
pub fn decode(bytes: &[u8]) -> std::result::Result<(Registry, Hash), String> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Err("not a peerreg snapshot (or an unknown version)".into());
    };
    let mut header = Reader { bytes: rest };
    let root: Hash = header.array()?;
    let size = u64::from_le_bytes(header.array()?);
    let count = u64::from_le_bytes(header.array()?);
    if count > 16 {
        return Err("malformed section table".into());
    }
    let mut table = Vec::new();
    for _ in 0..count {
        let kind = header.byte()?;
        let length = u64::from_le_bytes(header.array()?);
        let records = u64::from_le_bytes(header.array()?);
        let checksum = header.take(32)?;
        table.push((kind, length, records, checksum));
    }
    let header_end = bytes.len() - header.bytes.len();
    let checksum = header.take(32)?;
    if Sha256::digest(&bytes[..header_end]).as_slice() != checksum {
        return Err("checksum mismatch".into());
    }
    let mut body = header;
    let mut sections = Vec::new();
    for (kind, length, count, checksum) in table {
        let length = usize::try_from(length).map_err(|_| "truncated".to_string())?;
        sections.push(Section {
            kind,
            count,
            checksum,
            bytes: body.take(length).map_err(|_| "truncated".to_string())?,
        });
    }
    if !body.bytes.is_empty() {
        return Err("trailing bytes".into());
    }
    let of = |kind: u8| sections.iter().filter(move |s| s.kind == kind).collect::<Vec<_>>();
    let (peers, credentials, evaluations) = (of(PEERS), of(CREDENTIALS), of(EVALUATIONS));
    if peers.len() + credentials.len() + evaluations.len() != sections.len() {
        return Err("unknown section".into());
    }
    // Two threads, each decoding the first or the second half of the peers'
    // and the credentials' sections; then one builds the peers' map and the
    // other the credentials'.
    let (peers_first, peers_second) = peers.split_at(peers.len() / 2);
    let (credentials_first, credentials_second) = credentials.split_at(credentials.len() / 2);
    let (peers, others) = std::thread::scope(|scope| {
        let (peers_handover, peers_received) = mpsc::sync_channel(1);
        let (credentials_handover, credentials_received) = mpsc::sync_channel(1);
        let others = scope.spawn(move || {
            let peers = decode_records(peers_second, Reader::keyed_peer);
            let credentials = decode_records(credentials_second, Reader::keyed_credential);
            let failed = peers.is_err();
            let _ = peers_handover.send(peers);
            if failed {
                // The other thread receives and reports it.
                return Err(String::new());
            }
            let evaluations: OrdMap<_, _> = decode_records(&evaluations, Reader::keyed_evaluation)?
                .into_iter()
                .collect();
            let first: Decoded<Vec<_>> = credentials_received.recv().map_err(|_| String::new())?;
            let credentials: OrdMap<_, _> = first?.into_iter().chain(credentials?).collect();
            Ok((credentials, evaluations))
        });
        let peers = decode_records(peers_first, Reader::keyed_peer);
        // A failure here is reported by the other thread, which receives it.
        let _ = credentials_handover.send(decode_records(credentials_first, Reader::keyed_credential));
        let peers = peers.and_then(|first| {
            let second: Decoded<Vec<_>> = peers_received
                .recv()
                .map_err(|_| "a decoding thread stopped".to_string())?;
            Ok(first.into_iter().chain(second?).collect::<OrdMap<String, Peer>>())
        });
        let others = match others.join() {
            Ok(others) => others,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (peers, others)
    });
    let peers = peers?;
    let (credentials, evaluations) = others?;
    let mut names = super::names::NameIndex::default();
    for peer in peers.values() {
        names.insert(&peer.peer_id, &peer.legal_name);
    }
    let registry = Registry {
        size,
        peers,
        credentials,
        evaluations,
        names,
    };
    Ok((registry, root))
}

/// The records of `sections`, in order.
fn decode_records<'a, T>(
    sections: &[&Section<'a>],
    read: impl Fn(&mut Reader<'a>) -> Decoded<T> + Copy,
) -> Decoded<Vec<T>> {
    let mut records = Vec::new();
    for section in sections {
        records.extend(section.records(read)?);
    }
    Ok(records)
}

/// Appends the binary encoding of records.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn number(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn length(&mut self, length: usize) {
        self.number(length as u64);
    }

    fn flag(&mut self, value: bool) {
        self.bytes.push(u8::from(value));
    }

    fn blob(&mut self, value: &[u8]) {
        self.length(value.len());
        self.bytes.extend_from_slice(value);
    }

    fn text(&mut self, value: &str) {
        self.blob(value.as_bytes());
    }

    fn date(&mut self, date: NaiveDate) {
        let days = i64::from(chrono::Datelike::num_days_from_ce(&date));
        // Zigzag, so dates before the common era stay short too.
        self.number(((days << 1) ^ (days >> 63)) as u64);
    }

    fn optional_date(&mut self, date: Option<NaiveDate>) {
        self.flag(date.is_some());
        if let Some(date) = date {
            self.date(date);
        }
    }

    fn optional_text(&mut self, value: Option<&str>) {
        self.flag(value.is_some());
        if let Some(value) = value {
            self.text(value);
        }
    }

    /// A map key: usually the record's own id, then written only as a flag.
    fn key(&mut self, key: &str, id: &str) {
        self.flag(key != id);
        if key != id {
            self.text(key);
        }
    }

    fn peer(&mut self, peer: &Peer) {
        let Peer {
            peer_id,
            legal_name,
            eligibility_attested,
            ethics_code_signed,
            trainings,
            experience,
            exams,
            continuing_education,
            credentials,
            events,
            extras,
        } = peer;
        self.text(peer_id);
        self.text(legal_name);
        self.flag(*eligibility_attested);
        self.flag(*ethics_code_signed);
        self.length(trainings.len());
        for training in trainings {
            let Training {
                index,
                course_id,
                course_title,
                provider,
                minutes,
                completed_on,
                domains,
            } = training;
            self.number(*index);
            self.text(course_id);
            self.text(course_title);
            self.text(provider);
            self.number(u64::from(*minutes));
            self.date(*completed_on);
            self.length(domains.len());
            for (domain, minutes) in domains {
                self.text(domain);
                self.number(u64::from(*minutes));
            }
        }
        self.length(experience.len());
        for record in experience {
            let Experience {
                index,
                kind,
                minutes,
                period_start,
                period_end,
            } = record;
            self.number(*index);
            self.bytes.push(match kind {
                ExperienceKind::Paid => 0,
                ExperienceKind::Volunteer => 1,
                ExperienceKind::Supervised => 2,
            });
            self.number(u64::from(*minutes));
            self.date(*period_start);
            self.date(*period_end);
        }
        self.length(exams.len());
        for exam in exams {
            let Exam {
                index,
                exam_id,
                score_percent,
                pass_mark_percent,
                taken_on,
            } = exam;
            self.number(*index);
            self.text(exam_id);
            self.number(u64::from(*score_percent));
            self.number(u64::from(*pass_mark_percent));
            self.date(*taken_on);
        }
        self.length(continuing_education.len());
        for course in continuing_education {
            let ContinuingEducation {
                index,
                topic,
                minutes,
                provider,
                completed_on,
            } = course;
            self.number(*index);
            self.text(topic);
            self.number(u64::from(*minutes));
            self.text(provider);
            self.date(*completed_on);
        }
        self.length(credentials.len());
        for number in credentials {
            self.text(number);
        }
        self.events(events);
        self.extras(extras);
    }

    /// The §8 additions of a peer, as one postcard value (usually a few bytes).
    fn extras(&mut self, extras: &PeerExtras) {
        let encoded = postcard::to_allocvec(extras).unwrap_or_default();
        self.length(encoded.len());
        self.bytes.extend_from_slice(&encoded);
    }

    /// Log indices, each as the difference from the one before (they ascend).
    fn events(&mut self, events: &[u64]) {
        self.length(events.len());
        let mut previous = 0u64;
        for &index in events {
            self.number(index.wrapping_sub(previous));
            previous = index;
        }
    }

    fn credential(&mut self, credential: &Credential) {
        let Credential {
            number,
            peer_id,
            credential_type,
            issued_on,
            initial_expires_on,
            reciprocity,
            imported,
            renewals,
            discipline,
            reinstatements,
            events,
        } = credential;
        self.text(number);
        self.text(peer_id);
        self.bytes.push(match credential_type {
            CredentialType::PeerSupportSpecialist => 0,
            CredentialType::PeerRecoverySpecialist => 1,
            CredentialType::FamilyPeer => 2,
            CredentialType::YouthPeer => 3,
            CredentialType::PeerSupervisor => 4,
        });
        self.date(*issued_on);
        self.date(*initial_expires_on);
        self.flag(reciprocity.is_some());
        if let Some(ReciprocityBasis {
            origin_state,
            origin_credential_number,
            origin_checkpoint,
        }) = reciprocity
        {
            self.text(origin_state);
            self.text(origin_credential_number);
            self.blob(origin_checkpoint);
        }
        self.flag(imported.is_some());
        if let Some(ImportedBasis {
            source_system,
            source_record_id,
            imported_on,
        }) = imported
        {
            self.text(source_system);
            self.text(source_record_id);
            self.date(*imported_on);
        }
        self.length(renewals.len());
        for renewal in renewals {
            let Renewal {
                index,
                renewed_on,
                new_expires_on,
                imported,
            } = renewal;
            self.number(*index);
            self.date(*renewed_on);
            self.date(*new_expires_on);
            self.flag(*imported);
        }
        self.length(discipline.len());
        for action in discipline {
            let Discipline {
                index,
                kind,
                effective_on,
                ends_on,
                public_summary,
            } = action;
            self.number(*index);
            self.bytes.push(match kind {
                DisciplineKind::Reprimand => 0,
                DisciplineKind::Probation => 1,
                DisciplineKind::Restriction => 2,
                DisciplineKind::Suspension => 3,
                DisciplineKind::Revocation => 4,
                DisciplineKind::VoluntarySurrender => 5,
            });
            self.date(*effective_on);
            self.optional_date(*ends_on);
            self.text(public_summary);
        }
        self.length(reinstatements.len());
        for reinstatement in reinstatements {
            let Reinstatement {
                index,
                effective_on,
                public_summary,
            } = reinstatement;
            self.number(*index);
            self.date(*effective_on);
            self.text(public_summary);
        }
        self.events(events);
    }

    fn evaluation(&mut self, evaluation: &Evaluation) {
        let Evaluation {
            index,
            origin_state,
            origin_credential_number,
            origin_checkpoint,
            outcome,
            denials,
            gaps,
            evaluated_on,
            local_peer_id,
            holder_name,
        } = evaluation;
        self.number(*index);
        self.text(origin_state);
        self.text(origin_credential_number);
        self.blob(origin_checkpoint);
        self.bytes.push(match outcome {
            TransferOutcome::Approved => 0,
            TransferOutcome::Conditional => 1,
            TransferOutcome::Denied => 2,
        });
        self.length(denials.len());
        for denial in denials {
            self.text(denial);
        }
        self.length(gaps.len());
        for gap in gaps {
            let Gap {
                requirement,
                required,
                found,
                remedy,
            } = gap;
            self.text(requirement);
            self.text(required);
            self.text(found);
            self.text(remedy);
        }
        self.date(*evaluated_on);
        self.optional_text(local_peer_id.as_deref());
        self.text(holder_name);
    }
}

/// Reads the binary encoding back; every read checks bounds.
struct Reader<'a> {
    bytes: &'a [u8],
}

fn malformed(what: &str) -> String {
    format!("undecodable: {what}")
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if self.bytes.len() < n {
            return Err("truncated".into());
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        let taken = self.take(N)?;
        taken.try_into().map_err(|_| "truncated".to_string())
    }

    fn byte(&mut self) -> Decoded<u8> {
        Ok(self.take(1)?[0])
    }

    fn number(&mut self) -> Decoded<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("a number is too long"))
    }

    fn small(&mut self) -> Decoded<u32> {
        u32::try_from(self.number()?).map_err(|_| malformed("a number is out of range"))
    }

    /// A length of a list of things of at least one byte each (so a damaged
    /// length cannot make us reserve more than the snapshot's size).
    fn length(&mut self) -> Decoded<usize> {
        let length = usize::try_from(self.number()?).map_err(|_| malformed("a length is out of range"))?;
        if length > self.bytes.len() {
            return Err("truncated".into());
        }
        Ok(length)
    }

    fn flag(&mut self) -> Decoded<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("a flag is neither 0 nor 1")),
        }
    }

    fn blob(&mut self) -> Decoded<Vec<u8>> {
        let length = self.length()?;
        Ok(self.take(length)?.to_vec())
    }

    fn text(&mut self) -> Decoded<String> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| malformed("text is not UTF-8"))
    }

    fn date(&mut self) -> Decoded<NaiveDate> {
        let zigzag = self.number()?;
        let days = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        i32::try_from(days)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| malformed("a date is out of range"))
    }

    fn optional_date(&mut self) -> Decoded<Option<NaiveDate>> {
        Ok(match self.flag()? {
            true => Some(self.date()?),
            false => None,
        })
    }

    fn optional_text(&mut self) -> Decoded<Option<String>> {
        Ok(match self.flag()? {
            true => Some(self.text()?),
            false => None,
        })
    }

    fn list<T>(&mut self, mut read: impl FnMut(&mut Self) -> Decoded<T>) -> Decoded<Vec<T>> {
        let length = self.length()?;
        // Reserve no more memory than the bytes left could fill: a damaged
        // length (up to the bytes left) times a large `T` would be far more.
        let mut items = Vec::with_capacity(length.min(self.bytes.len() / size_of::<T>().max(1)));
        for _ in 0..length {
            items.push(read(self)?);
        }
        Ok(items)
    }

    fn events(&mut self) -> Decoded<Vec<u64>> {
        let mut previous = 0u64;
        self.list(|reader| {
            previous = previous.wrapping_add(reader.number()?);
            Ok(previous)
        })
    }

    /// A map key written by [`Writer::key`] for a record whose id is `id`.
    fn key(&mut self) -> Decoded<Option<String>> {
        Ok(match self.flag()? {
            true => Some(self.text()?),
            false => None,
        })
    }

    fn keyed_peer(&mut self) -> Decoded<(String, Peer)> {
        let key = self.key()?;
        let peer = self.peer()?;
        Ok((key.unwrap_or_else(|| peer.peer_id.clone()), peer))
    }

    fn keyed_credential(&mut self) -> Decoded<(String, Credential)> {
        let key = self.key()?;
        let credential = self.credential()?;
        Ok((key.unwrap_or_else(|| credential.number.clone()), credential))
    }

    fn keyed_evaluation(&mut self) -> Decoded<((String, String), Evaluation)> {
        let key = (self.text()?, self.text()?);
        Ok((key, self.evaluation()?))
    }

    fn peer(&mut self) -> Decoded<Peer> {
        Ok(Peer {
            peer_id: self.text()?,
            legal_name: self.text()?,
            eligibility_attested: self.flag()?,
            ethics_code_signed: self.flag()?,
            trainings: self.list(|r| {
                Ok(Training {
                    index: r.number()?,
                    course_id: r.text()?,
                    course_title: r.text()?,
                    provider: r.text()?,
                    minutes: r.small()?,
                    completed_on: r.date()?,
                    domains: r.list(|r| Ok((r.text()?, r.small()?)))?,
                })
            })?,
            experience: self.list(|r| {
                Ok(Experience {
                    index: r.number()?,
                    kind: match r.byte()? {
                        0 => ExperienceKind::Paid,
                        1 => ExperienceKind::Volunteer,
                        2 => ExperienceKind::Supervised,
                        _ => return Err(malformed("unknown experience kind")),
                    },
                    minutes: r.small()?,
                    period_start: r.date()?,
                    period_end: r.date()?,
                })
            })?,
            exams: self.list(|r| {
                Ok(Exam {
                    index: r.number()?,
                    exam_id: r.text()?,
                    score_percent: r.small()?,
                    pass_mark_percent: r.small()?,
                    taken_on: r.date()?,
                })
            })?,
            continuing_education: self.list(|r| {
                Ok(ContinuingEducation {
                    index: r.number()?,
                    topic: r.text()?,
                    minutes: r.small()?,
                    provider: r.text()?,
                    completed_on: r.date()?,
                })
            })?,
            credentials: self.list(Reader::text)?,
            events: self.events()?,
            extras: self.extras()?,
        })
    }

    fn extras(&mut self) -> Decoded<PeerExtras> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        postcard::from_bytes(bytes).map_err(|e| malformed(&format!("peer extras: {e}")))
    }

    fn credential(&mut self) -> Decoded<Credential> {
        Ok(Credential {
            number: self.text()?,
            peer_id: self.text()?,
            credential_type: match self.byte()? {
                0 => CredentialType::PeerSupportSpecialist,
                1 => CredentialType::PeerRecoverySpecialist,
                2 => CredentialType::FamilyPeer,
                3 => CredentialType::YouthPeer,
                4 => CredentialType::PeerSupervisor,
                _ => return Err(malformed("unknown credential type")),
            },
            issued_on: self.date()?,
            initial_expires_on: self.date()?,
            reciprocity: match self.flag()? {
                true => Some(ReciprocityBasis {
                    origin_state: self.text()?,
                    origin_credential_number: self.text()?,
                    origin_checkpoint: self.blob()?,
                }),
                false => None,
            },
            imported: match self.flag()? {
                true => Some(ImportedBasis {
                    source_system: self.text()?,
                    source_record_id: self.text()?,
                    imported_on: self.date()?,
                }),
                false => None,
            },
            renewals: self.list(|r| {
                Ok(Renewal {
                    index: r.number()?,
                    renewed_on: r.date()?,
                    new_expires_on: r.date()?,
                    imported: r.flag()?,
                })
            })?,
            discipline: self.list(|r| {
                Ok(Discipline {
                    index: r.number()?,
                    kind: match r.byte()? {
                        0 => DisciplineKind::Reprimand,
                        1 => DisciplineKind::Probation,
                        2 => DisciplineKind::Restriction,
                        3 => DisciplineKind::Suspension,
                        4 => DisciplineKind::Revocation,
                        5 => DisciplineKind::VoluntarySurrender,
                        _ => return Err(malformed("unknown discipline kind")),
                    },
                    effective_on: r.date()?,
                    ends_on: r.optional_date()?,
                    public_summary: r.text()?,
                })
            })?,
            reinstatements: self.list(|r| {
                Ok(Reinstatement {
                    index: r.number()?,
                    effective_on: r.date()?,
                    public_summary: r.text()?,
                })
            })?,
            events: self.events()?,
        })
    }

    fn evaluation(&mut self) -> Decoded<Evaluation> {
        Ok(Evaluation {
            index: self.number()?,
            origin_state: self.text()?,
            origin_credential_number: self.text()?,
            origin_checkpoint: self.blob()?,
            outcome: match self.byte()? {
                0 => TransferOutcome::Approved,
                1 => TransferOutcome::Conditional,
                2 => TransferOutcome::Denied,
                _ => return Err(malformed("unknown transfer outcome")),
            },
            denials: self.list(Reader::text)?,
            gaps: self.list(|r| {
                Ok(Gap {
                    requirement: r.text()?,
                    required: r.text()?,
                    found: r.text()?,
                    remedy: r.text()?,
                })
            })?,
            evaluated_on: self.date()?,
            local_peer_id: self.optional_text()?,
            holder_name: self.text()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_snapshot_is_refused_and_dates_round_trip() {
        let mut registry = Registry::default();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        for (i, day) in [date(-40, 1, 1), date(1, 1, 1), date(2024, 2, 29), date(9999, 12, 31)]
            .into_iter()
            .enumerate()
        {
            let fact = crate::domain::fact::Fact::CredentialIssued(crate::domain::fact::Issue {
                peer_id: format!("P{i}"),
                credential_number: format!("C{i}"),
                credential_type: CredentialType::YouthPeer,
                issued_on: day,
                expires_on: day,
                reciprocity: None,
                imported: (i % 2 == 1).then(|| ImportedBasis {
                    source_system: "TN CARS 2019".into(),
                    source_record_id: format!("R-{i}"),
                    imported_on: day,
                }),
                holder_name: String::new(),
            });
            registry.apply(i as u64, &fact);
        }
        let root = [7u8; 32];
        let bytes = encode(&registry, &root).unwrap_or_default();
        assert_eq!(decode(&bytes), Ok((registry, root)));
        for at in [0, MAGIC.len() + 3, bytes.len() / 2, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(decode(&damaged).is_err(), "a flipped byte at {at} went unnoticed");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
