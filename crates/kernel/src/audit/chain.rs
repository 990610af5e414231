//! The audit log's hash chain, which makes a changed, removed or
//! reordered entry evident.
//!
//! Writers insert entries unsealed. A sealing pass ([`seal`]) takes the
//! committed unsealed entries in id order, gives each the next place in the
//! chain (`chain_seq`) and the SHA-256 of its content and the previous
//! place's hash (`chain_hash`). The chain runs in seal order, not id order:
//! on PostgreSQL a transaction may commit an entry with a lower id after
//! one with a higher id was sealed, and it is simply sealed in the next
//! pass. Passes are serialised (an advisory lock on PostgreSQL, the one
//! writer on SQLite), so places never clash.
//!
//! Why a sealer rather than chaining inside each writing transaction:
//! chaining there needs the chain's head under a lock held to commit, and
//! every audited write of every node would queue behind it. The cost of
//! the sealer is a window: an entry is protected from its sealing (within
//! about ten seconds, by the `audit.seal` job) on, not from its commit.
//!
//! [`verify`] recomputes every hash in chain order and reports each place
//! that does not match (content changed), that is missing (removed) or
//! out of order. Cutting entries off the end leaves a shorter valid chain:
//! compare the head it prints with one recorded earlier (`jinlin verify`
//! prints it; `jinlin backup` output keeps it with each backup).

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::entity::{Column, Entity, Model};
use crate::Database;

/// The job kind of the recurring sealing pass.
pub const SEAL_JOB: &str = "audit.seal";
/// How often the job seals. Often, so that a pass is small: sealed once a
/// minute at a thousand requests a second, a minute's 9,000 entries took a
/// fifth of a second of a core at once, on the minute, and the requests of
/// that second queued behind it on a busy machine.
pub const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Entries read per page when verifying.
const PAGE: u64 = 5000;
/// The PostgreSQL advisory lock that serialises sealing passes.
const SEAL_LOCK: i64 = 0x6a69_6e6c_696e_0a5d;
/// The hash before the first place.
pub const GENESIS: [u8; 32] = [0; 32];

/// The bytes a place's hash covers: a version tag, the place, every column
/// of the entry, and the previous hash. Strings are length-prefixed and
/// optional fields tagged, so no two entries share an encoding.
pub fn canonical_bytes(row: &Model, seq: i64, prev: &[u8; 32]) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn opt_text(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                text(out, s);
            }
        }
    }
    let mut out = Vec::with_capacity(128 + row.detail.len());
    out.extend_from_slice(b"jinlin-audit-v1\0");
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&row.id.to_be_bytes());
    out.extend_from_slice(&row.at.timestamp().to_be_bytes());
    out.extend_from_slice(&row.at.timestamp_subsec_nanos().to_be_bytes());
    match row.actor_account_id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            out.extend_from_slice(&id.to_be_bytes());
        }
    }
    opt_text(&mut out, row.actor_ip.as_deref());
    text(&mut out, &row.action);
    text(&mut out, &row.object_kind);
    opt_text(&mut out, row.object_id.as_deref());
    opt_text(&mut out, row.district_code.as_deref());
    text(&mut out, &row.detail);
    out.extend_from_slice(prev);
    out
}

/// The hash of `row` at place `seq` after `prev`.
pub fn link_hash(row: &Model, seq: i64, prev: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(canonical_bytes(row, seq, prev)).into()
}

pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The chain's last place and its hash (`(0, GENESIS)` when empty).
async fn head(db: &impl ConnectionTrait) -> Result<(i64, [u8; 32]), DbErr> {
    let last = Entity::find()
        .filter(Column::ChainSeq.is_not_null())
        .order_by_desc(Column::ChainSeq)
        .one(db)
        .await?;
    match last {
        None => Ok((0, GENESIS)),
        Some(row) => {
            let seq = row.chain_seq.unwrap_or(0);
            let hash = row
                .chain_hash
                .as_deref()
                .and_then(from_hex)
                .ok_or_else(|| {
                    DbErr::Custom(format!(
                        "audit entry {} holds chain place {seq} without a valid hash; \
                         run `jinlin verify` before sealing more",
                        row.id
                    ))
                })?;
            Ok((seq, hash))
        }
    }
}

/// Seals every committed unsealed entry, in batches; returns how many.
pub async fn seal(db: &Database) -> Result<u64, DbErr> {
    let backend = db.backend();
    // SQLite's one writer waits for each transaction: keep them short.
    // PostgreSQL's sealers only wait for each other.
    let batch = if backend == DbBackend::Postgres {
        5000
    } else {
        1000
    };
    let mut sealed = 0;
    loop {
        let tx = db.write().await?;
        if backend == DbBackend::Postgres {
            // Sealers on other nodes hold this for a batch: wait them out
            // rather than give up at the write's usual lock wait.
            tx.execute_unprepared("SET LOCAL lock_timeout = 0").await?;
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [SEAL_LOCK.into()],
            ))
            .await?;
        }
        let (mut seq, mut prev) = head(&tx).await?;
        let rows = Entity::find()
            .filter(Column::ChainSeq.is_null())
            .order_by_asc(Column::Id)
            .limit(batch)
            .all(&tx)
            .await?;
        let n = rows.len() as u64;
        let mut links = Vec::with_capacity(rows.len());
        for row in rows {
            seq += 1;
            let hash = link_hash(&row, seq, &prev);
            links.push((row.id, seq, to_hex(&hash)));
            prev = hash;
        }
        for chunk in links.chunks(WRITE_CHUNK) {
            let mut written = 0;
            for statement in write_links(backend, chunk) {
                written += tx.execute_raw(statement).await?.rows_affected();
            }
            // Passes are serialised, so every entry read unsealed is still
            // unsealed; anything else would fork the chain.
            if written != chunk.len() as u64 {
                return Err(DbErr::Custom(format!(
                    "sealing wrote {written} of {} audit entries: another pass sealed them \
                     meanwhile",
                    chunk.len()
                )));
            }
        }
        tx.commit().await?;
        sealed += n;
        if n < batch {
            return Ok(sealed);
        }
    }
}

/// Rows written by one PostgreSQL sealing statement.
const WRITE_CHUNK: usize = 5000;

/// The statements giving each `(id, place, hash)` its place and hash, for
/// entries still unsealed. Every value is bound.
fn write_links(backend: DbBackend, links: &[(i64, i64, String)]) -> Vec<Statement> {
    if backend == DbBackend::Postgres {
        // A round trip per row was most of the pass: three array
        // parameters instead, written as array literals (numbers and hex
        // digits need no quoting).
        let array = |f: &dyn Fn(&(i64, i64, String)) -> String| {
            let items: Vec<String> = links.iter().map(f).collect();
            format!("{{{}}}", items.join(","))
        };
        return vec![Statement::from_sql_and_values(
            backend,
            "UPDATE audit_log AS a SET chain_seq = u.seq, chain_hash = u.hash \
             FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, seq, hash) \
             WHERE a.id = u.id AND a.chain_seq IS NULL",
            [
                array(&|l| l.0.to_string()).into(),
                array(&|l| l.1.to_string()).into(),
                array(&|l| l.2.clone()).into(),
            ],
        )];
    }
    // SQLite runs in the process, so a statement per row costs no round
    // trip; and its planner would scan the table for every row of a
    // joined VALUES list instead of looking each id up.
    links
        .iter()
        .map(|(id, seq, hash)| {
            Statement::from_sql_and_values(
                backend,
                "UPDATE audit_log SET chain_seq = ?, chain_hash = ? \
                 WHERE id = ? AND chain_seq IS NULL",
                [(*seq).into(), hash.clone().into(), (*id).into()],
            )
        })
        .collect()
}

/// One place that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The entry's id (`None` for a place with no entry).
    pub id: Option<i64>,
    pub seq: i64,
    pub what: BreakKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's content or its link does not hash to its stored hash.
    HashMismatch,
    /// No entry holds this place: removed, or its place cleared.
    Missing,
    /// The stored hash is not 64 hex digits.
    BadHash,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.what, self.id) {
            (BreakKind::HashMismatch, Some(id)) => write!(
                f,
                "audit entry {id} (chain place {}) does not match its hash: its content or \
                 the entry before it was changed",
                self.seq
            ),
            (BreakKind::BadHash, Some(id)) => write!(
                f,
                "audit entry {id} (chain place {}) holds no valid hash",
                self.seq
            ),
            _ => write!(
                f,
                "chain place {} is missing: an audit entry was removed or unsealed",
                self.seq
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Sealed entries checked.
    pub sealed: u64,
    /// The last place and its hash (as stored).
    pub head_seq: i64,
    pub head_hash: String,
    /// Entries written since the last sealing pass.
    pub unsealed: u64,
    pub oldest_unsealed: Option<chrono::DateTime<chrono::Utc>>,
    /// Every place that does not verify, in chain order (the first
    /// [`MAX_BREAKS`]; `more_breaks` counts the rest).
    pub breaks: Vec<Break>,
    pub more_breaks: u64,
}

pub const MAX_BREAKS: usize = 50;

impl Report {
    pub fn ok(&self) -> bool {
        self.breaks.is_empty()
    }

    fn push(&mut self, b: Break) {
        if self.breaks.len() < MAX_BREAKS {
            self.breaks.push(b);
        } else {
            self.more_breaks += 1;
        }
    }
}

/// Checks the whole chain, page by page, inside one read transaction (a
/// repeatable snapshot on PostgreSQL, so a sealing pass meanwhile does not
/// show half). Each place is checked against the stored hash of the place
/// before it, so a changed entry is reported alone and the rest still
/// verify.
pub async fn verify(db: &Database) -> Result<Report, DbErr> {
    let tx = db
        .conn()
        .begin_with_config(
            (db.backend() == DbBackend::Postgres)
                .then_some(sea_orm::IsolationLevel::RepeatableRead),
            None,
        )
        .await?;
    let mut report = Report::default();
    let mut expected = 1i64;
    // The previous place's stored hash; unknown right after a missing one.
    let mut prev = Some(GENESIS);
    loop {
        let page = Entity::find()
            .filter(Column::ChainSeq.gte(expected))
            .order_by_asc(Column::ChainSeq)
            .limit(PAGE)
            .all(&tx)
            .await?;
        let Some(last) = page.last() else { break };
        let last_seq = last.chain_seq.unwrap_or(expected);
        for row in page {
            let seq = row.chain_seq.unwrap_or(expected);
            // Places skipped over: their entries are gone, and the next
            // entry's link names a hash that is not there.
            while expected < seq {
                report.push(Break {
                    id: None,
                    seq: expected,
                    what: BreakKind::Missing,
                });
                expected += 1;
                prev = None;
            }
            report.sealed += 1;
            match row.chain_hash.as_deref().and_then(from_hex) {
                None => {
                    report.push(Break {
                        id: Some(row.id),
                        seq,
                        what: BreakKind::BadHash,
                    });
                    prev = None;
                }
                Some(stored) => {
                    if prev.is_some_and(|prev| link_hash(&row, seq, &prev) != stored) {
                        report.push(Break {
                            id: Some(row.id),
                            seq,
                            what: BreakKind::HashMismatch,
                        });
                    }
                    prev = Some(stored);
                }
            }
            report.head_seq = seq;
            report.head_hash = row.chain_hash.clone().unwrap_or_default();
            expected = seq + 1;
        }
        expected = expected.max(last_seq + 1);
    }
    report.unsealed = Entity::find()
        .filter(Column::ChainSeq.is_null())
        .count(&tx)
        .await?;
    report.oldest_unsealed = Entity::find()
        .filter(Column::ChainSeq.is_null())
        .order_by_asc(Column::At)
        .one(&tx)
        .await?
        .map(|r| r.at);
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(id: i64, detail: &str, ip: Option<&str>) -> Model {
        Model {
            id,
            at: chrono::DateTime::from_timestamp(1_790_000_000, 123_456_000).unwrap(),
            actor_account_id: Some(7),
            actor_ip: ip.map(str::to_string),
            action: "place.create".into(),
            object_kind: "place".into(),
            object_id: Some("42".into()),
            district_code: Some("350104".into()),
            detail: detail.into(),
            chain_seq: None,
            chain_hash: None,
        }
    }

    #[test]
    fn each_field_and_the_link_change_the_hash() {
        let base = row(1, "{}", None);
        let h = link_hash(&base, 1, &GENESIS);
        let mut changed = vec![
            link_hash(&base, 2, &GENESIS),
            link_hash(&base, 1, &[1; 32]),
            link_hash(&row(2, "{}", None), 1, &GENESIS),
            link_hash(&row(1, "{ }", None), 1, &GENESIS),
            link_hash(&row(1, "{}", Some("")), 1, &GENESIS),
        ];
        for edit in [
            |m: &mut Model| m.actor_account_id = None,
            |m: &mut Model| m.action.push('x'),
            |m: &mut Model| m.object_kind.push('x'),
            |m: &mut Model| m.object_id = None,
            |m: &mut Model| m.district_code = Some("350105".into()),
            |m: &mut Model| m.at += chrono::Duration::microseconds(1),
        ] {
            let mut m = base.clone();
            edit(&mut m);
            changed.push(link_hash(&m, 1, &GENESIS));
        }
        for other in changed {
            assert_ne!(other, h);
        }
    }

    #[test]
    fn the_sealed_columns_are_not_hashed() {
        let mut sealed = row(1, "{}", None);
        sealed.chain_seq = Some(1);
        sealed.chain_hash = Some("ab".repeat(32));
        assert_eq!(
            link_hash(&sealed, 1, &GENESIS),
            link_hash(&row(1, "{}", None), 1, &GENESIS)
        );
    }

    proptest! {
        /// Moving text between adjacent fields never keeps the encoding.
        #[test]
        fn fields_do_not_run_into_each_other(a in ".{0,8}", b in ".{0,8}", cut in 0usize..8) {
            let mut one = row(1, "{}", None);
            one.action = a.clone();
            one.object_kind = b.clone();
            let joined = format!("{a}{b}");
            let cut = joined.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(joined.len());
            let mut two = one.clone();
            two.action = joined[..cut].to_string();
            two.object_kind = joined[cut..].to_string();
            prop_assert_eq!(
                canonical_bytes(&one, 1, &GENESIS) == canonical_bytes(&two, 1, &GENESIS),
                one.action == two.action
            );
        }

        #[test]
        fn hex_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            prop_assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        }
    }
}
