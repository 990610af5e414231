//! Tables of venues and their bookings.

pub mod venue {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "venue")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        /// The compound or community the venue belongs to.
        pub place_id: i64,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: Option<i64>,
        pub name: String,
        /// One of `rules::VenueKind`.
        pub kind: String,
        pub capacity: i32,
        /// JSON of `rules::OpeningHours`.
        pub opening_hours: String,
        /// JSON array of short texts.
        pub facilities: String,
        pub active: bool,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod venue_booking {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "venue_booking")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub venue_id: i64,
        pub district_code: String,
        /// The venue's place, copied for feeds by place.
        pub place_id: i64,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        /// One of `rules::Purpose`.
        pub purpose: String,
        pub title: String,
        pub organiser_account_id: Option<i64>,
        pub organiser_name: String,
        pub expected_attendance: i32,
        /// `confirmed` or `cancelled`.
        pub state: String,
        pub cancel_reason: Option<String>,
        pub cancelled_at: Option<DateTimeUtc>,
        pub cancelled_by: Option<i64>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
