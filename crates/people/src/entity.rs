//! Tables of people and of who owns or lives in which dwelling.

pub mod person {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub district_code: Option<String>,
        pub name: String,
        pub phone: Option<String>,
        /// AES-256-GCM ciphertext of the ID number (see `kernel::crypto`).
        pub id_number_cipher: Option<String>,
        /// Keyed digest of the ID number, so it stays unique without decrypting.
        pub id_number_digest: Option<String>,
        pub party_member: bool,
        pub employer: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod dwelling_owner {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dwelling_owner")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dwelling_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        /// `person`, `company` or `developer`.
        pub owner_kind: String,
        pub person_id: Option<i64>,
        pub company_name: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod dwelling_resident {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dwelling_resident")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub dwelling_id: i64,
        pub district_code: String,
        pub compound_id: i64,
        pub person_id: i64,
        /// `tenant` or `family`.
        pub relation: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
