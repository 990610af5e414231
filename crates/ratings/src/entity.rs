//! Tables of rating campaigns (see migration m0007_ratings).

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod campaign {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_campaign")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        /// The street or district whose compounds are rated.
        pub scope_place_id: i64,
        /// `street` or `district`.
        pub scope_kind: String,
        pub period: String,
        /// `owners_committee` or `property_company`.
        pub subject_kind: String,
        pub opens_on: Date,
        pub closes_on: Date,
        /// `draft`, `open` or `closed`.
        pub state: String,
        /// Residents' share of the total in percent.
        pub residents_weight: i32,
        pub red_threshold_centi: i32,
        pub black_threshold_centi: i32,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_item")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub campaign_id: i64,
        pub district_code: String,
        pub position: i32,
        pub name_zh: String,
        pub name_en: String,
        pub weight: i32,
    }

    no_relations!();
}

pub mod subject {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_subject")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub campaign_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        pub street_id: Option<i64>,
        /// The committee's or company's name when the campaign opened.
        pub name: String,
    }

    no_relations!();
}

pub mod response {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_response")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub campaign_id: i64,
        pub subject_id: i64,
        pub dwelling_id: i64,
        pub district_code: String,
        pub account_id: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod score {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_score")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub response_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub item_id: i64,
        pub campaign_id: i64,
        pub subject_id: i64,
        pub district_code: String,
        pub score: i32,
    }

    no_relations!();
}

pub mod panel_score {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_panel_score")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub campaign_id: i64,
        pub subject_id: i64,
        pub item_id: i64,
        pub district_code: String,
        pub score: i32,
        pub account_id: Option<i64>,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod result {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_result")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: i64,
        pub campaign_id: i64,
        pub district_code: String,
        pub responses: i32,
        pub residents_centi: Option<i32>,
        pub panel_centi: Option<i32>,
        pub total_centi: Option<i32>,
        pub rank_in_street: Option<i32>,
        pub rank_in_district: Option<i32>,
        pub stars: i32,
        /// `red`, `black` or none.
        pub list: Option<String>,
    }

    no_relations!();
}

pub mod rectification {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rating_rectification")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub campaign_id: i64,
        pub subject_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        pub text: String,
        pub due_on: Date,
        pub done_at: Option<DateTimeUtc>,
        pub done_note: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}
