//! Pages of the cockpit: `/cockpit` opens at the reader's own top node,
//! `/cockpit/{id}` at any node below it. Figure cards by section, the
//! children ranked by a chosen figure with a drill-down to each, a bar
//! chart of that ranking (ECharts, drawn by `/assets/cockpit.js` from a
//! `data-` attribute), a wall mode (`?wall=1`) and print styles.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use jinlin_kernel::auth::User;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use serde::Deserialize;

use crate::api::{self, FigureView};
use crate::rules::{By, Key, Section};
use crate::{figures, store};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cockpit", get(own))
        .route("/cockpit/{id}", get(at))
}

#[derive(Debug, Deserialize, Default)]
struct Params {
    figure: Option<String>,
    wall: Option<String>,
    /// `month` (the default) or `quarter`, for the trend.
    by: Option<String>,
}

impl Params {
    fn wall(&self) -> bool {
        matches!(self.wall.as_deref(), Some("1" | "true" | "on"))
    }
}

struct Card {
    key: &'static str,
    label: String,
    display: String,
    fraction: String,
    parts: Vec<(String, u64)>,
    /// Ranked by below.
    chosen: bool,
}

struct Block {
    title: String,
    cards: Vec<Card>,
}

struct Row {
    rank: String,
    id: i64,
    name: String,
    display: String,
    fraction: String,
}

#[derive(Template)]
#[template(path = "cockpit.html")]
struct CockpitPage {
    lang: Lang,
    id: i64,
    name: String,
    kind: String,
    quarter: String,
    trail: Vec<(i64, String)>,
    others: Vec<(i64, String)>,
    blocks: Vec<Block>,
    figure: &'static str,
    figure_label: String,
    options: Vec<(&'static str, String)>,
    child_kind: String,
    rows: Vec<Row>,
    /// `{"label": …, "names": […], "values": […]}` for the chart.
    chart: String,
    wall: bool,
    /// The chosen figure's trend: `{"label", "periods", "counts", "wall"}`,
    /// or empty when it has none (a standing figure, or joint meetings
    /// below a street).
    trend: String,
    /// The trend in a table, for those who read rather than look.
    trend_rows: Vec<(String, String)>,
    /// The trend is of a standing figure, from daily snapshots.
    from_snapshots: bool,
    /// When the figures were computed, China time (`2026-12-02 10:30`);
    /// empty when gathered at the moment of reading.
    as_of: String,
    /// `month` or `quarter`.
    by: &'static str,
    /// Children whose figures are out of date: (id, name, when).
    behind: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "cockpit_wall.html")]
struct WallPage<'a> {
    lang: Lang,
    title: &'a str,
    body: &'a str,
}

/// A time as China reads it, to the minute: `2026-12-02 10:30`.
fn china_minute(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&jinlin_kernel::time::china())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn kind_label(lang: Lang, kind: &str) -> String {
    lang.t(&format!("cockpit.kind.{kind}")).into_owned()
}

fn card(f: FigureView, chosen: Key) -> Card {
    Card {
        key: f.key.as_str(),
        label: f.label,
        display: f.display.unwrap_or_else(|| "—".into()),
        fraction: f.fraction.unwrap_or_default(),
        parts: f.parts.into_iter().map(|p| (p.label, p.count)).collect(),
        chosen: f.key == chosen,
    }
}

async fn own(
    ctx: Ctx,
    user: User,
    state: State<AppState>,
    q: Query<Params>,
) -> Result<Response, PageError> {
    let tops = api::top_nodes(&user);
    let Some((id, _)) = tops.first().cloned() else {
        return Err(PageError::not_found());
    };
    render(ctx, user, state, id, q.0, tops).await
}

async fn at(
    ctx: Ctx,
    user: User,
    state: State<AppState>,
    Path(id): Path<i64>,
    q: Query<Params>,
) -> Result<Response, PageError> {
    let tops = api::top_nodes(&user);
    render(ctx, user, state, id, q.0, tops).await
}

async fn render(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    id: i64,
    q: Params,
    tops: Vec<(i64, String)>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let p = api::node(db, &user, id).await?;
    let key = api::figure_key(q.figure.as_deref())?;
    let by = api::trend_by(q.by.as_deref())?;
    let now = Utc::now();
    let b = figures::board(&state.db, &p, now).await?;
    let trail = api::trail(db, &user, &p).await?;
    let trend = if (key.has_trend() && store::counted_at(key, &p))
        || (!key.has_trend() && api::has_snapshots(&p))
    {
        Some(api::trend(state.db.reads(), lang, &p, key, by, now).await?)
    } else {
        None
    };
    let view = api::view(lang, &b, trail);
    let ranking = api::ranking(lang, &b, key);
    let mut blocks: Vec<Block> = Section::ALL
        .iter()
        .map(|s| Block {
            title: lang
                .t(&format!("cockpit.section.{}", s.as_str()))
                .into_owned(),
            cards: Vec::new(),
        })
        .collect();
    for f in view.figures {
        let i = Section::ALL
            .iter()
            .position(|s| *s == f.section)
            .unwrap_or(0);
        blocks[i].cards.push(card(f, key));
    }
    let child_kind = PlaceKind::parse(&p.kind)
        .and_then(PlaceKind::child)
        .filter(|k| *k <= PlaceKind::Compound)
        .unwrap_or(PlaceKind::Compound)
        .as_str();
    let chart = serde_json::json!({
        "label": ranking.label,
        "names": ranking.children.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "values": ranking.children.iter().map(|c| c.value).collect::<Vec<_>>(),
        "wall": q.wall(),
    })
    .to_string();
    let page = CockpitPage {
        lang,
        id: p.id,
        name: p.name.clone(),
        kind: kind_label(lang, &p.kind),
        quarter: view.quarter,
        trail: view
            .trail
            .into_iter()
            .map(|c| (c.place_id, c.name))
            .collect(),
        // The reader's other top nodes, beside one of them (below, the
        // trail leads back up).
        others: if tops.iter().any(|(t, _)| *t == p.id) {
            tops.into_iter().filter(|(t, _)| *t != p.id).collect()
        } else {
            Vec::new()
        },
        blocks,
        figure: key.as_str(),
        figure_label: ranking.label.clone(),
        options: Key::ALL
            .iter()
            .map(|k| {
                (
                    k.as_str(),
                    lang.t(&format!("cockpit.figure.{}", k.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        child_kind: kind_label(lang, child_kind),
        rows: ranking
            .children
            .into_iter()
            .map(|c| Row {
                rank: c.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
                id: c.place_id,
                name: c.name,
                display: c.display.unwrap_or_else(|| "—".into()),
                fraction: c.fraction.unwrap_or_default(),
            })
            .collect(),
        chart,
        wall: q.wall(),
        trend: trend
            .as_ref()
            .map(|t| {
                serde_json::json!({
                    "label": t.label,
                    "periods": t.points.iter().map(|p| p.period.clone()).collect::<Vec<_>>(),
                    // Counts as integers; a share or mean as its number;
                    // null where a period has nothing (a gap in the line).
                    "counts": t.points.iter().map(|p| {
                        p.count.map(serde_json::Value::from).or(p.value.map(serde_json::Value::from))
                    }).collect::<Vec<_>>(),
                    "wall": q.wall(),
                })
                .to_string()
            })
            .unwrap_or_default(),
        from_snapshots: !key.has_trend(),
        as_of: b.computed_at.map(china_minute).unwrap_or_default(),
        behind: view
            .behind
            .into_iter()
            .map(|x| {
                let when = match x.computed_at {
                    Some(t) => lang.tf("cockpit.behind_at", &[("time", &china_minute(t))]),
                    None => lang.t("cockpit.behind_never").into_owned(),
                };
                (x.place_id, x.name, when)
            })
            .collect(),
        trend_rows: trend
            .map(|t| {
                t.points
                    .into_iter()
                    .map(|p| (p.period, p.display.unwrap_or_else(|| "—".into())))
                    .collect()
            })
            .unwrap_or_default(),
        by: match by {
            By::Month => "month",
            By::Quarter => "quarter",
        },
    };
    let title = format!("{} · {}", p.name, lang.t("cockpit.title"));
    if !page.wall {
        return Ok(ctx.page(&title, page));
    }
    // The wall: a page of its own, without the site's header and nav.
    let body = page.render().map_err(PageError::internal)?;
    let html = WallPage {
        lang,
        title: &title,
        body: &body,
    }
    .render()
    .map_err(PageError::internal)?;
    Ok(([(header::VARY, "Cookie, Accept-Language")], Html(html)).into_response())
}
