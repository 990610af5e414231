//! The epoch of the principals' tables on PostgreSQL: one row whose value
//! moves on with every commit that changes what a signed-in principal is
//! read from (its credential, account, grants, their places, an agency
//! administrator's pairings). A node keeps the principals it has read
//! under the epoch they were read at, and serves one only while a read of
//! this row begun after the request arrived still finds that epoch
//! (`kernel::db::epoch`). Several nodes write one database, and this row
//! is what they all see; SQLite's one process watches its own commits
//! instead (`kernel::db::changes`), and has no such row.
//!
//! Its values never repeat: each is past the last and past the clock in
//! microseconds, so after a restore (or a failover that lost commits) the
//! next change moves it past every value the nodes have kept.
//!
//! The triggers are deferred constraint triggers: they run at the commit,
//! so the row is locked only from the commit's queued trigger events to
//! its end (never across a transaction's other statements, where two
//! writers could wait on each other), and moved once per transaction
//! whatever its rows. A change of many rows (the hourly removal of ended
//! sessions) runs its events within that time, and other commits to these
//! tables wait for it. A `TRUNCATE` moves it at once. Only
//! the columns a principal is read from fire them: a session's or a
//! token's last use, a failed sign-in's count and a dwelling's reach do
//! not. A row inserted into `session`, `api_token`, `account` or `place`
//! is none that a kept principal was read from (one is kept only for a
//! credential found), so inserts there do not either: a new session and
//! imports leave the kept principals be (a sign-in that carries an older
//! session ends that one, which does move it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each table with the events that fire its trigger.
const FIRED_BY: &[(&str, &str)] = &[
    (
        "session",
        "DELETE OR UPDATE OF id, account_id, csrf_token, expires_at",
    ),
    (
        "api_token",
        "DELETE OR UPDATE OF id, account_id, token_hash, can_write, revoked_at",
    ),
    (
        "account",
        "DELETE OR UPDATE OF id, username, person_id, display_name, language, disabled",
    ),
    ("role_grant", "INSERT OR DELETE OR UPDATE"),
    (
        "place",
        "DELETE OR UPDATE OF id, kind, code, name, district_code, street_id, community_id, \
         compound_id, building_id, entrance_id",
    ),
    ("agency_account", "INSERT OR DELETE OR UPDATE"),
    ("agency_pairing", "INSERT OR DELETE OR UPDATE"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // Each step may find itself done: a backup made before this
        // migration, restored over a database made after it, keeps this
        // table (the restore replaces only the tables it holds).
        let db = m.get_connection();
        db.execute_unprepared(
            "CREATE TABLE IF NOT EXISTS principal_epoch (id smallint PRIMARY KEY \
             CHECK (id = 1), value bigint NOT NULL)",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO principal_epoch (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
        // The setting marks a transaction whose commit has moved the row
        // already; it lasts to the end of the transaction.
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION principal_epoch_move() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF current_setting('jinlin.principal_epoch_moved', true) IS DISTINCT FROM 'yes' THEN \
                 PERFORM set_config('jinlin.principal_epoch_moved', 'yes', true); \
                 UPDATE principal_epoch SET value = GREATEST(value + 1, \
                   (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) WHERE id = 1; \
               END IF; \
               RETURN NULL; \
             END $$",
        )
        .await?;
        for (table, events) in FIRED_BY {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS principal_epoch ON {table}; \
                 DROP TRIGGER IF EXISTS principal_epoch_truncate ON {table}"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE CONSTRAINT TRIGGER principal_epoch AFTER {events} ON {table} \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION principal_epoch_move()"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER principal_epoch_truncate AFTER TRUNCATE ON {table} \
                 FOR EACH STATEMENT EXECUTE FUNCTION principal_epoch_move()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for (table, _) in FIRED_BY {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS principal_epoch ON {table}; \
                 DROP TRIGGER IF EXISTS principal_epoch_truncate ON {table}"
            ))
            .await?;
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS principal_epoch_move()")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS principal_epoch")
            .await?;
        Ok(())
    }
}
