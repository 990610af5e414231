//! Micro-grids of compounds: grids with their community worker and the
//! buildings they cover, party work group members, owner contact groups and
//! the dwellings each group reaches.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MicroGrid {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    Name,
    WorkerAccountId,
    WholeCompound,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MicroGridBuilding {
    Table,
    Id,
    GridId,
    DistrictCode,
    CompoundId,
    BuildingId,
}

#[derive(DeriveIden)]
enum MicroGridMember {
    Table,
    Id,
    GridId,
    DistrictCode,
    Kind,
    Name,
    PersonId,
    AccountId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ContactGroup {
    Table,
    Id,
    GridId,
    DistrictCode,
    Name,
    Channel,
    Link,
    BuildingId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContactGroupMember {
    Table,
    Id,
    GroupId,
    GridId,
    DistrictCode,
    DwellingId,
    PersonName,
    CreatedAt,
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
        use MicroGrid as G;
        m.create_table(
            Table::create()
                .table(G::Table)
                .col(big_pk_auto(G::Id))
                .col(string_len(G::DistrictCode, 6))
                .col(big_integer_null(G::StreetId))
                .col(big_integer_null(G::CommunityId))
                .col(big_integer(G::CompoundId))
                .col(string_len(G::Name, 64))
                .col(big_integer_null(G::WorkerAccountId))
                .col(boolean(G::WholeCompound).default(false))
                .col(big_integer_null(G::CreatedBy))
                .col(timestamp_with_time_zone(G::CreatedAt))
                .col(timestamp_with_time_zone(G::UpdatedAt))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_micro_grid_compound", G::CompoundId),
            ("ix_micro_grid_community", G::CommunityId),
            ("ix_micro_grid_street", G::StreetId),
            ("ix_micro_grid_worker", G::WorkerAccountId),
        ] {
            m.create_index(index(name, G::Table, vec![col.into_iden()], false))
                .await?;
        }

        use MicroGridBuilding as B;
        m.create_table(
            Table::create()
                .table(B::Table)
                .col(big_pk_auto(B::Id))
                .col(big_integer(B::GridId))
                .col(string_len(B::DistrictCode, 6))
                .col(big_integer(B::CompoundId))
                .col(big_integer(B::BuildingId))
                .foreign_key(&mut fk(
                    "fk_micro_grid_building_grid",
                    (B::Table, B::GridId),
                    (G::Table, G::Id),
                ))
                .to_owned(),
        )
        .await?;
        // A building belongs to at most one grid.
        m.create_index(index(
            "ux_micro_grid_building",
            B::Table,
            vec![B::BuildingId.into_iden()],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_micro_grid_building_grid",
            B::Table,
            vec![B::GridId.into_iden()],
            false,
        ))
        .await?;

        use MicroGridMember as M;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(big_pk_auto(M::Id))
                .col(big_integer(M::GridId))
                .col(string_len(M::DistrictCode, 6))
                .col(string_len(M::Kind, 32))
                .col(string_len(M::Name, 64))
                .col(big_integer_null(M::PersonId))
                .col(big_integer_null(M::AccountId))
                .col(string_len(M::Role, 64))
                .col(timestamp_with_time_zone(M::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_micro_grid_member_grid",
                    (M::Table, M::GridId),
                    (G::Table, G::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_micro_grid_member_grid",
            M::Table,
            vec![M::GridId.into_iden()],
            false,
        ))
        .await?;

        use ContactGroup as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(big_pk_auto(C::Id))
                .col(big_integer(C::GridId))
                .col(string_len(C::DistrictCode, 6))
                .col(string_len(C::Name, 128))
                .col(string_len(C::Channel, 16))
                .col(string_len_null(C::Link, 512))
                .col(big_integer_null(C::BuildingId))
                .col(timestamp_with_time_zone(C::CreatedAt))
                .col(timestamp_with_time_zone(C::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_contact_group_grid",
                    (C::Table, C::GridId),
                    (G::Table, G::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_contact_group_grid",
            C::Table,
            vec![C::GridId.into_iden()],
            false,
        ))
        .await?;

        use ContactGroupMember as CM;
        m.create_table(
            Table::create()
                .table(CM::Table)
                .col(big_pk_auto(CM::Id))
                .col(big_integer(CM::GroupId))
                .col(big_integer(CM::GridId))
                .col(string_len(CM::DistrictCode, 6))
                .col(big_integer(CM::DwellingId))
                .col(string_len_null(CM::PersonName, 64))
                .col(timestamp_with_time_zone(CM::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_contact_group_member_group",
                    (CM::Table, CM::GroupId),
                    (C::Table, C::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ux_contact_group_member",
            CM::Table,
            vec![CM::GroupId.into_iden(), CM::DwellingId.into_iden()],
            true,
        ))
        .await?;
        // Reachability asks, per dwelling, whether any group holds it.
        m.create_index(index(
            "ix_contact_group_member_dwelling",
            CM::Table,
            vec![CM::DwellingId.into_iden()],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_contact_group_member_grid",
            CM::Table,
            vec![CM::GridId.into_iden()],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ContactGroupMember::Table.into_iden(),
            ContactGroup::Table.into_iden(),
            MicroGridMember::Table.into_iden(),
            MicroGridBuilding::Table.into_iden(),
            MicroGrid::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
