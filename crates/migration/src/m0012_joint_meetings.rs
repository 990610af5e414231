//! Quarterly party-building joint meetings of streets: schedule, invitations, attendance, minutes, resolutions tracked as action items, compliance and reminders.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JointMeeting {
    Table,
    Id,
    DistrictCode,
    StreetId,
    Year,
    Quarter,
    ScheduledAt,
    Venue,
    Agenda,
    State,
    HeldAt,
    Minutes,
    CancelReason,
    CreatedBy,
    RecordedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum JointMeetingInvitee {
    Table,
    Id,
    MeetingId,
    DistrictCode,
    Kind,
    RefId,
    PlaceId,
    Name,
    Attended,
    Attendees,
}

#[derive(DeriveIden)]
enum JointMeetingAction {
    Table,
    Id,
    MeetingId,
    DistrictCode,
    StreetId,
    Position,
    Text,
    OwnerInviteeId,
    Responsible,
    DueOn,
    State,
    DoneOn,
    DoneNote,
    DoneBy,
    OverdueNotifiedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum JointMeetingReminder {
    Table,
    Id,
    DistrictCode,
    StreetId,
    Year,
    Quarter,
    SentAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&dyn Fn() -> DynIden],
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c());
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use JointMeeting as J;
        m.create_table(
            Table::create()
                .table(J::Table)
                .col(big_pk_auto(J::Id))
                .col(string_len(J::DistrictCode, 6))
                .col(big_integer(J::StreetId))
                .col(integer(J::Year))
                .col(small_integer(J::Quarter))
                .col(timestamp_with_time_zone(J::ScheduledAt))
                .col(string_len(J::Venue, 128))
                .col(text(J::Agenda))
                .col(string_len(J::State, 16))
                .col(timestamp_with_time_zone_null(J::HeldAt))
                .col(text_null(J::Minutes))
                .col(string_len_null(J::CancelReason, 500))
                .col(big_integer_null(J::CreatedBy))
                .col(big_integer_null(J::RecordedBy))
                .col(timestamp_with_time_zone(J::CreatedAt))
                .col(timestamp_with_time_zone(J::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // Compliance reads a street's (or a district's) meetings of a quarter.
        m.create_index(index(
            "ix_joint_meeting_street_quarter",
            J::Table,
            &[
                &|| J::StreetId.into_iden(),
                &|| J::Year.into_iden(),
                &|| J::Quarter.into_iden(),
            ],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_joint_meeting_district_quarter",
            J::Table,
            &[
                &|| J::DistrictCode.into_iden(),
                &|| J::Year.into_iden(),
                &|| J::Quarter.into_iden(),
            ],
            false,
        ))
        .await?;

        use JointMeetingInvitee as I;
        m.create_table(
            Table::create()
                .table(I::Table)
                .col(big_pk_auto(I::Id))
                .col(big_integer(I::MeetingId))
                .col(string_len(I::DistrictCode, 6))
                .col(string_len(I::Kind, 16))
                .col(big_integer(I::RefId))
                .col(big_integer_null(I::PlaceId))
                .col(string_len(I::Name, 128))
                .col(boolean_null(I::Attended))
                .col(string_len_null(I::Attendees, 500))
                .foreign_key(&mut fk(
                    "fk_joint_meeting_invitee_meeting",
                    (I::Table, I::MeetingId),
                    (J::Table, J::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_joint_meeting_invitee",
            I::Table,
            &[
                &|| I::MeetingId.into_iden(),
                &|| I::Kind.into_iden(),
                &|| I::RefId.into_iden(),
            ],
            true,
        ))
        .await?;
        // Who was invited where: the meetings a community, compound or
        // agency sees.
        m.create_index(index(
            "ix_joint_meeting_invitee_ref",
            I::Table,
            &[&|| I::Kind.into_iden(), &|| I::RefId.into_iden()],
            false,
        ))
        .await?;

        use JointMeetingAction as A;
        m.create_table(
            Table::create()
                .table(A::Table)
                .col(big_pk_auto(A::Id))
                .col(big_integer(A::MeetingId))
                .col(string_len(A::DistrictCode, 6))
                .col(big_integer(A::StreetId))
                .col(integer(A::Position))
                .col(text(A::Text))
                .col(big_integer(A::OwnerInviteeId))
                .col(string_len_null(A::Responsible, 64))
                .col(date(A::DueOn))
                .col(string_len(A::State, 16))
                .col(date_null(A::DoneOn))
                .col(string_len_null(A::DoneNote, 1000))
                .col(big_integer_null(A::DoneBy))
                .col(timestamp_with_time_zone_null(A::OverdueNotifiedAt))
                .col(timestamp_with_time_zone(A::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_joint_meeting_action_meeting",
                    (A::Table, A::MeetingId),
                    (J::Table, J::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_joint_meeting_action_owner",
                    (A::Table, A::OwnerInviteeId),
                    (I::Table, I::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_joint_meeting_action_meeting",
            A::Table,
            &[&|| A::MeetingId.into_iden()],
            false,
        ))
        .await?;
        // Open and overdue items of a street, and the reminder's sweep.
        m.create_index(index(
            "ix_joint_meeting_action_state",
            A::Table,
            &[&|| A::State.into_iden(), &|| A::DueOn.into_iden(), &|| {
                A::StreetId.into_iden()
            }],
            false,
        ))
        .await?;

        use JointMeetingReminder as R;
        m.create_table(
            Table::create()
                .table(R::Table)
                .col(big_pk_auto(R::Id))
                .col(string_len(R::DistrictCode, 6))
                .col(big_integer(R::StreetId))
                .col(integer(R::Year))
                .col(small_integer(R::Quarter))
                .col(timestamp_with_time_zone(R::SentAt))
                .to_owned(),
        )
        .await?;
        // One reminder per street and quarter, however many runners try.
        m.create_index(index(
            "ux_joint_meeting_reminder",
            R::Table,
            &[
                &|| R::StreetId.into_iden(),
                &|| R::Year.into_iden(),
                &|| R::Quarter.into_iden(),
            ],
            true,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            JointMeetingReminder::Table.into_iden(),
            JointMeetingAction::Table.into_iden(),
            JointMeetingInvitee::Table.into_iden(),
            JointMeeting::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
