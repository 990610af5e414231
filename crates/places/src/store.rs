//! Reading and writing the place tree.

use std::collections::HashMap;

use chrono::Utc;
use jinlin_kernel::auth::{Access, Principal, Role};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait as _, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::entity::{compound, dwelling};
use crate::names::initials;
use crate::rules::{AreaSource, CompoundType, TownArea};

/// The access a reader needs to see a place of `kind`: dwellings belong to
/// the registry; everything above is the public face of the tree.
pub fn read_access(kind: PlaceKind) -> Access {
    if kind == PlaceKind::Dwelling {
        Access::Registry
    } else {
        Access::Public
    }
}

/// Whether `who` may see the place `p`.
pub fn visible(who: &Principal, p: &place::Model) -> bool {
    let position = p.position();
    position
        .kind
        .is_some_and(|kind| who.can(read_access(kind), &position))
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find_by_id(id).one(db).await
}

/// The chain from the top of the tree down to `p`'s parent, in one query.
/// Places by id, in chunks the databases' parameter limits allow; ids
/// repeated or missing are fine.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for p in place::Entity::find()
            .filter(place::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(p.id, p);
        }
    }
    Ok(found)
}

pub async fn ancestors(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<Vec<place::Model>, DbErr> {
    let ids: Vec<i64> = [
        p.street_id,
        p.community_id,
        p.compound_id,
        p.building_id,
        p.entrance_id,
    ]
    .into_iter()
    .flatten()
    .filter(|id| *id != p.id)
    .collect();
    let own_code = p
        .code
        .clone()
        .or_else(|| p.district_code.as_ref().map(|d| format!("{d:0<12}")));
    let mut codes = Vec::new();
    if let Some(code) = own_code.as_deref().filter(|c| c.len() == 12) {
        for digits in [2, 4, 6] {
            let prefix = format!("{:0<12}", &code[..digits]);
            if Some(prefix.as_str()) != p.code.as_deref() {
                codes.push(prefix);
            }
        }
    }
    let mut found = place::Entity::find()
        .filter(
            Condition::any()
                .add(place::Column::Id.is_in(ids))
                .add(place::Column::Code.is_in(codes)),
        )
        .all(db)
        .await?;
    found.sort_by_key(|a| PlaceKind::parse(&a.kind));
    Ok(found)
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        Ord::max(self.total.div_ceil(self.per_page), 1)
    }
}

/// The children of a place, ordered by code then name.
fn children_in_order(parent_id: i64) -> sea_orm::Select<place::Entity> {
    place::Entity::find()
        .filter(place::Column::ParentId.eq(parent_id))
        .order_by_asc(place::Column::Code)
        .order_by_asc(place::Column::Name)
        .order_by_asc(place::Column::Id)
}

/// Every child of a place, ordered by code then name, in one statement
/// (no count): for the levels whose children are few (a district's
/// streets, a street's communities, a community's compounds).
pub async fn all_children(
    db: &impl ConnectionTrait,
    parent_id: i64,
) -> Result<Vec<place::Model>, DbErr> {
    children_in_order(parent_id).all(db).await
}

/// Children of a place, ordered by code then name.
pub async fn children(
    db: &impl ConnectionTrait,
    parent_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Page<place::Model>, DbErr> {
    let paginator = children_in_order(parent_id).paginate(db, per_page);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok(Page {
        items,
        total,
        page: Ord::max(page, 1),
        per_page,
    })
}

/// The part of the tree a principal's grants reach, as a SQL condition
/// (the same rule as `Principal::can`, so searches never leak).
fn scope_condition(who: &Principal) -> Condition {
    let mut any = Condition::any();
    for grant in &who.grants {
        let anchor = &grant.place;
        let Some(kind) = anchor.kind else { continue };
        let subtree = match (grant.role, kind) {
            (Role::Resident | Role::PartyMember, _) => match anchor.compound_id {
                Some(c) => Condition::any()
                    .add(place::Column::Id.eq(c))
                    .add(place::Column::Id.eq(anchor.id))
                    .add(
                        Condition::all()
                            .add(place::Column::CompoundId.eq(c))
                            .add(place::Column::Kind.ne(PlaceKind::Dwelling.as_str())),
                    ),
                None => Condition::all().add(place::Column::Id.eq(anchor.id)),
            },
            (Role::AgencyAdmin, _) => {
                let mut paired = Condition::any();
                for c in &who.paired_compounds {
                    paired = paired.add(place::Column::Id.eq(c.id)).add(
                        Condition::all()
                            .add(place::Column::CompoundId.eq(c.id))
                            .add(place::Column::Kind.ne(PlaceKind::Dwelling.as_str())),
                    );
                }
                if who.paired_compounds.is_empty() {
                    paired = paired.add(Expr::value(false));
                }
                paired
            }
            (_, PlaceKind::Province | PlaceKind::City | PlaceKind::District) => {
                let digits = kind.code_digits().unwrap_or(6);
                let prefix = anchor
                    .code
                    .as_deref()
                    .map(|c| &c[..digits.min(c.len())])
                    .unwrap_or("-");
                Condition::any()
                    .add(place::Column::Id.eq(anchor.id))
                    .add(place::Column::DistrictCode.starts_with(prefix))
            }
            (_, PlaceKind::Street) => Condition::any()
                .add(place::Column::Id.eq(anchor.id))
                .add(place::Column::StreetId.eq(anchor.id)),
            (_, PlaceKind::Community) => Condition::any()
                .add(place::Column::Id.eq(anchor.id))
                .add(place::Column::CommunityId.eq(anchor.id)),
            (_, PlaceKind::Compound) => Condition::any()
                .add(place::Column::Id.eq(anchor.id))
                .add(place::Column::CompoundId.eq(anchor.id)),
            (_, _) => Condition::all().add(place::Column::Id.eq(anchor.id)),
        };
        any = any.add(subtree);
    }
    if who.grants.is_empty() {
        any = any.add(Expr::value(false));
    }
    any
}

/// Places whose name contains `q`, whose pinyin initials start with it, or
/// whose code starts with it, within the principal's reach; dwellings are
/// left out (search a compound's registry for them).
pub async fn search(
    db: &impl ConnectionTrait,
    who: &Principal,
    q: &str,
    limit: u64,
) -> Result<Vec<place::Model>, DbErr> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let lower = escaped.to_lowercase();
    let text = Condition::any()
        .add(place::Column::Name.contains(&escaped))
        .add(place::Column::Initials.starts_with(&lower))
        .add(place::Column::Code.starts_with(&escaped));
    let found = place::Entity::find()
        .filter(text)
        .filter(place::Column::Kind.ne(PlaceKind::Dwelling.as_str()))
        .filter(scope_condition(who))
        .order_by_asc(Expr::expr(Func::char_length(Expr::col(
            place::Column::Name,
        ))))
        .order_by_asc(place::Column::Code)
        .limit(limit)
        .all(db)
        .await?;
    Ok(found.into_iter().filter(|p| visible(who, p)).collect())
}

#[derive(Debug, Clone)]
pub struct CompoundInput {
    pub compound_type: CompoundType,
    pub town_area: TownArea,
    pub address: String,
    pub latitude_e6: Option<i32>,
    pub longitude_e6: Option<i32>,
    pub owners_committee: Option<String>,
    pub property_company: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DwellingInput {
    pub area_centi_m2: i64,
    pub area_source: AreaSource,
}

/// Inserts a child under `parent` with the ancestor columns filled in.
pub async fn insert_child(
    db: &impl ConnectionTrait,
    parent: &place::Model,
    kind: PlaceKind,
    name: &str,
) -> Result<place::Model, DbErr> {
    let p = parent.position();
    let now = Utc::now();
    let mut model = place::ActiveModel {
        kind: Set(kind.as_str().to_string()),
        parent_id: Set(Some(parent.id)),
        code: Set(None),
        name: Set(name.to_string()),
        initials: Set(initials(name)),
        district_code: Set(parent.district_code.clone()),
        street_id: Set(p.ancestor_id(PlaceKind::Street)),
        community_id: Set(p.ancestor_id(PlaceKind::Community)),
        compound_id: Set(p.ancestor_id(PlaceKind::Compound)),
        building_id: Set(p.ancestor_id(PlaceKind::Building)),
        entrance_id: Set(p.ancestor_id(PlaceKind::Entrance)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let id = place::Entity::insert(model.clone())
        .exec(db)
        .await?
        .last_insert_id;
    model.id = Set(id);
    place::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("place {id}")))
}

pub async fn insert_compound(
    db: &impl ConnectionTrait,
    place: &place::Model,
    input: &CompoundInput,
) -> Result<(), DbErr> {
    compound::Entity::insert(compound::ActiveModel {
        place_id: Set(place.id),
        district_code: Set(place.district_code.clone().unwrap_or_default()),
        compound_type: Set(input.compound_type.as_str().into()),
        town_area: Set(input.town_area.as_str().into()),
        address: Set(input.address.clone()),
        latitude_e6: Set(input.latitude_e6),
        longitude_e6: Set(input.longitude_e6),
        owners_committee: Set(input.owners_committee.clone()),
        property_company: Set(input.property_company.clone()),
    })
    .exec(db)
    .await?;
    Ok(())
}

pub async fn upsert_compound(
    db: &impl ConnectionTrait,
    place: &place::Model,
    input: &CompoundInput,
) -> Result<(), DbErr> {
    compound::Entity::delete_by_id(place.id).exec(db).await?;
    insert_compound(db, place, input).await
}

pub async fn insert_dwelling(
    db: &impl ConnectionTrait,
    place: &place::Model,
    input: &DwellingInput,
) -> Result<(), DbErr> {
    dwelling::Entity::insert(dwelling::ActiveModel {
        place_id: Set(place.id),
        district_code: Set(place.district_code.clone().unwrap_or_default()),
        compound_id: Set(place.compound_id.unwrap_or_default()),
        area_centi_m2: Set(input.area_centi_m2),
        area_source: Set(input.area_source.as_str().into()),
    })
    .exec(db)
    .await?;
    Ok(())
}

pub async fn upsert_dwelling(
    db: &impl ConnectionTrait,
    place: &place::Model,
    input: &DwellingInput,
) -> Result<(), DbErr> {
    dwelling::Entity::delete_by_id(place.id).exec(db).await?;
    insert_dwelling(db, place, input).await
}

pub async fn rename(db: &impl ConnectionTrait, id: i64, name: &str) -> Result<(), DbErr> {
    place::Entity::update_many()
        .col_expr(place::Column::Name, Expr::value(name))
        .col_expr(place::Column::Initials, Expr::value(initials(name)))
        .col_expr(place::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(place::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn child_count(db: &impl ConnectionTrait, id: i64) -> Result<u64, DbErr> {
    place::Entity::find()
        .filter(place::Column::ParentId.eq(id))
        .count(db)
        .await
}

/// Deletes a place and its particulars (the caller checks it has no children).
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    compound::Entity::delete_by_id(id).exec(db).await?;
    dwelling::Entity::delete_by_id(id).exec(db).await?;
    place::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn compound_of(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<compound::Model>, DbErr> {
    compound::Entity::find_by_id(id).one(db).await
}

pub async fn dwelling_of(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<dwelling::Model>, DbErr> {
    dwelling::Entity::find_by_id(id).one(db).await
}

/// Counts of a compound's registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySummary {
    pub buildings: i64,
    pub entrances: i64,
    pub dwellings: i64,
    pub total_area_centi_m2: i64,
}

#[derive(FromQueryResult)]
struct KindCount {
    kind: String,
    n: i64,
}

#[derive(FromQueryResult)]
struct AreaSum {
    total: Option<i64>,
}

pub async fn registry_summary(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<RegistrySummary, DbErr> {
    let counts = place::Entity::find()
        .select_only()
        .column(place::Column::Kind)
        .column_as(place::Column::Id.count(), "n")
        .filter(place::Column::CompoundId.eq(compound_id))
        .group_by(place::Column::Kind)
        .into_model::<KindCount>()
        .all(db)
        .await?;
    let area = dwelling::Entity::find()
        .select_only()
        .column_as(
            Expr::expr(Func::sum(Expr::col(dwelling::Column::AreaCentiM2))).cast_as("bigint"),
            "total",
        )
        .filter(dwelling::Column::CompoundId.eq(compound_id))
        .into_model::<AreaSum>()
        .one(db)
        .await?;
    let count = |kind: PlaceKind| {
        counts
            .iter()
            .find(|c| c.kind == kind.as_str())
            .map(|c| c.n)
            .unwrap_or(0)
    };
    Ok(RegistrySummary {
        buildings: count(PlaceKind::Building),
        entrances: count(PlaceKind::Entrance),
        dwellings: count(PlaceKind::Dwelling),
        total_area_centi_m2: area.and_then(|a| a.total).unwrap_or(0),
    })
}

/// Dwelling counts per building of a compound (one query).
pub async fn dwellings_per_building(
    db: &impl ConnectionTrait,
    compound_id: i64,
) -> Result<Vec<(i64, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        building_id: Option<i64>,
        n: i64,
    }
    let rows = place::Entity::find()
        .select_only()
        .column(place::Column::BuildingId)
        .column_as(place::Column::Id.count(), "n")
        .filter(place::Column::CompoundId.eq(compound_id))
        .filter(place::Column::Kind.eq(PlaceKind::Dwelling.as_str()))
        .group_by(place::Column::BuildingId)
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.building_id.map(|b| (b, r.n)))
        .collect())
}

/// The position of a place, if it exists.
pub async fn position(db: &impl ConnectionTrait, id: i64) -> Result<Option<Position>, DbErr> {
    Ok(find(db, id).await?.map(|p| p.position()))
}

/// One page of a compound's dwellings, in building, entrance and room order.
pub async fn compound_dwellings(
    db: &impl ConnectionTrait,
    compound_id: i64,
    page: u64,
    per_page: u64,
) -> Result<Page<place::Model>, DbErr> {
    let paginator = place::Entity::find()
        .filter(place::Column::CompoundId.eq(compound_id))
        .filter(place::Column::Kind.eq(PlaceKind::Dwelling.as_str()))
        .order_by_asc(place::Column::BuildingId)
        .order_by_asc(place::Column::EntranceId)
        .order_by_asc(place::Column::Name)
        .order_by_asc(place::Column::Id)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok(Page {
        items,
        total,
        page: Ord::max(page, 1),
        per_page,
    })
}

/// Names of places by id, in one query.
pub async fn names(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(place::Entity::find()
        .filter(place::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// Dwelling particulars by place id, in one query.
pub async fn dwellings_by_id(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, dwelling::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(dwelling::Entity::find()
        .filter(dwelling::Column::PlaceId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.place_id, d))
        .collect())
}
