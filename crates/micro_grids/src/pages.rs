//! Pages of micro-grids: the reader's own grids and the coverage table of a
//! place with drill-down to its children. They read through the same
//! functions as the API.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use jinlin_kernel::auth::User;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use serde::Deserialize;

use crate::api::{self, GridCoverage};
use crate::entity::micro_grid;
use crate::{rules, store};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

pub fn router() -> Router<AppState> {
    Router::new().route("/micro-grids", get(index))
}

#[derive(Deserialize)]
struct IndexQuery {
    place: Option<i64>,
}

#[derive(Template)]
#[template(path = "micro_grids_index.html")]
struct IndexPage {
    lang: Lang,
    /// (compound, grid, coverage) of the grids the reader works.
    mine: Vec<(String, String, String)>,
    coverage: Option<GridCoverage>,
}

async fn index(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(q): Query<IndexQuery>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let mut mine = Vec::new();
    for g in micro_grid::Entity::find()
        .filter(micro_grid::Column::WorkerAccountId.eq(user.account_id))
        .order_by_asc(micro_grid::Column::Id)
        .all(db)
        .await?
    {
        let Some(c) = jinlin_places::store::find(db, g.compound_id).await? else {
            continue;
        };
        let tally = store::coverage(db, &c)
            .await?
            .into_iter()
            .find(|(k, _)| *k == Some(g.id))
            .map(|(_, t)| t)
            .unwrap_or_default();
        mine.push((
            c.name,
            g.name,
            rules::percent(tally.coverage_permille()).unwrap_or_default(),
        ));
    }
    // The asked place, else the first anchor where coverage is counted.
    let place = q.place.or_else(|| {
        user.grants
            .iter()
            .find(|g| {
                matches!(
                    g.place.kind,
                    Some(
                        PlaceKind::District
                            | PlaceKind::Street
                            | PlaceKind::Community
                            | PlaceKind::Compound
                    )
                )
            })
            .map(|g| g.place.id)
    });
    let coverage = match place {
        Some(id) => match api::coverage_of(db, &user, id).await {
            Ok(c) => Some(c),
            Err(e) if q.place.is_some() => return Err(e.into()),
            Err(_) => None,
        },
        None => None,
    };
    let body = IndexPage {
        lang,
        mine,
        coverage,
    };
    Ok(ctx.page(&lang.t("micro_grids.title"), body))
}
