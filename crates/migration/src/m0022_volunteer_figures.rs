//! The figures of volunteer teams at district scale
//! (`crates/volunteers/benches/figures.rs`): an activity keeps the sum of
//! its credited minutes (credits are written once, with the activity), and
//! a shift how many signed up and the minutes they patrolled (kept under
//! the shift's row lock), so a district's figures read teams, members,
//! activities and shifts grouped by team from covering indexes instead of
//! every credit and sign-up. Existing rows are counted once here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VolunteerActivity {
    Table,
    TeamId,
    Minutes,
}

#[derive(DeriveIden)]
enum PatrolShift {
    Table,
    TeamId,
    Slots,
    SignedUp,
    Minutes,
}

#[derive(DeriveIden)]
enum VolunteerMember {
    Table,
    TeamId,
    LeftOn,
    PartyMember,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        m.alter_table(
            Table::alter()
                .table(VolunteerActivity::Table)
                .add_column(integer(VolunteerActivity::Minutes).default(0))
                .to_owned(),
        )
        .await?;
        for col in [PatrolShift::SignedUp, PatrolShift::Minutes] {
            m.alter_table(
                Table::alter()
                    .table(PatrolShift::Table)
                    .add_column(integer(col).default(0))
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE volunteer_activity SET minutes = (SELECT COALESCE(SUM(c.minutes), 0)
               FROM volunteer_activity_credit c WHERE c.activity_id = volunteer_activity.id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE patrol_shift SET
               signed_up = (SELECT COUNT(*) FROM patrol_signup u WHERE u.shift_id = patrol_shift.id),
               minutes = (SELECT COALESCE(SUM(u.minutes), 0) FROM patrol_signup u
                 WHERE u.shift_id = patrol_shift.id)",
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_volunteer_member_figures")
                .table(VolunteerMember::Table)
                .col(VolunteerMember::TeamId)
                .col(VolunteerMember::LeftOn)
                .col(VolunteerMember::PartyMember)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_volunteer_activity_figures")
                .table(VolunteerActivity::Table)
                .col(VolunteerActivity::TeamId)
                .col(VolunteerActivity::Minutes)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_patrol_shift_figures")
                .table(PatrolShift::Table)
                .col(PatrolShift::TeamId)
                .col(PatrolShift::Slots)
                .col(PatrolShift::SignedUp)
                .col(PatrolShift::Minutes)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (
                "ix_volunteer_member_figures",
                VolunteerMember::Table.into_iden(),
            ),
            (
                "ix_volunteer_activity_figures",
                VolunteerActivity::Table.into_iden(),
            ),
            ("ix_patrol_shift_figures", PatrolShift::Table.into_iden()),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(VolunteerActivity::Table)
                .drop_column(VolunteerActivity::Minutes)
                .to_owned(),
        )
        .await?;
        for col in [PatrolShift::SignedUp, PatrolShift::Minutes] {
            m.alter_table(
                Table::alter()
                    .table(PatrolShift::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
