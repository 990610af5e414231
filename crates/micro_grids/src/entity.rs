//! Tables of micro-grids, their buildings and party work group, and owner
//! contact groups with the dwellings they reach.

pub mod micro_grid {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "micro_grid")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub name: String,
        /// An account holding the community worker role at the compound's community.
        pub worker_account_id: Option<i64>,
        /// Covers every building of the compound not assigned to another grid.
        pub whole_compound: bool,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod micro_grid_building {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "micro_grid_building")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub grid_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        /// Unique: a building is in one grid at most.
        pub building_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod micro_grid_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "micro_grid_member")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub grid_id: i64,
        pub district_code: String,
        /// `party_work_group`.
        pub kind: String,
        pub name: String,
        pub person_id: Option<i64>,
        pub account_id: Option<i64>,
        pub role: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contact_group {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_group")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub grid_id: i64,
        pub district_code: String,
        pub name: String,
        /// One of `rules::Channel`.
        pub channel: String,
        /// The group's external link or id in its messaging app.
        pub link: Option<String>,
        pub building_id: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contact_group_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contact_group_member")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub group_id: i64,
        /// The group's grid, which is always the dwelling's grid.
        pub grid_id: i64,
        pub district_code: String,
        pub dwelling_id: i64,
        pub person_name: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
