//! The record of each erasure.

pub mod person_erasure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person_erasure")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub person_id: i64,
        pub district_code: Option<String>,
        /// The official's account.
        pub erased_by: i64,
        pub erased_at: DateTimeUtc,
        pub reason: String,
        /// JSON: rows anonymised, accounts disabled, sessions ended, by kind.
        pub summary: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
