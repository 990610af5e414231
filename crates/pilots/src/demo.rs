//! Demo data, loaded once by `serve --demo` after the places, accounts and
//! the capabilities before this one.
//!
//! Sixteen pilot compounds, as the district reports: two in each of the
//! first two streets and one in every other, their types cycling through
//! commercial, resettlement, new town and old town (a compound whose
//! registry classification fits the type when there is one). The first
//! street also has an ended designation in its history. Every street
//! tracks the party-organisation, matters and satisfaction indicators,
//! with agency pairing and the share closed on even streets and the
//! deliberations concluded on odd ones.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::entity::{pilot_compound, pilot_indicator};
use crate::rules::{Indicator, PilotType};
use crate::store;

const NOTES: &[&str] = &[
    "街道党工委确定的邻聚力工程试点，探索近邻党建经验。",
    "以小区党支部为核心，推动业委会、物业协同治理。",
    "聚焦老年人较多的实际，打造近邻互助服务。",
];

/// Fills every district that has streets and no pilots yet; returns how
/// many records it wrote.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<usize, ApiError> {
    let districts = place::Entity::find()
        .filter(place::Column::Kind.eq(PlaceKind::District.as_str()))
        .all(db)
        .await?;
    let mut written = 0;
    for d in districts {
        let Some(code) = d.district_code.clone() else {
            continue;
        };
        let existing = pilot_compound::Entity::find()
            .filter(pilot_compound::Column::DistrictCode.eq(code.clone()))
            .count(db)
            .await?;
        if existing > 0 {
            continue;
        }
        written += seed_district(db, &d, &code).await?;
    }
    Ok(written)
}

async fn seed_district(
    db: &impl ConnectionTrait,
    district: &place::Model,
    code: &str,
) -> Result<usize, ApiError> {
    let now = Utc::now();
    let mut written = 0;
    // The n-th pilot of the district is of the n-th type, in turn.
    let mut n = 0;
    for (i, street) in store::streets_in(db, district).await?.iter().enumerate() {
        let compounds = store::compounds_in(db, street).await?;
        if compounds.is_empty() {
            continue;
        }
        let ids: Vec<i64> = compounds.iter().map(|c| c.id).collect();
        let types = store::registry_types(db, &ids).await?;
        let mut taken: HashSet<i64> = HashSet::new();
        let wanted = if i < 2 { 2 } else { 1 };
        for k in 0..wanted {
            let want = PilotType::ALL[n % PilotType::ALL.len()];
            n += 1;
            let fits = compounds.iter().find(|c| {
                !taken.contains(&c.id) && types.get(&c.id).is_some_and(|t| t.contains(&want))
            });
            let (c, kind) = match fits {
                Some(c) => (c, want),
                None => match compounds.iter().find(|c| !taken.contains(&c.id)) {
                    Some(c) => (
                        c,
                        types
                            .get(&c.id)
                            .and_then(|t| t.first().copied())
                            .unwrap_or(want),
                    ),
                    None => break,
                },
            };
            taken.insert(c.id);
            pilot_compound::Entity::insert(pilot_compound::ActiveModel {
                district_code: Set(code.to_string()),
                street_id: Set(street.id),
                community_id: Set(c.community_id),
                compound_id: Set(c.id),
                pilot_type: Set(kind.as_str().into()),
                note: Set(Some(NOTES[(i + k) % NOTES.len()].to_string())),
                designated_at: Set(now - Duration::days(60 + 7 * i as i64)),
                designated_by: Set(None),
                ended_at: Set(None),
                ended_by: Set(None),
                end_reason: Set(None),
                ..Default::default()
            })
            .exec(db)
            .await?;
            written += 1;
        }
        // A designation that ended, for the history.
        if i == 0
            && let Some(c) = compounds.iter().find(|c| !taken.contains(&c.id))
        {
            pilot_compound::Entity::insert(pilot_compound::ActiveModel {
                district_code: Set(code.to_string()),
                street_id: Set(street.id),
                community_id: Set(c.community_id),
                compound_id: Set(c.id),
                pilot_type: Set(PilotType::OldTown.as_str().into()),
                note: Set(None),
                designated_at: Set(now - Duration::days(400)),
                designated_by: Set(None),
                ended_at: Set(Some(now - Duration::days(45))),
                ended_by: Set(None),
                end_reason: Set(Some("试点期满，经验已在全街道推广。".into())),
                ..Default::default()
            })
            .exec(db)
            .await?;
            written += 1;
        }
        let mut tracked = vec![
            Indicator::PartyOrg,
            Indicator::CrossMembership,
            Indicator::MattersPer100Dwellings,
            Indicator::Satisfaction,
        ];
        if i % 2 == 0 {
            tracked.extend([Indicator::AgenciesPaired, Indicator::MattersClosedShare]);
        } else {
            tracked.push(Indicator::DeliberationsConcluded);
        }
        pilot_indicator::Entity::insert_many(tracked.iter().enumerate().map(|(n, ind)| {
            pilot_indicator::ActiveModel {
                district_code: Set(code.to_string()),
                street_id: Set(street.id),
                indicator: Set(ind.as_str().into()),
                position: Set(n as i32 + 1),
                updated_by: Set(None),
                updated_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(db)
        .await?;
        written += tracked.len();
    }
    Ok(written)
}
