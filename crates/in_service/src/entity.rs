//! Tables of dual reporting, the three ones, service records and the points
//! scheme (see migration m0014_in_service).

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod service_report {
    use sea_orm::entity::prelude::*;

    /// A member's report to a compound (双报到).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_report")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub account_id: i64,
        pub person_id: Option<i64>,
        /// One of `rules::ReportKind`.
        pub kind: String,
        /// The employer agency, for `employer_pairing` reports.
        pub agency_id: Option<i64>,
        /// One of `rules::ReportState`.
        pub state: String,
        /// Why it was refused.
        pub reason: Option<String>,
        pub submitted_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by: Option<i64>,
        pub withdrawn_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod three_ones {
    use sea_orm::entity::prelude::*;

    /// One of a member's "three ones" (三个一) at the residence compound.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "three_ones")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub account_id: i64,
        pub person_id: Option<i64>,
        /// The confirmed residence report it rests on.
        pub report_id: i64,
        /// One of `rules::OneKind`.
        pub kind: String,
        pub team_name: Option<String>,
        /// Reserved for the volunteer teams capability: the team's id once
        /// teams are records of their own.
        pub team_id: Option<i64>,
        /// An entrance place inside the compound.
        pub entrance_id: Option<i64>,
        pub zone: Option<String>,
        pub created_at: DateTimeUtc,
        /// Set when released; released rows stay as history.
        pub released_at: Option<DateTimeUtc>,
        pub released_by: Option<i64>,
    }

    no_relations!();
}

pub mod service_record {
    use sea_orm::entity::prelude::*;

    /// A member's service at a compound they reported to.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_record")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub account_id: i64,
        pub person_id: Option<i64>,
        pub served_on: Date,
        /// One of `rules::ServiceKind`.
        pub kind: String,
        pub activity: String,
        /// Hours in half hours (1 = 0.5 h).
        pub half_hours: i32,
        /// A residents' matter coordinated.
        pub matter_id: Option<i64>,
        /// One of `rules::RecordState`.
        pub state: String,
        pub reason: Option<String>,
        /// Twice the points credited, fixed at confirmation.
        pub points_x2: Option<i32>,
        pub created_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by: Option<i64>,
    }

    no_relations!();
}

pub mod service_points_scheme {
    use sea_orm::entity::prelude::*;

    /// A district's points scheme.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_points_scheme")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub per_hour: i32,
        pub per_matter: i32,
        pub per_activity: i32,
        pub updated_by: Option<i64>,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}
