//! JSON API of compound matters and owners' votes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{matter, vote};
use crate::matters::{
    self, ActionInput, MatterSummary, MatterView, NewComment, NewEvaluation, NewMatter, VoteView,
};
use crate::settings::{self, Settings};
use crate::vote::Choice;
use crate::votes::{self, Receipt, Verification};
use crate::{error, process};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_matters, propose))
        .routes(routes!(get_matter))
        .routes(routes!(act))
        .routes(routes!(comment))
        .routes(routes!(evaluate))
        .routes(routes!(open_vote))
        .routes(routes!(get_vote))
        .routes(routes!(cast_ballot))
        .routes(routes!(close_vote))
        .routes(routes!(verify_vote))
        .routes(routes!(get_settings, put_settings))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// Only matters at this step (propose, motion, consult, public_review,
    /// evaluate, closed, rejected, withdrawn).
    pub state: Option<String>,
    /// From 1.
    pub page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    pub items: Vec<MatterSummary>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

const PER_PAGE: u64 = 50;

pub fn parse_state_filter(s: Option<&str>) -> Result<Option<process::State>, ApiError> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => matters::parse_state(s)
            .map(Some)
            .ok_or_else(|| error::invalid_key("deliberation.error.state")),
    }
}

/// The matters of a compound (its public board, 公示栏) or of every
/// compound under a community, street or district, newest first.
#[utoipa::path(get, path = "/places/{id}/matters", tag = "deliberation",
    params(("id" = i64, Path, description = "A compound or a level above"), BoardQuery),
    responses((status = 200, body = Board), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_matters(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<ApiJson<Board>, ApiError> {
    let db = state.db.conn();
    let filter = parse_state_filter(q.state.as_deref())?;
    let page = q.page.unwrap_or(1).max(1);
    let (_, items, total) = matters::board(db, &user, id, filter, page, PER_PAGE).await?;
    Ok(ApiJson(Board {
        items: items.iter().map(Into::into).collect(),
        total,
        page,
        per_page: PER_PAGE,
    }))
}

/// Proposes a matter (提议) for a compound.
#[utoipa::path(post, path = "/places/{id}/matters", tag = "deliberation",
    params(("id" = i64, Path, description = "Compound id")), request_body = NewMatter,
    responses((status = 201, body = MatterSummary), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn propose(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewMatter>,
) -> Result<(StatusCode, ApiJson<MatterSummary>), ApiError> {
    let tx = state.db.write().await?;
    let compound = matters::visible_compound(&tx, &user, id).await?;
    let m = matters::propose(&tx, &user, &compound, &new).await?;
    audit_matter(&tx, &user, "matter.propose", &m, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson((&m).into())))
}

pub async fn audit_matter(
    db: &impl ConnectionTrait,
    user: &Principal,
    action: &str,
    m: &matter::Model,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::record(
        db,
        Entry::new(Some(user), action, "matter")
            .object(m.id)
            .district(Some(m.district_code.clone()))
            .detail(detail),
    )
    .await?;
    Ok(())
}

/// A matter with its history, comments, votes and evaluations, as the
/// reader may see it.
#[utoipa::path(get, path = "/matters/{id}", tag = "deliberation",
    params(("id" = i64, Path, description = "Matter id")),
    responses((status = 200, body = MatterView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_matter(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<MatterView>, ApiError> {
    let db = state.db.conn();
    let (m, compound) = matters::visible_matter(db, &user, id).await?;
    Ok(ApiJson(matters::view(db, &user, &compound, &m).await?))
}

/// Moves a matter: advance to the next step with the step's record, send
/// it back a step or reject it with a reason, or withdraw it (the
/// proposer).
#[utoipa::path(post, path = "/matters/{id}/actions", tag = "deliberation",
    params(("id" = i64, Path, description = "Matter id")), request_body = ActionInput,
    responses((status = 200, body = MatterSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> Result<ApiJson<MatterSummary>, ApiError> {
    let tx = state.db.write().await?;
    let (m, compound) = matters::visible_matter(&tx, &user, id).await?;
    let after = matters::act(&tx, &user, &compound, &m, &input).await?;
    audit_matter(
        &tx,
        &user,
        "matter.act",
        &after,
        serde_json::json!({"from": m.state, "to": after.state}),
    )
    .await?;
    tx.commit().await?;
    Ok(ApiJson((&after).into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Comments on a plan in public review.
#[utoipa::path(post, path = "/matters/{id}/comments", tag = "deliberation",
    params(("id" = i64, Path, description = "Matter id")), request_body = NewComment,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn comment(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewComment>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let (m, _) = matters::visible_matter(&tx, &user, id).await?;
    let id = matters::add_comment(&tx, &user, &m, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// A household's evaluation (评议) of a matter once carried out.
#[utoipa::path(post, path = "/matters/{id}/evaluations", tag = "deliberation",
    params(("id" = i64, Path, description = "Matter id")), request_body = NewEvaluation,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn evaluate(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewEvaluation>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let (m, _) = matters::visible_matter(&tx, &user, id).await?;
    let id = matters::add_evaluation(&tx, &user, &m, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVote {
    /// When voting ends; in the future and within 90 days.
    pub closes_at: DateTime<Utc>,
}

/// Opens the owners' vote of a matter in public review, fixing the
/// electorate from the register as it stands now.
#[utoipa::path(post, path = "/matters/{id}/votes", tag = "deliberation",
    params(("id" = i64, Path, description = "Matter id")), request_body = NewVote,
    responses((status = 201, body = VoteView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn open_vote(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewVote>,
) -> Result<(StatusCode, ApiJson<VoteView>), ApiError> {
    let tx = state.db.write().await?;
    let (m, compound) = matters::visible_matter(&tx, &user, id).await?;
    let v = open_vote_in(&tx, &user, &compound, &m, new.closes_at).await?;
    let view = matters::vote_view(&tx, &user, &compound, &v).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Checks that the user leads the compound's party organisation, opens the
/// vote and audits it (in the caller's transaction).
pub async fn open_vote_in(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    m: &matter::Model,
    closes_at: DateTime<Utc>,
) -> Result<vote::Model, ApiError> {
    if !matters::actors(user, compound, Some(m)).contains(&process::Actor::CompoundPartyOrg) {
        return Err(error::forbidden_key("deliberation.error.party_org_only"));
    }
    let v = votes::open(tx, user, m, closes_at).await?;
    audit_matter(
        tx,
        user,
        "vote.open",
        m,
        serde_json::json!({"vote_id": v.id, "units": v.unit_count, "heads": v.total_heads}),
    )
    .await?;
    Ok(v)
}

/// A vote the user may read: its compound is in their scope, or they are
/// one of its voting owners. 404 otherwise.
pub async fn visible_vote(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(vote::Model, place::Model), ApiError> {
    let v = vote::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let compound = place::Entity::find_by_id(v.compound_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let owner = match user.person_id {
        Some(p) => !votes::groups_of_person(db, id, p).await?.is_empty(),
        None => false,
    };
    if !(owner || user.sees(&compound.position())) {
        return Err(ApiError::not_found());
    }
    Ok((v, compound))
}

/// A vote: its electorate's size, the live participation (for the party
/// organisation and above), the published result once closed, and the
/// reader's own ballots.
#[utoipa::path(get, path = "/votes/{id}", tag = "deliberation",
    params(("id" = i64, Path, description = "Vote id")),
    responses((status = 200, body = VoteView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_vote(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<VoteView>, ApiError> {
    let db = state.db.conn();
    let (v, compound) = visible_vote(db, &user, id).await?;
    Ok(ApiJson(matters::vote_view(db, &user, &compound, &v).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBallot {
    pub choice: Choice,
    /// A unit of the electorate, to say which owner group the ballot is
    /// for when the voter belongs to several; optional otherwise.
    pub unit_id: Option<i64>,
}

/// Casts (or changes) the voter's ballot for all the units of their owner
/// group; the last ballot before the vote closes counts. Sending the same
/// choice again is refused and stores nothing.
#[utoipa::path(post, path = "/votes/{id}/ballots", tag = "deliberation",
    params(("id" = i64, Path, description = "Vote id")), request_body = NewBallot,
    responses((status = 201, body = Receipt), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cast_ballot(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewBallot>,
) -> Result<(StatusCode, ApiJson<Receipt>), ApiError> {
    let tx = state.db.write().await?;
    let receipt = cast_in(&tx, &user, id, &new).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(receipt)))
}

pub async fn cast_in(
    tx: &impl ConnectionTrait,
    user: &Principal,
    vote_id: i64,
    new: &NewBallot,
) -> Result<Receipt, ApiError> {
    let (v, compound) = visible_vote(tx, user, vote_id).await?;
    let runs = user.sees(&compound.position()) && matters::runs_votes(user, &compound);
    let ballot_for = votes::voter_for(tx, user, v.id, new.unit_id, runs).await?;
    let entered = ballot_for.entered_by.is_some();
    let receipt = votes::cast(tx, user, v.id, ballot_for, new.choice).await?;
    if entered {
        // A written ballot of a company or the developer, entered by the
        // party organisation: who entered which, on the record.
        audit::record(
            tx,
            Entry::new(Some(user), "vote.ballot_entered", "vote")
                .object(v.id)
                .district(Some(v.district_code.clone()))
                .detail(serde_json::json!({"unit_id": new.unit_id, "sequence": receipt.sequence})),
        )
        .await?;
    }
    Ok(receipt)
}

/// Closes a vote and publishes its result: once the closing time has
/// passed, or earlier when every voting owner has voted.
#[utoipa::path(post, path = "/votes/{id}/close", tag = "deliberation",
    params(("id" = i64, Path, description = "Vote id")),
    responses((status = 200, body = VoteView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_vote(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<VoteView>, ApiError> {
    let tx = state.db.write().await?;
    let v = close_in(&tx, &user, id).await?;
    let (_, compound) = visible_vote(&tx, &user, id).await?;
    let view = matters::vote_view(&tx, &user, &compound, &v).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

pub async fn close_in(
    tx: &impl ConnectionTrait,
    user: &Principal,
    vote_id: i64,
) -> Result<vote::Model, ApiError> {
    let (v, compound) = visible_vote(tx, user, vote_id).await?;
    if !matters::runs_votes(user, &compound) {
        return Err(error::forbidden_key("deliberation.error.party_org_only"));
    }
    let tally = votes::close(tx, v.id).await?;
    let m = matter::Entity::find_by_id(v.matter_id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)?;
    audit_matter(
        tx,
        user,
        "vote.close",
        &m,
        serde_json::json!({"vote_id": v.id, "outcome": tally.outcome()}),
    )
    .await?;
    vote::Entity::find_by_id(v.id)
        .one(tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Recomputes the vote's ballot chain and, once closed, its tally. Open to
/// the compound's readers once the vote is closed; while it is open, to
/// the party organisation and the levels above.
#[utoipa::path(get, path = "/votes/{id}/verify", tag = "deliberation",
    params(("id" = i64, Path, description = "Vote id")),
    responses((status = 200, body = Verification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn verify_vote(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Verification>, ApiError> {
    let db = state.db.conn();
    let (v, compound) = visible_vote(db, &user, id).await?;
    if v.state == votes::OPEN && !matters::full_reader(&user, &compound) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(votes::verify(db, &v).await?))
}

/// A compound's settings for deliberations and owners' votes.
#[utoipa::path(get, path = "/places/{id}/deliberation-settings", tag = "deliberation",
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Settings>, ApiError> {
    let db = state.db.conn();
    let compound = matters::visible_compound(db, &user, id).await?;
    Ok(ApiJson(settings::load(db, compound.id).await?))
}

/// Changes a compound's settings (from its covenant or rules of
/// procedure): the compound's party organisation or the levels above.
#[utoipa::path(put, path = "/places/{id}/deliberation-settings", tag = "deliberation",
    params(("id" = i64, Path, description = "Compound id")), request_body = Settings,
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<Settings>,
) -> Result<ApiJson<Settings>, ApiError> {
    let tx = state.db.write().await?;
    let compound = matters::visible_compound(&tx, &user, id).await?;
    save_settings_in(&tx, &user, &compound, &new).await?;
    tx.commit().await?;
    Ok(ApiJson(new))
}

pub async fn save_settings_in(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    new: &Settings,
) -> Result<(), ApiError> {
    if !matters::runs_votes(user, compound) {
        return Err(ApiError::forbidden());
    }
    new.check()?;
    let before = settings::load(tx, compound.id).await?;
    settings::save(
        tx,
        compound.id,
        compound.district_code.as_deref().unwrap_or(""),
        user.account_id,
        new,
    )
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "deliberation.settings", "place")
            .object(compound.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({"before": before, "after": new})),
    )
    .await?;
    Ok(())
}
