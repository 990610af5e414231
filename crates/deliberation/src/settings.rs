//! A compound's settings for deliberations and votes, from its covenant or
//! rules of procedure; the defaults until the compound sets its own.

use chrono::Utc;
use jinlin_kernel::ApiError;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::entity::setting;
use crate::error;
use crate::process::{Party, ProcessSettings};

/// The settings as the API shows and takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Count owners who do not vote with the majority of those who did
    /// (少数服从多数). Off unless the covenant says so; deemed votes are
    /// always shown apart from cast ballots.
    pub deemed_votes: bool,
    /// The shortest publication (公示) in public review, 1–60 days.
    pub min_publication_days: i32,
    /// The fewest residents' evaluations that close a matter, 1–10,000.
    pub min_evaluation_respondents: i32,
}

impl Default for Settings {
    fn default() -> Settings {
        let d = ProcessSettings::default();
        Settings {
            deemed_votes: false,
            min_publication_days: d.min_publication_days as i32,
            min_evaluation_respondents: d.min_evaluation_respondents as i32,
        }
    }
}

impl Settings {
    /// Refuses values outside their ranges.
    pub fn check(&self) -> Result<(), ApiError> {
        if !(1..=60).contains(&self.min_publication_days) {
            return Err(error::invalid_key(
                "deliberation.error.min_publication_days",
            ));
        }
        if !(1..=10_000).contains(&self.min_evaluation_respondents) {
            return Err(error::invalid_key(
                "deliberation.error.min_evaluation_respondents",
            ));
        }
        Ok(())
    }

    /// The process settings of a compound; the joint meeting needs the
    /// owners' committee and the property company only where they exist.
    pub fn process(&self, has_committee: bool, has_company: bool) -> ProcessSettings {
        let consult_parties = ProcessSettings::default()
            .consult_parties
            .into_iter()
            .filter(|p| match p {
                Party::OwnersCommittee => has_committee,
                Party::PropertyCompany => has_company,
                _ => true,
            })
            .collect();
        ProcessSettings {
            min_publication_days: self.min_publication_days as u32,
            consult_parties,
            min_evaluation_respondents: self.min_evaluation_respondents as u32,
        }
    }
}

pub async fn load(db: &impl ConnectionTrait, compound_id: i64) -> Result<Settings, DbErr> {
    Ok(
        match setting::Entity::find_by_id(compound_id).one(db).await? {
            Some(s) => Settings {
                deemed_votes: s.deemed_votes,
                min_publication_days: s.min_publication_days,
                min_evaluation_respondents: s.min_evaluation_respondents,
            },
            None => Settings::default(),
        },
    )
}

pub async fn save(
    db: &impl ConnectionTrait,
    compound_id: i64,
    district_code: &str,
    account_id: i64,
    s: &Settings,
) -> Result<(), DbErr> {
    setting::Entity::insert(setting::ActiveModel {
        compound_id: Set(compound_id),
        district_code: Set(district_code.into()),
        deemed_votes: Set(s.deemed_votes),
        min_publication_days: Set(s.min_publication_days),
        min_evaluation_respondents: Set(s.min_evaluation_respondents),
        updated_by: Set(Some(account_id)),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(setting::Column::CompoundId)
            .update_columns([
                setting::Column::DeemedVotes,
                setting::Column::MinPublicationDays,
                setting::Column::MinEvaluationRespondents,
                setting::Column::UpdatedBy,
                setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
