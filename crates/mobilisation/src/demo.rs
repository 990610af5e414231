//! Demo data: one closed mobilisation of the sample compound, sent a day
//! before the demo was loaded by the compound's grid worker and reached in
//! full within 25 minutes, so the list and the time to full coverage show
//! something on a fresh start.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use jinlin_kernel::ApiError;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::entity::{mobilisation, mobilisation_household, mobilisation_unit};
use crate::rules::Method;
use crate::store;

/// Seeds the demo mobilisation of `compound` (the sample accounts'); gives
/// how many households it reached.
pub async fn seed_demo(
    db: &impl ConnectionTrait,
    compound: Option<i64>,
) -> Result<usize, ApiError> {
    if mobilisation::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let Some(c) = compound else { return Ok(0) };
    let Some(place) = jinlin_places::store::find(db, c).await? else {
        return Ok(0);
    };
    let grids = jinlin_micro_grids::store::grids_of_compound(db, c).await?;
    let Some(worker) = grids.iter().find_map(|g| g.worker_account_id) else {
        return Ok(0);
    };
    let pos = place.position();
    let sent_at = Utc::now() - Duration::hours(26);
    let id = store::insert(
        db,
        mobilisation::ActiveModel {
            district_code: Set(place.district_code.clone().unwrap_or_default()),
            place_id: Set(place.id),
            place_kind: Set(place.kind.clone()),
            street_id: Set(pos.street_id),
            community_id: Set(pos.community_id),
            compound_id: Set(Some(place.id)),
            title: Set("防汛紧急通知：今晚强降雨".into()),
            body: Set("气象台发布暴雨橙色预警。请关好门窗，勿在地下车库停放车辆；低洼楼栋住户如需转移，请联系网格员。".into()),
            households: Set(0),
            sent_by: Set(worker),
            sent_at: Set(sent_at),
            closed_at: Set(Some(sent_at + Duration::minutes(40))),
            closed_by: Set(Some(worker)),
            ..Default::default()
        },
    )
    .await?;
    let n = store::fill(db, id, &place).await?;
    store::set_households(db, id, n).await?;
    let rows = mobilisation_household::Entity::find()
        .filter(mobilisation_household::Column::MobilisationId.eq(id))
        .order_by_asc(mobilisation_household::Column::Id)
        .all(db)
        .await?;
    // Five waves, five minutes apart, each by another means.
    let methods = [
        Method::App,
        Method::Group,
        Method::Group,
        Method::Phone,
        Method::Door,
    ];
    let wave = rows.len().div_ceil(methods.len()).max(1);
    let mut full: BTreeMap<i64, chrono::DateTime<Utc>> = BTreeMap::new();
    for (k, chunk) in rows.chunks(wave).enumerate() {
        let at = sent_at + Duration::minutes(5 * (k as i64 + 1));
        mobilisation_household::Entity::update_many()
            .col_expr(
                mobilisation_household::Column::ReachedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .col_expr(
                mobilisation_household::Column::ReachedBy,
                sea_orm::sea_query::Expr::value(worker),
            )
            .col_expr(
                mobilisation_household::Column::Method,
                sea_orm::sea_query::Expr::value(methods[k].as_str()),
            )
            .filter(mobilisation_household::Column::Id.is_in(chunk.iter().map(|h| h.id)))
            .exec(db)
            .await?;
        for h in chunk {
            full.insert(h.unit_id, at);
        }
    }
    for u in mobilisation_unit::Entity::find()
        .filter(mobilisation_unit::Column::MobilisationId.eq(id))
        .all(db)
        .await?
    {
        mobilisation_unit::Entity::update(mobilisation_unit::ActiveModel {
            id: Set(u.id),
            reached: Set(u.households),
            full_at: Set(full.get(&u.id).copied()),
            ..Default::default()
        })
        .exec(db)
        .await?;
    }
    Ok(rows.len())
}
