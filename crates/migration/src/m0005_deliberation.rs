//! Compound matters through the five deliberations, and owners' votes.
//!
//! A matter's history is an append-only list of steps. A vote copies its
//! electorate (units, areas, owner groups) at opening into `vote_unit` and
//! `vote_owner`, so later changes to the registry never touch an open vote;
//! its ballots form a hash chain in `vote_ballot`, sequence numbers unique
//! per vote.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeliberationSetting {
    Table,
    CompoundId,
    DistrictCode,
    DeemedVotes,
    MinPublicationDays,
    MinEvaluationRespondents,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Matter {
    Table,
    Id,
    DistrictCode,
    StreetId,
    CommunityId,
    CompoundId,
    Title,
    Description,
    State,
    JointDecision,
    ProposerAccountId,
    ProposerName,
    ReviewFrom,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MatterStep {
    Table,
    Id,
    MatterId,
    Sequence,
    Action,
    Actor,
    FromState,
    ToState,
    AccountId,
    ActorName,
    Reason,
    Record,
    At,
}

#[derive(DeriveIden)]
enum MatterComment {
    Table,
    Id,
    MatterId,
    AccountId,
    AuthorName,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MatterEvaluation {
    Table,
    Id,
    MatterId,
    DwellingId,
    AccountId,
    Satisfied,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OwnerVote {
    Table,
    Id,
    MatterId,
    DistrictCode,
    CompoundId,
    ArticleMatter,
    State,
    DeemedVotes,
    OpenedBy,
    OpenedAt,
    ClosesAt,
    ClosedAt,
    UnitCount,
    TotalAreaCentiM2,
    TotalHeads,
    BallotCount,
    OpeningHash,
    HeadHash,
    Result,
    CancelReason,
}

#[derive(DeriveIden)]
enum VoteUnit {
    Table,
    VoteId,
    DwellingId,
    AreaCentiM2,
    AreaSource,
    Voter,
}

#[derive(DeriveIden)]
enum VoteOwner {
    Table,
    VoteId,
    PersonId,
    Voter,
}

#[derive(DeriveIden)]
enum VoteBallot {
    Table,
    Id,
    VoteId,
    Sequence,
    Voter,
    Choice,
    CastAt,
    AccountId,
    Nonce,
    Hash,
    EnteredBy,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for col in cols {
        i.col(col);
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DeliberationSetting::Table)
                .col(big_integer(DeliberationSetting::CompoundId).primary_key())
                .col(string_len(DeliberationSetting::DistrictCode, 6))
                .col(boolean(DeliberationSetting::DeemedVotes).default(false))
                .col(integer(DeliberationSetting::MinPublicationDays))
                .col(integer(DeliberationSetting::MinEvaluationRespondents))
                .col(big_integer_null(DeliberationSetting::UpdatedBy))
                .col(timestamp_with_time_zone(DeliberationSetting::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Matter::Table)
                .col(big_pk_auto(Matter::Id))
                .col(string_len(Matter::DistrictCode, 6))
                .col(big_integer_null(Matter::StreetId))
                .col(big_integer_null(Matter::CommunityId))
                .col(big_integer(Matter::CompoundId))
                .col(string_len(Matter::Title, 128))
                .col(text(Matter::Description))
                .col(string_len(Matter::State, 16))
                .col(small_integer_null(Matter::JointDecision))
                .col(big_integer_null(Matter::ProposerAccountId))
                .col(string_len(Matter::ProposerName, 64))
                .col(timestamp_with_time_zone_null(Matter::ReviewFrom))
                .col(timestamp_with_time_zone(Matter::CreatedAt))
                .col(timestamp_with_time_zone(Matter::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_matter_compound",
            Matter::Table,
            vec![Matter::CompoundId.into_iden(), Matter::Id.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_matter_community",
            Matter::Table,
            vec![Matter::CommunityId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_matter_street",
            Matter::Table,
            vec![Matter::StreetId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_matter_district",
            Matter::Table,
            vec![Matter::DistrictCode.into_iden(), Matter::State.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MatterStep::Table)
                .col(big_pk_auto(MatterStep::Id))
                .col(big_integer(MatterStep::MatterId))
                .col(integer(MatterStep::Sequence))
                .col(string_len(MatterStep::Action, 16))
                .col(string_len(MatterStep::Actor, 24))
                .col(string_len_null(MatterStep::FromState, 16))
                .col(string_len(MatterStep::ToState, 16))
                .col(big_integer_null(MatterStep::AccountId))
                .col(string_len(MatterStep::ActorName, 64))
                .col(text_null(MatterStep::Reason))
                .col(text_null(MatterStep::Record))
                .col(timestamp_with_time_zone(MatterStep::At))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_matter_step_matter")
                        .from(MatterStep::Table, MatterStep::MatterId)
                        .to(Matter::Table, Matter::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_matter_step_sequence",
                MatterStep::Table,
                vec![
                    MatterStep::MatterId.into_iden(),
                    MatterStep::Sequence.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MatterComment::Table)
                .col(big_pk_auto(MatterComment::Id))
                .col(big_integer(MatterComment::MatterId))
                .col(big_integer(MatterComment::AccountId))
                .col(string_len(MatterComment::AuthorName, 64))
                .col(text(MatterComment::Body))
                .col(timestamp_with_time_zone(MatterComment::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_matter_comment_matter")
                        .from(MatterComment::Table, MatterComment::MatterId)
                        .to(Matter::Table, Matter::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_matter_comment_matter",
            MatterComment::Table,
            vec![MatterComment::MatterId.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(MatterEvaluation::Table)
                .col(big_pk_auto(MatterEvaluation::Id))
                .col(big_integer(MatterEvaluation::MatterId))
                .col(big_integer(MatterEvaluation::DwellingId))
                .col(big_integer(MatterEvaluation::AccountId))
                .col(boolean(MatterEvaluation::Satisfied))
                .col(text(MatterEvaluation::Comment))
                .col(timestamp_with_time_zone(MatterEvaluation::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_matter_evaluation_matter")
                        .from(MatterEvaluation::Table, MatterEvaluation::MatterId)
                        .to(Matter::Table, Matter::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "ux_matter_evaluation_dwelling",
                MatterEvaluation::Table,
                vec![
                    MatterEvaluation::MatterId.into_iden(),
                    MatterEvaluation::DwellingId.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OwnerVote::Table)
                .col(big_pk_auto(OwnerVote::Id))
                .col(big_integer(OwnerVote::MatterId))
                .col(string_len(OwnerVote::DistrictCode, 6))
                .col(big_integer(OwnerVote::CompoundId))
                .col(small_integer(OwnerVote::ArticleMatter))
                .col(string_len(OwnerVote::State, 16))
                .col(boolean(OwnerVote::DeemedVotes))
                .col(big_integer(OwnerVote::OpenedBy))
                .col(timestamp_with_time_zone(OwnerVote::OpenedAt))
                .col(timestamp_with_time_zone(OwnerVote::ClosesAt))
                .col(timestamp_with_time_zone_null(OwnerVote::ClosedAt))
                .col(big_integer(OwnerVote::UnitCount))
                .col(big_integer(OwnerVote::TotalAreaCentiM2))
                .col(big_integer(OwnerVote::TotalHeads))
                .col(big_integer(OwnerVote::BallotCount))
                .col(string_len(OwnerVote::OpeningHash, 64))
                .col(string_len(OwnerVote::HeadHash, 64))
                .col(text_null(OwnerVote::Result))
                .col(text_null(OwnerVote::CancelReason))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_owner_vote_matter")
                        .from(OwnerVote::Table, OwnerVote::MatterId)
                        .to(Matter::Table, Matter::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_owner_vote_matter",
            OwnerVote::Table,
            vec![OwnerVote::MatterId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            "ix_owner_vote_compound",
            OwnerVote::Table,
            vec![OwnerVote::CompoundId.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(VoteUnit::Table)
                .col(big_integer(VoteUnit::VoteId))
                .col(big_integer(VoteUnit::DwellingId))
                .col(big_integer(VoteUnit::AreaCentiM2))
                .col(string_len(VoteUnit::AreaSource, 16))
                .col(text(VoteUnit::Voter))
                .primary_key(
                    Index::create()
                        .col(VoteUnit::VoteId)
                        .col(VoteUnit::DwellingId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_vote_unit_vote")
                        .from(VoteUnit::Table, VoteUnit::VoteId)
                        .to(OwnerVote::Table, OwnerVote::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(VoteOwner::Table)
                .col(big_integer(VoteOwner::VoteId))
                .col(big_integer(VoteOwner::PersonId))
                .col(text(VoteOwner::Voter))
                .primary_key(
                    Index::create()
                        .col(VoteOwner::VoteId)
                        .col(VoteOwner::PersonId)
                        .col(VoteOwner::Voter),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_vote_owner_vote")
                        .from(VoteOwner::Table, VoteOwner::VoteId)
                        .to(OwnerVote::Table, OwnerVote::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(VoteBallot::Table)
                .col(big_pk_auto(VoteBallot::Id))
                .col(big_integer(VoteBallot::VoteId))
                .col(big_integer(VoteBallot::Sequence))
                .col(text(VoteBallot::Voter))
                .col(string_len(VoteBallot::Choice, 8))
                .col(big_integer(VoteBallot::CastAt))
                .col(big_integer(VoteBallot::AccountId))
                .col(string_len(VoteBallot::Nonce, 32))
                .col(string_len(VoteBallot::Hash, 64))
                .col(big_integer_null(VoteBallot::EnteredBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_vote_ballot_vote")
                        .from(VoteBallot::Table, VoteBallot::VoteId)
                        .to(OwnerVote::Table, OwnerVote::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        // A voter's last ballot, and a voter's units, read under the vote's lock.
        m.create_index(index(
            "ix_vote_ballot_voter",
            VoteBallot::Table,
            vec![
                VoteBallot::VoteId.into_iden(),
                VoteBallot::Voter.into_iden(),
                VoteBallot::Sequence.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "ix_vote_unit_voter",
            VoteUnit::Table,
            vec![VoteUnit::VoteId.into_iden(), VoteUnit::Voter.into_iden()],
        ))
        .await?;
        m.create_index(
            index(
                "ux_vote_ballot_sequence",
                VoteBallot::Table,
                vec![
                    VoteBallot::VoteId.into_iden(),
                    VoteBallot::Sequence.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VoteBallot::Table.into_iden(),
            VoteOwner::Table.into_iden(),
            VoteUnit::Table.into_iden(),
            OwnerVote::Table.into_iden(),
            MatterEvaluation::Table.into_iden(),
            MatterComment::Table.into_iden(),
            MatterStep::Table.into_iden(),
            Matter::Table.into_iden(),
            DeliberationSetting::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
