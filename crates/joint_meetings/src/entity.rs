//! Tables of joint meetings, their invitees, the action items their
//! resolutions became, and the reminders sent.

pub mod joint_meeting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "joint_meeting")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: i64,
        /// The quarter the meeting counts for, from its date in China.
        pub year: i32,
        pub quarter: i16,
        pub scheduled_at: DateTimeUtc,
        pub venue: String,
        pub agenda: String,
        /// One of `rules::MeetingState`.
        pub state: String,
        pub held_at: Option<DateTimeUtc>,
        pub minutes: Option<String>,
        pub cancel_reason: Option<String>,
        pub created_by: Option<i64>,
        /// Who recorded the meeting as held or cancelled.
        pub recorded_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod joint_meeting_invitee {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "joint_meeting_invitee")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub meeting_id: i64,
        pub district_code: String,
        /// One of `rules::InviteeKind`.
        pub kind: String,
        /// The agency, community place or compound party organisation.
        pub ref_id: i64,
        /// The community (for a community) or compound (for a party
        /// organisation) the invitee answers for; none for an agency.
        pub place_id: Option<i64>,
        /// The name when invited.
        pub name: String,
        /// Recorded when the meeting is held.
        pub attended: Option<bool>,
        pub attendees: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod joint_meeting_action {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "joint_meeting_action")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub meeting_id: i64,
        pub district_code: String,
        pub street_id: i64,
        /// Order among the meeting's resolutions.
        pub position: i32,
        pub text: String,
        /// The invited body that owns the item.
        pub owner_invitee_id: i64,
        /// The person the owner body names as responsible.
        pub responsible: Option<String>,
        pub due_on: Date,
        /// `open` or `done`; overdue is derived.
        pub state: String,
        pub done_on: Option<Date>,
        pub done_note: Option<String>,
        pub done_by: Option<i64>,
        /// When the owners were told it is overdue (once per item).
        pub overdue_notified_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod joint_meeting_reminder {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "joint_meeting_reminder")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: i64,
        pub year: i32,
        pub quarter: i16,
        pub sent_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
