//! Accounts, roles granted at places, sessions, API tokens, invitations and
//! the audit log. Sessions live in the database so every node shares them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m0002_registry::{Person, Place};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    Username,
    PersonId,
    DisplayName,
    PasswordHash,
    Language,
    FailedLogins,
    LockedUntil,
    Disabled,
    CreatedAt,
    PasswordChangedAt,
}

#[derive(DeriveIden)]
enum RoleGrant {
    Table,
    Id,
    AccountId,
    Role,
    PlaceId,
    DistrictCode,
    GrantedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    AccountId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum ApiToken {
    Table,
    Id,
    AccountId,
    Name,
    TokenHash,
    CanWrite,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    TokenHash,
    Role,
    PlaceId,
    DistrictCode,
    InviteeName,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAccountId,
    AcceptedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorAccountId,
    ActorIp,
    Action,
    ObjectKind,
    ObjectId,
    DistrictCode,
    Detail,
}

fn account_fk(
    table: impl IntoIden,
    col: impl IntoIden,
    name: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Account::Table, Account::Id)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Account::Table)
                .col(big_pk_auto(Account::Id))
                .col(string_len(Account::Username, 64).unique_key())
                .col(big_integer_null(Account::PersonId))
                .col(string_len(Account::DisplayName, 64))
                .col(text(Account::PasswordHash))
                .col(string_len_null(Account::Language, 8))
                .col(integer(Account::FailedLogins).default(0))
                .col(timestamp_with_time_zone_null(Account::LockedUntil))
                .col(boolean(Account::Disabled).default(false))
                .col(timestamp_with_time_zone(Account::CreatedAt))
                .col(timestamp_with_time_zone(Account::PasswordChangedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_account_person")
                        .from(Account::Table, Account::PersonId)
                        .to(Person::Table, Person::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RoleGrant::Table)
                .col(big_pk_auto(RoleGrant::Id))
                .col(big_integer(RoleGrant::AccountId))
                .col(string_len(RoleGrant::Role, 32))
                .col(big_integer(RoleGrant::PlaceId))
                .col(string_len_null(RoleGrant::DistrictCode, 6))
                .col(big_integer_null(RoleGrant::GrantedBy))
                .col(timestamp_with_time_zone(RoleGrant::CreatedAt))
                .foreign_key(&mut account_fk(
                    RoleGrant::Table,
                    RoleGrant::AccountId,
                    "fk_grant_account",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_grant_place")
                        .from(RoleGrant::Table, RoleGrant::PlaceId)
                        .to(Place::Table, Place::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_grant")
                .table(RoleGrant::Table)
                .col(RoleGrant::AccountId)
                .col(RoleGrant::Role)
                .col(RoleGrant::PlaceId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Session::Table)
                .col(string_len(Session::Id, 64).primary_key())
                .col(big_integer(Session::AccountId))
                .col(string_len(Session::CsrfToken, 64))
                .col(timestamp_with_time_zone(Session::CreatedAt))
                .col(timestamp_with_time_zone(Session::ExpiresAt))
                .col(timestamp_with_time_zone(Session::LastSeenAt))
                .col(string_len_null(Session::Ip, 64))
                .col(string_len_null(Session::UserAgent, 256))
                .foreign_key(&mut account_fk(
                    Session::Table,
                    Session::AccountId,
                    "fk_session_account",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_session_account")
                .table(Session::Table)
                .col(Session::AccountId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiToken::Table)
                .col(big_pk_auto(ApiToken::Id))
                .col(big_integer(ApiToken::AccountId))
                .col(string_len(ApiToken::Name, 64))
                .col(string_len(ApiToken::TokenHash, 64).unique_key())
                .col(boolean(ApiToken::CanWrite).default(false))
                .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiToken::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                .foreign_key(&mut account_fk(
                    ApiToken::Table,
                    ApiToken::AccountId,
                    "fk_token_account",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invitation::Table)
                .col(big_pk_auto(Invitation::Id))
                .col(string_len(Invitation::TokenHash, 64).unique_key())
                .col(string_len(Invitation::Role, 32))
                .col(big_integer(Invitation::PlaceId))
                .col(string_len_null(Invitation::DistrictCode, 6))
                .col(string_len(Invitation::InviteeName, 64))
                .col(big_integer(Invitation::CreatedBy))
                .col(timestamp_with_time_zone(Invitation::CreatedAt))
                .col(timestamp_with_time_zone(Invitation::ExpiresAt))
                .col(big_integer_null(Invitation::AcceptedAccountId))
                .col(timestamp_with_time_zone_null(Invitation::AcceptedAt))
                .foreign_key(&mut account_fk(
                    Invitation::Table,
                    Invitation::CreatedBy,
                    "fk_invitation_creator",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_invitation_place")
                        .from(Invitation::Table, Invitation::PlaceId)
                        .to(Place::Table, Place::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_pk_auto(AuditLog::Id))
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(big_integer_null(AuditLog::ActorAccountId))
                .col(string_len_null(AuditLog::ActorIp, 64))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::ObjectKind, 32))
                .col(string_len_null(AuditLog::ObjectId, 64))
                .col(string_len_null(AuditLog::DistrictCode, 6))
                .col(text(AuditLog::Detail))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_audit_at", vec![AuditLog::At]),
            (
                "ix_audit_actor",
                vec![AuditLog::ActorAccountId, AuditLog::At],
            ),
            (
                "ix_audit_object",
                vec![AuditLog::ObjectKind, AuditLog::ObjectId],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditLog::Table);
            for col in cols {
                index.col(col);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Invitation::Table.into_iden(),
            ApiToken::Table.into_iden(),
            Session::Table.into_iden(),
            RoleGrant::Table.into_iden(),
            Account::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
