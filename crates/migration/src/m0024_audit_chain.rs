//! The audit log's hash chain: a sealing pass gives each committed row its
//! place in the chain (`chain_seq`, 1, 2, 3, …) and a SHA-256 hash over its
//! content and the previous row's hash (`chain_hash`). Rows are written
//! unsealed (both NULL) and sealed shortly after; existing rows are sealed
//! by the first pass.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    ChainSeq,
    ChainHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for mut col in [
            big_integer_null(AuditLog::ChainSeq),
            string_len_null(AuditLog::ChainHash, 64),
        ] {
            m.alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // A place in the chain is held once (unsealed NULLs do not clash).
        m.create_index(
            Index::create()
                .name("ux_audit_chain_seq")
                .table(AuditLog::Table)
                .col(AuditLog::ChainSeq)
                .unique()
                .to_owned(),
        )
        .await?;
        // The sealer reads the unsealed rows in id order; a partial index
        // keeps that read small however long the log grows.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_audit_unsealed ON audit_log (id) WHERE chain_seq IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_audit_unsealed", "ux_audit_chain_seq"] {
            m.drop_index(Index::drop().name(name).table(AuditLog::Table).to_owned())
                .await?;
        }
        for col in [AuditLog::ChainHash, AuditLog::ChainSeq] {
            m.alter_table(
                Table::alter()
                    .table(AuditLog::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
