//! JSON API of compounds' needs and party-building projects.
//!
//! Scope: a compound's needs are read by whoever sees the compound and kept
//! by its party secretary and the community, street and district admins
//! over it. A project is seen by the roles whose scope holds its compound
//! (residents included) and by the admins of its agency; nobody else
//! learns it exists (404). Who moves it is decided by `rules::next`: the
//! agency's admins plan, start, report and complete it, the street (or
//! district) admins review it, the compound's party secretary and its
//! households evaluate it.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_agencies::entity::agency;
use jinlin_agencies::rules::Category;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::notify::{Message, notify_parties};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use jinlin_resident_matters::photos::{self, FsStore, ObjectStore, Upload};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{compound_need, project, project_evaluation};
use crate::rules::{
    self, Action, Actor, Evaluator, Facts, Invalid, Refusal, RefusalKind, State, Tally,
};
use crate::store::{self, NewRow, StepRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_needs, add_need))
        .routes(routes!(withdraw_need))
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, revise_project))
        .routes(routes!(act))
        .routes(routes!(add_update))
        .routes(routes!(get_photo))
        .routes(routes!(evaluate))
        .routes(routes!(place_figures))
        .routes(routes!(agency_figures))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

pub fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

pub fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

fn refused(r: Refusal) -> ApiError {
    match r.kind {
        RefusalKind::NotYours => {
            ApiError::with_message(StatusCode::FORBIDDEN, "forbidden", i18n::current().t(r.key))
        }
        RefusalKind::NotNow => conflict(r.key),
    }
}

/// Today's date in China, where plans and updates are dated.
pub fn china_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&jinlin_kernel::time::china())
        .date_naive()
}

// ---------------------------------------------------------------- scope

/// A compound the user may see (404 otherwise, and for other kinds).
pub async fn visible_compound(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    jinlin_agencies::api::visible_compound(db, user, id).await
}

/// The compound's party secretary.
pub fn is_secretary(user: &Principal, compound: &place::Model) -> bool {
    user.roles_for(Access::Personal, &compound.position())
        .contains(&Role::CompoundSecretary)
}

/// Who states and withdraws a compound's needs: its party secretary, and
/// the community, street and district admins over it.
pub fn keeps_needs(user: &Principal, compound: &place::Model) -> bool {
    is_secretary(user, compound)
        || user
            .roles_for(Access::Edit, &compound.position())
            .iter()
            .any(|r| {
                matches!(
                    r,
                    Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
                )
            })
}

/// Who reviews a compound's projects: the street admins of its street and
/// the district admins above.
pub fn reviews(user: &Principal, compound: &place::Model) -> bool {
    user.roles_for(Access::Edit, &compound.position())
        .iter()
        .any(|r| matches!(r, Role::DistrictAdmin | Role::StreetAdmin))
}

/// The dwellings of the compound where the user lives (resident or party
/// member).
pub fn homes_in(user: &Principal, compound_id: i64) -> Vec<i64> {
    user.grants
        .iter()
        .filter(|g| matches!(g.role, Role::Resident | Role::PartyMember))
        .filter(|g| g.place.kind == Some(PlaceKind::Dwelling))
        .filter(|g| g.place.compound_id == Some(compound_id))
        .map(|g| g.place.id)
        .collect()
}

/// A project as one reader sees it.
pub struct Seen {
    pub project: project::Model,
    pub compound: place::Model,
    pub state: State,
    /// The parts the reader plays in the project's process.
    pub actors: Vec<Actor>,
    /// Whether the reader sees who did what (everyone but residents).
    pub full: bool,
    /// The reader's dwellings in the compound.
    pub homes: Vec<i64>,
}

/// A project the user may see, with the parts they play (404 otherwise).
pub async fn visible_project(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<Seen, ApiError> {
    let Some(p) = store::project(db, id).await? else {
        return Err(ApiError::not_found());
    };
    let Some(compound) = jinlin_places::store::find(db, p.compound_id).await? else {
        return Err(ApiError::not_found());
    };
    let pos = compound.position();
    let reach = user.roles_for(Access::Public, &pos);
    let through_place = reach.iter().any(|r| *r != Role::AgencyAdmin);
    let of_agency = user.has_role(Role::AgencyAdmin)
        && jinlin_agencies::store::administers(db, user.account_id, p.agency_id).await?;
    if !through_place && !of_agency {
        return Err(ApiError::not_found());
    }
    let homes = homes_in(user, compound.id);
    let committee = user
        .roles_for(Access::Registry, &pos)
        .contains(&Role::OwnersCommittee);
    let mut actors = Vec::new();
    if of_agency {
        actors.push(Actor::Agency);
    }
    if reviews(user, &compound) {
        actors.push(Actor::Reviewer);
    }
    if is_secretary(user, &compound) {
        actors.push(Actor::PartyOrg);
    }
    if !homes.is_empty() || committee {
        actors.push(Actor::Resident);
    }
    let full = of_agency
        || reach
            .iter()
            .any(|r| !matches!(r, Role::Resident | Role::PartyMember | Role::AgencyAdmin));
    Ok(Seen {
        state: State::parse(&p.state).unwrap_or(State::Cancelled),
        project: p,
        compound,
        actors,
        full,
        homes,
    })
}

/// The actor in whose name `action` is taken, or why it cannot be: 403
/// when none of the reader's parts ever takes it, 409 when one does but
/// not in the project's present state.
fn acting_as(seen: &Seen, action: Action) -> Result<Actor, ApiError> {
    let mut refusal = None;
    for a in seen.actors.iter().filter(|a| rules::may_ever(action, **a)) {
        match rules::next(seen.state, action, *a) {
            Ok(_) => return Ok(*a),
            Err(r) => refusal = Some(r),
        }
    }
    Err(match refusal {
        Some(r) => conflict(r.key),
        None => ApiError::with_message(
            StatusCode::FORBIDDEN,
            "forbidden",
            i18n::current().t("projects.error.not_yours"),
        ),
    })
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CompoundNeedView)]
pub struct NeedView {
    pub id: i64,
    pub compound_id: i64,
    pub category: Category,
    pub description: String,
    pub created_at: DateTime<Utc>,
    /// Set when withdrawn; a withdrawn need takes no new project.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Projects set on this need.
    pub projects: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewCompoundNeed)]
#[serde(deny_unknown_fields)]
pub struct NewNeed {
    pub category: Category,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub compound_id: i64,
    /// An open need of that compound.
    pub need_id: i64,
    /// The agency setting the project; needed only when the account
    /// administers several agencies paired with the compound.
    #[serde(default)]
    pub agency_id: Option<i64>,
    pub title: String,
    pub plan: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRevision {
    pub title: String,
    pub plan: String,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectActionInput {
    /// `approve`, `return`, `reject` (reviewers); `start`, `complete`,
    /// `cancel` (the agency).
    pub action: Action,
    /// Required to return, reject or cancel.
    #[serde(default)]
    pub reason: Option<String>,
    /// Required to complete.
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewProjectEvaluation)]
#[serde(deny_unknown_fields)]
pub struct NewEvaluation {
    /// A whole number 1–5.
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
    /// In whose name: the party organisation (its secretary) or a
    /// household; by default the party organisation when the reader is its
    /// secretary.
    #[serde(default)]
    pub evaluator: Option<Evaluator>,
    /// The household evaluating, when the reader lives in several
    /// dwellings of the compound.
    #[serde(default)]
    pub dwelling_id: Option<i64>,
}

/// The multipart body of an update.
#[derive(Debug, ToSchema)]
#[schema(as = ProjectUpdateUpload)]
#[allow(dead_code)]
pub struct UpdateUpload {
    /// The day the work took place, `YYYY-MM-DD`.
    happened_on: String,
    /// What was done.
    body: String,
    /// Optional photos: JPEG, PNG or WebP of at most 5 MiB, 12 per update.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    photo: Option<Vec<u8>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only projects in this state.
    pub state: Option<State>,
    pub agency_id: Option<i64>,
    /// Only projects under this place (district, street, community or compound).
    pub place_id: Option<i64>,
    /// Only projects with a smaller id (the next page).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u64>,
}

/// A project as a list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectSummary {
    #[serde(flatten)]
    pub head: ProjectHead,
    pub evaluations: u64,
}

/// What a project's summary and its detail both show. The detail lists the
/// evaluations themselves where a summary counts them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectHead {
    pub id: i64,
    pub title: String,
    pub state: State,
    pub agency_id: i64,
    pub agency_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub need_id: i64,
    /// The agency's function the project draws on.
    pub function: Category,
    pub planned_start: NaiveDate,
    pub planned_end: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectStepView)]
pub struct StepView {
    pub sequence: i32,
    pub action: Action,
    pub actor: Actor,
    pub from_state: Option<State>,
    pub to_state: State,
    /// Who acted (not shown to residents).
    pub actor_name: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectPhotoView)]
pub struct PhotoView {
    pub id: i64,
    pub url: String,
    pub content_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectUpdateView)]
pub struct UpdateView {
    pub id: i64,
    pub happened_on: NaiveDate,
    pub body: String,
    /// Who posted it (not shown to residents).
    pub author_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub photos: Vec<PhotoView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectEvaluationView)]
pub struct EvaluationView {
    pub evaluator: Evaluator,
    pub score: i16,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub head: ProjectHead,
    pub plan: String,
    /// The agency's summary once done.
    pub completion: Option<String>,
    pub need: NeedView,
    /// Who set the project (not shown to residents).
    pub created_by_name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The history, first step first.
    pub steps: Vec<StepView>,
    /// Progress updates by date.
    pub updates: Vec<UpdateView>,
    /// Evaluations, the party organisation's first; residents' unnamed.
    pub evaluations: Vec<EvaluationView>,
    pub party_org_score: Option<i16>,
    pub resident_count: u64,
    pub resident_mean: Option<String>,
    /// The reader's parts in the process.
    pub my_roles: Vec<Actor>,
    /// Steps the reader may take now.
    pub my_actions: Vec<Action>,
    /// In whose names the reader may still evaluate.
    pub may_evaluate_as: Vec<Evaluator>,
}

/// Project figures of a place or an agency, counted from the records.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectFigureLine)]
pub struct FigureLine {
    /// A place id, or an agency id.
    pub id: i64,
    pub name: String,
    /// `district`, `street`, `community` or `agency`.
    pub kind: String,
    pub total: u64,
    pub planned: u64,
    pub returned: u64,
    pub approved: u64,
    pub in_progress: u64,
    pub done: u64,
    pub rejected: u64,
    pub cancelled: u64,
    /// Done projects with at least one evaluation.
    pub evaluated: u64,
    /// `evaluated / done`, e.g. "50.0%".
    pub evaluated_percent: Option<String>,
    pub party_org_evaluations: u64,
    /// Mean of the party organisations' scores, e.g. "4.50".
    pub party_org_mean: Option<String>,
    pub resident_evaluations: u64,
    /// Mean of the households' scores.
    pub resident_mean: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceProjectFigures {
    #[serde(flatten)]
    pub place: FigureLine,
    /// The streets of a district, or the communities of a street.
    pub children: Vec<FigureLine>,
    /// The agencies with projects in the place.
    pub agencies: Vec<FigureLine>,
}

pub fn line(id: i64, name: &str, kind: &str, t: &Tally) -> FigureLine {
    FigureLine {
        id,
        name: name.to_string(),
        kind: kind.to_string(),
        total: t.total,
        planned: t.count(State::Planned),
        returned: t.count(State::Returned),
        approved: t.count(State::Approved),
        in_progress: t.count(State::InProgress),
        done: t.count(State::Done),
        rejected: t.count(State::Rejected),
        cancelled: t.count(State::Cancelled),
        evaluated: t.evaluated,
        evaluated_percent: t.evaluated_percent(),
        party_org_evaluations: t.party_org_n,
        party_org_mean: t.party_org_mean(),
        resident_evaluations: t.resident_n,
        resident_mean: t.resident_mean(),
    }
}

// ---------------------------------------------------------------- needs

async fn need_views(
    db: &impl ConnectionTrait,
    rows: Vec<compound_need::Model>,
) -> Result<Vec<NeedView>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|n| n.id).collect();
    let mut counts: HashMap<i64, u64> = HashMap::new();
    if !ids.is_empty() {
        for p in project::Entity::find()
            .filter(project::Column::NeedId.is_in(ids))
            .all(db)
            .await?
        {
            *counts.entry(p.need_id).or_default() += 1;
        }
    }
    Ok(rows.into_iter().map(|n| need_view(n, &counts)).collect())
}

fn need_view(n: compound_need::Model, counts: &HashMap<i64, u64>) -> NeedView {
    NeedView {
        projects: counts.get(&n.id).copied().unwrap_or(0),
        id: n.id,
        compound_id: n.compound_id,
        category: Category::parse(&n.category).unwrap_or(Category::Other),
        description: n.description,
        created_at: n.created_at,
        withdrawn_at: n.withdrawn_at,
    }
}

/// A compound's needs, open ones first.
pub async fn needs(db: &impl ConnectionTrait, compound_id: i64) -> Result<Vec<NeedView>, ApiError> {
    let rows = store::needs_of(db, &[compound_id]).await?;
    need_views(db, rows).await
}

pub async fn add(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound_id: i64,
    input: &NewNeed,
) -> Result<i64, ApiError> {
    let c = visible_compound(db, user, compound_id).await?;
    if !keeps_needs(user, &c) {
        return Err(ApiError::forbidden());
    }
    let description = rules::check_text(&input.description, rules::MAX_NEED).map_err(invalid)?;
    let n = store::insert_need(
        db,
        &c,
        input.category.as_str(),
        &description,
        Some(user.account_id),
        Utc::now(),
    )
    .await?;
    audit::record(
        db,
        Entry::new(Some(user), "compound_need.add", "compound_need")
            .object(n.id)
            .district(c.district_code.clone())
            .detail(serde_json::json!({ "compound_id": c.id })),
    )
    .await?;
    Ok(n.id)
}

pub async fn withdraw(
    db: &impl ConnectionTrait,
    user: &Principal,
    need_id: i64,
) -> Result<i64, ApiError> {
    store::lock_need(db, need_id).await?;
    let Some(n) = store::need(db, need_id).await? else {
        return Err(ApiError::not_found());
    };
    let c = visible_compound(db, user, n.compound_id).await?;
    if !keeps_needs(user, &c) {
        return Err(ApiError::forbidden());
    }
    if n.withdrawn_at.is_some() {
        return Err(conflict("projects.error.need_withdrawn"));
    }
    let code = n.district_code.clone();
    let compound_id = n.compound_id;
    let mut m: compound_need::ActiveModel = n.into();
    m.withdrawn_at = Set(Some(Utc::now()));
    m.withdrawn_by = Set(Some(user.account_id));
    compound_need::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "compound_need.withdraw", "compound_need")
            .object(need_id)
            .district(Some(code)),
    )
    .await?;
    Ok(compound_id)
}

/// A compound's needs, open ones first, then the withdrawn ones.
#[utoipa::path(get, path = "/places/{id}/needs", tag = "projects",
    params(("id" = i64, Path, description = "Compound (place) id")),
    responses((status = 200, body = Vec<NeedView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_needs(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Vec<NeedView>>, ApiError> {
    let db = state.db.conn();
    let c = visible_compound(db, &user, id).await?;
    Ok(ApiJson(needs(db, c.id).await?))
}

/// States a need of the compound (its party secretary, or a community,
/// street or district admin over it).
#[utoipa::path(post, path = "/places/{id}/needs", tag = "projects", request_body = NewNeed,
    params(("id" = i64, Path, description = "Compound (place) id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_need(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewNeed>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let nid = add(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: nid })))
}

/// Withdraws a need: it stays on record, marked, and takes no new project;
/// projects already set on it go on.
#[utoipa::path(delete, path = "/needs/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Need id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn withdraw_need(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    withdraw(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- reading

async fn agency_names(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, String>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(agency::Entity::find()
        .filter(agency::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

pub async fn summaries(
    db: &impl ConnectionTrait,
    rows: Vec<project::Model>,
) -> Result<Vec<ProjectSummary>, ApiError> {
    let agency_ids: Vec<i64> = rows.iter().map(|p| p.agency_id).collect();
    let agencies = agency_names(db, &agency_ids).await?;
    let compound_ids: Vec<i64> = rows.iter().map(|p| p.compound_id).collect();
    let compounds = jinlin_agencies::store::places(db, &compound_ids).await?;
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let counts = store::evaluation_counts(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|p| ProjectSummary {
            evaluations: counts.get(&p.id).copied().unwrap_or(0),
            head: ProjectHead {
                id: p.id,
                title: p.title,
                state: State::parse(&p.state).unwrap_or(State::Cancelled),
                agency_id: p.agency_id,
                agency_name: agencies.get(&p.agency_id).cloned().unwrap_or_default(),
                compound_id: p.compound_id,
                compound_name: compounds
                    .get(&p.compound_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                need_id: p.need_id,
                function: Category::parse(&p.function).unwrap_or(Category::Other),
                planned_start: p.planned_start,
                planned_end: p.planned_end,
                created_at: p.created_at,
                updated_at: p.updated_at,
            },
        })
        .collect())
}

/// Projects the reader may see, filtered.
pub async fn list(
    db: &impl ConnectionTrait,
    user: &Principal,
    q: &ListQuery,
) -> Result<Vec<ProjectSummary>, ApiError> {
    let mut cond = Condition::all().add(store::scope_condition(user));
    if let Some(s) = q.state {
        cond = cond.add(project::Column::State.eq(s.as_str()));
    }
    if let Some(a) = q.agency_id {
        cond = cond.add(project::Column::AgencyId.eq(a));
    }
    if let Some(pid) = q.place_id {
        let p = match jinlin_places::store::find(db, pid).await? {
            Some(p) if jinlin_places::store::visible(user, &p) => p,
            _ => return Err(ApiError::not_found()),
        };
        cond = cond.add(store::under(&p));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let rows = store::list(db, cond, q.before_id, limit).await?;
    summaries(db, rows).await
}

fn photo_view(p: &crate::entity::project_photo::Model) -> PhotoView {
    PhotoView {
        id: p.id,
        url: format!("/api/v1/projects/{}/photos/{}", p.project_id, p.id),
        content_type: p.content_type.clone(),
    }
}

/// Whether the reader may still evaluate as `who`.
async fn may_evaluate(
    db: &impl ConnectionTrait,
    user: &Principal,
    seen: &Seen,
    who: Evaluator,
) -> Result<bool, ApiError> {
    if !seen.actors.contains(&who.actor()) || seen.state != State::Done {
        return Ok(false);
    }
    let keys: Vec<String> = match who {
        Evaluator::PartyOrg => vec![rules::voter_key(who, None, user.account_id)],
        Evaluator::Resident if seen.homes.is_empty() => {
            vec![rules::voter_key(who, None, user.account_id)]
        }
        Evaluator::Resident => seen
            .homes
            .iter()
            .map(|d| rules::voter_key(who, Some(*d), user.account_id))
            .collect(),
    };
    for k in keys {
        if store::evaluation_by_key(db, seen.project.id, &k)
            .await?
            .is_none()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn view(
    db: &impl ConnectionTrait,
    user: &Principal,
    seen: &Seen,
) -> Result<ProjectView, ApiError> {
    let p = &seen.project;
    let head = summaries(db, vec![p.clone()])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?
        .head;
    let need_row = store::need(db, p.need_id)
        .await?
        .ok_or_else(|| ApiError::internal("a project without its need"))?;
    let mut need = need_views(db, vec![need_row]).await?;
    let need = need.pop().ok_or_else(ApiError::not_found)?;
    let steps = store::steps(db, p.id).await?;
    let created_by_name = if seen.full {
        steps.first().map(|s| s.actor_name.clone())
    } else {
        None
    };
    let photos = store::photos(db, p.id).await?;
    let updates = store::updates(db, p.id)
        .await?
        .into_iter()
        .map(|u| UpdateView {
            photos: photos
                .iter()
                .filter(|f| f.update_id == u.id)
                .map(photo_view)
                .collect(),
            id: u.id,
            happened_on: u.happened_on,
            body: u.body,
            author_name: seen.full.then_some(u.author_name),
            created_at: u.created_at,
        })
        .collect();
    let evaluations = store::evaluations(db, p.id).await?;
    let party_org_score = evaluations
        .iter()
        .find(|e| e.evaluator == Evaluator::PartyOrg.as_str())
        .map(|e| e.score);
    let residents: Vec<&project_evaluation::Model> = evaluations
        .iter()
        .filter(|e| e.evaluator == Evaluator::Resident.as_str())
        .collect();
    let resident_sum: u64 = residents.iter().map(|e| e.score.max(0) as u64).sum();
    let mut views: Vec<EvaluationView> = evaluations
        .iter()
        .map(|e| EvaluationView {
            evaluator: Evaluator::parse(&e.evaluator).unwrap_or(Evaluator::Resident),
            score: e.score,
            comment: e.comment.clone(),
            created_at: e.created_at,
        })
        .collect();
    views.sort_by_key(|e| e.evaluator != Evaluator::PartyOrg);
    let mut may_evaluate_as = Vec::new();
    for who in [Evaluator::PartyOrg, Evaluator::Resident] {
        if may_evaluate(db, user, seen, who).await? {
            may_evaluate_as.push(who);
        }
    }
    let my_actions: Vec<Action> = rules::available(seen.state, &seen.actors)
        .into_iter()
        .filter(|a| *a != Action::Evaluate)
        .collect();
    Ok(ProjectView {
        head,
        plan: p.plan.clone(),
        completion: p.summary.clone(),
        need,
        created_by_name,
        started_at: p.started_at,
        completed_at: p.completed_at,
        steps: steps
            .into_iter()
            .map(|s| StepView {
                sequence: s.sequence,
                action: Action::parse(&s.action).unwrap_or(Action::Submit),
                actor: Actor::parse(&s.actor).unwrap_or(Actor::Agency),
                from_state: s.from_state.as_deref().and_then(State::parse),
                to_state: State::parse(&s.to_state).unwrap_or(State::Planned),
                actor_name: seen.full.then_some(s.actor_name),
                reason: s.reason,
                at: s.at,
            })
            .collect(),
        updates,
        evaluations: views,
        party_org_score,
        resident_count: residents.len() as u64,
        resident_mean: rules::mean(resident_sum, residents.len() as u64),
        my_roles: seen.actors.clone(),
        my_actions,
        may_evaluate_as,
    })
}

/// Projects the reader may see: admins of the places over a compound, its
/// party organisation, committee, property staff and households, and the
/// admins of the agency that set it. Newest first.
#[utoipa::path(get, path = "/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = Vec<ProjectSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn list_projects(
    AxState(state): AxState<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<ProjectSummary>>, ApiError> {
    Ok(ApiJson(list(state.db.conn(), &user, &q).await?))
}

/// One project: facts, need, history, updates with photos, evaluations,
/// and what the reader may do.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_project(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ProjectView>, ApiError> {
    let db = state.db.conn();
    let seen = visible_project(db, &user, id).await?;
    Ok(ApiJson(view(db, &user, &seen).await?))
}

// ---------------------------------------------------------------- notices

async fn tell(
    db: &impl ConnectionTrait,
    accounts: &[i64],
    kind: &str,
    p: &project::Model,
) -> Result<(), ApiError> {
    if accounts.is_empty() {
        return Ok(());
    }
    let lang = i18n::current();
    let message = Message::new(
        &format!("project.{kind}"),
        lang.t(&format!("projects.notify.{kind}")),
        format!("#{} {}", p.id, p.title),
    )
    .link(format!("/projects/{}", p.id));
    notify_parties(db, accounts, &message).await?;
    Ok(())
}

async fn tell_street(db: &impl ConnectionTrait, p: &project::Model) -> Result<(), ApiError> {
    let Some(street) = p.street_id else {
        return Ok(());
    };
    let admins = store::holders(db, Role::StreetAdmin, street).await?;
    tell(db, &admins, "submitted", p).await
}

// ---------------------------------------------------------------- writing

struct Plan {
    title: String,
    plan: String,
}

fn checked_plan(
    title: &str,
    plan: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Plan, ApiError> {
    let title = rules::check_text(title, rules::MAX_TITLE).map_err(invalid)?;
    let plan = rules::check_text(plan, rules::MAX_TEXT).map_err(invalid)?;
    rules::check_dates(start, end).map_err(invalid)?;
    Ok(Plan { title, plan })
}

/// The agency in whose name the user sets a project for `compound`.
async fn setting_agency(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    wanted: Option<i64>,
) -> Result<agency::Model, ApiError> {
    let mine = if user.has_role(Role::AgencyAdmin) {
        store::agencies_of_account(db, user.account_id).await?
    } else {
        Vec::new()
    };
    let in_district: Vec<agency::Model> = if mine.is_empty() {
        Vec::new()
    } else {
        agency::Entity::find()
            .filter(agency::Column::Id.is_in(mine.clone()))
            .filter(agency::Column::DistrictCode.eq(compound.district_code.clone()))
            .all(db)
            .await?
    };
    if in_district.is_empty() {
        // Not an agency's admin here: those who see the compound learn they
        // may not set projects; others learn nothing.
        return Err(if jinlin_places::store::visible(user, compound) {
            ApiError::forbidden()
        } else {
            ApiError::not_found()
        });
    }
    if let Some(id) = wanted {
        return in_district
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(ApiError::forbidden);
    }
    if in_district.len() == 1 {
        return Ok(in_district.into_iter().next().expect("one agency"));
    }
    let mut paired = Vec::new();
    for a in in_district {
        if jinlin_agencies::store::current_pairing(db, a.id, compound.id)
            .await?
            .is_some()
        {
            paired.push(a);
        }
    }
    match paired.len() {
        0 => Err(invalid_key("projects.error.not_paired")),
        1 => Ok(paired.pop().expect("one agency")),
        _ => Err(invalid_key("projects.error.which_agency")),
    }
}

/// Sets a project: an admin of an agency currently paired with the
/// compound, on an open need of that compound. The street's admins are
/// told.
pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewProject,
) -> Result<i64, ApiError> {
    // A compound the user cannot see answers 404 before anything else is
    // said about it (an agency admin sees only the compounds paired now).
    let compound = visible_compound(db, user, input.compound_id).await?;
    let a = setting_agency(db, user, &compound, input.agency_id).await?;
    // Pairings of the agency start and end under its lock.
    jinlin_agencies::store::lock_agency(db, a.id).await?;
    if jinlin_agencies::store::current_pairing(db, a.id, compound.id)
        .await?
        .is_none()
    {
        return Err(invalid_key("projects.error.not_paired"));
    }
    store::lock_need(db, input.need_id).await?;
    match store::need(db, input.need_id).await? {
        Some(n) if n.compound_id == compound.id && n.withdrawn_at.is_none() => {}
        _ => return Err(invalid_key("projects.error.need")),
    }
    let plan = checked_plan(
        &input.title,
        &input.plan,
        input.planned_start,
        input.planned_end,
    )?;
    let now = Utc::now();
    let p = store::insert_project(
        db,
        NewRow {
            compound: &compound,
            agency_id: a.id,
            need_id: input.need_id,
            function: &a.category,
            title: &plan.title,
            plan: &plan.plan,
            planned_start: input.planned_start,
            planned_end: input.planned_end,
            by: Some(user.account_id),
            at: now,
        },
    )
    .await?;
    store::record_step(
        db,
        p.id,
        StepRow {
            action: Action::Submit,
            actor: Actor::Agency,
            from: None,
            to: State::Planned,
            account_id: Some(user.account_id),
            actor_name: &user.display_name,
            reason: None,
            at: now,
        },
    )
    .await?;
    audit::record(
        db,
        Entry::new(Some(user), "project.create", "project")
            .object(p.id)
            .district(Some(p.district_code.clone()))
            .detail(serde_json::json!({ "agency_id": a.id, "compound_id": compound.id })),
    )
    .await?;
    tell_street(db, &p).await?;
    Ok(p.id)
}

/// Revising, approving and starting rest on the pairing: once it has
/// ended they are refused (422), while a project already in progress may
/// still be completed and evaluated. Pairings start and end under the
/// agency's lock, taken here for the rest of the transaction.
async fn still_paired(db: &impl ConnectionTrait, p: &project::Model) -> Result<(), ApiError> {
    jinlin_agencies::store::lock_agency(db, p.agency_id).await?;
    match jinlin_agencies::store::current_pairing(db, p.agency_id, p.compound_id).await? {
        Some(_) => Ok(()),
        None => Err(invalid_key("projects.error.pairing_ended")),
    }
}

/// Changes a planned or returned plan (the agency's admin); a returned
/// plan goes back to the street for review.
pub async fn revise(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &ProjectRevision,
) -> Result<(), ApiError> {
    store::lock_project(db, id).await?;
    let seen = visible_project(db, user, id).await?;
    let actor = acting_as(&seen, Action::Revise)?;
    let plan = checked_plan(
        &input.title,
        &input.plan,
        input.planned_start,
        input.planned_end,
    )?;
    let now = Utc::now();
    let from = seen.state;
    let to = rules::next(from, Action::Revise, actor).map_err(refused)?;
    still_paired(db, &seen.project).await?;
    let mut m: project::ActiveModel = seen.project.clone().into();
    m.title = Set(plan.title);
    m.plan = Set(plan.plan);
    m.planned_start = Set(input.planned_start);
    m.planned_end = Set(input.planned_end);
    m.state = Set(to.as_str().into());
    m.updated_at = Set(now);
    let p = project::Entity::update(m).exec(db).await?;
    store::record_step(
        db,
        id,
        StepRow {
            action: Action::Revise,
            actor,
            from: Some(from),
            to,
            account_id: Some(user.account_id),
            actor_name: &user.display_name,
            reason: None,
            at: now,
        },
    )
    .await?;
    audit::record(
        db,
        Entry::new(Some(user), "project.revise", "project")
            .object(id)
            .district(Some(p.district_code.clone())),
    )
    .await?;
    if from == State::Returned {
        tell_street(db, &p).await?;
    }
    Ok(())
}

/// One step of the process: approve, return or reject (reviewers); start,
/// complete or cancel (the agency).
pub async fn step(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &ProjectActionInput,
) -> Result<State, ApiError> {
    store::lock_project(db, id).await?;
    let seen = visible_project(db, user, id).await?;
    if !Action::STEPS.contains(&input.action) {
        return Err(invalid_key("projects.error.action"));
    }
    let actor = acting_as(&seen, input.action)?;
    let (reason, summary) = rules::check_step(
        input.action,
        input.reason.as_deref(),
        input.summary.as_deref(),
    )
    .map_err(invalid)?;
    let from = seen.state;
    let to = rules::next(from, input.action, actor).map_err(refused)?;
    if matches!(input.action, Action::Approve | Action::Start) {
        still_paired(db, &seen.project).await?;
    }
    let now = Utc::now();
    let mut m: project::ActiveModel = seen.project.clone().into();
    m.state = Set(to.as_str().into());
    m.updated_at = Set(now);
    match input.action {
        Action::Start => m.started_at = Set(Some(now)),
        Action::Complete => {
            m.completed_at = Set(Some(now));
            m.summary = Set(summary);
        }
        _ => {}
    }
    let p = project::Entity::update(m).exec(db).await?;
    store::record_step(
        db,
        id,
        StepRow {
            action: input.action,
            actor,
            from: Some(from),
            to,
            account_id: Some(user.account_id),
            actor_name: &user.display_name,
            reason,
            at: now,
        },
    )
    .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            &format!("project.{}", input.action.as_str()),
            "project",
        )
        .object(id)
        .district(Some(p.district_code.clone())),
    )
    .await?;
    match input.action {
        Action::Approve | Action::Return | Action::Reject => {
            let kind = match input.action {
                Action::Approve => "approved",
                Action::Return => "returned",
                _ => "rejected",
            };
            let admins = store::agency_admins(db, p.agency_id).await?;
            tell(db, &admins, kind, &p).await?;
        }
        Action::Start | Action::Complete => {
            let kind = if input.action == Action::Start {
                "started"
            } else {
                "done"
            };
            let secretaries = store::holders(db, Role::CompoundSecretary, p.compound_id).await?;
            tell(db, &secretaries, kind, &p).await?;
        }
        _ => {}
    }
    Ok(to)
}

/// Sets a project (an admin of an agency currently paired with the
/// compound) on one of the compound's open needs; it waits for the
/// street's review.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_project(
    AxState(state): AxState<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewProject>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Revises a planned or returned plan (the agency's admin).
#[utoipa::path(put, path = "/projects/{id}", tag = "projects", request_body = ProjectRevision,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn revise_project(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ProjectRevision>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    revise(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectStepResult)]
pub struct StepResult {
    pub state: State,
}

/// Takes a step: `approve`, `return` (with a reason) or `reject` (with a
/// reason) by a street or district admin; `start`, `complete` (with a
/// summary) or `cancel` (with a reason, before the start) by the agency.
#[utoipa::path(post, path = "/projects/{id}/actions", tag = "projects", request_body = ProjectActionInput,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, body = StepResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn act(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ProjectActionInput>,
) -> Result<ApiJson<StepResult>, ApiError> {
    let tx = state.db.write().await?;
    let to = step(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(ApiJson(StepResult { state: to }))
}

// ---------------------------------------------------------------- updates

/// Photos of projects, under `<data_dir>/projects`.
pub fn objects(state: &AppState) -> FsStore {
    FsStore::new(state.config.data_dir.join("projects"))
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// Reads an update's fields and photos from a multipart body.
pub async fn read_update(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(Vec<Upload>, HashMap<String, String>), ApiError> {
    jinlin_resident_matters::api::read_photos(multipart).await
}

/// Posts an update with its photos in the caller's transaction; returns
/// the update's id and the keys of the files written, which the caller
/// removes if the transaction does not commit.
pub async fn post_update(
    db: &impl ConnectionTrait,
    objects: &dyn ObjectStore,
    user: &Principal,
    id: i64,
    fields: &HashMap<String, String>,
    uploads: Vec<Upload>,
) -> Result<(i64, Vec<String>), ApiError> {
    store::lock_project(db, id).await?;
    let seen = visible_project(db, user, id).await?;
    let actor = acting_as(&seen, Action::Update)?;
    rules::next(seen.state, Action::Update, actor).map_err(refused)?;
    let field = |k: &str| fields.get(k).map(|s| s.trim()).unwrap_or("");
    let Ok(day) = NaiveDate::parse_from_str(field("happened_on"), "%Y-%m-%d") else {
        return Err(invalid_key("projects.error.date_format"));
    };
    let now = Utc::now();
    let started = seen.project.started_at.map(china_today);
    rules::check_update_date(day, china_today(now), started).map_err(invalid)?;
    let body = rules::check_text(field("body"), rules::MAX_TEXT).map_err(invalid)?;
    let checked = if uploads.is_empty() {
        Vec::new()
    } else {
        photos::check_all(uploads, 0)?
    };
    let p = &seen.project;
    let u = store::insert_update(
        db,
        p.id,
        day,
        &body,
        Some(user.account_id),
        &user.display_name,
        now,
    )
    .await?;
    let mut written = Vec::new();
    let stored: Result<(), ApiError> = async {
        for c in checked {
            // A fresh key per photo: identical uploads never share a file.
            let key = format!(
                "{}/{}/{}.{}",
                p.district_code,
                p.id,
                sea_orm::prelude::Uuid::now_v7().simple(),
                extension(c.content_type)
            );
            objects.put(&key, &c.bytes).map_err(ApiError::internal)?;
            written.push(key.clone());
            store::insert_photo(
                db,
                p.id,
                u.id,
                &key,
                c.content_type,
                c.bytes.len(),
                &c.sha256,
                Some(user.account_id),
                now,
            )
            .await?;
        }
        let mut m: project::ActiveModel = p.clone().into();
        m.updated_at = Set(now);
        project::Entity::update(m).exec(db).await?;
        audit::record(
            db,
            Entry::new(Some(user), "project.update", "project")
                .object(p.id)
                .district(Some(p.district_code.clone()))
                .detail(serde_json::json!({ "update_id": u.id, "photos": written.len() })),
        )
        .await?;
        Ok(())
    }
    .await;
    if let Err(e) = stored {
        for k in &written {
            let _ = objects.delete(k);
        }
        return Err(e);
    }
    Ok((u.id, written))
}

/// Posts an update in one transaction; the files of a failed commit are
/// removed again.
pub async fn store_update(
    state: &AppState,
    user: &Principal,
    id: i64,
    fields: &HashMap<String, String>,
    uploads: Vec<Upload>,
) -> Result<i64, ApiError> {
    let objects = objects(state);
    let tx = state.db.write().await?;
    let (uid, written) = post_update(&tx, &objects, user, id, fields, uploads).await?;
    if let Err(e) = tx.commit().await {
        for k in &written {
            let _ = objects.delete(k);
        }
        return Err(e.into());
    }
    Ok(uid)
}

/// Posts a progress update while the project is in progress (the agency's
/// admin): multipart with `happened_on` (`YYYY-MM-DD`, not in the future,
/// not before the start), `body`, and optional `photo` files.
#[utoipa::path(post, path = "/projects/{id}/updates", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    request_body(content = UpdateUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn add_update(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let (uploads, fields) = read_update(multipart).await?;
    let uid = store_update(&state, &user, id, &fields, uploads).await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: uid })))
}

/// A photo of an update, for whoever sees the project.
#[utoipa::path(get, path = "/projects/{id}/photos/{photo_id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id"), ("photo_id" = i64, Path, description = "Photo id")),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_photo(
    AxState(state): AxState<AppState>,
    user: User,
    Path((id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let db = state.db.conn();
    visible_project(db, &user, id).await?;
    let p = store::photo(db, id, photo_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let bytes = objects(&state).get(&p.path).map_err(ApiError::internal)?;
    // Uploaded bytes are served as the sniffed image type and nothing else.
    Response::builder()
        .header(header::CONTENT_TYPE, p.content_type.as_str())
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_DISPOSITION,
            format!(
                "inline; filename=\"project-{id}-photo-{photo_id}.{}\"",
                extension(&p.content_type)
            ),
        )
        .header(header::CONTENT_SECURITY_POLICY, "sandbox")
        .header(header::CACHE_CONTROL, "private, max-age=86400")
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

// ---------------------------------------------------------------- evaluations

/// Records one evaluation of a done project: the party organisation's
/// (its secretary) once, each household once.
pub async fn add_evaluation(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &NewEvaluation,
) -> Result<i64, ApiError> {
    store::lock_project(db, id).await?;
    let seen = visible_project(db, user, id).await?;
    let who = match input.evaluator {
        Some(w) if seen.actors.contains(&w.actor()) => w,
        Some(_) => return Err(ApiError::forbidden()),
        None if seen.actors.contains(&Actor::PartyOrg) => Evaluator::PartyOrg,
        None if seen.actors.contains(&Actor::Resident) => Evaluator::Resident,
        None => return Err(ApiError::forbidden()),
    };
    rules::next(seen.state, Action::Evaluate, who.actor()).map_err(refused)?;
    let score = rules::check_score(input.score).map_err(invalid)?;
    let comment = rules::check_optional(input.comment.as_deref(), rules::MAX_REASON)
        .map_err(invalid)?
        .unwrap_or_default();
    let dwelling = match who {
        Evaluator::PartyOrg => None,
        Evaluator::Resident => match input.dwelling_id {
            Some(d) if seen.homes.contains(&d) => Some(d),
            Some(_) => return Err(invalid_key("projects.error.dwelling")),
            // A household with two homes here: the first not yet evaluated
            // (the page names no dwelling).
            None => {
                let mut open = None;
                for d in &seen.homes {
                    let k = rules::voter_key(who, Some(*d), user.account_id);
                    if store::evaluation_by_key(db, id, &k).await?.is_none() {
                        open = Some(*d);
                        break;
                    }
                }
                open.or_else(|| seen.homes.first().copied())
            }
        },
    };
    let key = rules::voter_key(who, dwelling, user.account_id);
    if store::evaluation_by_key(db, id, &key).await?.is_some() {
        return Err(conflict("projects.error.already_evaluated"));
    }
    let p = &seen.project;
    let inserted = project_evaluation::Entity::insert(project_evaluation::ActiveModel {
        project_id: Set(p.id),
        district_code: Set(p.district_code.clone()),
        evaluator: Set(who.as_str().into()),
        voter_key: Set(key),
        dwelling_id: Set(dwelling),
        account_id: Set(user.account_id),
        score: Set(score),
        comment: Set(comment),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await;
    let eid = match inserted {
        Ok(r) => r.last_insert_id,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(conflict("projects.error.already_evaluated"));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        db,
        Entry::new(Some(user), "project.evaluate", "project")
            .object(p.id)
            .district(Some(p.district_code.clone()))
            .detail(serde_json::json!({ "evaluator": who.as_str(), "evaluation_id": eid })),
    )
    .await?;
    Ok(eid)
}

/// Evaluates a done project with a score 1–5 and a comment: the
/// compound's party secretary for the party organisation, residents,
/// party members and owners' committee members for their household.
#[utoipa::path(post, path = "/projects/{id}/evaluations", tag = "projects", request_body = NewEvaluation,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn evaluate(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NewEvaluation>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let eid = add_evaluation(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: eid })))
}

// ---------------------------------------------------------------- figures

fn tally_by<K: std::hash::Hash + Eq>(
    rows: &[(project::Model, Facts)],
    key: impl Fn(&project::Model) -> Option<K>,
) -> HashMap<K, Tally> {
    let mut out: HashMap<K, Tally> = HashMap::new();
    for (p, f) in rows {
        if let Some(k) = key(p) {
            out.entry(k).or_default().add(f);
        }
    }
    out
}

async fn agency_lines(
    db: &impl ConnectionTrait,
    rows: &[(project::Model, Facts)],
) -> Result<Vec<FigureLine>, ApiError> {
    let by_agency = tally_by(rows, |p| Some(p.agency_id));
    let ids: Vec<i64> = by_agency.keys().copied().collect();
    let names = agency_names(db, &ids).await?;
    let mut lines: Vec<FigureLine> = by_agency
        .iter()
        .map(|(id, t)| {
            line(
                *id,
                names.get(id).map(String::as_str).unwrap_or(""),
                "agency",
                t,
            )
        })
        .collect();
    lines.sort_by(|a, b| b.total.cmp(&a.total).then(a.name.cmp(&b.name)));
    Ok(lines)
}

/// Figures of a district (with its streets) or a street (with its
/// communities), and of the agencies with projects there.
pub async fn figures_for(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<PlaceProjectFigures, ApiError> {
    let rows = store::facts(db, store::under(p)).await?;
    let whole = rules::tally(rows.iter().map(|(_, f)| f));
    let (child_kind, by_child) = if p.kind == PlaceKind::District.as_str() {
        (PlaceKind::Street, tally_by(&rows, |x| x.street_id))
    } else {
        (PlaceKind::Community, tally_by(&rows, |x| x.community_id))
    };
    let children = place::Entity::find()
        .filter(place::Column::ParentId.eq(p.id))
        .filter(place::Column::Kind.eq(child_kind.as_str()))
        .all(db)
        .await?;
    let mut lines: Vec<FigureLine> = children
        .iter()
        .map(|c| {
            line(
                c.id,
                &c.name,
                child_kind.as_str(),
                &by_child.get(&c.id).copied().unwrap_or_default(),
            )
        })
        .collect();
    lines.sort_by(|a, b| b.total.cmp(&a.total).then(a.id.cmp(&b.id)));
    Ok(PlaceProjectFigures {
        place: line(p.id, &p.name, &p.kind, &whole),
        children: lines,
        agencies: agency_lines(db, &rows).await?,
    })
}

/// An agency's figures.
pub async fn agency_figures_for(
    db: &impl ConnectionTrait,
    a: &agency::Model,
) -> Result<FigureLine, ApiError> {
    let rows = store::facts(db, Condition::all().add(project::Column::AgencyId.eq(a.id))).await?;
    let t = rules::tally(rows.iter().map(|(_, f)| f));
    Ok(line(a.id, &a.name, "agency", &t))
}

/// Project figures of a district (its streets and agencies) or a street
/// (its communities and agencies): counts by state, the share of done
/// projects evaluated, mean scores; for readers of the place's registry.
#[utoipa::path(get, path = "/places/{id}/project-figures", tag = "projects",
    params(("id" = i64, Path, description = "A district or street")),
    responses((status = 200, body = PlaceProjectFigures), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn place_figures(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PlaceProjectFigures>, ApiError> {
    let db = state.db.conn();
    let p = match jinlin_places::store::find(db, id).await? {
        Some(p) if jinlin_places::store::visible(&user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if p.kind != PlaceKind::Street.as_str() && p.kind != PlaceKind::District.as_str() {
        return Err(invalid_key("projects.error.figures_scope"));
    }
    if !user.can(Access::Registry, &p.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(figures_for(db, &p).await?))
}

/// Whether the user may read an agency's figures: district admins over
/// its district and its own admins.
pub async fn reads_agency_figures(
    db: &impl ConnectionTrait,
    user: &Principal,
    a: &agency::Model,
    district: &place::Model,
) -> Result<bool, ApiError> {
    Ok(user.can(Access::Registry, &district.position())
        || user.has_role(Role::AgencyAdmin)
            && jinlin_agencies::store::administers(db, user.account_id, a.id).await?)
}

/// An agency's project figures: counts by state, the share evaluated and
/// mean scores (district admins and the agency's admins).
#[utoipa::path(get, path = "/agencies/{id}/project-figures", tag = "projects",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = FigureLine), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn agency_figures(
    AxState(state): AxState<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<FigureLine>, ApiError> {
    let db = state.db.conn();
    let (a, d) = jinlin_agencies::api::visible_agency(db, &user, id).await?;
    if !reads_agency_figures(db, &user, &a, &d).await? {
        return Err(ApiError::forbidden());
    }
    Ok(ApiJson(agency_figures_for(db, &a).await?))
}
