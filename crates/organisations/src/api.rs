//! JSON API of compound organisations: `/api/v1/places/{id}/party-org`,
//! `/owners-committee`, `/property-contract` and `/coverage`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, AppState};
use jinlin_people::api::NewPerson;
use sea_orm::ConnectionTrait;
use sea_orm::{DbErr, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{owners_committee, party_org, property_company_contract};
use crate::rules::{self, Coverage, CreditCode, Invalid, MemberFlags, OrgKind};
use crate::store::{self, CommitteeInput, ContractInput, OrgInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_party_org, put_party_org))
        .routes(routes!(add_member))
        .routes(routes!(remove_member, change_member))
        .routes(routes!(get_committee, put_committee))
        .routes(routes!(get_contract, put_contract))
        .routes(routes!(get_coverage))
}

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(format!("{} ({})", i18n::current().t(e.key), e.field))
}

fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

fn not_recorded() -> ApiError {
    ApiError::with_message(
        StatusCode::NOT_FOUND,
        "not_recorded",
        i18n::current().t("organisations.error.not_recorded"),
    )
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

/// A write that lost a race on a unique index answers 409, not 500.
fn db_write(key: &str) -> impl Fn(DbErr) -> ApiError + '_ {
    move |e| {
        if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            conflict(key)
        } else {
            e.into()
        }
    }
}

/// Checks the cross-memberships a member is given: a seat on the owners'
/// committee must be on the committee's member list, an owner
/// representative must own a dwelling of the compound. (The property-staff
/// mark stays as declared.)
async fn check_flags(
    db: &impl ConnectionTrait,
    compound: &place::Model,
    person_id: i64,
    flags: MemberFlags,
) -> Result<(), ApiError> {
    if flags.in_owners_committee
        && !store::committee_people(db, compound.id)
            .await?
            .contains(&person_id)
    {
        return Err(invalid_key("organisations.error.not_on_committee"));
    }
    if flags.owner_representative && !store::owns_in_compound(db, person_id, compound.id).await? {
        return Err(invalid_key("organisations.error.not_owner"));
    }
    Ok(())
}

/// Who may change a compound's organisations: editors of the registry
/// above it, and the compound's party secretary.
pub fn may_write(user: &Principal, compound: &Position) -> bool {
    user.can(Access::Edit, compound)
        || user
            .roles_for(Access::Personal, compound)
            .contains(&Role::CompoundSecretary)
}

/// A compound the user may see (404 otherwise, and for other kinds); with
/// `write`, 403 unless they may change its organisations.
pub async fn compound_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    write: bool,
) -> Result<place::Model, ApiError> {
    let found = jinlin_places::store::find(db, id).await?;
    let Some(p) = found.filter(|p| {
        p.kind == PlaceKind::Compound.as_str() && jinlin_places::store::visible(user, p)
    }) else {
        return Err(ApiError::not_found());
    };
    if write && !may_write(user, &p.position()) {
        return Err(ApiError::forbidden());
    }
    if write {
        store::lock_compound(db, p.id).await?;
    }
    Ok(p)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonName {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceName {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrganisationMemberView)]
pub struct MemberView {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    /// Masked (138****1234) unless the reader's role needs the number.
    pub phone: Option<String>,
    pub phone_masked: bool,
    pub party_member: bool,
    pub in_owners_committee: bool,
    pub in_property_company: bool,
    pub owner_representative: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyOrgView {
    pub id: i64,
    pub compound: PlaceName,
    pub kind: OrgKind,
    pub name: String,
    pub founded_on: NaiveDate,
    pub secretary: Option<PersonName>,
    /// The community whose party organisation this one belongs to.
    pub parent: Option<PlaceName>,
    pub member_count: u64,
    /// Whether the cross-membership rule is met (see docs/organisations.md).
    pub covers: bool,
    /// Only for readers of the registry; phones masked below `Personal`.
    pub members: Option<Vec<MemberView>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyOrgInput {
    pub kind: OrgKind,
    pub name: String,
    pub founded_on: NaiveDate,
    /// A member of the organisation, or a person of the compound (who is
    /// then added as a member).
    pub secretary_person_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// A person who owns or lives in a dwelling of the compound.
    pub person_id: Option<i64>,
    /// Or a new person (property staff, say).
    pub person: Option<NewPerson>,
    #[serde(default)]
    pub in_owners_committee: bool,
    #[serde(default)]
    pub in_property_company: bool,
    #[serde(default)]
    pub owner_representative: bool,
}

/// A member's cross-memberships.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberFlagsBody {
    pub in_owners_committee: bool,
    pub in_property_company: bool,
    pub owner_representative: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedMember {
    pub id: i64,
    pub person_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitteeMemberView {
    pub person_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub phone_masked: bool,
    /// `chair`, `vice_chair` or `member`.
    pub position: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitteeView {
    pub id: i64,
    pub name: String,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub elected_on: NaiveDate,
    pub election_record: String,
    pub chair: Option<PersonName>,
    pub member_count: u64,
    /// Only for readers of the registry.
    pub members: Option<Vec<CommitteeMemberView>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitteeMemberInput {
    pub person_id: Option<i64>,
    pub person: Option<NewPerson>,
    /// `chair`, `vice_chair` or `member`; at most one chair.
    pub position: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitteeInputBody {
    pub name: String,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub elected_on: NaiveDate,
    #[serde(default)]
    pub election_record: String,
    #[serde(default)]
    pub members: Vec<CommitteeMemberInput>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractBody {
    pub company_name: String,
    /// Unified social credit code, 18 characters (GB 32100-2015).
    pub credit_code: String,
    pub contract_start: NaiveDate,
    pub contract_end: NaiveDate,
    /// Property fee in fen per m² per month, 1–100000.
    pub fee_fen_per_m2: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageFigure {
    pub id: i64,
    pub kind: PlaceKind,
    pub name: String,
    /// National division code (down to community).
    pub code: Option<String>,
    #[serde(flatten)]
    pub coverage: Coverage,
    /// covering / party_orgs in lowest terms, e.g. "4/5".
    pub fraction: Option<String>,
    /// e.g. "80.0%".
    pub percent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = OrganisationCoverageView)]
pub struct CoverageView {
    #[serde(flatten)]
    pub place: CoverageFigure,
    /// The places one level down with their own figures.
    pub children: Vec<CoverageFigure>,
}

pub fn figure(p: &place::Model, coverage: Coverage) -> CoverageFigure {
    CoverageFigure {
        id: p.id,
        kind: PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Compound),
        name: p.name.clone(),
        code: p.code.clone(),
        coverage,
        fraction: coverage.fraction().map(|(n, d)| format!("{n}/{d}")),
        percent: coverage.percent(),
    }
}

fn masked(phone: &Option<String>, unmasked: bool) -> Option<String> {
    phone.as_deref().map(|raw| {
        if unmasked {
            raw.to_string()
        } else {
            jinlin_people::rules::Phone::parse(raw)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "****".into())
        }
    })
}

/// The party organisation as this reader may see it; reading plain phones
/// is audited.
pub async fn org_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    org: &party_org::Model,
) -> Result<PartyOrgView, ApiError> {
    let members = store::members_of(db, org.id).await?;
    let mut ids: Vec<i64> = members.iter().map(|m| m.person_id).collect();
    ids.extend(org.secretary_person_id);
    let people = jinlin_people::store::people(db, &ids).await?;
    let position = compound.position();
    let registry = user.can(Access::Registry, &position);
    let unmasked = user.can(Access::Personal, &position);
    let presence = presence(db, compound.id).await?;
    // A seat on the owners' committee is read from its member list.
    let committee = store::committee_people(db, compound.id).await?;
    let covers = rules::covers(
        presence,
        members.iter().map(|m| MemberFlags {
            in_owners_committee: committee.contains(&m.person_id),
            in_property_company: m.in_property_company,
            owner_representative: m.owner_representative,
        }),
    );
    let member_views = if registry {
        if unmasked
            && members
                .iter()
                .any(|m| people.get(&m.person_id).is_some_and(|p| p.phone.is_some()))
        {
            audit::record(
                db,
                Entry::new(Some(user), "person.read_phone", "party_org")
                    .object(org.id)
                    .district(compound.district_code.clone())
                    .detail(serde_json::json!({ "people": ids })),
            )
            .await?;
        }
        Some(
            members
                .iter()
                .filter_map(|m| {
                    let p = people.get(&m.person_id)?;
                    Some(MemberView {
                        id: m.id,
                        person_id: p.id,
                        name: p.name.clone(),
                        phone: masked(&p.phone, unmasked),
                        phone_masked: !unmasked,
                        party_member: p.party_member,
                        in_owners_committee: committee.contains(&m.person_id),
                        in_property_company: m.in_property_company,
                        owner_representative: m.owner_representative,
                    })
                })
                .collect(),
        )
    } else {
        None
    };
    let parent = match org.parent_place_id {
        Some(id) => store::places(db, vec![id])
            .await?
            .remove(&id)
            .map(|p| PlaceName {
                id: p.id,
                name: p.name,
            }),
        None => None,
    };
    Ok(PartyOrgView {
        id: org.id,
        compound: PlaceName {
            id: compound.id,
            name: compound.name.clone(),
        },
        kind: OrgKind::parse(&org.kind).unwrap_or(OrgKind::Branch),
        name: org.name.clone(),
        founded_on: org.founded_on,
        secretary: org
            .secretary_person_id
            .and_then(|id| people.get(&id))
            .map(|p| PersonName {
                id: p.id,
                name: p.name.clone(),
            }),
        parent,
        member_count: members.len() as u64,
        covers,
        members: member_views,
    })
}

/// Whether the compound has an owners' committee and a property company,
/// from this capability's records or the compound's particulars.
pub async fn presence(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<rules::Presence, ApiError> {
    let particulars = jinlin_places::store::compound_of(db, compound_id).await?;
    let named = |v: Option<&String>| v.is_some_and(|s| !s.trim().is_empty());
    Ok(rules::Presence {
        owners_committee: store::committee_of(db, compound_id).await?.is_some()
            || named(
                particulars
                    .as_ref()
                    .and_then(|c| c.owners_committee.as_ref()),
            ),
        property_company: store::contract_of(db, compound_id).await?.is_some()
            || named(
                particulars
                    .as_ref()
                    .and_then(|c| c.property_company.as_ref()),
            ),
    })
}

pub async fn committee_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    c: &owners_committee::Model,
) -> Result<CommitteeView, ApiError> {
    let members = store::committee_members(db, c.id).await?;
    let mut ids: Vec<i64> = members.iter().map(|m| m.person_id).collect();
    ids.extend(c.chair_person_id);
    let people = jinlin_people::store::people(db, &ids).await?;
    let position = compound.position();
    let unmasked = user.can(Access::Personal, &position);
    let member_views = if user.can(Access::Registry, &position) {
        if unmasked && people.values().any(|p| p.phone.is_some()) {
            audit::record(
                db,
                Entry::new(Some(user), "person.read_phone", "owners_committee")
                    .object(c.id)
                    .district(compound.district_code.clone())
                    .detail(serde_json::json!({ "people": ids })),
            )
            .await?;
        }
        Some(
            members
                .iter()
                .filter_map(|m| {
                    let p = people.get(&m.person_id)?;
                    Some(CommitteeMemberView {
                        person_id: p.id,
                        name: p.name.clone(),
                        phone: masked(&p.phone, unmasked),
                        phone_masked: !unmasked,
                        position: m.position.clone(),
                    })
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(CommitteeView {
        id: c.id,
        name: c.name.clone(),
        term_start: c.term_start,
        term_end: c.term_end,
        elected_on: c.elected_on,
        election_record: c.election_record.clone(),
        chair: c
            .chair_person_id
            .and_then(|id| people.get(&id))
            .map(|p| PersonName {
                id: p.id,
                name: p.name.clone(),
            }),
        member_count: members.len() as u64,
        members: member_views,
    })
}

pub fn contract_view(c: &property_company_contract::Model) -> ContractBody {
    ContractBody {
        company_name: c.company_name.clone(),
        credit_code: c.credit_code.clone(),
        contract_start: c.contract_start,
        contract_end: c.contract_end,
        fee_fen_per_m2: c.fee_fen_per_m2,
    }
}

/// The person named by `person_id` (who must belong to the compound) or a
/// new one.
pub async fn resolve_person(
    db: &impl ConnectionTrait,
    state: &AppState,
    compound: &place::Model,
    person_id: Option<i64>,
    new: Option<&NewPerson>,
) -> Result<i64, ApiError> {
    match (person_id, new) {
        (Some(id), None) => {
            if !store::belongs_to_compound(db, id, compound.id).await? {
                return Err(invalid_key("organisations.error.unknown_person"));
            }
            Ok(id)
        }
        (None, Some(new)) => {
            let input = jinlin_people::api::person_input(new)?;
            let (id, created) = jinlin_people::store::find_or_create(
                db,
                &state.secrets,
                compound.district_code.clone(),
                &input,
            )
            .await?;
            // An ID number already on record names someone else's person:
            // only one of this compound may be taken (and nothing learnt of
            // anybody else).
            if !created && !store::belongs_to_compound(db, id, compound.id).await? {
                return Err(invalid_key("organisations.error.unknown_person"));
            }
            Ok(id)
        }
        _ => Err(invalid_key("organisations.error.one_person")),
    }
}

/// The compound's party organisation: its public face for every reader,
/// the member list for readers of the registry.
#[utoipa::path(get, path = "/places/{id}/party-org", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 200, body = PartyOrgView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such compound in reach, or `not_recorded`")))]
async fn get_party_org(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PartyOrgView>, ApiError> {
    let db = state.db.conn();
    let compound = compound_for(db, &user, id, false).await?;
    let org = store::org_of(db, id).await?.ok_or_else(not_recorded)?;
    Ok(ApiJson(org_view(db, &user, &compound, &org).await?))
}

/// Validates and records the party organisation in the caller's transaction.
pub async fn save_org(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    body: &PartyOrgInput,
) -> Result<party_org::Model, ApiError> {
    let name = rules::check_name(&body.name).map_err(invalid)?;
    rules::check_past(
        "founded_on",
        body.founded_on,
        rules::china_today(Utc::now()),
    )
    .map_err(invalid)?;
    if let Some(sid) = body.secretary_person_id
        && !store::belongs_to_compound(tx, sid, compound.id).await?
    {
        return Err(invalid_key("organisations.error.unknown_person"));
    }
    let org = store::upsert_org(
        tx,
        compound,
        &OrgInput {
            kind: body.kind,
            name: name.clone(),
            founded_on: body.founded_on,
            secretary_person_id: body.secretary_person_id,
        },
    )
    .await?;
    if let Some(sid) = body.secretary_person_id {
        let members = store::members_of(tx, org.id).await?;
        if !members.iter().any(|m| m.person_id == sid) {
            store::add_member(tx, &org, sid, MemberFlags::default()).await?;
        }
    }
    audit::record(
        tx,
        Entry::new(Some(user), "party_org.update", "party_org")
            .object(org.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({"compound_id": compound.id, "name": name, "kind": body.kind.as_str()})),
    )
    .await?;
    Ok(org)
}

/// Records or changes the compound's party organisation.
#[utoipa::path(put, path = "/places/{id}/party-org", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")), request_body = PartyOrgInput,
    responses((status = 200, body = PartyOrgView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_party_org(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PartyOrgInput>,
) -> Result<ApiJson<PartyOrgView>, ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    let org = save_org(&tx, &user, &compound, &body).await?;
    let view = org_view(&tx, &user, &compound, &org).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Validates and adds a member in the caller's transaction.
pub async fn save_member(
    tx: &impl ConnectionTrait,
    state: &AppState,
    user: &Principal,
    compound: &place::Model,
    body: &NewMember,
) -> Result<CreatedMember, ApiError> {
    let org = store::org_of(tx, compound.id)
        .await?
        .ok_or_else(not_recorded)?;
    let person_id =
        resolve_person(tx, state, compound, body.person_id, body.person.as_ref()).await?;
    if store::members_of(tx, org.id)
        .await?
        .iter()
        .any(|m| m.person_id == person_id)
    {
        return Err(conflict("organisations.error.member_twice"));
    }
    let flags = MemberFlags {
        in_owners_committee: body.in_owners_committee,
        in_property_company: body.in_property_company,
        owner_representative: body.owner_representative,
    };
    check_flags(tx, compound, person_id, flags).await?;
    let id = store::add_member(tx, &org, person_id, flags)
        .await
        .map_err(db_write("organisations.error.member_twice"))?;
    audit::record(
        tx,
        Entry::new(Some(user), "party_org.member_add", "party_org")
            .object(org.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({"member_id": id, "person_id": person_id})),
    )
    .await?;
    Ok(CreatedMember { id, person_id })
}

/// Adds a member to the compound's party organisation, with their
/// cross-memberships.
#[utoipa::path(post, path = "/places/{id}/party-org/members", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")), request_body = NewMember,
    responses((status = 201, body = CreatedMember), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewMember>,
) -> Result<(StatusCode, ApiJson<CreatedMember>), ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    let created = save_member(&tx, &state, &user, &compound, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// Removes a member in the caller's transaction (the secretary's post is
/// cleared if it was theirs).
pub async fn drop_member(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    member_id: i64,
) -> Result<(), ApiError> {
    let org = store::org_of(tx, compound.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let member = store::members_of(tx, org.id)
        .await?
        .into_iter()
        .find(|m| m.id == member_id)
        .ok_or_else(ApiError::not_found)?;
    store::delete_member(tx, member.id).await?;
    if org.secretary_person_id == Some(member.person_id) {
        store::upsert_org(
            tx,
            compound,
            &OrgInput {
                kind: OrgKind::parse(&org.kind).unwrap_or(OrgKind::Branch),
                name: org.name.clone(),
                founded_on: org.founded_on,
                secretary_person_id: None,
            },
        )
        .await?;
    }
    audit::record(
        tx,
        Entry::new(Some(user), "party_org.member_remove", "party_org")
            .object(org.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({"member_id": member.id, "person_id": member.person_id})),
    )
    .await?;
    Ok(())
}

/// Changes a member's cross-memberships in the caller's transaction.
pub async fn change_flags(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    member_id: i64,
    body: &MemberFlagsBody,
) -> Result<(), ApiError> {
    let org = store::org_of(tx, compound.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let member = store::members_of(tx, org.id)
        .await?
        .into_iter()
        .find(|m| m.id == member_id)
        .ok_or_else(ApiError::not_found)?;
    let flags = MemberFlags {
        in_owners_committee: body.in_owners_committee,
        in_property_company: body.in_property_company,
        owner_representative: body.owner_representative,
    };
    check_flags(tx, compound, member.person_id, flags).await?;
    store::set_member_flags(tx, member.id, flags).await?;
    audit::record(
        tx,
        Entry::new(Some(user), "party_org.member_change", "party_org")
            .object(org.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({
                "member_id": member.id,
                "person_id": member.person_id,
                "in_owners_committee": body.in_owners_committee,
                "in_property_company": body.in_property_company,
                "owner_representative": body.owner_representative,
            })),
    )
    .await?;
    Ok(())
}

/// Changes a member's cross-memberships.
#[utoipa::path(patch, path = "/places/{id}/party-org/members/{member_id}", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id"), ("member_id" = i64, Path, description = "Member record id")),
    request_body = MemberFlagsBody,
    responses((status = 200, body = MemberFlagsBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_member(
    State(state): State<AppState>,
    user: User,
    Path((id, member_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<MemberFlagsBody>,
) -> Result<ApiJson<MemberFlagsBody>, ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    change_flags(&tx, &user, &compound, member_id, &body).await?;
    tx.commit().await?;
    Ok(ApiJson(body))
}

/// Removes a member from the compound's party organisation.
#[utoipa::path(delete, path = "/places/{id}/party-org/members/{member_id}", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id"), ("member_id" = i64, Path, description = "Member record id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    user: User,
    Path((id, member_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    drop_member(&tx, &user, &compound, member_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The compound's owners' committee: term, chair and election record for
/// every reader, the members for readers of the registry.
#[utoipa::path(get, path = "/places/{id}/owners-committee", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 200, body = CommitteeView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_committee(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CommitteeView>, ApiError> {
    let db = state.db.conn();
    let compound = compound_for(db, &user, id, false).await?;
    let c = store::committee_of(db, id)
        .await?
        .ok_or_else(not_recorded)?;
    Ok(ApiJson(committee_view(db, &user, &compound, &c).await?))
}

/// Validates and records the owners' committee in the caller's transaction.
pub async fn save_committee(
    tx: &impl ConnectionTrait,
    state: &AppState,
    user: &Principal,
    compound: &place::Model,
    body: &CommitteeInputBody,
) -> Result<owners_committee::Model, ApiError> {
    let name = rules::check_name(&body.name).map_err(invalid)?;
    rules::check_term(body.term_start, body.term_end).map_err(invalid)?;
    rules::check_past(
        "elected_on",
        body.elected_on,
        rules::china_today(Utc::now()),
    )
    .map_err(invalid)?;
    let record = body.election_record.trim().to_string();
    if record.chars().count() > 4000 {
        return Err(invalid_key("organisations.error.record"));
    }
    let mut members: Vec<(i64, &'static str)> = Vec::new();
    for m in &body.members {
        let position = rules::check_position(&m.position).map_err(invalid)?;
        if position == "chair" && members.iter().any(|(_, p)| *p == "chair") {
            return Err(invalid_key("organisations.error.two_chairs"));
        }
        let pid = resolve_person(tx, state, compound, m.person_id, m.person.as_ref()).await?;
        if members.iter().any(|(id, _)| *id == pid) {
            return Err(conflict("organisations.error.member_twice"));
        }
        members.push((pid, position));
    }
    let saved = store::replace_committee(
        tx,
        compound,
        &CommitteeInput {
            name: name.clone(),
            term_start: body.term_start,
            term_end: body.term_end,
            elected_on: body.elected_on,
            election_record: record,
            members,
        },
    )
    .await?;
    audit::record(
        tx,
        Entry::new(Some(user), "owners_committee.update", "owners_committee")
            .object(saved.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({"compound_id": compound.id, "name": name})),
    )
    .await?;
    Ok(saved)
}

/// Records the compound's owners' committee with its members (replacing
/// the previous record) and names it on the compound's particulars.
#[utoipa::path(put, path = "/places/{id}/owners-committee", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")), request_body = CommitteeInputBody,
    responses((status = 200, body = CommitteeView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_committee(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CommitteeInputBody>,
) -> Result<ApiJson<CommitteeView>, ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    let saved = save_committee(&tx, &state, &user, &compound, &body).await?;
    let view = committee_view(&tx, &user, &compound, &saved).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// The compound's property service contract (public).
#[utoipa::path(get, path = "/places/{id}/property-contract", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")),
    responses((status = 200, body = ContractBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_contract(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ContractBody>, ApiError> {
    let db = state.db.conn();
    compound_for(db, &user, id, false).await?;
    let c = store::contract_of(db, id).await?.ok_or_else(not_recorded)?;
    Ok(ApiJson(contract_view(&c)))
}

/// Validates and records the contract in the caller's transaction.
pub async fn save_contract(
    tx: &impl ConnectionTrait,
    user: &Principal,
    compound: &place::Model,
    body: &ContractBody,
) -> Result<property_company_contract::Model, ApiError> {
    let company_name = rules::check_name(&body.company_name).map_err(invalid)?;
    let code = CreditCode::parse(&body.credit_code).map_err(invalid)?;
    rules::check_term(body.contract_start, body.contract_end).map_err(invalid)?;
    let fee = rules::check_fee(body.fee_fen_per_m2).map_err(invalid)?;
    let saved = store::upsert_contract(
        tx,
        compound,
        &ContractInput {
            company_name: company_name.clone(),
            credit_code: code.as_str().to_string(),
            contract_start: body.contract_start,
            contract_end: body.contract_end,
            fee_fen_per_m2: fee,
        },
    )
    .await?;
    audit::record(
        tx,
        Entry::new(
            Some(user),
            "property_contract.update",
            "property_company_contract",
        )
        .object(saved.id)
        .district(compound.district_code.clone())
        .detail(serde_json::json!({"compound_id": compound.id, "company_name": company_name})),
    )
    .await?;
    Ok(saved)
}

/// Records the compound's property service contract and names the company
/// on the compound's particulars.
#[utoipa::path(put, path = "/places/{id}/property-contract", tag = "organisations",
    params(("id" = i64, Path, description = "Compound id")), request_body = ContractBody,
    responses((status = 200, body = ContractBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_contract(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ContractBody>,
) -> Result<ApiJson<ContractBody>, ApiError> {
    let tx = state.db.write().await?;
    let compound = compound_for(&tx, &user, id, true).await?;
    let saved = save_contract(&tx, &user, &compound, &body).await?;
    tx.commit().await?;
    Ok(ApiJson(contract_view(&saved)))
}

/// A compound's own coverage figures: one compound, with a party
/// organisation or not, covered by it or not.
fn compound_coverage(r: &store::CompoundRow) -> Coverage {
    Coverage {
        compounds: 1,
        party_orgs: u64::from(r.has_org),
        covering: u64::from(r.has_org && rules::covers(r.presence, [r.flags])),
    }
}

/// Every compound under a place (with its street and community) and its
/// own coverage figures, in one query: for a caller that adds them up by
/// groups of its own (the cockpit).
pub async fn coverage_by_compound(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<Vec<(store::CompoundRow, Coverage)>, DbErr> {
    Ok(store::coverage_rows(db, &p.position())
        .await?
        .into_iter()
        .map(|r| {
            let c = compound_coverage(&r);
            (r, c)
        })
        .collect())
}

/// The coverage figures of a place and of the places one level down.
pub async fn coverage(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<CoverageView, ApiError> {
    let position = p.position();
    let rows = store::coverage_rows(db, &position).await?;
    let kind = position.kind.ok_or_else(ApiError::not_found)?;
    let mut total = Coverage::default();
    // Children keyed by id, or by district code above the district.
    let mut by_child: HashMap<i64, Coverage> = HashMap::new();
    let mut by_district: HashMap<String, Coverage> = HashMap::new();
    for r in &rows {
        let c = compound_coverage(r);
        total.add(c);
        let child = match kind {
            PlaceKind::District => r.street_id,
            PlaceKind::Street => r.community_id,
            PlaceKind::Community => Some(r.compound_id),
            PlaceKind::Province | PlaceKind::City => {
                by_district
                    .entry(r.district_code.clone())
                    .or_default()
                    .add(c);
                None
            }
            _ => None,
        };
        if let Some(id) = child {
            by_child.entry(id).or_default().add(c);
        }
    }
    let mut children: Vec<CoverageFigure> = Vec::new();
    if !by_child.is_empty() {
        let names = store::places(db, by_child.keys().copied().collect()).await?;
        for (id, c) in &by_child {
            if let Some(child) = names.get(id) {
                children.push(figure(child, *c));
            }
        }
    }
    if !by_district.is_empty() {
        let codes = by_district.keys().map(|d| format!("{d:0<12}")).collect();
        for d in store::places_by_code(db, codes).await? {
            let key: String = d.code.clone().unwrap_or_default().chars().take(6).collect();
            if let Some(c) = by_district.get(&key) {
                children.push(figure(&d, *c));
            }
        }
    }
    // Division order where there are codes, then names (compounds).
    children.sort_by(|a, b| {
        a.code
            .cmp(&b.code)
            .then_with(|| a.name.cmp(&b.name))
            .then(a.id.cmp(&b.id))
    });
    Ok(CoverageView {
        place: figure(p, total),
        children,
    })
}

/// Cross-membership coverage of compound party organisations under any
/// place (compound, community, street, district and above).
#[utoipa::path(get, path = "/places/{id}/coverage", tag = "organisations",
    params(("id" = i64, Path, description = "Place id")),
    responses((status = 200, body = CoverageView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_coverage(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CoverageView>, ApiError> {
    let db = state.db.conn();
    let p = jinlin_places::api::visible_place(db, &user, id).await?;
    if PlaceKind::parse(&p.kind).is_none_or(|k| k > PlaceKind::Compound) {
        return Err(ApiError::not_found());
    }
    Ok(ApiJson(coverage(db, &p).await?))
}
