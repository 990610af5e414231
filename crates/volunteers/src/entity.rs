//! Tables of volunteer teams, their members and activities, and of patrol
//! shifts, sign-ups and logs.

pub mod volunteer_team {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_team")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: Option<i64>,
        /// The compound or community the team serves.
        pub place_id: i64,
        pub name: String,
        /// One of `rules::TeamKind`.
        pub kind: String,
        pub leader_account_id: Option<i64>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod volunteer_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_member")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub team_id: i64,
        pub district_code: String,
        pub account_id: Option<i64>,
        pub person_id: Option<i64>,
        pub name: String,
        pub party_member: bool,
        pub joined_on: Date,
        /// Set when the member leaves; rows are kept for the hours.
        pub left_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod volunteer_activity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_activity")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub team_id: i64,
        pub district_code: String,
        pub held_on: Date,
        pub title: String,
        pub recorded_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// The sum of its credits' minutes (written with them, once).
        pub minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod volunteer_activity_credit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_activity_credit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub activity_id: i64,
        pub member_id: i64,
        pub district_code: String,
        pub minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod patrol_shift {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "patrol_shift")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub team_id: i64,
        pub district_code: String,
        pub starts_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub route: String,
        pub slots: i32,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// Sign-ups and the minutes they patrolled, kept under the shift's
        /// row lock for the figures.
        pub signed_up: i32,
        pub minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod patrol_signup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "patrol_signup")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub shift_id: i64,
        pub member_id: i64,
        pub district_code: String,
        pub signed_at: DateTimeUtc,
        pub checked_in_at: Option<DateTimeUtc>,
        pub checked_out_at: Option<DateTimeUtc>,
        /// Minutes credited at check-out, capped at the shift.
        pub minutes: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod patrol_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "patrol_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub shift_id: i64,
        pub member_id: i64,
        pub district_code: String,
        pub at: DateTimeUtc,
        pub body: String,
        pub incident: bool,
        /// The residents' matter the incident was raised as.
        pub matter_id: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
