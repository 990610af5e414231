//! JSON API of social organisations, their admissions to compounds, their
//! services and sessions, registrations, attendance, feedback and figures.
//!
//! Scope: an organisation belongs to a district and is seen by every
//! account holding a role in that district and by its staff; district and
//! street admins register organisations and link staff accounts. The
//! community's party organisation (its community worker), or a street or
//! district admin above the compound, decides admissions. Staff run their
//! organisation's services and sessions where it is admitted. Residents
//! register for sessions of their compound's community.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::entity::account;
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::notify::{Message, notify_parties};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use jinlin_people::rules::Phone;
use jinlin_venues::entity::{venue, venue_booking};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{
    service, service_compound, service_kind, service_session, session_feedback,
    session_registration, social_org, social_org_account, social_org_admission,
};
use crate::rules::{
    self, AdmissionAction, AdmissionState, FeedbackRefusal, Invalid, Level, OrgType, Registering,
};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org))
        .routes(routes!(link_account))
        .routes(routes!(apply))
        .routes(routes!(list_admissions))
        .routes(routes!(decide))
        .routes(routes!(list_kinds, create_kind))
        .routes(routes!(create_service))
        .routes(routes!(get_service))
        .routes(routes!(create_session))
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(register_session, cancel_registration))
        .routes(routes!(my_registrations))
        .routes(routes!(check_in))
        .routes(routes!(cancel_whole_session))
        .routes(routes!(give_feedback))
        .routes(routes!(figures))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

// ---------------------------------------------------------------- scope

/// Whether the user holds any role in the district (or above it).
pub fn reaches_district(user: &Principal, district: &place::Model) -> bool {
    user.sees(&district.position())
        || user
            .grants
            .iter()
            .any(|g| g.place.district_code == district.district_code)
}

/// District admins over the district and street admins of its streets
/// register organisations and link their staff.
pub fn registers_in(user: &Principal, district: &place::Model) -> bool {
    user.roles_for(Access::Edit, &district.position())
        .contains(&Role::DistrictAdmin)
        || user
            .grants
            .iter()
            .any(|g| g.role == Role::StreetAdmin && g.place.district_code == district.district_code)
}

/// The community's party organisation (its community worker) and street
/// and district admins above the compound decide admissions and oversee
/// the sessions held there.
pub fn oversees(user: &Principal, compound: &Position) -> bool {
    user.can(Access::Edit, compound)
}

/// Whether the user sees a compound's services: anyone who sees the
/// compound, and anyone holding a role in its community (a resident of the
/// neighbouring compound walks over to the same service).
pub fn views_compound(user: &Principal, compound: &Position) -> bool {
    user.sees(compound)
        || compound.community_id.is_some()
            && user
                .grants
                .iter()
                .any(|g| g.place.community_id == compound.community_id)
}

/// Whether the user lives in the compound's community (a resident or party
/// member granted at a dwelling there): who may register.
pub fn lives_near(user: &Principal, compound: &Position) -> bool {
    user.grants.iter().any(|g| {
        g.place.kind == Some(PlaceKind::Dwelling)
            && (g.place.compound_id == Some(compound.id)
                || compound.community_id.is_some() && g.place.community_id == compound.community_id)
    })
}

pub async fn is_staff(
    db: &impl ConnectionTrait,
    user: &Principal,
    org_id: i64,
) -> Result<bool, ApiError> {
    Ok(store::orgs_of_account(db, user.account_id)
        .await?
        .contains(&org_id))
}

/// An organisation the user may see (404 otherwise) with its district.
pub async fn visible_org(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(social_org::Model, place::Model, bool), ApiError> {
    let Some(o) = social_org::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(d) = store::district(db, &o.district_code).await? else {
        return Err(ApiError::not_found());
    };
    let staff = is_staff(db, user, o.id).await?;
    if !staff && !reaches_district(user, &d) {
        return Err(ApiError::not_found());
    }
    Ok((o, d, staff))
}

async fn compound(db: &impl ConnectionTrait, id: i64) -> Result<Option<place::Model>, ApiError> {
    Ok(jinlin_places::store::find(db, id)
        .await?
        .filter(|p| p.kind == PlaceKind::Compound.as_str()))
}

/// A session the user may see, with its service, organisation and compound
/// and whether the user is the organisation's staff (404 otherwise).
pub async fn visible_session(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<SessionCtx, ApiError> {
    let Some(s) = service_session::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(c) = compound(db, s.compound_id).await? else {
        return Err(ApiError::not_found());
    };
    let staff = is_staff(db, user, s.org_id).await?;
    if !staff && !views_compound(user, &c.position()) {
        return Err(ApiError::not_found());
    }
    let Some(svc) = service::Entity::find_by_id(s.service_id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(org) = social_org::Entity::find_by_id(s.org_id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    Ok(SessionCtx {
        session: s,
        service: svc,
        org,
        compound: c,
        staff,
    })
}

pub struct SessionCtx {
    pub session: service_session::Model,
    pub service: service::Model,
    pub org: social_org::Model,
    pub compound: place::Model,
    pub staff: bool,
}

impl SessionCtx {
    /// Staff and overseers run the session: attendance and the roll.
    pub fn runs(&self, user: &Principal) -> bool {
        self.staff || oversees(user, &self.compound.position())
    }
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SocialCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialOrgInput {
    /// The district (a place id).
    pub district_id: i64,
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters.
    pub registration_no: String,
    pub org_type: OrgType,
    pub contact_name: String,
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub has_party_org: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SocialOrgSummary {
    pub id: i64,
    pub district_code: String,
    pub name: String,
    pub registration_no: String,
    pub org_type: OrgType,
    pub contact_name: String,
    /// Masked (138****1234) unless the reader is the organisation's staff
    /// or an official of its district.
    pub contact_phone: Option<String>,
    pub has_party_org: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdmissionView {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub state: AdmissionState,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub applied_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Whether the reader may decide it (approve, refuse or withdraw).
    pub can_decide: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub kind: String,
    pub kind_name: String,
    pub title: String,
    pub description: String,
    pub compounds: Vec<NamedId>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SocialNamedId)]
pub struct NamedId {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SocialOrgView {
    #[serde(flatten)]
    pub org: SocialOrgSummary,
    /// Staff accounts (officials who register organisations, and staff).
    pub accounts: Option<Vec<NamedId>>,
    /// Admissions the reader may see, newest first (history kept).
    pub admissions: Vec<AdmissionView>,
    pub services: Vec<ServiceView>,
    pub figures: FigureLine,
    pub is_staff: bool,
    pub can_register: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SocialLinkAccount)]
#[serde(deny_unknown_fields)]
pub struct LinkAccount {
    pub account_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionInput {
    pub compound_id: i64,
    /// What the organisation offers the compound.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub action: AdmissionAction,
    /// Required to refuse or withdraw.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AdmissionQuery {
    /// `applied` (waiting), `approved`, `refused` or `withdrawn`.
    pub state: Option<AdmissionState>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceKindView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// One of the defaults every district has.
    pub default: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct KindQuery {
    pub district_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceKindInput {
    pub district_id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Compounds it serves; the organisation must be admitted to each.
    pub compound_ids: Vec<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// One of the service's compounds, where the organisation is admitted.
    pub compound_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
    /// A venue of the compound or its community: booked in the same step.
    pub venue_id: Option<i64>,
    /// A free-text place when no venue is booked.
    pub location: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionSummary {
    pub id: i64,
    pub service_id: i64,
    pub title: String,
    pub kind: String,
    pub kind_name: String,
    pub org_id: i64,
    pub org_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: String,
    pub venue_id: Option<i64>,
    pub capacity: i32,
    pub registered: i32,
    pub cancelled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    pub id: i64,
    pub session_id: i64,
    pub name: String,
    /// Masked for the organisation's staff; plain for community workers
    /// and admins (an audited read); the registrant's own in full.
    pub phone: Option<String>,
    pub active: bool,
    pub attended_at: Option<DateTime<Utc>>,
    pub feedback_score: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServiceSessionView)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionSummary,
    pub description: String,
    /// The reader's own registration.
    pub mine: Option<RegistrationView>,
    /// The roll (staff, community workers and admins only).
    pub registrations: Option<Vec<RegistrationView>>,
    /// Read out at roll call by staff.
    pub code: Option<String>,
    /// Why the session was cancelled, and when.
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub can_register: bool,
    pub can_check_in: bool,
    /// Staff and overseers, before the start.
    pub can_cancel: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCancelInput {
    /// Told to every registrant (1–500 characters).
    pub reason: String,
}

#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    /// A phone the organisation may reach the registrant at.
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// 1–5.
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FiguresQuery {
    /// A district, street, community or compound.
    pub place_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SocialFigureLine)]
pub struct FigureLine {
    pub id: i64,
    pub name: String,
    pub sessions_held: u64,
    pub person_times: u64,
    pub feedback_count: u64,
    /// Mean score, one decimal, e.g. "4.5".
    pub mean_feedback: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SocialFigures {
    #[serde(flatten)]
    pub place: FigureLine,
    pub kind: PlaceKind,
    /// The place's children one level down (streets, communities, compounds).
    pub children: Vec<FigureLine>,
    /// By organisation.
    pub orgs: Vec<FigureLine>,
}

fn line(id: i64, name: String, t: &rules::Tally) -> FigureLine {
    FigureLine {
        id,
        name,
        sessions_held: t.sessions_held,
        person_times: t.person_times,
        feedback_count: t.feedback_count,
        mean_feedback: rules::mean_text(t.mean_feedback()),
    }
}

fn mask(phone: &str) -> String {
    Phone::parse(phone)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "****".into())
}

// ---------------------------------------------------------------- kinds

/// The district's kinds: the defaults, then its own.
pub async fn kinds(
    db: &impl ConnectionTrait,
    district_code: &str,
) -> Result<Vec<ServiceKindView>, ApiError> {
    let mut out: Vec<ServiceKindView> = rules::DEFAULT_KINDS
        .iter()
        .map(|(c, zh, en)| ServiceKindView {
            code: (*c).into(),
            name_zh: (*zh).into(),
            name_en: (*en).into(),
            default: true,
        })
        .collect();
    out.extend(
        store::custom_kinds(db, district_code)
            .await?
            .into_iter()
            .map(|k| ServiceKindView {
                code: k.code,
                name_zh: k.name_zh,
                name_en: k.name_en,
                default: false,
            }),
    );
    Ok(out)
}

fn kind_name(kinds: &[ServiceKindView], code: &str) -> String {
    let zh = i18n::current().code() == "zh-CN";
    kinds
        .iter()
        .find(|k| k.code == code)
        .map(|k| {
            if zh {
                k.name_zh.clone()
            } else {
                k.name_en.clone()
            }
        })
        .unwrap_or_else(|| code.to_string())
}

async fn visible_district(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p) if p.kind == PlaceKind::District.as_str() && reaches_district(user, &p) => Ok(p),
        _ => Err(ApiError::not_found()),
    }
}

/// Kinds of service of a district: the defaults and the district's own.
#[utoipa::path(get, path = "/service-kinds", tag = "social_services", params(KindQuery),
    responses((status = 200, body = Vec<ServiceKindView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_kinds(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<KindQuery>,
) -> Result<ApiJson<Vec<ServiceKindView>>, ApiError> {
    let db = state.db.conn();
    let d = visible_district(db, &user, q.district_id).await?;
    Ok(ApiJson(
        kinds(db, d.district_code.as_deref().unwrap_or("")).await?,
    ))
}

/// Adds a kind of service to a district's catalogue (district admin).
#[utoipa::path(post, path = "/service-kinds", tag = "social_services", request_body = ServiceKindInput,
    responses((status = 201), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_kind(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<ServiceKindInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let d = visible_district(&tx, &user, input.district_id).await?;
    if !user
        .roles_for(Access::Edit, &d.position())
        .contains(&Role::DistrictAdmin)
    {
        return Err(ApiError::forbidden());
    }
    let code = rules::check_kind_code(&input.code).map_err(invalid)?;
    let zh = rules::check_text(&input.name_zh, 64).map_err(invalid)?;
    let en = rules::check_text(&input.name_en, 64).map_err(invalid)?;
    let dc = d.district_code.clone().unwrap_or_default();
    if kinds(&tx, &dc).await?.iter().any(|k| k.code == code) {
        return Err(conflict("social_services.error.kind_taken"));
    }
    service_kind::Entity::insert(service_kind::ActiveModel {
        district_code: Set(dc.clone()),
        code: Set(code),
        name_zh: Set(zh),
        name_en: Set(en),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&tx)
    .await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "service_kind.create", "service_kind").district(Some(dc)),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::CREATED)
}

// ---------------------------------------------------------------- orgs

fn sees_phone(user: &Principal, district: &place::Model, staff: bool) -> bool {
    staff
        || registers_in(user, district)
        || user.grants.iter().any(|g| {
            g.role == Role::CommunityWorker && g.place.district_code == district.district_code
        })
}

fn summary(o: social_org::Model, plain_phone: bool) -> SocialOrgSummary {
    SocialOrgSummary {
        id: o.id,
        district_code: o.district_code,
        name: o.name,
        registration_no: o.registration_no,
        org_type: OrgType::parse(&o.org_type).unwrap_or(OrgType::SocialGroup),
        contact_name: o.contact_name,
        contact_phone: o
            .contact_phone
            .map(|p| if plain_phone { p } else { mask(&p) }),
        has_party_org: o.has_party_org,
    }
}

/// Organisations the user sees: those of the districts they reach, and
/// their own.
pub async fn org_summaries(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<SocialOrgSummary>, ApiError> {
    let mine = store::orgs_of_account(db, user.account_id).await?;
    let mut districts: HashMap<String, Option<place::Model>> = HashMap::new();
    let mut out = Vec::new();
    for o in store::orgs(db).await? {
        if !districts.contains_key(&o.district_code) {
            let d = store::district(db, &o.district_code).await?;
            districts.insert(o.district_code.clone(), d);
        }
        let d = districts.get(&o.district_code).cloned().flatten();
        let staff = mine.contains(&o.id);
        let reach = d.as_ref().is_some_and(|d| reaches_district(user, d));
        if staff || reach {
            let plain = d.as_ref().is_some_and(|d| sees_phone(user, d, staff));
            out.push(summary(o, plain));
        }
    }
    Ok(out)
}

pub async fn create(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &SocialOrgInput,
) -> Result<i64, ApiError> {
    let d = visible_district(db, user, input.district_id).await?;
    if !registers_in(user, &d) {
        return Err(ApiError::forbidden());
    }
    let name = rules::check_text(&input.name, 128).map_err(invalid)?;
    let code = rules::check_credit_code(&input.registration_no).map_err(invalid)?;
    let contact = rules::check_text(&input.contact_name, 64).map_err(invalid)?;
    let phone = match input.contact_phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(
            Phone::parse(p)
                .map_err(|e| invalid_key(e.message_key()))?
                .into_string(),
        ),
    };
    if store::code_taken(db, &code).await? {
        return Err(conflict("social_services.error.code_taken"));
    }
    let dc = d.district_code.clone().unwrap_or_default();
    let now = Utc::now();
    let id = social_org::Entity::insert(social_org::ActiveModel {
        district_code: Set(dc.clone()),
        name: Set(name),
        registration_no: Set(code),
        org_type: Set(input.org_type.as_str().into()),
        contact_name: Set(contact),
        contact_phone: Set(phone),
        has_party_org: Set(input.has_party_org),
        created_by: Set(Some(user.account_id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "social_org.create", "social_org")
            .object(id)
            .district(Some(dc)),
    )
    .await?;
    Ok(id)
}

/// Social organisations the reader sees.
#[utoipa::path(get, path = "/social-orgs", tag = "social_services",
    responses((status = 200, body = Vec<SocialOrgSummary>), (status = 401, body = ErrorBody)))]
async fn list_orgs(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<SocialOrgSummary>>, ApiError> {
    Ok(ApiJson(org_summaries(state.db.conn(), &user).await?))
}

/// Registers a social organisation (district admin, or a street admin of
/// the district).
#[utoipa::path(post, path = "/social-orgs", tag = "social_services", request_body = SocialOrgInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_org(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<SocialOrgInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

pub async fn admission_views(
    db: &impl ConnectionTrait,
    user: &Principal,
    rows: Vec<social_org_admission::Model>,
) -> Result<Vec<AdmissionView>, ApiError> {
    let cids: Vec<i64> = rows.iter().map(|a| a.compound_id).collect();
    let places = store::places(db, &cids).await?;
    let oids: Vec<i64> = rows.iter().map(|a| a.org_id).collect();
    let orgs = store::orgs_by_id(db, &oids).await?;
    Ok(rows
        .into_iter()
        .map(|a| {
            let c = places.get(&a.compound_id);
            let state = AdmissionState::parse(&a.state).unwrap_or(AdmissionState::Refused);
            AdmissionView {
                id: a.id,
                org_id: a.org_id,
                org_name: orgs
                    .get(&a.org_id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                compound_id: a.compound_id,
                compound_name: c.map(|c| c.name.clone()).unwrap_or_default(),
                can_decide: state.is_open() && c.is_some_and(|c| oversees(user, &c.position())),
                state,
                note: a.note,
                reason: a.reason,
                applied_at: a.applied_at,
                decided_at: a.decided_at,
                withdrawn_at: a.withdrawn_at,
            }
        })
        .collect())
}

pub async fn service_views(
    db: &impl ConnectionTrait,
    rows: Vec<service::Model>,
) -> Result<Vec<ServiceView>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let compounds = store::service_compounds(db, &ids).await?;
    let all: Vec<i64> = compounds.values().flatten().copied().collect();
    let places = store::places(db, &all).await?;
    let oids: Vec<i64> = rows.iter().map(|s| s.org_id).collect();
    let orgs = store::orgs_by_id(db, &oids).await?;
    let mut kinds_by: HashMap<String, Vec<ServiceKindView>> = HashMap::new();
    let mut out = Vec::new();
    for s in rows {
        if !kinds_by.contains_key(&s.district_code) {
            kinds_by.insert(s.district_code.clone(), kinds(db, &s.district_code).await?);
        }
        let k = &kinds_by[&s.district_code];
        out.push(ServiceView {
            id: s.id,
            org_id: s.org_id,
            org_name: orgs
                .get(&s.org_id)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            kind_name: kind_name(k, &s.kind),
            kind: s.kind,
            title: s.title,
            description: s.description,
            compounds: compounds
                .get(&s.id)
                .into_iter()
                .flatten()
                .map(|c| NamedId {
                    id: *c,
                    name: places.get(c).map(|p| p.name.clone()).unwrap_or_default(),
                })
                .collect(),
        });
    }
    Ok(out)
}

pub async fn org_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    o: social_org::Model,
    d: &place::Model,
    staff: bool,
) -> Result<SocialOrgView, ApiError> {
    let can_register = registers_in(user, d);
    let accounts = if can_register || staff {
        let links = store::accounts_of(db, o.id).await?;
        let mut names = Vec::new();
        for l in links {
            if let Some(a) = account::Entity::find_by_id(l.account_id).one(db).await? {
                names.push(NamedId {
                    id: a.id,
                    name: a.username,
                });
            }
        }
        Some(names)
    } else {
        None
    };
    // Officials see the admissions of their scope; staff all of theirs;
    // others only the approved ones of compounds they see.
    let mut admissions = Vec::new();
    let all = store::admissions_of(db, o.id).await?;
    let cids: Vec<i64> = all.iter().map(|a| a.compound_id).collect();
    let places = store::places(db, &cids).await?;
    for a in all {
        let Some(c) = places.get(&a.compound_id) else {
            continue;
        };
        let pos = c.position();
        if staff
            || user.can(Access::Registry, &pos)
            || a.state == AdmissionState::Approved.as_str() && views_compound(user, &pos)
        {
            admissions.push(a);
        }
    }
    let admissions = admission_views(db, user, admissions).await?;
    let services = service_views(db, store::services_of_org(db, o.id).await?).await?;
    let groups = store::tallies(db, None, Some(o.id), None, Utc::now()).await?;
    let figures = line(o.id, o.name.clone(), &rules::rollup(&groups).total);
    let plain = sees_phone(user, d, staff);
    Ok(SocialOrgView {
        org: summary(o, plain),
        accounts,
        admissions,
        services,
        figures,
        is_staff: staff,
        can_register,
    })
}

/// One organisation with its admissions, services and figures.
#[utoipa::path(get, path = "/social-orgs/{id}", tag = "social_services",
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 200, body = SocialOrgView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_org(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<SocialOrgView>, ApiError> {
    let db = state.db.conn();
    let (o, d, staff) = visible_org(db, &user, id).await?;
    Ok(ApiJson(org_view(db, &user, o, &d, staff).await?))
}

pub async fn link(
    db: &impl ConnectionTrait,
    user: &Principal,
    org_id: i64,
    account_id: i64,
) -> Result<(), ApiError> {
    let (o, d, _) = visible_org(db, user, org_id).await?;
    if !registers_in(user, &d) {
        return Err(ApiError::forbidden());
    }
    if account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(invalid_key("social_services.error.unknown_account"));
    }
    if store::orgs_of_account(db, account_id)
        .await?
        .contains(&o.id)
    {
        return Ok(());
    }
    social_org_account::Entity::insert(social_org_account::ActiveModel {
        org_id: Set(o.id),
        district_code: Set(o.district_code.clone()),
        account_id: Set(account_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    audit::record(
        db,
        Entry::new(Some(user), "social_org.link_account", "social_org")
            .object(o.id)
            .district(Some(o.district_code))
            .detail(serde_json::json!({ "account_id": account_id })),
    )
    .await?;
    Ok(())
}

/// Links an account to the organisation as its staff (those who register
/// organisations in the district).
#[utoipa::path(post, path = "/social-orgs/{id}/accounts", tag = "social_services", request_body = LinkAccount,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_account(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LinkAccount>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    link(&tx, &user, id, body.account_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- admissions

pub async fn apply_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    org_id: i64,
    input: &AdmissionInput,
) -> Result<i64, ApiError> {
    let (o, d, staff) = visible_org(db, user, org_id).await?;
    let c = match compound(db, input.compound_id).await? {
        Some(c) if c.district_code == d.district_code => c,
        _ => return Err(invalid_key("social_services.error.compound")),
    };
    if !staff && !registers_in(user, &d) {
        return Err(ApiError::forbidden());
    }
    let note = rules::check_optional(input.note.as_deref(), 500).map_err(invalid)?;
    store::lock_org(db, o.id).await?;
    if let Some(open) = store::open_admission(db, o.id, c.id).await? {
        return Err(if open.state == AdmissionState::Approved.as_str() {
            conflict("social_services.error.already_admitted")
        } else {
            conflict("social_services.error.already_applied")
        });
    }
    let id = social_org_admission::Entity::insert(social_org_admission::ActiveModel {
        org_id: Set(o.id),
        compound_id: Set(c.id),
        district_code: Set(o.district_code.clone()),
        street_id: Set(c.street_id),
        community_id: Set(c.community_id),
        state: Set(AdmissionState::Applied.as_str().into()),
        note: Set(note),
        reason: Set(None),
        applied_by: Set(Some(user.account_id)),
        applied_at: Set(Utc::now()),
        decided_by: Set(None),
        decided_at: Set(None),
        withdrawn_by: Set(None),
        withdrawn_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "social_org_admission.apply",
            "social_org_admission",
        )
        .object(id)
        .district(Some(o.district_code)),
    )
    .await?;
    Ok(id)
}

/// Applies to serve a compound (the organisation's staff, or those who
/// register organisations). One open application or admission per compound.
#[utoipa::path(post, path = "/social-orgs/{id}/admissions", tag = "social_services", request_body = AdmissionInput,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn apply(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<AdmissionInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = apply_for(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Admissions in the places the reader oversees (community workers, street
/// and district admins), and of the organisations they work for.
pub async fn admissions_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    state: Option<AdmissionState>,
) -> Result<Vec<AdmissionView>, ApiError> {
    let mut rows: Vec<social_org_admission::Model> = Vec::new();
    for g in &user.grants {
        if matches!(
            g.role,
            Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
        ) {
            rows.extend(store::admissions_under(db, &g.place, state).await?);
        }
    }
    for o in store::orgs_of_account(db, user.account_id).await? {
        rows.extend(
            store::admissions_of(db, o)
                .await?
                .into_iter()
                .filter(|a| state.is_none_or(|s| a.state == s.as_str())),
        );
    }
    rows.sort_by_key(|a| std::cmp::Reverse(a.id));
    rows.dedup_by_key(|a| a.id);
    admission_views(db, user, rows).await
}

/// Admissions the reader oversees or applied for; `state=applied` lists
/// those waiting for a decision.
#[utoipa::path(get, path = "/social-admissions", tag = "social_services", params(AdmissionQuery),
    responses((status = 200, body = Vec<AdmissionView>), (status = 401, body = ErrorBody)))]
async fn list_admissions(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<AdmissionQuery>,
) -> Result<ApiJson<Vec<AdmissionView>>, ApiError> {
    Ok(ApiJson(
        admissions_for(state.db.conn(), &user, q.state).await?,
    ))
}

pub async fn decide_on(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: &DecisionInput,
) -> Result<(), ApiError> {
    let Some(a) = social_org_admission::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let Some(c) = compound(db, a.compound_id).await? else {
        return Err(ApiError::not_found());
    };
    let pos = c.position();
    let staff = is_staff(db, user, a.org_id).await?;
    if !staff && !user.can(Access::Registry, &pos) {
        return Err(ApiError::not_found());
    }
    if !oversees(user, &pos) {
        return Err(ApiError::forbidden());
    }
    let reason = if input.action.needs_reason() {
        Some(
            rules::check_text(input.reason.as_deref().unwrap_or(""), 500)
                .map_err(|_| invalid_key("social_services.error.reason"))?,
        )
    } else {
        rules::check_optional(input.reason.as_deref(), 500).map_err(invalid)?
    };
    store::lock_org(db, a.org_id).await?;
    let a = social_org_admission::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let from = AdmissionState::parse(&a.state).unwrap_or(AdmissionState::Refused);
    let Some(to) = rules::admission_next(from, input.action) else {
        return Err(conflict("social_services.error.admission_state"));
    };
    let now = Utc::now();
    let code = a.district_code.clone();
    let mut m: social_org_admission::ActiveModel = a.into();
    m.state = Set(to.as_str().into());
    if to == AdmissionState::Withdrawn {
        m.withdrawn_by = Set(Some(user.account_id));
        m.withdrawn_at = Set(Some(now));
        m.reason = Set(reason);
    } else {
        m.decided_by = Set(Some(user.account_id));
        m.decided_at = Set(Some(now));
        m.reason = Set(reason);
    }
    social_org_admission::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            match input.action {
                AdmissionAction::Approve => "social_org_admission.approve",
                AdmissionAction::Refuse => "social_org_admission.refuse",
                AdmissionAction::Withdraw => "social_org_admission.withdraw",
            },
            "social_org_admission",
        )
        .object(id)
        .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Approves or refuses an application, or withdraws an admission, with a
/// reason (the community worker of the compound's community, or a street
/// or district admin above it).
#[utoipa::path(post, path = "/social-admissions/{id}/decision", tag = "social_services", request_body = DecisionInput,
    params(("id" = i64, Path, description = "Admission id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    decide_on(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- services

pub async fn create_service_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    org_id: i64,
    input: &ServiceInput,
) -> Result<i64, ApiError> {
    let (o, _, staff) = visible_org(db, user, org_id).await?;
    if !staff {
        return Err(ApiError::forbidden());
    }
    let title = rules::check_text(&input.title, 128).map_err(invalid)?;
    let description = input.description.trim().to_string();
    if description.chars().count() > 2000 {
        return Err(invalid_key("social_services.error.too_long"));
    }
    if !kinds(db, &o.district_code)
        .await?
        .iter()
        .any(|k| k.code == input.kind)
    {
        return Err(invalid_key("social_services.error.kind"));
    }
    let mut compounds = input.compound_ids.clone();
    compounds.sort_unstable();
    compounds.dedup();
    if compounds.is_empty() {
        return Err(invalid_key("social_services.error.no_compound"));
    }
    for c in &compounds {
        if !store::admitted(db, o.id, *c).await? {
            return Err(invalid_key("social_services.error.not_admitted"));
        }
    }
    let id = service::Entity::insert(service::ActiveModel {
        org_id: Set(o.id),
        district_code: Set(o.district_code.clone()),
        kind: Set(input.kind.clone()),
        title: Set(title),
        description: Set(description),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    for c in compounds {
        service_compound::Entity::insert(service_compound::ActiveModel {
            service_id: Set(id),
            compound_id: Set(c),
            ..Default::default()
        })
        .exec(db)
        .await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "service.create", "service")
            .object(id)
            .district(Some(o.district_code)),
    )
    .await?;
    Ok(id)
}

/// Sets up a service the organisation runs in compounds it is admitted to
/// (its staff; 422 for a compound where it is not admitted).
#[utoipa::path(post, path = "/social-orgs/{id}/services", tag = "social_services", request_body = ServiceInput,
    params(("id" = i64, Path, description = "Organisation id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_service(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ServiceInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create_service_for(&tx, &user, id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub service: ServiceView,
    pub sessions: Vec<SessionSummary>,
    pub is_staff: bool,
}

/// A service the reader sees (its staff, or anyone seeing one of its
/// compounds), 404 otherwise.
pub async fn visible_service(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(service::Model, bool), ApiError> {
    let Some(s) = service::Entity::find_by_id(id).one(db).await? else {
        return Err(ApiError::not_found());
    };
    let staff = is_staff(db, user, s.org_id).await?;
    if staff {
        return Ok((s, true));
    }
    let cids = store::service_compounds(db, &[s.id]).await?;
    let places = store::places(db, cids.get(&s.id).map(Vec::as_slice).unwrap_or(&[])).await?;
    if places.values().any(|c| views_compound(user, &c.position())) {
        Ok((s, false))
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn service_detail(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<ServiceDetail, ApiError> {
    let (s, staff) = visible_service(db, user, id).await?;
    let sessions = store::sessions_of_service(db, s.id).await?;
    let sessions = session_summaries(db, sessions).await?.into_iter().collect();
    let view = service_views(db, vec![s])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    Ok(ServiceDetail {
        service: view,
        sessions,
        is_staff: staff,
    })
}

/// One service with its sessions.
#[utoipa::path(get, path = "/services/{id}", tag = "social_services",
    params(("id" = i64, Path, description = "Service id")),
    responses((status = 200, body = ServiceDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_service(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ServiceDetail>, ApiError> {
    Ok(ApiJson(service_detail(state.db.conn(), &user, id).await?))
}

// ---------------------------------------------------------------- sessions

fn venue_error(e: jinlin_venues::rules::Invalid) -> ApiError {
    jinlin_venues::api::invalid(e)
}

/// Books the venue for the session under the venue's row lock, as the
/// venues crate does for its own bookings: within its hours and capacity,
/// no overlapping booking.
async fn book_venue(
    db: &impl ConnectionTrait,
    user: &Principal,
    c: &place::Model,
    org: &social_org::Model,
    title: &str,
    input: &SessionInput,
    capacity: i32,
) -> Result<(i64, String), ApiError> {
    let venue_id = input.venue_id.unwrap_or_default();
    let v = match venue::Entity::find_by_id(venue_id).one(db).await? {
        Some(v) if v.active && (v.place_id == c.id || Some(v.place_id) == c.community_id) => v,
        _ => return Err(invalid_key("social_services.error.venue")),
    };
    let hours = jinlin_venues::rules::OpeningHours::from_json(&v.opening_hours);
    jinlin_venues::rules::check_booking(
        &hours,
        v.capacity,
        input.starts_at,
        input.ends_at,
        capacity as i64,
    )
    .map_err(venue_error)?;
    jinlin_venues::store::lock_venue(db, v.id).await?;
    let clash =
        jinlin_venues::store::bookings_between(db, &[v.id], input.starts_at, input.ends_at, false)
            .await?
            .into_iter()
            .find(|b| {
                jinlin_venues::rules::overlaps(
                    (b.starts_at, b.ends_at),
                    (input.starts_at, input.ends_at),
                )
            });
    if let Some(b) = clash {
        return Err(ApiError::with_message(
            StatusCode::CONFLICT,
            "booking_conflict",
            i18n::current().tf(
                "venues.error.conflict",
                &[
                    ("title", &b.title),
                    (
                        "time",
                        &jinlin_venues::api::span_text(b.starts_at, b.ends_at),
                    ),
                ],
            ),
        ));
    }
    let id = venue_booking::Entity::insert(venue_booking::ActiveModel {
        venue_id: Set(v.id),
        district_code: Set(v.district_code.clone()),
        place_id: Set(v.place_id),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        purpose: Set(jinlin_venues::rules::Purpose::Session.as_str().into()),
        title: Set(title.chars().take(128).collect()),
        organiser_account_id: Set(Some(user.account_id)),
        organiser_name: Set(org.name.chars().take(128).collect()),
        expected_attendance: Set(capacity),
        state: Set(jinlin_venues::rules::BookingState::Confirmed
            .as_str()
            .into()),
        cancel_reason: Set(None),
        cancelled_at: Set(None),
        cancelled_by: Set(None),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    Ok((id, v.name))
}

pub async fn create_session_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    service_id: i64,
    input: &SessionInput,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let (s, staff) = visible_service(db, user, service_id).await?;
    if !staff {
        return Err(ApiError::forbidden());
    }
    let org = social_org::Entity::find_by_id(s.org_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let Some(c) = compound(db, input.compound_id).await? else {
        return Err(invalid_key("social_services.error.not_admitted"));
    };
    let capacity = rules::check_session(input.starts_at, input.ends_at, input.capacity, now)
        .map_err(invalid)?;
    store::lock_org(db, org.id).await?;
    if !store::admitted(db, org.id, c.id).await? {
        return Err(invalid_key("social_services.error.not_admitted"));
    }
    let serves = store::service_compounds(db, &[s.id]).await?;
    if !serves.get(&s.id).is_some_and(|v| v.contains(&c.id)) {
        service_compound::Entity::insert(service_compound::ActiveModel {
            service_id: Set(s.id),
            compound_id: Set(c.id),
            ..Default::default()
        })
        .exec(db)
        .await?;
    }
    let (booking, location) = match input.venue_id {
        Some(_) => {
            let (b, name) = book_venue(db, user, &c, &org, &s.title, input, capacity).await?;
            (Some(b), name)
        }
        None => {
            let loc = rules::check_text(input.location.as_deref().unwrap_or(""), 128)
                .map_err(|_| invalid_key("social_services.error.location"))?;
            (None, loc)
        }
    };
    let id = service_session::Entity::insert(service_session::ActiveModel {
        service_id: Set(s.id),
        org_id: Set(org.id),
        district_code: Set(s.district_code.clone()),
        street_id: Set(c.street_id),
        community_id: Set(c.community_id),
        compound_id: Set(c.id),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        venue_id: Set(input.venue_id),
        venue_booking_id: Set(booking),
        location: Set(location),
        capacity: Set(capacity),
        registered: Set(0),
        state: Set("scheduled".into()),
        created_by: Set(Some(user.account_id)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "service_session.create", "service_session")
            .object(id)
            .district(Some(s.district_code)),
    )
    .await?;
    Ok(id)
}

/// Schedules a session of the service in a compound where the organisation
/// is admitted (its staff; 422 elsewhere), booking a venue of the compound
/// or its community in the same step, or at a free-text location.
#[utoipa::path(post, path = "/services/{id}/sessions", tag = "social_services", request_body = SessionInput,
    params(("id" = i64, Path, description = "Service id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_session(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SessionInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = create_session_for(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

pub async fn session_summaries(
    db: &impl ConnectionTrait,
    rows: Vec<service_session::Model>,
) -> Result<Vec<SessionSummary>, ApiError> {
    let sids: Vec<i64> = rows.iter().map(|s| s.service_id).collect();
    let services = store::services_by_id(db, &sids).await?;
    let oids: Vec<i64> = rows.iter().map(|s| s.org_id).collect();
    let orgs = store::orgs_by_id(db, &oids).await?;
    let cids: Vec<i64> = rows.iter().map(|s| s.compound_id).collect();
    let places = store::places(db, &cids).await?;
    let mut kinds_by: HashMap<String, Vec<ServiceKindView>> = HashMap::new();
    let mut out = Vec::new();
    for s in rows {
        if !kinds_by.contains_key(&s.district_code) {
            kinds_by.insert(s.district_code.clone(), kinds(db, &s.district_code).await?);
        }
        let svc = services.get(&s.service_id);
        let kind = svc.map(|v| v.kind.clone()).unwrap_or_default();
        out.push(SessionSummary {
            id: s.id,
            service_id: s.service_id,
            title: svc.map(|v| v.title.clone()).unwrap_or_default(),
            kind_name: kind_name(&kinds_by[&s.district_code], &kind),
            kind,
            org_id: s.org_id,
            org_name: orgs
                .get(&s.org_id)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            compound_id: s.compound_id,
            compound_name: places
                .get(&s.compound_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            location: s.location,
            venue_id: s.venue_id,
            capacity: s.capacity,
            registered: s.registered,
            cancelled: s.state != "scheduled",
        });
    }
    Ok(out)
}

/// Upcoming sessions near the reader: of the communities where they hold a
/// role (residents: their compound's community), the compounds they see,
/// and their organisations'.
pub async fn sessions_near(
    db: &impl ConnectionTrait,
    user: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<SessionSummary>, ApiError> {
    let mut communities = Vec::new();
    let mut compounds = Vec::new();
    for g in &user.grants {
        match g.place.kind {
            Some(PlaceKind::Community) => communities.push(g.place.id),
            Some(PlaceKind::Compound) => {
                compounds.push(g.place.id);
                communities.extend(g.place.community_id);
            }
            Some(k) if k > PlaceKind::Compound => communities.extend(g.place.community_id),
            _ => {}
        }
    }
    communities.sort_unstable();
    communities.dedup();
    let mut rows = store::sessions_in(db, &communities, &compounds, Some(now), 100).await?;
    let orgs = store::orgs_of_account(db, user.account_id).await?;
    for s in store::sessions_of_orgs(db, &orgs, 100).await? {
        if s.ends_at >= now && !rows.iter().any(|r| r.id == s.id) {
            rows.push(s);
        }
    }
    rows.sort_by_key(|s| s.starts_at);
    session_summaries(db, rows).await
}

/// Upcoming sessions near the reader ("find a service near me").
#[utoipa::path(get, path = "/service-sessions", tag = "social_services",
    responses((status = 200, body = Vec<SessionSummary>), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<SessionSummary>>, ApiError> {
    Ok(ApiJson(
        sessions_near(state.db.conn(), &user, Utc::now()).await?,
    ))
}

fn registration_view(
    r: session_registration::Model,
    phone: impl Fn(&str) -> String,
    score: Option<i32>,
) -> RegistrationView {
    RegistrationView {
        id: r.id,
        session_id: r.session_id,
        name: r.name,
        phone: r.phone.as_deref().map(phone),
        active: r.state == "registered",
        attended_at: r.attended_at,
        feedback_score: score,
    }
}

pub async fn session_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    ctx: SessionCtx,
    now: DateTime<Utc>,
) -> Result<SessionView, ApiError> {
    let pos = ctx.compound.position();
    let runs = ctx.runs(user);
    let mine = match store::registration_of(db, ctx.session.id, user.account_id).await? {
        Some(r) => {
            let score = store::feedback_of_registration(db, r.id)
                .await?
                .map(|f| f.score);
            Some(registration_view(r, |p| p.to_string(), score))
        }
        None => None,
    };
    let registrations = if runs {
        let plain = oversees(user, &pos);
        let rows = store::registrations_of(db, ctx.session.id).await?;
        if plain && rows.iter().any(|r| r.phone.is_some()) {
            audit::record(
                db,
                Entry::new(Some(user), "service_session.read_phones", "service_session")
                    .object(ctx.session.id)
                    .district(Some(ctx.session.district_code.clone())),
            )
            .await?;
        }
        let scores: HashMap<i64, i32> = store::feedback_of_session(db, ctx.session.id)
            .await?
            .into_iter()
            .map(|f| (f.registration_id, f.score))
            .collect();
        Some(
            rows.into_iter()
                .map(|r| {
                    let s = scores.get(&r.id).copied();
                    registration_view(r, |p| if plain { p.to_string() } else { mask(p) }, s)
                })
                .collect(),
        )
    } else {
        None
    };
    let can_register = lives_near(user, &pos)
        && ctx.session.state == "scheduled"
        && now < ctx.session.starts_at
        && mine.as_ref().is_none_or(|m| !m.active);
    let cancelled = ctx.session.state != "scheduled";
    let can_check_in =
        runs && !cancelled && rules::check_in_open(ctx.session.starts_at, ctx.session.ends_at, now);
    let can_cancel = runs && rules::cancel_session(cancelled, ctx.session.starts_at, now).is_ok();
    let code = runs.then(|| rules::session_code(ctx.session.id));
    let description = ctx.service.description.clone();
    let cancel_reason = ctx.session.cancel_reason.clone();
    let cancelled_at = ctx.session.cancelled_at;
    let session = session_summaries(db, vec![ctx.session])
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    Ok(SessionView {
        session,
        description,
        mine,
        registrations,
        code,
        cancel_reason,
        cancelled_at,
        can_register,
        can_check_in,
        can_cancel,
    })
}

/// One session: the reader's registration, and the roll for its
/// organisation's staff (phones masked), community workers and admins.
#[utoipa::path(get, path = "/service-sessions/{id}", tag = "social_services",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_session(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<SessionView>, ApiError> {
    let db = state.db.conn();
    let ctx = visible_session(db, &user, id).await?;
    Ok(ApiJson(session_view(db, &user, ctx, Utc::now()).await?))
}

// ---------------------------------------------------------------- registration

/// Registers the reader for a session. The session's row lock makes the
/// seat count and the registration one step: past capacity is a 409 with
/// nothing stored, and a second registration is the same one.
pub async fn register(
    db: &impl ConnectionTrait,
    user: &Principal,
    session_id: i64,
    input: &RegisterInput,
    now: DateTime<Utc>,
) -> Result<(bool, RegistrationView), ApiError> {
    let ctx = visible_session(db, user, session_id).await?;
    if !lives_near(user, &ctx.compound.position()) {
        return Err(ApiError::forbidden());
    }
    let phone = match input.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(
            Phone::parse(p)
                .map_err(|e| invalid_key(e.message_key()))?
                .into_string(),
        ),
    };
    store::lock_session(db, session_id).await?;
    let s = service_session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let existing = store::registration_of(db, s.id, user.account_id).await?;
    let decision = rules::register(
        existing.as_ref().map(|r| r.state == "registered"),
        s.registered,
        s.capacity,
        s.state != "scheduled",
        s.starts_at,
        now,
    )
    .map_err(|r| conflict(r.key()))?;
    let name = if user.display_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.display_name.chars().take(64).collect()
    };
    let row = match (decision, existing) {
        (Registering::Same, Some(r)) => {
            return Ok((false, registration_view(r, |p| p.to_string(), None)));
        }
        (Registering::Renew, Some(r)) => {
            let mut m: session_registration::ActiveModel = r.into();
            m.state = Set("registered".into());
            m.cancelled_at = Set(None);
            m.phone = Set(phone);
            session_registration::Entity::update(m).exec(db).await?
        }
        _ => {
            let id = session_registration::Entity::insert(session_registration::ActiveModel {
                session_id: Set(s.id),
                account_id: Set(user.account_id),
                name: Set(name),
                phone: Set(phone),
                state: Set("registered".into()),
                attended_at: Set(None),
                checked_in_by: Set(None),
                created_at: Set(now),
                cancelled_at: Set(None),
                ..Default::default()
            })
            .exec(db)
            .await?
            .last_insert_id;
            session_registration::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or_else(ApiError::not_found)?
        }
    };
    let registered = s.registered + 1;
    let code = s.district_code.clone();
    let mut m: service_session::ActiveModel = s.into();
    m.registered = Set(registered);
    service_session::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "session_registration.create",
            "session_registration",
        )
        .object(row.id)
        .district(Some(code)),
    )
    .await?;
    Ok((true, registration_view(row, |p| p.to_string(), None)))
}

/// Registers the reader (a resident or party member of the compound's
/// community): 201 when new, 200 with the same registration when already
/// registered, 409 past capacity or once started.
#[utoipa::path(post, path = "/service-sessions/{id}/registrations", tag = "social_services", request_body = RegisterInput,
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 201, body = RegistrationView), (status = 200, body = RegistrationView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register_session(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RegisterInput>,
) -> Result<(StatusCode, ApiJson<RegistrationView>), ApiError> {
    let tx = state.db.write().await?;
    let (new, view) = register(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(view)))
}

pub async fn cancel(
    db: &impl ConnectionTrait,
    user: &Principal,
    session_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let _ctx = visible_session(db, user, session_id).await?;
    store::lock_session(db, session_id).await?;
    let s = service_session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let Some(r) = store::registration_of(db, s.id, user.account_id)
        .await?
        .filter(|r| r.state == "registered")
    else {
        return Err(ApiError::not_found());
    };
    if now >= s.starts_at {
        return Err(conflict("social_services.error.started"));
    }
    let rid = r.id;
    let mut m: session_registration::ActiveModel = r.into();
    m.state = Set("cancelled".into());
    m.cancelled_at = Set(Some(now));
    session_registration::Entity::update(m).exec(db).await?;
    let registered = (s.registered - 1).max(0);
    let code = s.district_code.clone();
    let mut m: service_session::ActiveModel = s.into();
    m.registered = Set(registered);
    service_session::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "session_registration.cancel",
            "session_registration",
        )
        .object(rid)
        .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Cancels the reader's registration before the session starts.
#[utoipa::path(delete, path = "/service-sessions/{id}/registrations", tag = "social_services",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_registration(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    cancel(&tx, &user, id, Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyRegistration {
    pub registration: RegistrationView,
    pub session: SessionSummary,
}

pub async fn mine(
    db: &impl ConnectionTrait,
    user: &Principal,
) -> Result<Vec<MyRegistration>, ApiError> {
    let regs = store::registrations_of_account(db, user.account_id).await?;
    let ids: Vec<i64> = regs.iter().map(|r| r.session_id).collect();
    let sessions = store::sessions_by_id(db, &ids).await?;
    let mut rows: Vec<service_session::Model> = ids
        .iter()
        .filter_map(|i| sessions.get(i).cloned())
        .collect();
    rows.dedup_by_key(|s| s.id);
    let summaries: HashMap<i64, SessionSummary> = session_summaries(db, rows)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::new();
    for r in regs {
        let score = store::feedback_of_registration(db, r.id)
            .await?
            .map(|f| f.score);
        let sid = r.session_id;
        if let Some(s) = summaries.get(&sid) {
            out.push(MyRegistration {
                registration: registration_view(r, |p| p.to_string(), score),
                session: SessionSummary { ..clone_summary(s) },
            });
        }
    }
    Ok(out)
}

fn clone_summary(s: &SessionSummary) -> SessionSummary {
    SessionSummary {
        id: s.id,
        service_id: s.service_id,
        title: s.title.clone(),
        kind: s.kind.clone(),
        kind_name: s.kind_name.clone(),
        org_id: s.org_id,
        org_name: s.org_name.clone(),
        compound_id: s.compound_id,
        compound_name: s.compound_name.clone(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        location: s.location.clone(),
        venue_id: s.venue_id,
        capacity: s.capacity,
        registered: s.registered,
        cancelled: s.cancelled,
    }
}

/// The reader's registrations, newest first.
#[utoipa::path(get, path = "/my-service-registrations", tag = "social_services",
    responses((status = 200, body = Vec<MyRegistration>), (status = 401, body = ErrorBody)))]
async fn my_registrations(
    State(state): State<AppState>,
    user: User,
) -> Result<ApiJson<Vec<MyRegistration>>, ApiError> {
    Ok(ApiJson(mine(state.db.conn(), &user).await?))
}

// ---------------------------------------------------------------- attendance

/// Marks a registrant as present. Attendance is marked by the
/// organisation's staff (or the community worker) at roll call, from 30
/// minutes before the start until 7 days after the end.
pub async fn mark_present(
    db: &impl ConnectionTrait,
    user: &Principal,
    session_id: i64,
    registration_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let ctx = visible_session(db, user, session_id).await?;
    if !ctx.runs(user) {
        return Err(ApiError::forbidden());
    }
    use sea_orm::sea_query::ExprTrait;
    // Under the session's lock the registration is read, marked and
    // counted once, however many staff tap at the door.
    store::lock_session(db, session_id).await?;
    let s = service_session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let Some(r) = session_registration::Entity::find_by_id(registration_id)
        .one(db)
        .await?
        .filter(|r| r.session_id == session_id)
    else {
        return Err(ApiError::not_found());
    };
    if r.state != "registered" {
        return Err(conflict("social_services.error.registration_cancelled"));
    }
    if s.state != "scheduled" {
        return Err(conflict("social_services.error.session_cancelled"));
    }
    if !rules::check_in_open(s.starts_at, s.ends_at, now) {
        return Err(conflict("social_services.error.check_in_closed"));
    }
    if r.attended_at.is_some() {
        return Ok(());
    }
    let mut m: session_registration::ActiveModel = r.into();
    m.attended_at = Set(Some(now));
    m.checked_in_by = Set(Some(user.account_id));
    session_registration::Entity::update(m).exec(db).await?;
    service_session::Entity::update_many()
        .col_expr(
            service_session::Column::Attended,
            Expr::col(service_session::Column::Attended).add(1),
        )
        .filter(service_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "session_registration.check_in",
            "session_registration",
        )
        .object(registration_id)
        .district(Some(ctx.session.district_code)),
    )
    .await?;
    Ok(())
}

/// Marks a registrant present (the organisation's staff, the community
/// worker or an admin above the compound). Marking twice changes nothing.
#[utoipa::path(post, path = "/service-sessions/{id}/registrations/{registration_id}/check-in", tag = "social_services",
    params(("id" = i64, Path, description = "Session id"), ("registration_id" = i64, Path, description = "Registration id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn check_in(
    State(state): State<AppState>,
    user: User,
    Path((id, registration_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    mark_present(&tx, &user, id, registration_id, Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels a whole session before it starts (its organisation's staff, or
/// the community worker and admins above the compound), with a reason:
/// its venue booking is released and every registrant is told in the
/// inbox, in the same transaction. Registrations stay as they were, so
/// the roll shows who was let down. Returns how many were told.
pub async fn cancel_session(
    db: &impl ConnectionTrait,
    user: &Principal,
    session_id: i64,
    input: &SessionCancelInput,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let ctx = visible_session(db, user, session_id).await?;
    if !ctx.runs(user) {
        return Err(ApiError::forbidden());
    }
    let reason = rules::check_text(&input.reason, 500)
        .map_err(|_| invalid_key("social_services.error.cancel_reason"))?;
    store::lock_session(db, session_id).await?;
    let s = service_session::Entity::find_by_id(session_id)
        .one(db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    rules::cancel_session(s.state != "scheduled", s.starts_at, now)
        .map_err(|r| conflict(r.key()))?;
    if let Some(b) = s.venue_booking_id {
        release_booking(db, user, b, &reason, now).await?;
    }
    let when = jinlin_venues::api::span_text(s.starts_at, s.ends_at);
    let code = s.district_code.clone();
    let mut m: service_session::ActiveModel = s.into();
    m.state = Set("cancelled".into());
    m.cancel_reason = Set(Some(reason.clone()));
    m.cancelled_at = Set(Some(now));
    m.cancelled_by = Set(Some(user.account_id));
    service_session::Entity::update(m).exec(db).await?;
    let told: Vec<i64> = store::registrations_of(db, session_id)
        .await?
        .into_iter()
        .filter(|r| r.state == "registered")
        .map(|r| r.account_id)
        .collect();
    if !told.is_empty() {
        let lang = i18n::current();
        let message = Message::new(
            "service_session.cancelled",
            lang.t("social_services.notify.cancelled"),
            lang.tf(
                "social_services.notify.cancelled_body",
                &[
                    ("title", &ctx.service.title),
                    ("time", &when),
                    ("reason", &reason),
                ],
            ),
        )
        .link(format!("/service-sessions/{session_id}"));
        notify_parties(db, &told, &message).await?;
    }
    audit::record(
        db,
        Entry::new(Some(user), "service_session.cancel", "service_session")
            .object(session_id)
            .district(Some(code)),
    )
    .await?;
    Ok(told.len())
}

/// Releases the venue booked for a cancelled session, under the venue's
/// row lock as the venues crate changes its bookings.
async fn release_booking(
    db: &impl ConnectionTrait,
    user: &Principal,
    booking_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(b) = venue_booking::Entity::find_by_id(booking_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    jinlin_venues::store::lock_venue(db, b.venue_id).await?;
    if b.state != jinlin_venues::rules::BookingState::Confirmed.as_str() {
        return Ok(());
    }
    let code = b.district_code.clone();
    let mut m: venue_booking::ActiveModel = b.into();
    m.state = Set(jinlin_venues::rules::BookingState::Cancelled
        .as_str()
        .into());
    m.cancel_reason = Set(Some(reason.chars().take(500).collect()));
    m.cancelled_at = Set(Some(now));
    m.cancelled_by = Set(Some(user.account_id));
    venue_booking::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "venue_booking.cancel", "venue_booking")
            .object(booking_id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

/// Cancels a whole session before it starts, with a reason told to every
/// registrant in their inbox; its venue booking is released. A second
/// cancellation, or one after the start, is 409.
#[utoipa::path(post, path = "/service-sessions/{id}/cancellation", tag = "social_services", request_body = SessionCancelInput,
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_whole_session(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SessionCancelInput>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    cancel_session(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn feedback(
    db: &impl ConnectionTrait,
    user: &Principal,
    session_id: i64,
    input: &FeedbackInput,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let ctx = visible_session(db, user, session_id).await?;
    let Some(r) = store::registration_of(db, session_id, user.account_id).await? else {
        return Err(ApiError::with_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            i18n::current().t("social_services.error.not_attended"),
        ));
    };
    store::lock_session(db, session_id).await?;
    let given = store::feedback_of_registration(db, r.id).await?.is_some();
    let (score, comment) = rules::check_feedback(
        r.attended_at.is_some() && r.state == "registered",
        given,
        ctx.session.ends_at,
        now,
        input.score,
        &input.comment,
    )
    .map_err(|e| match e {
        FeedbackRefusal::Input(i) => invalid(i),
        FeedbackRefusal::NotAttended => invalid_key("social_services.error.not_attended"),
        FeedbackRefusal::NotEnded => conflict("social_services.error.not_ended"),
        FeedbackRefusal::Given => conflict("social_services.error.feedback_given"),
    })?;
    let id = session_feedback::Entity::insert(session_feedback::ActiveModel {
        session_id: Set(session_id),
        registration_id: Set(r.id),
        account_id: Set(user.account_id),
        score: Set(score),
        comment: Set(comment),
        created_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    use sea_orm::sea_query::ExprTrait;
    service_session::Entity::update_many()
        .col_expr(
            service_session::Column::FeedbackCount,
            Expr::col(service_session::Column::FeedbackCount).add(1),
        )
        .col_expr(
            service_session::Column::FeedbackSum,
            Expr::col(service_session::Column::FeedbackSum).add(score),
        )
        .filter(service_session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    audit::record(
        db,
        Entry::new(Some(user), "session_feedback.create", "session_feedback")
            .object(id)
            .district(Some(ctx.session.district_code)),
    )
    .await?;
    Ok(id)
}

/// Gives feedback on a session attended (once, after it ends): 1–5 and a
/// comment. Without attendance 422; a second time or before the end 409.
#[utoipa::path(post, path = "/service-sessions/{id}/feedback", tag = "social_services", request_body = FeedbackInput,
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn give_feedback(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = feedback(&tx, &user, id, &input, Utc::now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

// ---------------------------------------------------------------- figures

/// Figures of a place: its total, its children one level down, and by
/// organisation. For those who read the place's registry (secretaries for
/// their compound, community workers, street and district admins).
pub async fn figures_of(
    db: &impl ConnectionTrait,
    user: &Principal,
    place_id: i64,
    now: DateTime<Utc>,
) -> Result<SocialFigures, ApiError> {
    let p = match jinlin_places::store::find(db, place_id).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    let pos = p.position();
    let kind = pos.kind.unwrap_or(PlaceKind::Compound);
    if kind > PlaceKind::Compound {
        return Err(ApiError::not_found());
    }
    if !user.can(Access::Registry, &pos) {
        return Err(ApiError::forbidden());
    }
    let level = level_below(kind);
    let figures = rules::rollup(&store::tallies(db, Some(&pos), None, level, now).await?);
    let mut children = Vec::new();
    if let Some(level) = level {
        let kids = jinlin_places::store::children(db, p.id, 1, 1000)
            .await?
            .items;
        for k in kids {
            let key = if level == Level::District {
                k.district_code.clone().unwrap_or_default()
            } else {
                k.id.to_string()
            };
            let t = figures.by_place.get(&key).copied().unwrap_or_default();
            children.push(line(k.id, k.name, &t));
        }
    }
    let oids: Vec<i64> = figures.by_org.keys().copied().collect();
    let orgs = store::orgs_by_id(db, &oids).await?;
    let mut org_lines: Vec<FigureLine> = figures
        .by_org
        .iter()
        .map(|(id, t)| {
            line(
                *id,
                orgs.get(id).map(|o| o.name.clone()).unwrap_or_default(),
                t,
            )
        })
        .collect();
    org_lines.sort_by(|a, b| b.person_times.cmp(&a.person_times).then(a.id.cmp(&b.id)));
    Ok(SocialFigures {
        place: line(p.id, p.name, &figures.total),
        kind,
        children,
        orgs: org_lines,
    })
}

/// The level a place's figures are grouped by: its children's.
fn level_below(kind: PlaceKind) -> Option<Level> {
    match kind {
        PlaceKind::District => Some(Level::Street),
        PlaceKind::Street => Some(Level::Community),
        PlaceKind::Community => Some(Level::Compound),
        PlaceKind::Province | PlaceKind::City => Some(Level::District),
        _ => None,
    }
}

/// The figures of a district, street, community or compound as a whole
/// and of each of its children by id, from the one grouped query: for a
/// caller that holds the place and has checked the reader's access (the
/// cockpit).
pub async fn tallies_by_child(
    db: &impl ConnectionTrait,
    p: &place::Model,
    now: DateTime<Utc>,
) -> Result<(rules::Tally, HashMap<i64, rules::Tally>), ApiError> {
    let pos = p.position();
    let level = match pos.kind {
        Some(k @ (PlaceKind::District | PlaceKind::Street | PlaceKind::Community)) => {
            level_below(k)
        }
        Some(PlaceKind::Compound) => None,
        _ => return Err(ApiError::not_found()),
    };
    let figures = rules::rollup(&store::tallies(db, Some(&pos), None, level, now).await?);
    let by_child = match level {
        Some(_) => figures
            .by_place
            .iter()
            .filter_map(|(id, t)| Some((id.parse().ok()?, *t)))
            .collect(),
        None => HashMap::new(),
    };
    Ok((figures.total, by_child))
}

/// Sessions held, person-times served and mean feedback of a district,
/// street, community or compound, with its children and by organisation.
#[utoipa::path(get, path = "/social-figures", tag = "social_services", params(FiguresQuery),
    responses((status = 200, body = SocialFigures), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> Result<ApiJson<SocialFigures>, ApiError> {
    Ok(ApiJson(
        figures_of(state.db.conn(), &user, q.place_id, Utc::now()).await?,
    ))
}
