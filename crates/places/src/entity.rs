//! Tables of compound and dwelling particulars (the tree itself is the
//! kernel's `place` table).

pub mod compound {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "compound")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub place_id: i64,
        pub district_code: String,
        pub compound_type: String,
        pub town_area: String,
        pub address: String,
        pub latitude_e6: Option<i32>,
        pub longitude_e6: Option<i32>,
        pub owners_committee: Option<String>,
        pub property_company: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod dwelling {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dwelling")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub place_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        pub area_centi_m2: i64,
        pub area_source: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
