//! Pages of rating campaigns: the list, a campaign with its ranking and
//! star bands, the resident's response form, the panel's form and the
//! rectification items.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};

use crate::api::{self, CampaignView, ItemScore, NewCampaign, NewItem, NewRectification, Results};
use crate::rules::{self, CampaignState, ListMark, SubjectKind};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ratings", get(index))
        .route("/ratings/new", get(new_form).post(create))
        .route("/ratings/{id}", get(show))
        .route("/ratings/{id}/open", post(open))
        .route("/ratings/{id}/close", post(close))
        .route("/ratings/{id}/respond", get(respond_form).post(respond))
        .route("/ratings/{id}/rectifications", get(rectifications))
        .route("/ratings/subjects/{id}/panel", get(panel_form).post(panel))
        .route(
            "/ratings/subjects/{id}/rectifications",
            post(add_rectification),
        )
        .route("/ratings/rectifications/{id}/done", post(complete))
}

/// Form fields as posted: repeated and numbered names are kept in order.
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

fn item_name(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::En => en.to_string(),
        _ => zh.to_string(),
    }
}

fn stars_text(n: i64) -> String {
    "★".repeat(n.clamp(0, 5) as usize)
}

fn centi(v: Option<i64>) -> String {
    v.map(rules::format_centi).unwrap_or_else(|| "—".into())
}

// ---------------------------------------------------------------- index

struct CampaignRow {
    id: i64,
    period: String,
    scope: String,
    kind: String,
    dates: String,
    state: String,
}

#[derive(Template)]
#[template(path = "ratings_index.html")]
struct IndexPage {
    lang: Lang,
    rows: Vec<CampaignRow>,
    can_create: bool,
}

fn manager_scopes(user: &Principal) -> Vec<(i64, String)> {
    user.grants
        .iter()
        .filter(|g| matches!(g.role, Role::DistrictAdmin | Role::StreetAdmin))
        .filter(|g| matches!(g.place.kind, Some(PlaceKind::District | PlaceKind::Street)))
        .map(|g| (g.place.id, g.place_name.clone()))
        .collect()
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let rows = api::campaigns_for(state.db.conn(), &user)
        .await?
        .into_iter()
        .map(|c| CampaignRow {
            id: c.id,
            period: c.period,
            scope: c.scope_name,
            kind: lang
                .t(&format!("ratings.subject_kind.{}", c.subject_kind.as_str()))
                .into_owned(),
            dates: format!("{} – {}", c.opens_on, c.closes_on),
            state: lang
                .t(&format!("ratings.state.{}", c.state.as_str()))
                .into_owned(),
        })
        .collect();
    let body = IndexPage {
        lang,
        rows,
        can_create: !manager_scopes(&user).is_empty(),
    };
    Ok(ctx.page(&lang.t("ratings.title"), body))
}

// ---------------------------------------------------------------- create

#[derive(Template)]
#[template(path = "ratings_form.html")]
struct FormPage<'a> {
    lang: Lang,
    csrf: &'a str,
    error: Option<String>,
    scopes: Vec<(i64, String)>,
    values: HashMap<String, String>,
    rows: Vec<usize>,
}

impl FormPage<'_> {
    fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    fn vi(&self, prefix: &str, i: &usize) -> &str {
        self.v(&format!("{prefix}{i}"))
    }

    fn selected(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
}

const ITEM_ROWS: usize = 8;

fn default_values() -> HashMap<String, String> {
    let mut v = HashMap::new();
    v.insert("residents_weight".into(), "60".into());
    v.insert("red".into(), "90".into());
    v.insert("black".into(), "60".into());
    v.insert("subject_kind".into(), "property_company".into());
    for (i, key) in ["service", "fees", "cleanliness", "security", "response"]
        .iter()
        .enumerate()
    {
        let k = format!("ratings.default_item.{key}");
        v.insert(format!("item_zh_{i}"), Lang::ZhCn.t(&k).into_owned());
        v.insert(format!("item_en_{i}"), Lang::En.t(&k).into_owned());
        v.insert(format!("weight_{i}"), "20".into());
    }
    v
}

fn render_form(
    ctx: &Ctx,
    user: &Principal,
    values: HashMap<String, String>,
    error: Option<String>,
) -> Response {
    let lang = ctx.lang;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = FormPage {
        lang,
        csrf: ctx.csrf(),
        error,
        scopes: manager_scopes(user),
        values,
        rows: (0..ITEM_ROWS).collect(),
    };
    ctx.page_with_status(status, &lang.t("ratings.new_campaign"), body)
}

async fn new_form(ctx: Ctx, user: User) -> Result<Response, PageError> {
    if manager_scopes(&user).is_empty() {
        return Err(ApiError::forbidden().into());
    }
    Ok(render_form(&ctx, &user, default_values(), None))
}

fn form_campaign(f: &HashMap<String, String>) -> Result<NewCampaign, String> {
    let lang = jinlin_kernel::i18n::current();
    let get = |k: &str| f.get(k).map(|s| s.trim()).unwrap_or("");
    let number = |k: &str| -> Result<i64, String> {
        get(k)
            .parse::<i64>()
            .map_err(|_| lang.t("ratings.error.number").into_owned())
    };
    let points = |k: &str| -> Result<i64, String> {
        rules::parse_points(get(k))
            .ok_or_else(|| lang.t("ratings.error.threshold_range").into_owned())
    };
    let date = |k: &str| -> Result<NaiveDate, String> {
        NaiveDate::parse_from_str(get(k), "%Y-%m-%d")
            .map_err(|_| lang.t("ratings.error.date").into_owned())
    };
    let mut items = Vec::new();
    for i in 0..ITEM_ROWS {
        let zh = get(&format!("item_zh_{i}"));
        let en = get(&format!("item_en_{i}"));
        let w = get(&format!("weight_{i}"));
        if zh.is_empty() && en.is_empty() && w.is_empty() {
            continue;
        }
        items.push(NewItem {
            name_zh: zh.to_string(),
            name_en: en.to_string(),
            weight: w
                .parse()
                .map_err(|_| lang.t("ratings.error.weight").into_owned())?,
        });
    }
    Ok(NewCampaign {
        scope_place_id: number("scope_place_id")?,
        period: get("period").to_string(),
        subject_kind: SubjectKind::parse(get("subject_kind"))
            .ok_or_else(|| lang.t("ratings.error.label").into_owned())?,
        opens_on: date("opens_on")?,
        closes_on: date("closes_on")?,
        residents_weight: number("residents_weight")?,
        red_threshold_centi: points("red")?,
        black_threshold_centi: points("black")?,
        items,
    })
}

async fn create(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let values: HashMap<String, String> = f.into_iter().filter(|(k, _)| k != "csrf").collect();
    let new = match form_campaign(&values) {
        Ok(n) => n,
        Err(message) => return Ok(render_form(&ctx, &user, values, Some(message))),
    };
    let tx = state.db.write().await?;
    match api::create(&tx, &user, &new).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/ratings/{id}")).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(render_form(&ctx, &user, values, Some(e.message)))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- campaign

struct RankRow {
    rank: String,
    street_rank: String,
    name: String,
    compound: String,
    street: String,
    responses: i64,
    residents: String,
    panel: String,
    total: String,
    stars: i64,
    stars_text: String,
    stars_label: String,
    list: String,
    list_class: &'static str,
    mine: bool,
}

struct PanelLink {
    subject_id: i64,
    name: String,
    compound: String,
    scored: bool,
}

#[derive(Template)]
#[template(path = "ratings_campaign.html")]
struct CampaignPage<'a> {
    lang: Lang,
    csrf: &'a str,
    c: &'a CampaignView,
    kind: String,
    state_label: String,
    weighting: String,
    thresholds: String,
    items: Vec<(String, i64)>,
    is_draft: bool,
    is_open: bool,
    is_closed: bool,
    district_wide: bool,
    rows: Vec<RankRow>,
    panel_links: Vec<PanelLink>,
}

fn rank_rows(lang: Lang, r: &Results) -> Vec<RankRow> {
    r.rows
        .iter()
        .map(|row| {
            let rank = row.rank_in_district.or(row.rank_in_street);
            let (list, list_class) = match row.list {
                Some(ListMark::Red) => (lang.t("ratings.list.red").into_owned(), "list-red"),
                Some(ListMark::Black) => (lang.t("ratings.list.black").into_owned(), "list-black"),
                None => (String::new(), ""),
            };
            RankRow {
                rank: rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
                street_rank: row
                    .rank_in_street
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "—".into()),
                name: row.name.clone(),
                compound: row.compound_name.clone(),
                street: row.street_name.clone(),
                responses: row.responses,
                residents: centi(row.residents_centi),
                panel: centi(row.panel_centi),
                total: centi(row.total_centi),
                stars: row.stars,
                stars_text: stars_text(row.stars),
                stars_label: if row.stars > 0 {
                    lang.tf("ratings.stars_n", &[("n", &row.stars.to_string())])
                } else {
                    lang.t("ratings.unrated").into_owned()
                },
                list,
                list_class,
                mine: r.my_subject_id == Some(row.subject_id),
            }
        })
        .collect()
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let lang = ctx.lang;
    let (c, scope) = api::visible_campaign(db, &user, id).await?;
    let view = api::campaign_view(db, &user, &c, &scope).await?;
    let results = api::results(db, &user, &c).await?;
    let st = view.summary.state;
    let mut panel_links = Vec::new();
    if st == CampaignState::Open
        && user
            .grants
            .iter()
            .any(|g| matches!(g.role, Role::CompoundSecretary | Role::CommunityWorker))
    {
        let subjects = store::subjects(db, c.id).await?;
        let compounds = store::places(db, subjects.iter().map(|s| s.compound_id).collect()).await?;
        for s in subjects {
            let Some(compound) = compounds.get(&s.compound_id) else {
                continue;
            };
            if api::scores_as_panel(&user, &compound.position()) {
                let scored = !store::panel_scores(db, s.id).await?.is_empty();
                panel_links.push(PanelLink {
                    subject_id: s.id,
                    name: s.name,
                    compound: compound.name.clone(),
                    scored,
                });
            }
        }
    }
    let body = CampaignPage {
        lang,
        csrf: ctx.csrf(),
        kind: lang
            .t(&format!(
                "ratings.subject_kind.{}",
                view.summary.subject_kind.as_str()
            ))
            .into_owned(),
        state_label: lang
            .t(&format!("ratings.state.{}", st.as_str()))
            .into_owned(),
        weighting: lang.tf(
            "ratings.weighting",
            &[
                ("residents", &view.residents_weight.to_string()),
                ("panel", &(100 - view.residents_weight).to_string()),
            ],
        ),
        thresholds: lang.tf(
            "ratings.thresholds",
            &[
                ("red", &rules::format_centi(view.red_threshold_centi)),
                ("black", &rules::format_centi(view.black_threshold_centi)),
            ],
        ),
        items: view
            .items
            .iter()
            .map(|i| (item_name(lang, &i.name_zh, &i.name_en), i.weight))
            .collect(),
        is_draft: st == CampaignState::Draft,
        is_open: st == CampaignState::Open,
        is_closed: st == CampaignState::Closed,
        district_wide: c.scope_kind == PlaceKind::District.as_str(),
        rows: rank_rows(lang, &results),
        panel_links,
        c: &view,
    };
    Ok(ctx.page(&view.summary.period, body))
}

async fn open(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::open(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/ratings/{id}")).into_response())
}

async fn close(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::close(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/ratings/{id}")).into_response())
}

// ---------------------------------------------------------------- scores

struct ScoreField {
    item_id: i64,
    name: String,
    weight: i64,
    value: String,
}

#[derive(Template)]
#[template(path = "ratings_scores.html")]
struct ScoresPage<'a> {
    lang: Lang,
    csrf: &'a str,
    title: String,
    hint: String,
    action: String,
    back: String,
    error: Option<String>,
    notice: Option<String>,
    fields: Vec<ScoreField>,
    submit: String,
}

fn score_fields(
    lang: Lang,
    items: &[crate::entity::item::Model],
    values: &HashMap<i64, String>,
) -> Vec<ScoreField> {
    items
        .iter()
        .map(|i| ScoreField {
            item_id: i.id,
            name: item_name(lang, &i.name_zh, &i.name_en),
            weight: i.weight as i64,
            value: values.get(&i.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Reads `score_<item id>` fields; a value that is not a whole number is
/// refused with the range message.
fn form_scores(f: &Fields) -> Result<Vec<ItemScore>, String> {
    let lang = jinlin_kernel::i18n::current();
    let mut out = Vec::new();
    for (k, v) in f {
        let Some(item) = k.strip_prefix("score_") else {
            continue;
        };
        let item_id = item
            .parse()
            .map_err(|_| lang.t("ratings.error.unknown_item").into_owned())?;
        let score = v
            .trim()
            .parse()
            .map_err(|_| lang.t("ratings.error.score_range").into_owned())?;
        out.push(ItemScore { item_id, score });
    }
    Ok(out)
}

fn posted_values(f: &Fields) -> HashMap<i64, String> {
    f.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("score_")?.parse().ok()?, v.clone())))
        .collect()
}

async fn respond_page(
    ctx: &Ctx,
    user: &Principal,
    state: &AppState,
    id: i64,
    values: HashMap<i64, String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let lang = ctx.lang;
    let (c, scope) = api::visible_campaign(db, user, id).await?;
    let view = api::campaign_view(db, user, &c, &scope).await?;
    let Some(my) = &view.my else {
        return Err(ApiError::with_message(
            StatusCode::FORBIDDEN,
            "forbidden",
            lang.t("ratings.error.not_resident"),
        )
        .into());
    };
    let subject = store::find_subject(db, my.subject_id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let items = store::items(db, c.id).await?;
    let notice = if my.responded {
        Some(lang.t("ratings.responded").into_owned())
    } else if view.summary.state != CampaignState::Open {
        Some(lang.t("ratings.error.not_open").into_owned())
    } else {
        None
    };
    let fields = if notice.is_some() {
        Vec::new()
    } else {
        score_fields(lang, &items, &values)
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let title = lang.tf("ratings.respond_title", &[("name", &subject.name)]);
    let body = ScoresPage {
        lang,
        csrf: ctx.csrf(),
        title: title.clone(),
        hint: lang.t("ratings.respond_hint").into_owned(),
        action: format!("/ratings/{id}/respond"),
        back: format!("/ratings/{id}"),
        error,
        notice,
        fields,
        submit: lang.t("ratings.submit").into_owned(),
    };
    Ok(ctx.page_with_status(status, &title, body))
}

async fn respond_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    respond_page(&ctx, &user, &state, id, HashMap::new(), None).await
}

async fn respond(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let values = posted_values(&f);
    let scores = match form_scores(&f) {
        Ok(s) => s,
        Err(m) => return respond_page(&ctx, &user, &state, id, values, Some(m)).await,
    };
    let tx = state.db.write().await?;
    let new = api::NewResponse {
        dwelling_id: None,
        scores,
    };
    match api::add_response(&tx, &user, id, &new).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/ratings/{id}")).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            drop(tx);
            respond_page(&ctx, &user, &state, id, values, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn panel_page(
    ctx: &Ctx,
    user: &Principal,
    state: &AppState,
    subject_id: i64,
    values: Option<HashMap<i64, String>>,
    error: Option<String>,
    saved: bool,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let lang = ctx.lang;
    let (s, c, _, compound) = api::visible_subject(db, user, subject_id).await?;
    if !api::scores_as_panel(user, &compound.position()) {
        return Err(ApiError::forbidden().into());
    }
    let items = store::items(db, c.id).await?;
    let values = match values {
        Some(v) => v,
        None => store::panel_scores(db, s.id)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
    };
    let open = c.state == CampaignState::Open.as_str();
    let notice = if !open {
        Some(lang.t("ratings.error.not_open").into_owned())
    } else if saved {
        Some(lang.t("ratings.saved").into_owned())
    } else {
        None
    };
    let title = lang.tf(
        "ratings.panel_title",
        &[("name", &format!("{}（{}）", s.name, compound.name))],
    );
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = ScoresPage {
        lang,
        csrf: ctx.csrf(),
        title: title.clone(),
        hint: lang.t("ratings.panel_hint").into_owned(),
        action: format!("/ratings/subjects/{subject_id}/panel"),
        back: format!("/ratings/{}", c.id),
        error,
        notice,
        fields: if open {
            score_fields(lang, &items, &values)
        } else {
            Vec::new()
        },
        submit: lang.t("ratings.save").into_owned(),
    };
    Ok(ctx.page_with_status(status, &title, body))
}

async fn panel_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    panel_page(&ctx, &user, &state, id, None, None, false).await
}

async fn panel(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let values = posted_values(&f);
    let scores = match form_scores(&f) {
        Ok(s) => s,
        Err(m) => return panel_page(&ctx, &user, &state, id, Some(values), Some(m), false).await,
    };
    let tx = state.db.write().await?;
    match api::panel(&tx, &user, id, &scores).await {
        Ok(()) => {
            tx.commit().await?;
            panel_page(&ctx, &user, &state, id, None, None, true).await
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            drop(tx);
            panel_page(
                &ctx,
                &user,
                &state,
                id,
                Some(values),
                Some(e.message),
                false,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- rectification

struct BlackRow {
    subject_id: i64,
    name: String,
    compound: String,
}

#[derive(Template)]
#[template(path = "ratings_rectifications.html")]
struct RectificationsPage<'a> {
    lang: Lang,
    csrf: &'a str,
    campaign_id: i64,
    period: String,
    items: Vec<api::RectificationView>,
    black: Vec<BlackRow>,
    error: Option<String>,
}

async fn rectifications_page(
    ctx: &Ctx,
    user: &Principal,
    state: &AppState,
    id: i64,
    error: Option<String>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let lang = ctx.lang;
    let (c, _) = api::visible_campaign(db, user, id).await?;
    let items = api::rectification_views(db, user, &c).await?;
    let mut black = Vec::new();
    if user
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::DistrictAdmin | Role::StreetAdmin))
    {
        let rows = api::results(db, user, &c).await?.rows;
        let compounds = store::places(db, rows.iter().map(|r| r.compound_id).collect()).await?;
        for r in rows {
            if r.list != Some(ListMark::Black) {
                continue;
            }
            let Some(compound) = compounds.get(&r.compound_id) else {
                continue;
            };
            if api::manages(user, &compound.position()) {
                black.push(BlackRow {
                    subject_id: r.subject_id,
                    name: r.name,
                    compound: r.compound_name,
                });
            }
        }
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = RectificationsPage {
        lang,
        csrf: ctx.csrf(),
        campaign_id: c.id,
        period: c.period.clone(),
        items,
        black,
        error,
    };
    Ok(ctx.page_with_status(status, &lang.t("ratings.rectifications"), body))
}

async fn rectifications(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    rectifications_page(&ctx, &user, &state, id, None).await
}

async fn add_rectification(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(subject_id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let lang = ctx.lang;
    let (s, _, _, _) = api::visible_subject(state.db.conn(), &user, subject_id).await?;
    let Ok(due_on) = NaiveDate::parse_from_str(field(&f, "due_on").trim(), "%Y-%m-%d") else {
        let m = lang.t("ratings.error.date").into_owned();
        return rectifications_page(&ctx, &user, &state, s.campaign_id, Some(m)).await;
    };
    let new = NewRectification {
        text: field(&f, "text").to_string(),
        due_on,
    };
    let tx = state.db.write().await?;
    match api::add_rectification(&tx, &user, subject_id, &new).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/ratings/{}/rectifications", s.campaign_id)).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            drop(tx);
            rectifications_page(&ctx, &user, &state, s.campaign_id, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn complete(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let r = store::find_rectification(state.db.conn(), id)
        .await?
        .ok_or_else(PageError::not_found)?;
    let tx = state.db.write().await?;
    match api::complete(&tx, &user, id, field(&f, "note")).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/ratings/{}/rectifications", r.campaign_id)).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            drop(tx);
            rectifications_page(&ctx, &user, &state, r.campaign_id, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}
