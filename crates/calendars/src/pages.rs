//! The calendars page: the reader's feeds (their own, their places', their
//! teams') with links that work while signed in, and the form that issues
//! the feed token whose URLs calendar apps subscribe to, shown once.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::ConnectionTrait;

use crate::{api, token};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendars", get(index).post(new_token))
}

type Fields = HashMap<String, String>;

/// One feed of the reader: its name, what it is, and its path under
/// `/calendars/` (`me.ics`, `places/12.ics`, `teams/3.ics`).
pub struct Feed {
    pub name: String,
    pub what: String,
    pub path: String,
}

#[derive(Template)]
#[template(path = "calendars_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    feeds: Vec<Feed>,
    has_token: bool,
    /// Shown once, right after a new token.
    token: Option<String>,
    /// The team the page was opened for (kept through the token form).
    team: Option<i64>,
}

fn kind_label(lang: Lang, kind: Option<PlaceKind>) -> String {
    let key = match kind {
        Some(PlaceKind::Street) => "calendars.what.street",
        Some(PlaceKind::Community) => "calendars.what.community",
        _ => "calendars.what.compound",
    };
    lang.t(key).into_owned()
}

/// The reader's feeds: their own; the compounds and communities of their
/// roles whose venues they see; the streets whose joint meetings they may
/// list; the teams they belong to or that serve their places; and `team`
/// when they may see it.
pub async fn feeds(
    db: &impl ConnectionTrait,
    user: &Principal,
    lang: Lang,
    team: Option<i64>,
) -> Result<Vec<Feed>, ApiError> {
    let mut out = vec![Feed {
        name: user.display_name.clone(),
        what: lang.t("calendars.mine").into_owned(),
        path: "me.ics".into(),
    }];
    let mut places: Vec<i64> = Vec::new();
    let mut streets: Vec<i64> = Vec::new();
    for g in &user.grants {
        let own = matches!(
            g.place.kind,
            Some(PlaceKind::Compound | PlaceKind::Community)
        )
        .then_some(g.place.id);
        places.extend(
            [own, g.place.compound_id, g.place.community_id]
                .into_iter()
                .flatten(),
        );
        match g.role {
            Role::StreetAdmin if g.place.kind == Some(PlaceKind::Street) => {
                streets.push(g.place.id)
            }
            Role::CommunityWorker | Role::CompoundSecretary => streets.extend(g.place.street_id),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut team_places = Vec::new();
    for id in places {
        if !seen.insert(id) {
            continue;
        }
        if let Ok(p) = jinlin_venues::api::visible_place(db, user, id).await {
            out.push(Feed {
                what: kind_label(lang, PlaceKind::parse(&p.kind)),
                name: p.name,
                path: format!("places/{}.ics", p.id),
            });
            team_places.push(p.id);
        }
    }
    for id in streets {
        if !seen.insert(id) {
            continue;
        }
        if let Ok((p, _)) = jinlin_joint_meetings::api::street_meetings(db, user, id).await {
            out.push(Feed {
                what: kind_label(lang, Some(PlaceKind::Street)),
                name: p.name,
                path: format!("places/{}.ics", p.id),
            });
        }
    }

    // Teams: the reader's own, those serving the places above, the one asked for.
    let mut team_ids: Vec<i64> = jinlin_volunteers::store::memberships_of(db, user.account_id)
        .await?
        .into_iter()
        .map(|m| m.team_id)
        .collect();
    if !team_places.is_empty() {
        use jinlin_volunteers::entity::volunteer_team;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        team_ids.extend(
            volunteer_team::Entity::find()
                .filter(volunteer_team::Column::PlaceId.is_in(team_places))
                .order_by_asc(volunteer_team::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|t| t.id),
        );
    }
    team_ids.extend(team);
    let mut seen = std::collections::HashSet::new();
    for id in team_ids {
        if !seen.insert(id) {
            continue;
        }
        if let Ok(t) = jinlin_volunteers::api::team_access(db, user, id).await {
            out.push(Feed {
                name: t.team.name,
                what: lang.t("calendars.what.team").into_owned(),
                path: format!("teams/{}.ics", t.team.id),
            });
        }
    }
    Ok(out)
}

fn team_of(value: Option<&String>) -> Option<i64> {
    value.and_then(|v| v.trim().parse().ok())
}

async fn index(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(q): Query<Fields>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let team = team_of(q.get("team"));
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        feeds: feeds(db, &user, lang, team).await?,
        has_token: token::exists(db, user.account_id).await?,
        token: None,
        team,
    };
    Ok(ctx.page(&lang.t("calendars.title"), body))
}

async fn new_token(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    user.check_csrf(f.get("csrf").map(|s| s.as_str()))?;
    let lang = ctx.lang;
    let tx = state.db.write().await?;
    let token = api::issue(&tx, &user).await?;
    tx.commit().await?;
    let team = team_of(f.get("team"));
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        feeds: feeds(state.db.conn(), &user, lang, team).await?,
        has_token: true,
        token: Some(token),
        team,
    };
    Ok(ctx.page(&lang.t("calendars.title"), body))
}
