//! JSON API of people: owners and residents of dwellings, and a person's
//! record with personal data masked unless the reader's role needs it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, AppState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::person;
use crate::rules::{IdNumber, Phone};
use crate::store::{self, OWNER_KINDS, PersonInput, RESIDENT_RELATIONS};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_occupants))
        .routes(routes!(add_owner))
        .routes(routes!(add_resident))
        .routes(routes!(remove_owner))
        .routes(routes!(remove_resident))
        .routes(routes!(get_person, update_person))
        .routes(routes!(get_personal))
}

#[derive(Debug, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    pub phone: Option<String>,
    /// 18-character resident identity number (GB 11643); stored encrypted.
    pub id_number: Option<String>,
    #[serde(default)]
    pub party_member: bool,
    pub employer: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    /// Masked (138****1234) unless the reader's role needs the number.
    pub phone: Option<String>,
    pub phone_masked: bool,
    /// Always masked here; see `/people/{id}/personal`.
    pub id_number: Option<String>,
    pub party_member: bool,
    pub employer: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerView {
    pub id: i64,
    /// `person`, `company` or `developer`.
    pub owner_kind: String,
    pub company_name: Option<String>,
    pub person: Option<PersonView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResidentView {
    pub id: i64,
    /// `tenant` or `family`.
    pub relation: String,
    pub person: Option<PersonView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Occupants {
    pub owners: Vec<OwnerView>,
    pub residents: Vec<ResidentView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwner {
    /// `person`, `company` or `developer`.
    pub owner_kind: String,
    /// An existing person (owner of another dwelling, say).
    pub person_id: Option<i64>,
    /// A new person (or the one already registered with this ID number).
    pub person: Option<NewPerson>,
    /// For `company` and `developer` owners.
    pub company_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResident {
    /// `tenant` or `family`.
    pub relation: String,
    pub person_id: Option<i64>,
    pub person: Option<NewPerson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PersonCreated)]
pub struct Created {
    pub id: i64,
    pub person_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalData {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

fn invalid_key(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

/// Validates a submitted person.
pub fn person_input(p: &NewPerson) -> Result<PersonInput, ApiError> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(invalid_key("person.error.name"));
    }
    let phone = match p.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(Phone::parse(s).map_err(|e| invalid_key(e.message_key()))?),
    };
    let id_number = match p.id_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            IdNumber::parse(s, Utc::now().date_naive())
                .map_err(|e| invalid_key(e.message_key()))?,
        ),
    };
    let employer = p
        .employer
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| e.chars().take(128).collect());
    Ok(PersonInput {
        name: name.to_string(),
        phone,
        id_number,
        party_member: p.party_member,
        employer,
    })
}

/// How a reader sees a person: phones plain only for roles that need them.
pub fn view(p: &person::Model, unmasked_phone: bool) -> PersonView {
    let phone = p.phone.as_deref().map(|raw| {
        if unmasked_phone {
            raw.to_string()
        } else {
            Phone::parse(raw)
                .map(|ph| ph.masked())
                .unwrap_or_else(|_| "****".into())
        }
    });
    PersonView {
        id: p.id,
        name: p.name.clone(),
        phone,
        phone_masked: !unmasked_phone,
        id_number: p
            .id_number_cipher
            .as_ref()
            .map(|_| "******************".into()),
        party_member: p.party_member,
        employer: p.employer.clone(),
    }
}

/// A dwelling the user may read the registry of (404 otherwise).
async fn dwelling_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    access: Access,
) -> Result<place::Model, ApiError> {
    let found = place::Entity::find_by_id(id).one(db).await?;
    let Some(p) = found.filter(|p| p.kind == PlaceKind::Dwelling.as_str()) else {
        return Err(ApiError::not_found());
    };
    let position = p.position();
    if !user.can(Access::Registry, &position) {
        return Err(ApiError::not_found());
    }
    if !user.can(access, &position) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

/// Owners and residents of one dwelling, for the dwelling page and the API.
/// Reading unmasked phones is audited.
pub async fn occupants(
    db: &impl ConnectionTrait,
    user: &Principal,
    dwelling: &place::Model,
) -> Result<Occupants, ApiError> {
    let owners = store::owners_of(db, &[dwelling.id]).await?;
    let residents = store::residents_of(db, dwelling.id).await?;
    let ids: Vec<i64> = owners
        .iter()
        .filter_map(|o| o.person_id)
        .chain(residents.iter().map(|r| r.person_id))
        .collect();
    let people = store::people(db, &ids).await?;
    let unmasked = user.can(Access::Personal, &dwelling.position());
    if unmasked && people.values().any(|p| p.phone.is_some()) {
        audit::record(
            db,
            Entry::new(Some(user), "person.read_phone", "dwelling")
                .object(dwelling.id)
                .district(dwelling.district_code.clone())
                .detail(serde_json::json!({ "people": ids })),
        )
        .await?;
    }
    let show = |id: Option<i64>| id.and_then(|id| people.get(&id)).map(|p| view(p, unmasked));
    Ok(Occupants {
        owners: owners
            .iter()
            .map(|o| OwnerView {
                id: o.id,
                owner_kind: o.owner_kind.clone(),
                company_name: o.company_name.clone(),
                person: show(o.person_id),
            })
            .collect(),
        residents: residents
            .iter()
            .map(|r| ResidentView {
                id: r.id,
                relation: r.relation.clone(),
                person: show(Some(r.person_id)),
            })
            .collect(),
    })
}

/// Owners and residents of a dwelling.
#[utoipa::path(get, path = "/places/{id}/occupants", tag = "people",
    params(("id" = i64, Path, description = "Dwelling id")),
    responses((status = 200, body = Occupants), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_occupants(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Occupants>, ApiError> {
    let db = state.db.conn();
    let dwelling = dwelling_for(db, &user, id, Access::Registry).await?;
    Ok(ApiJson(occupants(db, &user, &dwelling).await?))
}

/// The person named by `person_id` (who must already be linked to a dwelling
/// the user can edit) or a new one.
async fn resolve_person(
    db: &impl ConnectionTrait,
    state: &AppState,
    user: &Principal,
    dwelling: &place::Model,
    person_id: Option<i64>,
    new: Option<&NewPerson>,
) -> Result<i64, ApiError> {
    match (person_id, new) {
        (Some(id), None) => {
            let linked = store::dwellings_of(db, id).await?;
            if !linked.iter().any(|d| user.can(Access::Edit, d)) {
                return Err(ApiError::not_found());
            }
            Ok(id)
        }
        (None, Some(new)) => {
            let input = person_input(new)?;
            let (id, created) =
                store::find_or_create(db, &state.secrets, dwelling.district_code.clone(), &input)
                    .await?;
            // The ID number is already registered: link that person only
            // when the name given is theirs, so an ID number alone never
            // brings someone's record (and phone) into view.
            if !created {
                let found = store::people(db, &[id]).await?;
                let same = found
                    .get(&id)
                    .is_some_and(|p| p.name.trim() == input.name.trim());
                if !same {
                    return Err(invalid_key("person.error.name_mismatch"));
                }
            }
            Ok(id)
        }
        _ => Err(invalid_key("person.error.one_person")),
    }
}

/// Records an owner of a dwelling: a person, a company or the developer.
#[utoipa::path(post, path = "/places/{id}/owners", tag = "people",
    params(("id" = i64, Path, description = "Dwelling id")), request_body = NewOwner,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_owner(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewOwner>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    if !OWNER_KINDS.contains(&new.owner_kind.as_str()) {
        return Err(invalid_key("person.error.owner_kind"));
    }
    let tx = state.db.write().await?;
    let dwelling = dwelling_for(&tx, &user, id, Access::Edit).await?;
    let (person_id, company) = if new.owner_kind == "person" {
        let pid = resolve_person(
            &tx,
            &state,
            &user,
            &dwelling,
            new.person_id,
            new.person.as_ref(),
        )
        .await?;
        (Some(pid), None)
    } else {
        let name = new.company_name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty()
            || name.chars().count() > 128
            || new.person.is_some()
            || new.person_id.is_some()
        {
            return Err(invalid_key("person.error.company_name"));
        }
        (None, Some(name.to_string()))
    };
    let existing = store::owners_of(&tx, &[dwelling.id]).await?;
    if person_id.is_some() && existing.iter().any(|o| o.person_id == person_id) {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_owner"));
    }
    let owner_id = store::add_owner(&tx, &dwelling, &new.owner_kind, person_id, company).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "owner.add", "dwelling")
            .object(dwelling.id)
            .district(dwelling.district_code.clone())
            .detail(serde_json::json!({"owner_id": owner_id, "kind": new.owner_kind, "person_id": person_id})),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(Created {
            id: owner_id,
            person_id,
        }),
    ))
}

/// Records a tenant or family member living in a dwelling.
#[utoipa::path(post, path = "/places/{id}/residents", tag = "people",
    params(("id" = i64, Path, description = "Dwelling id")), request_body = NewResident,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_resident(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewResident>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    if !RESIDENT_RELATIONS.contains(&new.relation.as_str()) {
        return Err(invalid_key("person.error.relation"));
    }
    let tx = state.db.write().await?;
    let dwelling = dwelling_for(&tx, &user, id, Access::Edit).await?;
    let person_id = resolve_person(
        &tx,
        &state,
        &user,
        &dwelling,
        new.person_id,
        new.person.as_ref(),
    )
    .await?;
    if store::residents_of(&tx, dwelling.id)
        .await?
        .iter()
        .any(|r| r.person_id == person_id)
    {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_resident"));
    }
    let resident_id = store::add_resident(&tx, &dwelling, person_id, &new.relation).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "resident.add", "dwelling")
            .object(dwelling.id)
            .district(dwelling.district_code.clone())
            .detail(serde_json::json!({"resident_id": resident_id, "person_id": person_id})),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(Created {
            id: resident_id,
            person_id: Some(person_id),
        }),
    ))
}

/// Checks that the user may edit the dwelling a person is linked to, and
/// audits the removal of that link (in the caller's transaction).
async fn allow_removal(
    tx: &impl ConnectionTrait,
    user: &Principal,
    dwelling_id: i64,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let dwelling = dwelling_for(tx, user, dwelling_id, Access::Edit).await?;
    audit::record(
        tx,
        Entry::new(Some(user), action, "dwelling")
            .object(dwelling.id)
            .district(dwelling.district_code.clone())
            .detail(detail),
    )
    .await?;
    Ok(())
}

/// Removes an owner record (the person stays in the registry).
#[utoipa::path(delete, path = "/owners/{id}", tag = "people",
    params(("id" = i64, Path, description = "Owner record id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_owner(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let owner = store::find_owner(&tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let detail = serde_json::json!({"owner_id": id, "person_id": owner.person_id});
    allow_removal(&tx, &user, owner.dwelling_id, "owner.remove", detail).await?;
    store::delete_owner(&tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a resident record.
#[utoipa::path(delete, path = "/residents/{id}", tag = "people",
    params(("id" = i64, Path, description = "Resident record id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_resident(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    let resident = store::find_resident(&tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let detail = serde_json::json!({"resident_id": id, "person_id": resident.person_id});
    allow_removal(&tx, &user, resident.dwelling_id, "resident.remove", detail).await?;
    store::delete_resident(&tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A person the user may see: linked to a dwelling whose registry they reach.
async fn visible_person(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    access: Access,
) -> Result<(person::Model, Vec<jinlin_kernel::place::Position>), ApiError> {
    let found = store::find(db, id).await?.ok_or_else(ApiError::not_found)?;
    let dwellings = store::dwellings_of(db, id).await?;
    if !dwellings.iter().any(|d| user.can(Access::Registry, d)) {
        return Err(ApiError::not_found());
    }
    if !dwellings.iter().any(|d| user.can(access, d)) {
        return Err(ApiError::forbidden());
    }
    Ok((found, dwellings))
}

/// A person's record, phone masked unless the reader's role needs it.
#[utoipa::path(get, path = "/people/{id}", tag = "people",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = PersonView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_person(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PersonView>, ApiError> {
    let db = state.db.conn();
    let (p, dwellings) = visible_person(db, &user, id, Access::Registry).await?;
    let unmasked = dwellings.iter().any(|d| user.can(Access::Personal, d));
    if unmasked && p.phone.is_some() {
        audit::record(
            db,
            Entry::new(Some(&user), "person.read_phone", "person")
                .object(p.id)
                .district(p.district_code.clone()),
        )
        .await?;
    }
    Ok(ApiJson(view(&p, unmasked)))
}

/// The unmasked phone and ID number, for roles that need them; every read
/// is written to the audit log.
#[utoipa::path(get, path = "/people/{id}/personal", tag = "people",
    params(("id" = i64, Path, description = "Person id")),
    responses((status = 200, body = PersonalData), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_personal(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<PersonalData>, ApiError> {
    let tx = state.db.write().await?;
    let (p, _) = visible_person(&tx, &user, id, Access::Personal).await?;
    let id_number = match &p.id_number_cipher {
        Some(cipher) => Some(
            state
                .secrets
                .decrypt(cipher)
                .map_err(|e| ApiError::internal(format!("{e:?}")))?,
        ),
        None => None,
    };
    audit::record(
        &tx,
        Entry::new(Some(&user), "person.read_personal", "person")
            .object(p.id)
            .district(p.district_code.clone())
            .detail(serde_json::json!({"fields": ["phone", "id_number"]})),
    )
    .await?;
    tx.commit().await?;
    Ok(ApiJson(PersonalData {
        id: p.id,
        name: p.name,
        phone: p.phone,
        id_number,
    }))
}

/// Changes a person's particulars.
#[utoipa::path(put, path = "/people/{id}", tag = "people",
    params(("id" = i64, Path, description = "Person id")), request_body = NewPerson,
    responses((status = 200, body = PersonView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_person(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<NewPerson>,
) -> Result<ApiJson<PersonView>, ApiError> {
    let input = person_input(&change)?;
    let tx = state.db.write().await?;
    let (p, _) = visible_person(&tx, &user, id, Access::Edit).await?;
    if let Some(n) = &input.id_number {
        let digest = state.secrets.digest(n.as_str());
        let taken = person::Entity::find()
            .filter(person::Column::IdNumberDigest.eq(digest))
            .one(&tx)
            .await?;
        if taken.is_some_and(|t| t.id != p.id) {
            return Err(ApiError::new(StatusCode::CONFLICT, "id_number_taken"));
        }
    }
    store::update(&tx, &state.secrets, p.id, &input).await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "person.update", "person")
            .object(p.id)
            .district(p.district_code.clone()),
    )
    .await?;
    let updated = store::find(&tx, p.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    Ok(ApiJson(view(&updated, false)))
}
