//! Venues of compounds and communities: capacity, opening hours and facilities, bookings with conflict detection, usage figures and iCalendar feeds.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Venue {
    Table,
    Id,
    DistrictCode,
    PlaceId,
    StreetId,
    CommunityId,
    CompoundId,
    Name,
    Kind,
    Capacity,
    OpeningHours,
    Facilities,
    Active,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VenueBooking {
    Table,
    Id,
    VenueId,
    DistrictCode,
    PlaceId,
    StartsAt,
    EndsAt,
    Purpose,
    Title,
    OrganiserAccountId,
    OrganiserName,
    ExpectedAttendance,
    State,
    CancelReason,
    CancelledAt,
    CancelledBy,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CalendarToken {
    Table,
    Id,
    AccountId,
    TokenHash,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Venue::Table)
                .col(big_pk_auto(Venue::Id))
                .col(string_len(Venue::DistrictCode, 6))
                .col(big_integer(Venue::PlaceId))
                .col(big_integer_null(Venue::StreetId))
                .col(big_integer_null(Venue::CommunityId))
                .col(big_integer_null(Venue::CompoundId))
                .col(string_len(Venue::Name, 128))
                .col(string_len(Venue::Kind, 32))
                .col(integer(Venue::Capacity))
                // JSON: [{"weekday": 1-7, "open": "HH:MM", "close": "HH:MM"}], China time.
                .col(text(Venue::OpeningHours))
                // JSON: ["投影仪", …].
                .col(text(Venue::Facilities))
                .col(boolean(Venue::Active))
                .col(big_integer_null(Venue::CreatedBy))
                .col(timestamp_with_time_zone(Venue::CreatedAt))
                .col(timestamp_with_time_zone(Venue::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_venue_place")
                .table(Venue::Table)
                .col(Venue::PlaceId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_venue_community")
                .table(Venue::Table)
                .col(Venue::CommunityId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(VenueBooking::Table)
                .col(big_pk_auto(VenueBooking::Id))
                .col(big_integer(VenueBooking::VenueId))
                .col(string_len(VenueBooking::DistrictCode, 6))
                .col(big_integer(VenueBooking::PlaceId))
                .col(timestamp_with_time_zone(VenueBooking::StartsAt))
                .col(timestamp_with_time_zone(VenueBooking::EndsAt))
                .col(string_len(VenueBooking::Purpose, 16))
                .col(string_len(VenueBooking::Title, 128))
                .col(big_integer_null(VenueBooking::OrganiserAccountId))
                .col(string_len(VenueBooking::OrganiserName, 128))
                .col(integer(VenueBooking::ExpectedAttendance))
                .col(string_len(VenueBooking::State, 16))
                .col(string_len_null(VenueBooking::CancelReason, 500))
                .col(timestamp_with_time_zone_null(VenueBooking::CancelledAt))
                .col(big_integer_null(VenueBooking::CancelledBy))
                .col(big_integer_null(VenueBooking::CreatedBy))
                .col(timestamp_with_time_zone(VenueBooking::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_venue_booking_venue")
                        .from(VenueBooking::Table, VenueBooking::VenueId)
                        .to(Venue::Table, Venue::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Conflict checks and week views read one venue's bookings by time.
        m.create_index(
            Index::create()
                .name("ix_venue_booking_venue_start")
                .table(VenueBooking::Table)
                .col(VenueBooking::VenueId)
                .col(VenueBooking::StartsAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_venue_booking_organiser")
                .table(VenueBooking::Table)
                .col(VenueBooking::OrganiserAccountId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CalendarToken::Table)
                .col(big_pk_auto(CalendarToken::Id))
                .col(big_integer(CalendarToken::AccountId).unique_key())
                .col(string_len(CalendarToken::TokenHash, 64).unique_key())
                .col(timestamp_with_time_zone(CalendarToken::CreatedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CalendarToken::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(VenueBooking::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Venue::Table).to_owned())
            .await?;
        Ok(())
    }
}
