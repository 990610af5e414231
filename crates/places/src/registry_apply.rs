//! The database side of the registry import: reading a compound's registry
//! as the ground of a plan, and applying a plan in one transaction.

use std::collections::HashMap;

use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::Principal;
use jinlin_kernel::crypto::Secrets;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_people::entity::dwelling_owner;
use jinlin_people::store::{self as people, PersonInput};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::entity::dwelling;
use crate::registry_import::{
    AreaChange, Existing, ExistingBuilding, ExistingDwelling, ExistingEntrance, ExistingOwner,
    Owner, OwnerKind, Plan, Summary,
};
use crate::rules::AreaSource;
use crate::store::{self, DwellingInput};

/// A compound's registry as it stands, and its places by id.
pub struct Ground {
    pub existing: Existing,
    pub places: HashMap<i64, place::Model>,
}

/// Reads the buildings, entrances and dwellings of a compound, with the
/// dwellings' areas and owners, in four queries.
pub async fn load(db: &impl ConnectionTrait, compound_id: i64) -> Result<Ground, DbErr> {
    let places = place::Entity::find()
        .filter(place::Column::CompoundId.eq(compound_id))
        .order_by_asc(place::Column::Id)
        .all(db)
        .await?;
    let areas: HashMap<i64, dwelling::Model> = dwelling::Entity::find()
        .filter(dwelling::Column::CompoundId.eq(compound_id))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.place_id, d))
        .collect();
    let owners = dwelling_owner::Entity::find()
        .filter(dwelling_owner::Column::CompoundId.eq(compound_id))
        .order_by_asc(dwelling_owner::Column::Id)
        .all(db)
        .await?;
    let person_ids: Vec<i64> = owners.iter().filter_map(|o| o.person_id).collect();
    let persons = people::people(db, &person_ids).await?;

    let mut owners_of: HashMap<i64, Vec<ExistingOwner>> = HashMap::new();
    for o in &owners {
        let Some(kind) = OwnerKind::parse(&o.owner_kind) else {
            continue;
        };
        let (name, id_digest) = match o.person_id.and_then(|id| persons.get(&id)) {
            Some(p) => (p.name.clone(), p.id_number_digest.clone()),
            None => (o.company_name.clone().unwrap_or_default(), None),
        };
        owners_of
            .entry(o.dwelling_id)
            .or_default()
            .push(ExistingOwner {
                kind,
                name,
                id_digest,
            });
    }
    let of_kind = |kind: PlaceKind| {
        places
            .iter()
            .filter(move |p| p.kind == kind.as_str())
            .collect::<Vec<_>>()
    };
    let mut dwellings_of: HashMap<i64, Vec<ExistingDwelling>> = HashMap::new();
    for d in of_kind(PlaceKind::Dwelling) {
        let Some(parent) = d.parent_id else { continue };
        dwellings_of
            .entry(parent)
            .or_default()
            .push(ExistingDwelling {
                id: d.id,
                name: d.name.clone(),
                area: areas.get(&d.id).map(|a| {
                    (
                        a.area_centi_m2,
                        AreaSource::parse(&a.area_source).unwrap_or(AreaSource::Register),
                    )
                }),
                owners: owners_of.remove(&d.id).unwrap_or_default(),
            });
    }
    let mut entrances_of: HashMap<i64, Vec<ExistingEntrance>> = HashMap::new();
    for e in of_kind(PlaceKind::Entrance) {
        let Some(parent) = e.parent_id else { continue };
        entrances_of
            .entry(parent)
            .or_default()
            .push(ExistingEntrance {
                id: e.id,
                name: e.name.clone(),
                dwellings: dwellings_of.remove(&e.id).unwrap_or_default(),
            });
    }
    let buildings = of_kind(PlaceKind::Building)
        .into_iter()
        .filter(|b| b.parent_id == Some(compound_id))
        .map(|b| ExistingBuilding {
            id: b.id,
            name: b.name.clone(),
            entrances: entrances_of.remove(&b.id).unwrap_or_default(),
        })
        .collect();
    Ok(Ground {
        existing: Existing { buildings },
        places: places.into_iter().map(|p| (p.id, p)).collect(),
    })
}

/// What an applied import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Applied {
    pub buildings_created: u64,
    pub entrances_created: u64,
    pub dwellings_created: u64,
    /// Existing dwellings whose area was recorded or changed.
    pub dwellings_updated: u64,
    /// Owner records added to dwellings.
    pub owners_added: u64,
    /// People recorded for the first time (others were found by ID number).
    pub people_created: u64,
}

/// How an import finds the person an owner row names: by ID number (the
/// people store does that), else by name and phone within this import.
#[derive(Hash, PartialEq, Eq)]
struct NameAndPhone(String, String);

fn person_input(owner: &Owner) -> PersonInput {
    PersonInput {
        name: owner.name.clone(),
        phone: owner.phone.clone(),
        id_number: owner.id_number.clone(),
        party_member: owner.party_member,
        employer: owner.employer.clone(),
    }
}

async fn existing_or_new(
    db: &impl ConnectionTrait,
    parent: &place::Model,
    existing: Option<i64>,
    ground: &Ground,
    kind: PlaceKind,
    name: &str,
    created: &mut u64,
) -> Result<place::Model, DbErr> {
    match existing.and_then(|id| ground.places.get(&id)) {
        Some(p) => Ok(p.clone()),
        None => {
            *created += 1;
            store::insert_child(db, parent, kind, name).await
        }
    }
}

/// Writes `plan` into the compound in the caller's transaction, with one
/// audit entry for the whole import. The plan must come from a report
/// without errors, drawn on `ground` read in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    actor: &Principal,
    compound: &place::Model,
    ground: &Ground,
    plan: &Plan,
    summary: &Summary,
    format: &str,
) -> Result<Applied, DbErr> {
    let mut applied = Applied::default();
    let mut people_by_name: HashMap<NameAndPhone, i64> = HashMap::new();
    for b in &plan.buildings {
        let building = existing_or_new(
            db,
            compound,
            b.existing,
            ground,
            PlaceKind::Building,
            &b.name,
            &mut applied.buildings_created,
        )
        .await?;
        for e in &b.entrances {
            let entrance = existing_or_new(
                db,
                &building,
                e.existing,
                ground,
                PlaceKind::Entrance,
                &e.name,
                &mut applied.entrances_created,
            )
            .await?;
            for d in &e.dwellings {
                let dwelling = existing_or_new(
                    db,
                    &entrance,
                    d.existing,
                    ground,
                    PlaceKind::Dwelling,
                    &d.name,
                    &mut applied.dwellings_created,
                )
                .await?;
                let input = DwellingInput {
                    area_centi_m2: d.area_centi_m2,
                    area_source: d.area_source,
                };
                match d.area_change {
                    AreaChange::New => store::insert_dwelling(db, &dwelling, &input).await?,
                    AreaChange::Set | AreaChange::Changed { .. } => {
                        store::upsert_dwelling(db, &dwelling, &input).await?;
                        applied.dwellings_updated += 1;
                    }
                    AreaChange::Unchanged => {}
                }
                for o in d.owners.iter().filter(|o| !o.linked) {
                    let owner = &o.owner;
                    let (person_id, company) = match owner.kind {
                        OwnerKind::Person => {
                            let key = match (&owner.id_number, &owner.phone) {
                                (None, Some(phone)) => {
                                    Some(NameAndPhone(owner.name.clone(), phone.as_str().into()))
                                }
                                _ => None,
                            };
                            let known = key.as_ref().and_then(|k| people_by_name.get(k));
                            let id = match known {
                                Some(id) => *id,
                                None => {
                                    let (id, created) = people::find_or_create(
                                        db,
                                        secrets,
                                        compound.district_code.clone(),
                                        &person_input(owner),
                                    )
                                    .await?;
                                    if created {
                                        applied.people_created += 1;
                                    }
                                    if let Some(key) = key {
                                        people_by_name.insert(key, id);
                                    }
                                    id
                                }
                            };
                            (Some(id), None)
                        }
                        OwnerKind::Company | OwnerKind::Developer => {
                            (None, Some(owner.name.clone()))
                        }
                    };
                    people::add_owner(db, &dwelling, owner.kind.as_str(), person_id, company)
                        .await?;
                    applied.owners_added += 1;
                }
            }
        }
    }
    audit::record(
        db,
        Entry::new(Some(actor), "registry.import", "place")
            .object(compound.id)
            .district(compound.district_code.clone())
            .detail(serde_json::json!({
                "format": format,
                "rows": summary.rows,
                "buildings_created": applied.buildings_created,
                "entrances_created": applied.entrances_created,
                "dwellings_created": applied.dwellings_created,
                "dwellings_updated": applied.dwellings_updated,
                "owners_added": applied.owners_added,
                "people_created": applied.people_created,
                "owners_already_linked": summary.owners_linked,
            })),
    )
    .await?;
    Ok(applied)
}
