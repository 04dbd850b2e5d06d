//! `peerreg.v1.Board`: authenticated board operations, one RPC per operation.
//! Each handler: authorise, convert in, append, convert the receipt out.

use std::sync::Arc;

use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::rpc::board_server::Board;
use crate::auth::{Caller, Operation, Tokens};
use crate::error::{Error, Result};
use crate::ledger::{Judged, Ledger, Receipt};
use crate::log::merkle::{LeafIndex, TreeSize};
use crate::pb;
use pb::command::Body;

pub struct BoardService {
    ledger: Ledger,
    tokens: Arc<Tokens>,
}

impl BoardService {
    pub fn new(ledger: Ledger, tokens: Arc<Tokens>) -> BoardService {
        BoardService { ledger, tokens }
    }
}

/// The secret of an `authorization: Bearer <token>` header, if any.
pub fn bearer(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// Checks that the caller may perform `operation`; returns the token's name.
pub fn authorize(tokens: &Tokens, metadata: &MetadataMap, operation: Operation) -> Result<String> {
    tokens.authorize(bearer(metadata), operation)
}

fn required<T>(event: Option<T>) -> Result<T> {
    event.ok_or_else(|| Error::InvalidArgument("`event` is required: the facts to record".into()))
}

/// A receipt the caller can prove later: entry, checkpoint, inclusion proof.
pub fn receipt(ledger: &Ledger, receipt: &Receipt) -> Result<pb::Receipt> {
    let checkpoint = &receipt.published.checkpoint;
    let (entry, proof) = match &receipt.proven {
        // Built by the writer from memory as it appended.
        Some(proven) => (proven.entry.clone(), proven.inclusion_proof.clone()),
        None => (
            ledger
                .entries(receipt.index, receipt.index + 1)?
                .into_iter()
                .next()
                .unwrap_or_default(),
            ledger.inclusion_proof(LeafIndex(receipt.index), TreeSize(checkpoint.size))?,
        ),
    };
    Ok(pb::Receipt {
        index: receipt.index,
        checkpoint: Some(super::convert::checkpoint(&receipt.published)),
        entry,
        inclusion_proof: proof.into_iter().map(|h| h.to_vec()).collect(),
        duplicate: receipt.duplicate,
    })
}

impl BoardService {
    async fn record(
        &self,
        metadata: &MetadataMap,
        operation: Operation,
        event_id: String,
        body: Result<Body>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let caller = self.tokens.authenticate(bearer(metadata))?;
        let operation = body.as_ref().map_or(operation, |body| needed(operation, body));
        caller.permit(operation)?;
        let token = caller.name();
        let appended = self.ledger.append(event_id, body?).await?;
        tracing::info!(token = %token, operation = operation.name(), index = appended.index, duplicate = appended.duplicate, "board operation recorded");
        Ok(Response::new(receipt(&self.ledger, &appended)?))
    }
}

/// Whether a command carries an import marker: an issue with an imported
/// basis, an imported renewal, an import provenance record.
fn imports(body: &Body) -> bool {
    match body {
        Body::CredentialIssued(e) => e.imported.is_some(),
        Body::CredentialRenewed(e) => e.imported,
        Body::ImportProvenance(_) => true,
        _ => false,
    }
}

/// The right a command needs: `import_records` for one carrying an import
/// marker (instead of its usual right: an `issue_credential` token cannot
/// import), else `usual`. The one place rights depend on a body, for the
/// single RPCs and batches alike.
fn needed(usual: Operation, body: &Body) -> Operation {
    if imports(body) {
        Operation::ImportRecords
    } else {
        usual
    }
}

/// A batch command's body as an event body, with the right it needs.
fn batch_body(body: pb::batch_command::Body) -> (Operation, Body) {
    let (usual, body) = usual_right(body);
    (needed(usual, &body), body)
}

/// A batch command's body as an event body, with the right its kind needs.
fn usual_right(body: pb::batch_command::Body) -> (Operation, Body) {
    use pb::batch_command::Body as B;
    match body {
        B::PeerEnrolled(e) => (Operation::EnrollPeer, Body::PeerEnrolled(e)),
        B::NameChanged(e) => (Operation::ChangeName, Body::NameChanged(e)),
        B::TrainingCompleted(e) => (Operation::RecordTraining, Body::TrainingCompleted(e)),
        B::ExperienceRecorded(e) => (Operation::RecordExperience, Body::ExperienceRecorded(e)),
        B::ExamRecorded(e) => (Operation::RecordExam, Body::ExamRecorded(e)),
        B::CredentialIssued(e) => (Operation::IssueCredential, Body::CredentialIssued(e)),
        B::ContinuingEducationCompleted(e) => (
            Operation::RecordContinuingEducation,
            Body::ContinuingEducationCompleted(e),
        ),
        B::CredentialRenewed(e) => (Operation::RenewCredential, Body::CredentialRenewed(e)),
        B::DisciplinaryAction(e) => (Operation::RecordDiscipline, Body::DisciplinaryAction(e)),
        B::CredentialReinstated(e) => (Operation::ReinstateCredential, Body::CredentialReinstated(e)),
        B::ConsentRecorded(e) => (Operation::RecordConsent, Body::ConsentRecorded(e)),
        B::WaiverRecorded(e) => (Operation::RecordWaiver, Body::WaiverRecorded(e)),
        B::RequirementEvidence(e) => (Operation::RecordEvidence, Body::RequirementEvidence(e)),
        B::ImportProvenance(e) => (Operation::ImportRecords, Body::ImportProvenance(e)),
    }
}

fn batch_result(result: Result<Judged>) -> pb::BatchResult {
    match result {
        Ok(judged) => pb::BatchResult {
            index: judged.index,
            duplicate: judged.duplicate,
            ..Default::default()
        },
        Err(e) => pb::BatchResult {
            error_code: e.code_name().to_string(),
            error: e.to_string(),
            ..Default::default()
        },
    }
}

/// A batch sorted: the commands to append, and per command its refusal (if any).
type Admitted = (Vec<(String, Body)>, Vec<Option<Error>>);

/// Checks a batch's size and sorts its commands into those to append and
/// those refused already (per item: no body, or a right the caller lacks).
/// The caller is authenticated before this looks at the batch at all.
fn admit(caller: &Caller, commands: Vec<pb::BatchCommand>) -> Result<Admitted> {
    if commands.is_empty() {
        return Err(Error::InvalidArgument("`commands` is empty: nothing to record".into()));
    }
    if commands.len() > crate::limits::BATCH_COMMANDS_MAX {
        return Err(Error::ResourceExhausted(format!(
            "{} commands in one batch; send at most {} per call",
            commands.len(),
            crate::limits::BATCH_COMMANDS_MAX
        )));
    }
    let mut admitted = Vec::with_capacity(commands.len());
    let mut refused = Vec::with_capacity(commands.len());
    for pb::BatchCommand { event_id, body } in commands {
        let Some((operation, body)) = body.map(batch_body) else {
            refused.push(Some(Error::InvalidArgument("a command has no body".into())));
            continue;
        };
        match caller.permit(operation) {
            Ok(()) => {
                admitted.push((event_id, body));
                refused.push(None);
            }
            Err(why) => refused.push(Some(why)),
        }
    }
    Ok((admitted, refused))
}

#[tonic::async_trait]
impl Board for BoardService {
    /// Records a batch, or with `dry_run` has the ledger judge it exactly as
    /// it would record it (`Ledger::dry_run`) and records nothing; rights
    /// are checked here the same way for both.
    async fn record_batch(
        &self,
        request: Request<pb::RecordBatchRequest>,
    ) -> Result<Response<pb::RecordBatchResponse>, Status> {
        let caller = self.tokens.authenticate(bearer(request.metadata()))?;
        let token = caller.name().to_string();
        let pb::RecordBatchRequest { commands, dry_run } = request.into_inner();
        let (admitted, refused) = admit(&caller, commands)?;
        let judged: Vec<Result<Judged>> = if dry_run {
            self.ledger.dry_run(admitted).await?
        } else {
            let appended = self.ledger.append_many(admitted).await?.into_iter();
            appended
                .map(|r| {
                    r.map(|receipt| Judged {
                        index: receipt.index,
                        duplicate: receipt.duplicate,
                    })
                })
                .collect()
        };
        let mut judged = judged.into_iter();
        let results: Vec<pb::BatchResult> = refused
            .into_iter()
            .map(|refusal| match refusal {
                Some(e) => batch_result(Err(e)),
                None => batch_result(
                    judged
                        .next()
                        .unwrap_or_else(|| Err(Error::Internal("a batch result went missing".into()))),
                ),
            })
            .collect();
        let published = self.ledger.published();
        let recorded = results.iter().filter(|r| r.error_code.is_empty()).count();
        tracing::info!(token = %token, commands = results.len(), recorded, dry_run, "board batch judged");
        Ok(Response::new(pb::RecordBatchResponse {
            results,
            checkpoint: Some(super::convert::checkpoint(&published)),
        }))
    }

    async fn enroll_peer(&self, r: Request<pb::EnrollPeerRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::EnrollPeerRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::EnrollPeer,
            event_id,
            required(event).map(Body::PeerEnrolled),
        )
        .await
    }

    async fn change_name(&self, r: Request<pb::ChangeNameRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::ChangeNameRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::ChangeName,
            event_id,
            required(event).map(Body::NameChanged),
        )
        .await
    }

    async fn record_training(&self, r: Request<pb::RecordTrainingRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordTrainingRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::RecordTraining,
            event_id,
            required(event).map(Body::TrainingCompleted),
        )
        .await
    }

    async fn record_experience(
        &self,
        r: Request<pb::RecordExperienceRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordExperienceRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::RecordExperience,
            event_id,
            required(event).map(Body::ExperienceRecorded),
        )
        .await
    }

    async fn record_exam(&self, r: Request<pb::RecordExamRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordExamRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::RecordExam,
            event_id,
            required(event).map(Body::ExamRecorded),
        )
        .await
    }

    async fn issue_credential(&self, r: Request<pb::IssueCredentialRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::IssueCredentialRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::IssueCredential,
            event_id,
            required(event).map(Body::CredentialIssued),
        )
        .await
    }

    async fn record_continuing_education(
        &self,
        r: Request<pb::RecordContinuingEducationRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordContinuingEducationRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::ContinuingEducationCompleted);
        self.record(&m, Operation::RecordContinuingEducation, event_id, body)
            .await
    }

    async fn renew_credential(&self, r: Request<pb::RenewCredentialRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RenewCredentialRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::RenewCredential,
            event_id,
            required(event).map(Body::CredentialRenewed),
        )
        .await
    }

    async fn record_discipline(
        &self,
        r: Request<pb::RecordDisciplineRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordDisciplineRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::RecordDiscipline,
            event_id,
            required(event).map(Body::DisciplinaryAction),
        )
        .await
    }

    async fn reinstate_credential(
        &self,
        r: Request<pb::ReinstateCredentialRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::ReinstateCredentialRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        self.record(
            &m,
            Operation::ReinstateCredential,
            event_id,
            required(event).map(Body::CredentialReinstated),
        )
        .await
    }

    async fn record_consent(&self, r: Request<pb::RecordConsentRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordConsentRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::ConsentRecorded);
        self.record(&m, Operation::RecordConsent, event_id, body).await
    }

    async fn record_waiver(&self, r: Request<pb::RecordWaiverRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordWaiverRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::WaiverRecorded);
        self.record(&m, Operation::RecordWaiver, event_id, body).await
    }

    async fn expunge(&self, r: Request<pb::ExpungeRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::ExpungeRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::Expunge);
        self.record(&m, Operation::Expunge, event_id, body).await
    }

    async fn void_record(&self, r: Request<pb::VoidRecordRequest>) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::VoidRecordRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::Void);
        self.record(&m, Operation::VoidRecord, event_id, body).await
    }

    async fn record_requirement_evidence(
        &self,
        r: Request<pb::RecordRequirementEvidenceRequest>,
    ) -> Result<Response<pb::Receipt>, Status> {
        let (m, pb::RecordRequirementEvidenceRequest { event_id, event }) = (r.metadata().clone(), r.into_inner());
        let body = required(event).map(Body::RequirementEvidence);
        self.record(&m, Operation::RecordEvidence, event_id, body).await
    }
}
