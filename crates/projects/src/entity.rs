//! Tables of compounds' needs, projects, their steps, updates, photos and
//! evaluations (see the migration `m0011_projects`).

pub mod compound_need {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "compound_need")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        /// One of `jinlin_agencies::rules::Category`.
        pub category: String,
        pub description: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        /// Set when the need is withdrawn; rows are never deleted.
        pub withdrawn_at: Option<DateTimeUtc>,
        pub withdrawn_by: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod project {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: String,
        pub street_id: Option<i64>,
        pub community_id: Option<i64>,
        pub compound_id: i64,
        pub agency_id: i64,
        pub need_id: i64,
        /// The agency's category when the project was set.
        pub function: String,
        pub title: String,
        pub plan: String,
        pub planned_start: Date,
        pub planned_end: Date,
        /// One of `rules::State`.
        pub state: String,
        /// The agency's summary on completion.
        pub summary: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub started_at: Option<DateTimeUtc>,
        pub completed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod project_step {
    use sea_orm::entity::prelude::*;

    /// One step of a project's history; append-only.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_step")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub project_id: i64,
        pub sequence: i32,
        /// One of `rules::Action`.
        pub action: String,
        /// One of `rules::Actor`.
        pub actor: String,
        pub from_state: Option<String>,
        pub to_state: String,
        pub account_id: Option<i64>,
        pub actor_name: String,
        pub reason: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod project_update {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_update")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub project_id: i64,
        /// The day the work reported took place.
        pub happened_on: Date,
        pub body: String,
        pub account_id: Option<i64>,
        pub author_name: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod project_photo {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_photo")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub project_id: i64,
        pub update_id: i64,
        /// The key in the object store.
        pub path: String,
        pub content_type: String,
        pub size_bytes: i64,
        pub sha256: String,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod project_evaluation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "project_evaluation")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub project_id: i64,
        pub district_code: String,
        /// One of `rules::Evaluator`.
        pub evaluator: String,
        /// Unique per project: `party_org`, `dwelling:<id>`, `account:<id>`.
        pub voter_key: String,
        pub dwelling_id: Option<i64>,
        pub account_id: i64,
        pub score: i16,
        pub comment: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
