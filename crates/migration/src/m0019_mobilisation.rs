//! Mobilisations: the notice and its scope, one unit per micro-grid in the
//! scope (and per compound for dwellings in no grid) with its maintained
//! counters, and one row per household with when, how and by whom it was
//! reached.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Mobilisation {
    Table,
    Id,
    DistrictCode,
    PlaceId,
    PlaceKind,
    StreetId,
    CommunityId,
    CompoundId,
    Title,
    Body,
    Households,
    SentBy,
    SentAt,
    ClosedAt,
    ClosedBy,
}

#[derive(DeriveIden)]
enum MobilisationUnit {
    Table,
    Id,
    MobilisationId,
    StreetId,
    CommunityId,
    CompoundId,
    GridId,
    WorkerAccountId,
    Households,
    Reached,
    FullAt,
}

#[derive(DeriveIden)]
enum MobilisationHousehold {
    Table,
    Id,
    MobilisationId,
    UnitId,
    DwellingId,
    ReachedAt,
    ReachedBy,
    Method,
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: Vec<DynIden>,
    unique: bool,
) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Mobilisation as M;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(big_pk_auto(M::Id))
                .col(string_len(M::DistrictCode, 6))
                .col(big_integer(M::PlaceId))
                .col(string_len(M::PlaceKind, 16))
                .col(big_integer_null(M::StreetId))
                .col(big_integer_null(M::CommunityId))
                .col(big_integer_null(M::CompoundId))
                .col(string_len(M::Title, 128))
                .col(text(M::Body))
                .col(big_integer(M::Households))
                .col(big_integer(M::SentBy))
                .col(timestamp_with_time_zone(M::SentAt))
                .col(timestamp_with_time_zone_null(M::ClosedAt))
                .col(big_integer_null(M::ClosedBy))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_mobilisation_district_sent",
            M::Table,
            vec![M::DistrictCode.into_iden(), M::SentAt.into_iden()],
            false,
        ))
        .await?;

        use MobilisationUnit as U;
        m.create_table(
            Table::create()
                .table(U::Table)
                .col(big_pk_auto(U::Id))
                .col(big_integer(U::MobilisationId))
                .col(big_integer_null(U::StreetId))
                .col(big_integer_null(U::CommunityId))
                .col(big_integer(U::CompoundId))
                .col(big_integer_null(U::GridId))
                .col(big_integer_null(U::WorkerAccountId))
                .col(big_integer(U::Households))
                .col(big_integer(U::Reached).default(0))
                .col(timestamp_with_time_zone_null(U::FullAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_mobilisation_unit_mobilisation")
                        .from(U::Table, U::MobilisationId)
                        .to(M::Table, M::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Coverage sums a mobilisation's units by street, community or
        // compound; a worker finds their units.
        m.create_index(index(
            "ix_mobilisation_unit_compound",
            U::Table,
            vec![U::MobilisationId.into_iden(), U::CompoundId.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_mobilisation_unit_worker",
            U::Table,
            vec![U::WorkerAccountId.into_iden()],
            false,
        ))
        .await?;

        use MobilisationHousehold as H;
        m.create_table(
            Table::create()
                .table(H::Table)
                .col(big_pk_auto(H::Id))
                .col(big_integer(H::MobilisationId))
                .col(big_integer(H::UnitId))
                .col(big_integer(H::DwellingId))
                .col(timestamp_with_time_zone_null(H::ReachedAt))
                .col(big_integer_null(H::ReachedBy))
                .col(string_len_null(H::Method, 16))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_mobilisation_household_unit")
                        .from(H::Table, H::UnitId)
                        .to(U::Table, U::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A household is in a mobilisation once, so marking it twice cannot
        // count twice.
        m.create_index(index(
            "ux_mobilisation_household",
            H::Table,
            vec![H::MobilisationId.into_iden(), H::DwellingId.into_iden()],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_mobilisation_household_unit",
            H::Table,
            vec![H::UnitId.into_iden(), H::DwellingId.into_iden()],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MobilisationHousehold::Table.into_iden(),
            MobilisationUnit::Table.into_iden(),
            Mobilisation::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
