//! The ledgers page: for a node the reader exports (their top node by
//! default), one download link per ledger, the way up the tree and the
//! places below to drill into.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use jinlin_kernel::auth::User;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::EntityTrait;
use serde::Deserialize;

use crate::api::{self, LedgerList, PlaceRef};

pub fn router() -> Router<AppState> {
    Router::new().route("/ledgers", get(index))
}

#[derive(Debug, Deserialize)]
struct PlaceParam {
    place: Option<String>,
}

#[derive(Template)]
#[template(path = "ledgers_index.html")]
struct IndexPage {
    lang: Lang,
    list: Option<LedgerList>,
    kind: String,
    /// The reader's other top nodes.
    tops: Vec<PlaceRef>,
}

async fn index(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(q): Query<PlaceParam>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let place = match q.place.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| PageError::not_found())?),
    };
    let top_ids = api::tops(&user);
    let mut tops = Vec::new();
    for id in &top_ids {
        if let Some(p) = place::Entity::find_by_id(*id).one(db).await? {
            tops.push(PlaceRef::of(&p));
        }
    }
    let list = if place.is_none() && top_ids.is_empty() {
        None
    } else {
        let p = api::scope(db, &user, place).await?;
        Some(api::list(db, &user, lang, &p).await?)
    };
    let kind = list
        .as_ref()
        .map(|l| lang.t(&l.place.kind.label_key()).into_owned())
        .unwrap_or_default();
    if tops.len() < 2 {
        tops.clear();
    }
    let title = match &list {
        Some(l) => format!("{} · {}", l.place.name, lang.t("ledgers.title")),
        None => lang.t("ledgers.title").into_owned(),
    };
    Ok(ctx.page(
        &title,
        IndexPage {
            lang,
            list,
            kind,
            tops,
        },
    ))
}
