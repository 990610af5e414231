//! Queries of rating campaigns.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_places::entity::compound;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entity::{campaign, item, panel_score, rectification, response, result, score, subject};
use crate::rules::{self, Collected, Scheme, SubjectKind};

pub async fn find_campaign(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<campaign::Model>, DbErr> {
    campaign::Entity::find_by_id(id).one(db).await
}

/// Takes the campaign's row lock for the rest of the transaction
/// (PostgreSQL; SQLite's write transaction already holds the database), so
/// opening, closing, responses and panel scores of one campaign run in turn.
pub async fn lock_campaign(tx: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    campaign::Entity::find_by_id(id)
        .select_only()
        .column(campaign::Column::Id)
        .lock_exclusive()
        .into_tuple::<i64>()
        .one(tx)
        .await?;
    Ok(())
}

/// Locks the campaign of a subject (see [`lock_campaign`]).
pub async fn lock_subject_campaign(
    tx: &impl ConnectionTrait,
    subject_id: i64,
) -> Result<(), DbErr> {
    if let Some(s) = find_subject(tx, subject_id).await? {
        lock_campaign(tx, s.campaign_id).await?;
    }
    Ok(())
}

pub async fn find_place(db: &impl ConnectionTrait, id: i64) -> Result<Option<place::Model>, DbErr> {
    place::Entity::find_by_id(id).one(db).await
}

/// Campaigns of the given districts, newest first.
pub async fn campaigns_in(
    db: &impl ConnectionTrait,
    districts: Vec<String>,
) -> Result<Vec<campaign::Model>, DbErr> {
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    campaign::Entity::find()
        .filter(campaign::Column::DistrictCode.is_in(districts))
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await
}

pub async fn items(db: &impl ConnectionTrait, campaign_id: i64) -> Result<Vec<item::Model>, DbErr> {
    item::Entity::find()
        .filter(item::Column::CampaignId.eq(campaign_id))
        .order_by_asc(item::Column::Position)
        .order_by_asc(item::Column::Id)
        .all(db)
        .await
}

pub async fn subjects(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<subject::Model>, DbErr> {
    subject::Entity::find()
        .filter(subject::Column::CampaignId.eq(campaign_id))
        .order_by_asc(subject::Column::Id)
        .all(db)
        .await
}

pub async fn find_subject(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<subject::Model>, DbErr> {
    subject::Entity::find_by_id(id).one(db).await
}

pub async fn results(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<HashMap<i64, result::Model>, DbErr> {
    Ok(result::Entity::find()
        .filter(result::Column::CampaignId.eq(campaign_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.subject_id, r))
        .collect())
}

/// Places by id.
pub async fn places(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, place::Model>, DbErr> {
    jinlin_places::store::by_ids(db, ids).await
}

/// Names of places by id.
pub async fn place_names(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    Ok(places(db, ids)
        .await?
        .into_iter()
        .map(|(id, p)| (id, p.name))
        .collect())
}

pub struct NewCampaign {
    pub district_code: String,
    pub scope: Position,
    pub scope_kind: PlaceKind,
    pub period: String,
    pub subject_kind: SubjectKind,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub scheme: Scheme,
    /// (name_zh, name_en, weight)
    pub items: Vec<(String, String, i64)>,
    pub created_by: i64,
}

pub async fn insert_campaign(db: &impl ConnectionTrait, c: &NewCampaign) -> Result<i64, DbErr> {
    let id = campaign::Entity::insert(campaign::ActiveModel {
        id: NotSet,
        district_code: Set(c.district_code.clone()),
        scope_place_id: Set(c.scope.id),
        scope_kind: Set(c.scope_kind.as_str().into()),
        period: Set(c.period.clone()),
        subject_kind: Set(c.subject_kind.as_str().into()),
        opens_on: Set(c.opens_on),
        closes_on: Set(c.closes_on),
        state: Set(rules::CampaignState::Draft.as_str().into()),
        residents_weight: Set(c.scheme.residents_weight as i32),
        red_threshold_centi: Set(c.scheme.red_threshold_centi as i32),
        black_threshold_centi: Set(c.scheme.black_threshold_centi as i32),
        created_by: Set(Some(c.created_by)),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
    })
    .exec(db)
    .await?
    .last_insert_id;
    for (i, (zh, en, w)) in c.items.iter().enumerate() {
        item::Entity::insert(item::ActiveModel {
            id: NotSet,
            campaign_id: Set(id),
            district_code: Set(c.district_code.clone()),
            position: Set(i as i32),
            name_zh: Set(zh.clone()),
            name_en: Set(en.clone()),
            weight: Set(*w as i32),
        })
        .exec(db)
        .await?;
    }
    Ok(id)
}

pub async fn set_state(
    db: &impl ConnectionTrait,
    id: i64,
    state: rules::CampaignState,
) -> Result<(), DbErr> {
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::State, Expr::value(state.as_str()))
        .filter(campaign::Column::Id.eq(id));
    if state == rules::CampaignState::Closed {
        update = update.col_expr(campaign::Column::ClosedAt, Expr::value(Utc::now()));
    }
    update.exec(db).await?;
    Ok(())
}

/// Compounds in the campaign's scope that have an owners' committee or a
/// property company (as the campaign rates), with their street and the
/// committee's or company's name.
pub async fn compounds_in_scope(
    db: &impl ConnectionTrait,
    c: &campaign::Model,
    scope: &Position,
) -> Result<Vec<(i64, Option<i64>, String)>, DbErr> {
    let kind = SubjectKind::parse(&c.subject_kind).unwrap_or(SubjectKind::PropertyCompany);
    let column = match kind {
        SubjectKind::OwnersCommittee => compound::Column::OwnersCommittee,
        SubjectKind::PropertyCompany => compound::Column::PropertyCompany,
    };
    let compounds = compound::Entity::find()
        .filter(compound::Column::DistrictCode.eq(c.district_code.clone()))
        .filter(column.is_not_null())
        .all(db)
        .await?;
    let names: HashMap<i64, String> = compounds
        .into_iter()
        .filter_map(|row| {
            let name = match kind {
                SubjectKind::OwnersCommittee => row.owners_committee,
                SubjectKind::PropertyCompany => row.property_company,
            }?;
            let name = name.trim().to_string();
            (!name.is_empty()).then_some((row.place_id, name))
        })
        .collect();
    let ids: Vec<i64> = names.keys().copied().collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        for p in place::Entity::find()
            .filter(place::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            if p.position().is_within(scope) {
                out.push((p.id, p.street_id, names[&p.id].clone()));
            }
        }
    }
    out.sort_by_key(|(id, _, _)| *id);
    Ok(out)
}

pub async fn insert_subjects(
    db: &impl ConnectionTrait,
    c: &campaign::Model,
    rows: &[(i64, Option<i64>, String)],
) -> Result<(), DbErr> {
    for chunk in rows.chunks(200) {
        subject::Entity::insert_many(chunk.iter().map(|(compound_id, street_id, name)| {
            subject::ActiveModel {
                id: NotSet,
                campaign_id: Set(c.id),
                district_code: Set(c.district_code.clone()),
                compound_id: Set(*compound_id),
                street_id: Set(*street_id),
                name: Set(name.chars().take(128).collect()),
            }
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}

pub async fn response_of(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    dwelling_id: i64,
) -> Result<Option<response::Model>, DbErr> {
    response::Entity::find()
        .filter(response::Column::CampaignId.eq(campaign_id))
        .filter(response::Column::DwellingId.eq(dwelling_id))
        .one(db)
        .await
}

/// Inserts a response and its scores (in the caller's transaction).
pub async fn insert_response(
    db: &impl ConnectionTrait,
    s: &subject::Model,
    dwelling_id: i64,
    account_id: i64,
    scores: &[(i64, i64)],
) -> Result<i64, DbErr> {
    let id = response::Entity::insert(response::ActiveModel {
        id: NotSet,
        campaign_id: Set(s.campaign_id),
        subject_id: Set(s.id),
        dwelling_id: Set(dwelling_id),
        district_code: Set(s.district_code.clone()),
        account_id: Set(Some(account_id)),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?
    .last_insert_id;
    score::Entity::insert_many(scores.iter().map(|(item_id, v)| score::ActiveModel {
        response_id: Set(id),
        item_id: Set(*item_id),
        campaign_id: Set(s.campaign_id),
        subject_id: Set(s.id),
        district_code: Set(s.district_code.clone()),
        score: Set(*v as i32),
    }))
    .exec(db)
    .await?;
    Ok(id)
}

pub async fn panel_scores(
    db: &impl ConnectionTrait,
    subject_id: i64,
) -> Result<HashMap<i64, i64>, DbErr> {
    Ok(panel_score::Entity::find()
        .filter(panel_score::Column::SubjectId.eq(subject_id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.item_id, p.score as i64))
        .collect())
}

/// Replaces the panel's scores of a subject.
pub async fn replace_panel_scores(
    db: &impl ConnectionTrait,
    s: &subject::Model,
    account_id: i64,
    scores: &[(i64, i64)],
) -> Result<(), DbErr> {
    panel_score::Entity::delete_many()
        .filter(panel_score::Column::SubjectId.eq(s.id))
        .exec(db)
        .await?;
    let now = Utc::now();
    panel_score::Entity::insert_many(scores.iter().map(|(item_id, v)| panel_score::ActiveModel {
        id: NotSet,
        campaign_id: Set(s.campaign_id),
        subject_id: Set(s.id),
        item_id: Set(*item_id),
        district_code: Set(s.district_code.clone()),
        score: Set(*v as i32),
        account_id: Set(Some(account_id)),
        updated_at: Set(now),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Responses per subject of a campaign.
pub async fn response_counts(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<HashMap<i64, i64>, DbErr> {
    let rows: Vec<(i64, i64)> = response::Entity::find()
        .select_only()
        .column(response::Column::SubjectId)
        .column_as(Expr::col(response::Column::Id).count(), "n")
        .filter(response::Column::CampaignId.eq(campaign_id))
        .group_by(response::Column::SubjectId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Computes every subject's result and stores it (in the caller's
/// transaction, with the state change to closed).
pub async fn compute_results(db: &impl ConnectionTrait, c: &campaign::Model) -> Result<(), DbErr> {
    let items = items(db, c.id).await?;
    let item_ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let weights: Vec<i64> = items.iter().map(|i| i.weight as i64).collect();
    let subjects = subjects(db, c.id).await?;
    let counts = response_counts(db, c.id).await?;
    let sums: Vec<(i64, i64, i64)> = score::Entity::find()
        .select_only()
        .column(score::Column::SubjectId)
        .column(score::Column::ItemId)
        .column_as(Expr::col(score::Column::Score).sum(), "s")
        .filter(score::Column::CampaignId.eq(c.id))
        .group_by(score::Column::SubjectId)
        .group_by(score::Column::ItemId)
        .into_tuple()
        .all(db)
        .await?;
    let sums: HashMap<(i64, i64), i64> = sums.into_iter().map(|(s, i, v)| ((s, i), v)).collect();
    let mut panel: HashMap<i64, HashMap<i64, i64>> = HashMap::new();
    for p in panel_score::Entity::find()
        .filter(panel_score::Column::CampaignId.eq(c.id))
        .all(db)
        .await?
    {
        panel
            .entry(p.subject_id)
            .or_default()
            .insert(p.item_id, p.score as i64);
    }
    let scheme = scheme_of(c);
    let scored: Vec<(subject::Model, i64, rules::Scores)> = subjects
        .into_iter()
        .map(|s| {
            let responses = counts.get(&s.id).copied().unwrap_or(0);
            let collected = Collected {
                responses,
                resident_sums: item_ids
                    .iter()
                    .map(|i| sums.get(&(s.id, *i)).copied().unwrap_or(0))
                    .collect(),
                panel: panel.get(&s.id).and_then(|p| {
                    item_ids
                        .iter()
                        .map(|i| p.get(i).copied())
                        .collect::<Option<Vec<i64>>>()
                }),
            };
            let scores = rules::score(&weights, scheme, &collected);
            (s, responses, scores)
        })
        .collect();
    // Ranks among the rated subjects of each street, and of the district
    // when the campaign spans it.
    let rated: Vec<&(subject::Model, i64, rules::Scores)> = scored
        .iter()
        .filter(|(_, _, s)| s.total_centi.is_some())
        .collect();
    let district_wide = c.scope_kind == PlaceKind::District.as_str();
    let all_totals: Vec<i64> = rated.iter().filter_map(|r| r.2.total_centi).collect();
    let district_ranks = rules::ranks(&all_totals);
    let mut street_rank: HashMap<i64, (usize, usize)> = HashMap::new();
    // A subject without a street has no rank in a street.
    let mut by_street: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for r in &rated {
        if let Some(street) = r.0.street_id {
            by_street
                .entry(street)
                .or_default()
                .push((r.0.id, r.2.total_centi.unwrap_or(0)));
        }
    }
    for members in by_street.values() {
        let totals: Vec<i64> = members.iter().map(|m| m.1).collect();
        for ((id, _), rank) in members.iter().zip(rules::ranks(&totals)) {
            street_rank.insert(*id, (rank, members.len()));
        }
    }
    let mut district_rank: HashMap<i64, usize> = HashMap::new();
    for (r, rank) in rated.iter().zip(district_ranks) {
        district_rank.insert(r.0.id, rank);
    }
    result::Entity::delete_many()
        .filter(result::Column::CampaignId.eq(c.id))
        .exec(db)
        .await?;
    let n_all = rated.len();
    let rows: Vec<result::ActiveModel> = scored
        .iter()
        .map(|(s, responses, sc)| {
            let street = street_rank.get(&s.id).copied();
            let district = district_rank.get(&s.id).copied();
            // Stars by rank within the campaign's scope.
            let stars = if district_wide {
                district.map(|r| rules::stars(r, n_all)).unwrap_or(0)
            } else {
                street.map(|(r, n)| rules::stars(r, n)).unwrap_or(0)
            };
            result::ActiveModel {
                subject_id: Set(s.id),
                campaign_id: Set(c.id),
                district_code: Set(c.district_code.clone()),
                responses: Set(*responses as i32),
                residents_centi: Set(sc.residents_centi.map(|v| v as i32)),
                panel_centi: Set(sc.panel_centi.map(|v| v as i32)),
                total_centi: Set(sc.total_centi.map(|v| v as i32)),
                rank_in_street: Set(street.map(|(r, _)| r as i32)),
                rank_in_district: Set(if district_wide {
                    district.map(|r| r as i32)
                } else {
                    None
                }),
                stars: Set(stars as i32),
                list: Set(sc
                    .total_centi
                    .and_then(|t| scheme.list(t))
                    .map(|l| l.as_str().to_string())),
            }
        })
        .collect();
    for chunk in rows.chunks(200) {
        result::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

pub fn scheme_of(c: &campaign::Model) -> Scheme {
    Scheme {
        residents_weight: c.residents_weight as i64,
        red_threshold_centi: c.red_threshold_centi as i64,
        black_threshold_centi: c.black_threshold_centi as i64,
    }
}

pub async fn rectifications(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<rectification::Model>, DbErr> {
    rectification::Entity::find()
        .filter(rectification::Column::CampaignId.eq(campaign_id))
        .order_by_asc(rectification::Column::DueOn)
        .order_by_asc(rectification::Column::Id)
        .all(db)
        .await
}

pub async fn find_rectification(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<rectification::Model>, DbErr> {
    rectification::Entity::find_by_id(id).one(db).await
}

pub async fn insert_rectification(
    db: &impl ConnectionTrait,
    s: &subject::Model,
    text: &str,
    due_on: NaiveDate,
    created_by: i64,
) -> Result<i64, DbErr> {
    Ok(rectification::Entity::insert(rectification::ActiveModel {
        id: NotSet,
        campaign_id: Set(s.campaign_id),
        subject_id: Set(s.id),
        district_code: Set(s.district_code.clone()),
        compound_id: Set(s.compound_id),
        text: Set(text.to_string()),
        due_on: Set(due_on),
        done_at: Set(None),
        done_note: Set(None),
        created_by: Set(Some(created_by)),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?
    .last_insert_id)
}

pub async fn mark_done(db: &impl ConnectionTrait, id: i64, note: &str) -> Result<(), DbErr> {
    rectification::Entity::update_many()
        .col_expr(rectification::Column::DoneAt, Expr::value(Utc::now()))
        .col_expr(rectification::Column::DoneNote, Expr::value(note))
        .filter(rectification::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
