//! Social organisations admitted to serve compounds and the services they run: sessions with venue, capacity, registration, check-in and feedback, and their figures.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SocialOrg {
    Table,
    Id,
    DistrictCode,
    Name,
    RegistrationNo,
    OrgType,
    ContactName,
    ContactPhone,
    HasPartyOrg,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SocialOrgAccount {
    Table,
    Id,
    OrgId,
    DistrictCode,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SocialOrgAdmission {
    Table,
    Id,
    OrgId,
    CompoundId,
    DistrictCode,
    StreetId,
    CommunityId,
    State,
    Note,
    Reason,
    AppliedBy,
    AppliedAt,
    DecidedBy,
    DecidedAt,
    WithdrawnBy,
    WithdrawnAt,
}

#[derive(DeriveIden)]
enum ServiceKind {
    Table,
    Id,
    DistrictCode,
    Code,
    NameZh,
    NameEn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Service {
    Table,
    Id,
    OrgId,
    DistrictCode,
    Kind,
    Title,
    Description,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServiceCompound {
    Table,
    Id,
    ServiceId,
    CompoundId,
}

#[derive(DeriveIden)]
enum ServiceSession {
    Table,
    Id,
    ServiceId,
    OrgId,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    StartsAt,
    EndsAt,
    VenueId,
    VenueBookingId,
    Location,
    Capacity,
    Registered,
    State,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SessionRegistration {
    Table,
    Id,
    SessionId,
    AccountId,
    Name,
    Phone,
    State,
    AttendedAt,
    CheckedInBy,
    CreatedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum SessionFeedback {
    Table,
    Id,
    SessionId,
    RegistrationId,
    AccountId,
    Score,
    Comment,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SocialOrg::Table)
                .col(big_pk_auto(SocialOrg::Id))
                .col(string_len(SocialOrg::DistrictCode, 6))
                .col(string_len(SocialOrg::Name, 128))
                // Unified social credit code (GB 32100-2015), 18 characters.
                .col(string_len(SocialOrg::RegistrationNo, 18).unique_key())
                .col(string_len(SocialOrg::OrgType, 32))
                .col(string_len(SocialOrg::ContactName, 64))
                .col(string_len_null(SocialOrg::ContactPhone, 32))
                .col(boolean(SocialOrg::HasPartyOrg))
                .col(big_integer_null(SocialOrg::CreatedBy))
                .col(timestamp_with_time_zone(SocialOrg::CreatedAt))
                .col(timestamp_with_time_zone(SocialOrg::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SocialOrgAccount::Table)
                .col(big_pk_auto(SocialOrgAccount::Id))
                .col(big_integer(SocialOrgAccount::OrgId))
                .col(string_len(SocialOrgAccount::DistrictCode, 6))
                .col(big_integer(SocialOrgAccount::AccountId))
                .col(timestamp_with_time_zone(SocialOrgAccount::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_social_org_account_org")
                        .from(SocialOrgAccount::Table, SocialOrgAccount::OrgId)
                        .to(SocialOrg::Table, SocialOrg::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_social_org_account")
                .table(SocialOrgAccount::Table)
                .col(SocialOrgAccount::OrgId)
                .col(SocialOrgAccount::AccountId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_social_org_account_account")
                .table(SocialOrgAccount::Table)
                .col(SocialOrgAccount::AccountId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SocialOrgAdmission::Table)
                .col(big_pk_auto(SocialOrgAdmission::Id))
                .col(big_integer(SocialOrgAdmission::OrgId))
                .col(big_integer(SocialOrgAdmission::CompoundId))
                .col(string_len(SocialOrgAdmission::DistrictCode, 6))
                .col(big_integer_null(SocialOrgAdmission::StreetId))
                .col(big_integer_null(SocialOrgAdmission::CommunityId))
                // applied → approved | refused; approved → withdrawn. Rows are never deleted.
                .col(string_len(SocialOrgAdmission::State, 16))
                .col(string_len_null(SocialOrgAdmission::Note, 500))
                .col(string_len_null(SocialOrgAdmission::Reason, 500))
                .col(big_integer_null(SocialOrgAdmission::AppliedBy))
                .col(timestamp_with_time_zone(SocialOrgAdmission::AppliedAt))
                .col(big_integer_null(SocialOrgAdmission::DecidedBy))
                .col(timestamp_with_time_zone_null(SocialOrgAdmission::DecidedAt))
                .col(big_integer_null(SocialOrgAdmission::WithdrawnBy))
                .col(timestamp_with_time_zone_null(
                    SocialOrgAdmission::WithdrawnAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_social_org_admission_org")
                        .from(SocialOrgAdmission::Table, SocialOrgAdmission::OrgId)
                        .to(SocialOrg::Table, SocialOrg::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_social_org_admission_org_compound")
                .table(SocialOrgAdmission::Table)
                .col(SocialOrgAdmission::OrgId)
                .col(SocialOrgAdmission::CompoundId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_social_org_admission_community")
                .table(SocialOrgAdmission::Table)
                .col(SocialOrgAdmission::CommunityId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ServiceKind::Table)
                .col(big_pk_auto(ServiceKind::Id))
                .col(string_len(ServiceKind::DistrictCode, 6))
                .col(string_len(ServiceKind::Code, 32))
                .col(string_len(ServiceKind::NameZh, 64))
                .col(string_len(ServiceKind::NameEn, 64))
                .col(timestamp_with_time_zone(ServiceKind::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_service_kind_code")
                .table(ServiceKind::Table)
                .col(ServiceKind::DistrictCode)
                .col(ServiceKind::Code)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Service::Table)
                .col(big_pk_auto(Service::Id))
                .col(big_integer(Service::OrgId))
                .col(string_len(Service::DistrictCode, 6))
                .col(string_len(Service::Kind, 32))
                .col(string_len(Service::Title, 128))
                .col(text(Service::Description))
                .col(big_integer_null(Service::CreatedBy))
                .col(timestamp_with_time_zone(Service::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_service_org")
                        .from(Service::Table, Service::OrgId)
                        .to(SocialOrg::Table, SocialOrg::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_service_org")
                .table(Service::Table)
                .col(Service::OrgId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ServiceCompound::Table)
                .col(big_pk_auto(ServiceCompound::Id))
                .col(big_integer(ServiceCompound::ServiceId))
                .col(big_integer(ServiceCompound::CompoundId))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_service_compound_service")
                        .from(ServiceCompound::Table, ServiceCompound::ServiceId)
                        .to(Service::Table, Service::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_service_compound")
                .table(ServiceCompound::Table)
                .col(ServiceCompound::ServiceId)
                .col(ServiceCompound::CompoundId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ServiceSession::Table)
                .col(big_pk_auto(ServiceSession::Id))
                .col(big_integer(ServiceSession::ServiceId))
                .col(big_integer(ServiceSession::OrgId))
                .col(string_len(ServiceSession::DistrictCode, 6))
                .col(big_integer_null(ServiceSession::StreetId))
                .col(big_integer_null(ServiceSession::CommunityId))
                .col(big_integer(ServiceSession::CompoundId))
                .col(timestamp_with_time_zone(ServiceSession::StartsAt))
                .col(timestamp_with_time_zone(ServiceSession::EndsAt))
                .col(big_integer_null(ServiceSession::VenueId))
                .col(big_integer_null(ServiceSession::VenueBookingId))
                .col(string_len(ServiceSession::Location, 128))
                .col(integer(ServiceSession::Capacity))
                // Active registrations, kept under the session's row lock.
                .col(integer(ServiceSession::Registered))
                .col(string_len(ServiceSession::State, 16))
                .col(big_integer_null(ServiceSession::CreatedBy))
                .col(timestamp_with_time_zone(ServiceSession::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_service_session_service")
                        .from(ServiceSession::Table, ServiceSession::ServiceId)
                        .to(Service::Table, Service::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_service_session_service")
                .table(ServiceSession::Table)
                .col(ServiceSession::ServiceId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_service_session_community_start")
                .table(ServiceSession::Table)
                .col(ServiceSession::CommunityId)
                .col(ServiceSession::StartsAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SessionRegistration::Table)
                .col(big_pk_auto(SessionRegistration::Id))
                .col(big_integer(SessionRegistration::SessionId))
                .col(big_integer(SessionRegistration::AccountId))
                .col(string_len(SessionRegistration::Name, 64))
                .col(string_len_null(SessionRegistration::Phone, 32))
                .col(string_len(SessionRegistration::State, 16))
                .col(timestamp_with_time_zone_null(
                    SessionRegistration::AttendedAt,
                ))
                .col(big_integer_null(SessionRegistration::CheckedInBy))
                .col(timestamp_with_time_zone(SessionRegistration::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    SessionRegistration::CancelledAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_session_registration_session")
                        .from(SessionRegistration::Table, SessionRegistration::SessionId)
                        .to(ServiceSession::Table, ServiceSession::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One registration per account and session: a second is the same row.
        m.create_index(
            Index::create()
                .name("ux_session_registration")
                .table(SessionRegistration::Table)
                .col(SessionRegistration::SessionId)
                .col(SessionRegistration::AccountId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_session_registration_account")
                .table(SessionRegistration::Table)
                .col(SessionRegistration::AccountId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SessionFeedback::Table)
                .col(big_pk_auto(SessionFeedback::Id))
                .col(big_integer(SessionFeedback::SessionId))
                .col(big_integer(SessionFeedback::RegistrationId).unique_key())
                .col(big_integer(SessionFeedback::AccountId))
                .col(integer(SessionFeedback::Score))
                .col(string_len(SessionFeedback::Comment, 500))
                .col(timestamp_with_time_zone(SessionFeedback::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_session_feedback_session")
                        .from(SessionFeedback::Table, SessionFeedback::SessionId)
                        .to(ServiceSession::Table, ServiceSession::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_session_feedback_session")
                .table(SessionFeedback::Table)
                .col(SessionFeedback::SessionId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SessionFeedback::Table.into_iden(),
            SessionRegistration::Table.into_iden(),
            ServiceSession::Table.into_iden(),
            ServiceCompound::Table.into_iden(),
            Service::Table.into_iden(),
            ServiceKind::Table.into_iden(),
            SocialOrgAdmission::Table.into_iden(),
            SocialOrgAccount::Table.into_iden(),
            SocialOrg::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
