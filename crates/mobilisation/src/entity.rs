//! Tables of mobilisations, their units (a micro-grid in the scope, or a
//! compound's dwellings in no grid) and households.

pub mod mobilisation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mobilisation")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        /// The scope: a district, street, community or compound.
        pub place_id: i64,
        pub place_kind: String,
        /// The scope's street, community and compound, as far as it has them.
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: Option<i64>,
        pub title: String,
        pub body: String,
        /// Households in the scope when it was sent; fixed from then on.
        pub households: i64,
        pub sent_by: i64,
        pub sent_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
        pub closed_by: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mobilisation_unit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mobilisation_unit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub mobilisation_id: i64,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        /// `None`: the compound's dwellings that are in no grid.
        pub grid_id: Option<i64>,
        /// The grid's community worker when the notice was sent.
        pub worker_account_id: Option<i64>,
        pub households: i64,
        /// Kept equal to the unit's reached households in the transaction
        /// that marks them.
        pub reached: i64,
        /// When the last household was reached.
        pub full_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod mobilisation_household {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mobilisation_household")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub mobilisation_id: i64,
        pub unit_id: i64,
        pub dwelling_id: i64,
        pub reached_at: Option<DateTimeUtc>,
        pub reached_by: Option<i64>,
        /// One of `rules::Method`.
        pub method: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
