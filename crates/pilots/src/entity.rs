//! Tables of pilot compounds and the indicators each street tracks.

pub mod pilot_compound {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pilot_compound")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: i64,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        /// One of `rules::PilotType`.
        pub pilot_type: String,
        pub note: Option<String>,
        pub designated_at: DateTimeUtc,
        pub designated_by: Option<i64>,
        /// Set when the designation ends; rows are never deleted.
        pub ended_at: Option<DateTimeUtc>,
        pub ended_by: Option<i64>,
        pub end_reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod pilot_indicator {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pilot_indicator")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: i64,
        /// One of `rules::Indicator`.
        pub indicator: String,
        pub position: i32,
        pub updated_by: Option<i64>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
