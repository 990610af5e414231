//! Tables of residents' matters (see migration m0009_resident_matters).

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod category {
    use sea_orm::entity::prelude::*;

    /// The service catalogue: a category's names, default handler and
    /// feedback allowances.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter_category")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub code: String,
        pub name_zh: String,
        pub name_en: String,
        /// A handler kind (`property_company`, `community`, …).
        pub default_handler: String,
        pub emergency_minutes: i32,
        pub normal_minutes: i32,
        pub complex_minutes: i32,
        pub position: i32,
        pub active: bool,
    }

    no_relations!();
}

pub mod matter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        /// The compound, building, entrance or dwelling concerned.
        pub place_id: i64,
        pub address: Option<String>,
        pub latitude_e6: Option<i32>,
        pub longitude_e6: Option<i32>,
        pub reporter_account_id: Option<i64>,
        pub reporter_person_id: Option<i64>,
        /// The role the reporter raised it in (`resident`, `patrol`, …).
        pub reporter_role: String,
        pub category_id: i64,
        pub urgency: String,
        pub title: String,
        pub description: String,
        pub public: bool,
        pub state: String,
        /// Who holds the matter now (first contact until dispatched).
        pub holder_kind: String,
        pub holder_place_id: Option<i64>,
        /// The agency admin's account, for matters dispatched to an agency.
        pub holder_account_id: Option<i64>,
        pub holder_org: Option<String>,
        /// The account that received it first.
        pub received_by: Option<i64>,
        /// When the clock started (dispatch or reopening).
        pub dispatched_at: Option<DateTimeUtc>,
        pub due_at: Option<DateTimeUtc>,
        pub warn_at: Option<DateTimeUtc>,
        pub warned_at: Option<DateTimeUtc>,
        pub escalation_level: i32,
        pub merged_into: Option<i64>,
        pub reopened_count: i32,
        pub satisfaction: Option<String>,
        pub satisfaction_comment: Option<String>,
        pub closed_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod event {
    use sea_orm::entity::prelude::*;

    /// One entry of a matter's timeline; never changed once written.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub district_code: String,
        pub at: DateTimeUtc,
        pub actor_account_id: Option<i64>,
        pub actor_role: Option<String>,
        pub action: String,
        pub from_state: Option<String>,
        pub to_state: Option<String>,
        pub note: Option<String>,
        pub reason: Option<String>,
        /// JSON.
        pub detail: String,
    }

    no_relations!();
}

pub mod photo {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter_photo")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub event_id: Option<i64>,
        pub district_code: String,
        /// Key in the object store.
        pub path: String,
        pub content_type: String,
        pub size_bytes: i64,
        pub sha256: String,
        pub uploaded_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod reporter {
    use sea_orm::entity::prelude::*;

    /// Every reporter of a matter, including those of duplicates merged
    /// into it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter_reporter")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub district_code: String,
        pub account_id: Option<i64>,
        pub person_id: Option<i64>,
        /// The matter this reporter raised.
        pub original_matter_id: i64,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod credit {
    use sea_orm::entity::prelude::*;

    /// A party member credited for coordinating a matter (service record).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_matter_credit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub district_code: String,
        pub person_id: i64,
        pub role: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    no_relations!();
}
