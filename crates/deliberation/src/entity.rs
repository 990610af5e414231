//! Tables of matters and votes (see the migration `m0005_deliberation`).

pub mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deliberation_setting")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub compound_id: i64,
        pub district_code: String,
        pub deemed_votes: bool,
        pub min_publication_days: i32,
        pub min_evaluation_respondents: i32,
        pub updated_by: Option<i64>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod matter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matter")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub title: String,
        pub description: String,
        pub state: String,
        pub joint_decision: Option<i16>,
        pub proposer_account_id: Option<i64>,
        pub proposer_name: String,
        pub review_from: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod step {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matter_step")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub sequence: i32,
        pub action: String,
        pub actor: String,
        pub from_state: Option<String>,
        pub to_state: String,
        pub account_id: Option<i64>,
        pub actor_name: String,
        pub reason: Option<String>,
        /// The step's record as JSON ([`crate::process::Record`]).
        pub record: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod comment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matter_comment")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub account_id: i64,
        pub author_name: String,
        pub body: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod evaluation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "matter_evaluation")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub dwelling_id: i64,
        pub account_id: i64,
        pub satisfied: bool,
        pub comment: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod vote {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "owner_vote")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub matter_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        /// The matter of Civil Code art. 278, 1–9.
        pub article_matter: i16,
        /// `open`, `closed` or `cancelled`.
        pub state: String,
        pub deemed_votes: bool,
        pub opened_by: i64,
        pub opened_at: DateTimeUtc,
        pub closes_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
        pub unit_count: i64,
        pub total_area_centi_m2: i64,
        pub total_heads: i64,
        /// The sequence number of the last ballot.
        pub ballot_count: i64,
        /// The hash of what was fixed at the opening (hex,
        /// [`crate::vote::VoteHeader::opening_hash`]): the chain's start.
        pub opening_hash: String,
        /// The hash of the last ballot, hex (the opening hash before any).
        pub head_hash: String,
        /// The published tally as JSON ([`crate::vote::Tally`]), once closed.
        pub result: Option<String>,
        /// Why the vote was cancelled (state `cancelled`): the matter left
        /// public review while it was open.
        pub cancel_reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod vote_unit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vote_unit")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vote_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub dwelling_id: i64,
        pub area_centi_m2: i64,
        pub area_source: String,
        /// The owner group as canonical JSON.
        pub voter: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod vote_owner {
    use sea_orm::entity::prelude::*;

    /// Which voting owners a person belongs to, for finding a person's
    /// ballot groups without scanning the units.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vote_owner")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub vote_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub person_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub voter: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod ballot {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "vote_ballot")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub vote_id: i64,
        pub sequence: i64,
        pub voter: String,
        pub choice: String,
        pub cast_at: i64,
        pub account_id: i64,
        /// The ballot's random bytes, hex (see [`crate::vote::BallotRecord`]).
        pub nonce: String,
        pub hash: String,
        /// For a ballot of a company or the developer entered from its
        /// written ballot by the party organisation: who entered it.
        pub entered_by: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
