//! Tables of social organisations, their admissions to compounds, services,
//! sessions, registrations and feedback.

pub mod social_org {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "social_org")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub name: String,
        /// Unified social credit code, 18 characters, checked by `rules::check_credit_code`.
        pub registration_no: String,
        /// One of `rules::OrgType`.
        pub org_type: String,
        pub contact_name: String,
        pub contact_phone: Option<String>,
        pub has_party_org: bool,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod social_org_account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "social_org_account")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub org_id: i64,
        pub district_code: String,
        pub account_id: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod social_org_admission {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "social_org_admission")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub org_id: i64,
        pub compound_id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        /// One of `rules::AdmissionState`.
        pub state: String,
        /// What the organisation offers, stated with the application.
        pub note: Option<String>,
        /// Why it was refused or withdrawn.
        pub reason: Option<String>,
        pub applied_by: Option<i64>,
        pub applied_at: DateTimeUtc,
        pub decided_by: Option<i64>,
        pub decided_at: Option<DateTimeUtc>,
        pub withdrawn_by: Option<i64>,
        pub withdrawn_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_kind {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_kind")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub code: String,
        pub name_zh: String,
        pub name_en: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub org_id: i64,
        pub district_code: String,
        /// A code of `rules::DEFAULT_KINDS` or of the district's `service_kind` rows.
        pub kind: String,
        pub title: String,
        pub description: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_compound {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_compound")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub service_id: i64,
        pub compound_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub service_id: i64,
        pub org_id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub venue_id: Option<i64>,
        pub venue_booking_id: Option<i64>,
        /// The venue's name, or a free-text place.
        pub location: String,
        pub capacity: i32,
        /// Active registrations, changed only under the session's row lock.
        pub registered: i32,
        /// `scheduled` or `cancelled`.
        pub state: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// Why it was cancelled, when and by whom (told to its registrants).
        pub cancel_reason: Option<String>,
        pub cancelled_at: Option<DateTimeUtc>,
        pub cancelled_by: Option<i64>,
        /// Registrations checked in, and the count and sum of the feedback
        /// scores: kept under the session's row lock, read by the figures.
        pub attended: i32,
        pub feedback_count: i32,
        pub feedback_sum: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session_registration {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_registration")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub session_id: i64,
        pub account_id: i64,
        pub name: String,
        pub phone: Option<String>,
        /// `registered` or `cancelled`.
        pub state: String,
        pub attended_at: Option<DateTimeUtc>,
        pub checked_in_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub cancelled_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod session_feedback {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session_feedback")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub session_id: i64,
        pub registration_id: i64,
        pub account_id: i64,
        pub score: i32,
        pub comment: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
