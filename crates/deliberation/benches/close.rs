//! Closes and tallies an owners' vote of 10,000 units with every ballot
//! cast, from the database: reading the electorate and the ballot log,
//! checking the hash chain, the four tests, and storing the result. Each
//! run is rolled back, so every run closes the same open vote.
//!
//! cargo bench -p jinlin-deliberation --bench close
//! JINLIN_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p jinlin-deliberation --bench close

use std::sync::OnceLock;

use chrono::{Duration, Utc};
use divan::Bencher;
use jinlin_deliberation::entity::{ballot, matter, vote, vote_unit};
use jinlin_deliberation::vote::{BallotRecord, Choice, LoggedBallot, OwnerGroup, OwnerKey, Unit};
use jinlin_deliberation::votes;
use jinlin_kernel::Database;
use jinlin_kernel::auth::{AuthVia, Principal};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use tokio::runtime::Runtime;

const UNITS: i64 = 10_000;

fn main() {
    divan::main();
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().expect("tokio runtime"))
}

/// A database holding one open vote of 10,000 units, each with a ballot.
async fn prepared(url: &str, closes_in: Duration) -> (Database, i64) {
    let db = Database::connect(url, 2).await.expect("connect");
    db.migrate().await.expect("migrate");
    let now = Utc::now();
    let matter_id = matter::Entity::insert(matter::ActiveModel {
        district_code: Set("350104".into()),
        street_id: Set(None),
        community_id: Set(None),
        compound_id: Set(1),
        title: Set("bench".into()),
        description: Set("bench".into()),
        state: Set("public_review".into()),
        joint_decision: Set(Some(4)),
        proposer_account_id: Set(None),
        proposer_name: Set("bench".into()),
        review_from: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db.conn())
    .await
    .expect("matter")
    .last_insert_id;
    let vote_id = vote::Entity::insert(vote::ActiveModel {
        matter_id: Set(matter_id),
        district_code: Set("350104".into()),
        compound_id: Set(1),
        article_matter: Set(4),
        state: Set(votes::OPEN.into()),
        deemed_votes: Set(false),
        opened_by: Set(1),
        opened_at: Set(now),
        closes_at: Set(now + closes_in),
        closed_at: Set(None),
        unit_count: Set(UNITS),
        total_area_centi_m2: Set((0..UNITS).map(|i| 6_000 + (i * 7_919) % 9_000).sum()),
        total_heads: Set(UNITS),
        ballot_count: Set(UNITS),
        opening_hash: Set(String::new()),
        head_hash: Set(String::new()),
        result: Set(None),
        cancel_reason: Set(None),
        ..Default::default()
    })
    .exec(db.conn())
    .await
    .expect("vote")
    .last_insert_id;
    let stored = vote::Entity::find_by_id(vote_id)
        .one(db.conn())
        .await
        .expect("read vote")
        .expect("the vote");
    let electorate: Vec<Unit> = (0..UNITS)
        .map(|i| Unit {
            unit_id: i + 1,
            area_centi_m2: (6_000 + (i * 7_919) % 9_000) as u64,
            owner: OwnerGroup::sole(OwnerKey::Person(i + 1)),
        })
        .collect();
    let opening = votes::header_of(&stored)
        .expect("header")
        .opening_hash(&electorate);
    let mut units = Vec::new();
    let mut ballots = Vec::new();
    let mut prev = opening;
    for (i, unit) in electorate.iter().enumerate() {
        let i = i as i64;
        let key = votes::voter_key(&unit.owner);
        units.push(vote_unit::ActiveModel {
            vote_id: Set(vote_id),
            dwelling_id: Set(unit.unit_id),
            area_centi_m2: Set(unit.area_centi_m2 as i64),
            area_source: Set("register".into()),
            voter: Set(key.clone()),
        });
        let choice = [Choice::For, Choice::For, Choice::Against, Choice::Abstain][i as usize % 4];
        let nonce = [(i % 251) as u8; 16];
        let sealed = LoggedBallot::seal(
            &prev,
            BallotRecord {
                vote_id,
                voter: unit.owner.clone(),
                choice,
                sequence: i as u64 + 1,
                cast_at: now.timestamp() - 10,
                nonce,
            },
        );
        prev = sealed.hash;
        ballots.push(ballot::ActiveModel {
            vote_id: Set(vote_id),
            sequence: Set(i + 1),
            voter: Set(key),
            choice: Set(choice.as_str().into()),
            cast_at: Set(now.timestamp() - 10),
            account_id: Set(1),
            nonce: Set(votes::hex(&nonce)),
            hash: Set(votes::hex(&sealed.hash)),
            entered_by: Set(None),
            ..Default::default()
        });
    }
    for chunk in units.chunks(1000) {
        vote_unit::Entity::insert_many(chunk.to_vec())
            .exec(db.conn())
            .await
            .expect("units");
    }
    for chunk in ballots.chunks(1000) {
        ballot::Entity::insert_many(chunk.to_vec())
            .exec(db.conn())
            .await
            .expect("ballots");
    }
    vote::Entity::update_many()
        .col_expr(vote::Column::OpeningHash, Expr::value(votes::hex(&opening)))
        .col_expr(vote::Column::HeadHash, Expr::value(votes::hex(&prev)))
        .filter(vote::Column::Id.eq(vote_id))
        .exec(db.conn())
        .await
        .expect("head");
    db.refresh_statistics().await.expect("analyze");
    (db, vote_id)
}

fn close_and_tally(bencher: Bencher, url: &str) {
    let (db, vote_id) = runtime().block_on(prepared(url, Duration::minutes(1)));
    bencher.bench_local(|| {
        runtime().block_on(async {
            let tx = db.conn().begin().await.expect("begin");
            let later = Utc::now() + Duration::minutes(2);
            let tally = votes::close_at(&tx, vote_id, later).await.expect("close");
            assert_eq!(tally.cast.participating.heads, UNITS as u64);
            tx.rollback().await.expect("rollback");
        })
    });
}

/// One ballot appended to the chain of a 10,000-unit vote and committed:
/// the row lock, the voter's last ballot, the seal, two writes.
fn cast_one(bencher: Bencher, url: &str) {
    let (db, vote_id) = runtime().block_on(prepared(url, Duration::days(1)));
    let voter = Principal {
        account_id: 1,
        username: "bench".into(),
        display_name: "bench".into(),
        person_id: Some(1),
        language: None,
        grants: Vec::new(),
        paired_compounds: Vec::new(),
        via: AuthVia::Token { can_write: true },
    };
    let key = votes::voter_key(&OwnerGroup::sole(OwnerKey::Person(1)));
    let mut n = 0usize;
    bencher.bench_local(|| {
        n += 1;
        // Alternate, so that no ballot repeats the one before.
        let choice = if n.is_multiple_of(2) {
            Choice::For
        } else {
            Choice::Against
        };
        runtime().block_on(async {
            let tx = db.write().await.expect("begin");
            let ballot_for = votes::BallotFor {
                voter: key.clone(),
                entered_by: None,
            };
            votes::cast(&tx, &voter, vote_id, ballot_for, choice)
                .await
                .expect("cast");
            tx.commit().await.expect("commit");
        })
    });
}

#[divan::bench(sample_count = 200)]
fn cast_sqlite(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.sqlite").display()
    );
    cast_one(bencher, &url);
}

#[divan::bench(sample_count = 200)]
fn cast_postgres(bencher: Bencher) {
    let Ok(url) = std::env::var("JINLIN_BENCH_POSTGRES_URL") else {
        return;
    };
    cast_one(bencher, &url);
}

#[divan::bench(sample_count = 20)]
fn close_sqlite(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.sqlite").display()
    );
    close_and_tally(bencher, &url);
}

#[divan::bench(sample_count = 20)]
fn close_postgres(bencher: Bencher) {
    let Ok(url) = std::env::var("JINLIN_BENCH_POSTGRES_URL") else {
        eprintln!("postgres: set JINLIN_BENCH_POSTGRES_URL to run (an empty database is best)");
        return;
    };
    close_and_tally(bencher, &url);
}
