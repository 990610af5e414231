//! Pages of the place tree: browse from the district down to one dwelling,
//! search, and the forms to create, edit and delete registry places.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Access, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use serde::Deserialize;

use jinlin_people::api::{Occupants, occupants};

use crate::api::{self, CompoundDetails, DwellingDetails, NewPlace, PlaceChange, PlaceDetail};
use crate::rules::{self, AreaSource, CompoundType, TownArea};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/places", get(my_places))
        .route("/places/search", get(search))
        .route("/places/{id}", get(show))
        .route("/places/{id}/new", get(new_form).post(create))
        .route("/places/{id}/edit", get(edit_form).post(update))
        .route("/places/{id}/delete", post(delete))
        .route("/places/{id}/registry", get(registry))
}

fn kind_label(lang: Lang, kind: &str) -> String {
    lang.t(&format!("place.kind.{kind}")).into_owned()
}

struct Row {
    id: i64,
    name: String,
    kind: String,
    code: String,
    extra: String,
}

#[derive(Template)]
#[template(path = "place.html")]
struct PlacePage<'a> {
    lang: Lang,
    p: &'a PlaceDetail,
    kind: String,
    crumbs: Vec<(i64, String, bool)>,
    rows: Vec<Row>,
    page: u64,
    pages: u64,
    child_kind: String,
    can_edit: bool,
    can_add: bool,
    csrf: &'a str,
    summary: Option<store::RegistrySummary>,
    facts: Vec<(String, String)>,
    occupants: Option<Occupants>,
}

impl PlacePage<'_> {
    fn area(&self, centi: &i64) -> String {
        rules::format_area(*centi)
    }
}

#[derive(Deserialize)]
struct PageParam {
    page: Option<u64>,
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PageParam>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let p = api::visible_place(db, &user, id).await?;
    let detail = api::detail(db, &p).await?;
    let lang = ctx.lang;
    let crumbs = store::ancestors(db, &p)
        .await?
        .into_iter()
        .map(|a| {
            let link = store::visible(&user, &a);
            (a.id, a.name, link)
        })
        .collect();
    let page = store::children(db, p.id, q.page.unwrap_or(1).max(1), 100).await?;
    let kind = PlaceKind::parse(&p.kind).ok_or_else(PageError::not_found)?;
    let per_building = if kind == PlaceKind::Compound {
        store::dwellings_per_building(db, p.id).await?
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for c in page.items.iter().filter(|c| store::visible(&user, c)) {
        let extra = per_building
            .iter()
            .find(|(b, _)| *b == c.id)
            .map(|(_, n)| lang.tf("place.dwellings_count", &[("n", &n.to_string())]))
            .unwrap_or_default();
        rows.push(Row {
            id: c.id,
            name: c.name.clone(),
            kind: kind_label(lang, &c.kind),
            code: c.code.clone().unwrap_or_default(),
            extra,
        });
    }
    let summary = if kind == PlaceKind::Compound && user.can(Access::Registry, &p.position()) {
        Some(store::registry_summary(db, p.id).await?)
    } else {
        None
    };
    let mut facts = Vec::new();
    if let Some(code) = &detail.place.code {
        facts.push((lang.t("place.code").into_owned(), code.clone()));
    }
    if let Some(c) = &detail.compound {
        facts.push((
            lang.t("place.compound_type").into_owned(),
            lang.t(&format!("place.compound_type.{}", c.compound_type.as_str()))
                .into_owned(),
        ));
        facts.push((
            lang.t("place.town_area").into_owned(),
            lang.t(&format!("place.town_area.{}", c.town_area.as_str()))
                .into_owned(),
        ));
        if !c.address.is_empty() {
            facts.push((lang.t("place.address").into_owned(), c.address.clone()));
        }
        facts.push((
            lang.t("place.owners_committee").into_owned(),
            c.owners_committee
                .clone()
                .unwrap_or_else(|| lang.t("place.none").into_owned()),
        ));
        facts.push((
            lang.t("place.property_company").into_owned(),
            c.property_company
                .clone()
                .unwrap_or_else(|| lang.t("place.none").into_owned()),
        ));
    }
    if let Some(d) = &detail.dwelling {
        facts.push((
            lang.t("place.area").into_owned(),
            format!("{} m²", rules::format_area(d.area_centi_m2)),
        ));
        facts.push((
            lang.t("place.area_source").into_owned(),
            lang.t(&format!("place.area_source.{}", d.area_source.as_str()))
                .into_owned(),
        ));
    }
    let occupants = if kind == PlaceKind::Dwelling {
        Some(occupants(db, &user, &p).await?)
    } else {
        None
    };
    let can_edit = user.can(Access::Edit, &p.position());
    let child_kind = rules::creatable_child(kind);
    let body = PlacePage {
        lang,
        p: &detail,
        kind: kind_label(lang, &p.kind),
        crumbs,
        rows,
        page: page.page,
        pages: page.pages(),
        child_kind: child_kind
            .map(|k| kind_label(lang, k.as_str()))
            .unwrap_or_default(),
        can_edit: can_edit && !kind.has_division_code(),
        can_add: can_edit && child_kind.is_some(),
        csrf: ctx.csrf(),
        summary,
        facts,
        occupants,
    };
    Ok(ctx.page(&p.name, body))
}

#[derive(Template)]
#[template(path = "places_home.html")]
struct MyPlaces<'a> {
    lang: Lang,
    anchors: Vec<(i64, String, String)>,
    q: &'a str,
    results: Vec<Row>,
    searched: bool,
}

async fn my_places(ctx: Ctx, user: User) -> Response {
    let lang = ctx.lang;
    let anchors = user
        .grants
        .iter()
        .map(|g| {
            (
                g.place.id,
                g.place_name.clone(),
                lang.t(&g.role.label_key()).into_owned(),
            )
        })
        .collect();
    let body = MyPlaces {
        lang,
        anchors,
        q: "",
        results: Vec::new(),
        searched: false,
    };
    ctx.page(&lang.t("place.my_places"), body)
}

#[derive(Deserialize)]
struct SearchParam {
    q: Option<String>,
}

async fn search(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Query(param): Query<SearchParam>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let q: String = param.q.unwrap_or_default().chars().take(64).collect();
    let found = store::search(state.db.conn(), &user, &q, 50).await?;
    let results = found
        .iter()
        .map(|p| Row {
            id: p.id,
            name: p.name.clone(),
            kind: kind_label(lang, &p.kind),
            code: p.code.clone().unwrap_or_default(),
            extra: String::new(),
        })
        .collect();
    let body = MyPlaces {
        lang,
        anchors: Vec::new(),
        q: &q,
        results,
        searched: true,
    };
    Ok(ctx.page(&lang.t("place.search"), body))
}

/// The fields of the create and edit forms, all optional so that a missing
/// one becomes a message on the form rather than a bare 422.
#[derive(Debug, Default, Deserialize)]
struct PlaceForm {
    csrf: Option<String>,
    name: Option<String>,
    compound_type: Option<String>,
    town_area: Option<String>,
    address: Option<String>,
    owners_committee: Option<String>,
    property_company: Option<String>,
    area: Option<String>,
    area_source: Option<String>,
}

#[derive(Template)]
#[template(path = "place_form.html")]
struct FormPage<'a> {
    lang: Lang,
    title: String,
    action: String,
    csrf: &'a str,
    error: Option<String>,
    kind: &'a str,
    f: PlaceForm,
}

impl FormPage<'_> {
    fn val<'b>(&self, v: &'b Option<String>) -> &'b str {
        v.as_deref().unwrap_or("")
    }
}

fn form_details(
    kind: PlaceKind,
    f: &PlaceForm,
) -> Result<(Option<CompoundDetails>, Option<DwellingDetails>), String> {
    let lang = jinlin_kernel::i18n::current();
    match kind {
        PlaceKind::Compound => Ok((
            Some(CompoundDetails {
                compound_type: f
                    .compound_type
                    .as_deref()
                    .and_then(CompoundType::parse)
                    .ok_or_else(|| lang.t("place.error.compound_type").into_owned())?,
                town_area: f
                    .town_area
                    .as_deref()
                    .and_then(TownArea::parse)
                    .ok_or_else(|| lang.t("place.error.town_area").into_owned())?,
                address: f.address.clone().unwrap_or_default(),
                latitude_e6: None,
                longitude_e6: None,
                owners_committee: f.owners_committee.clone(),
                property_company: f.property_company.clone(),
            }),
            None,
        )),
        PlaceKind::Dwelling => Ok((
            None,
            Some(DwellingDetails {
                area_centi_m2: rules::parse_area_m2(f.area.as_deref().unwrap_or(""))
                    .map_err(|e| lang.t(e.key).into_owned())?,
                area_source: f
                    .area_source
                    .as_deref()
                    .and_then(AreaSource::parse)
                    .ok_or_else(|| lang.t("place.error.area_source").into_owned())?,
            }),
        )),
        _ => Ok((None, None)),
    }
}

async fn new_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let parent = api::editable_place(state.db.conn(), &user, id).await?;
    let kind = PlaceKind::parse(&parent.kind)
        .and_then(rules::creatable_child)
        .ok_or_else(PageError::not_found)?;
    Ok(render_form(
        &ctx,
        &parent,
        kind,
        true,
        PlaceForm::default(),
        None,
    ))
}

fn render_form(
    ctx: &Ctx,
    p: &place::Model,
    kind: PlaceKind,
    new: bool,
    f: PlaceForm,
    error: Option<String>,
) -> Response {
    let lang = ctx.lang;
    let label = kind_label(lang, kind.as_str());
    let title = if new {
        lang.tf("place.new_title", &[("kind", &label), ("parent", &p.name)])
    } else {
        lang.tf("place.edit_title", &[("name", &p.name)])
    };
    let body = FormPage {
        lang,
        title: title.clone(),
        action: format!("/places/{}/{}", p.id, if new { "new" } else { "edit" }),
        csrf: ctx.csrf(),
        error,
        kind: kind.as_str(),
        f,
    };
    let status = if body.error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    ctx.page_with_status(status, &title, body)
}

async fn create(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<PlaceForm>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let tx = state.db.write().await?;
    let parent = api::editable_place(&tx, &user, id).await?;
    let kind = PlaceKind::parse(&parent.kind)
        .and_then(rules::creatable_child)
        .ok_or_else(PageError::not_found)?;
    let (compound, dwelling) = match form_details(kind, &f) {
        Ok(d) => d,
        Err(message) => return Ok(render_form(&ctx, &parent, kind, true, f, Some(message))),
    };
    let new = NewPlace {
        name: f.name.clone().unwrap_or_default(),
        compound,
        dwelling,
    };
    match api::create_under(&tx, &user, &parent, &new).await {
        Ok(created) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/places/{}", created.id)).into_response())
        }
        Err(e) if e.status.is_client_error() => {
            Ok(render_form(&ctx, &parent, kind, true, f, Some(e.message)))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let p = api::editable_place(db, &user, id).await?;
    let kind = PlaceKind::parse(&p.kind).ok_or_else(PageError::not_found)?;
    if kind.has_division_code() {
        return Err(PageError::not_found());
    }
    let detail = api::detail(db, &p).await?;
    let mut f = PlaceForm {
        name: Some(p.name.clone()),
        ..Default::default()
    };
    if let Some(c) = detail.compound {
        f.compound_type = Some(c.compound_type.as_str().into());
        f.town_area = Some(c.town_area.as_str().into());
        f.address = Some(c.address);
        f.owners_committee = c.owners_committee;
        f.property_company = c.property_company;
    }
    if let Some(d) = detail.dwelling {
        f.area = Some(rules::format_area(d.area_centi_m2));
        f.area_source = Some(d.area_source.as_str().into());
    }
    Ok(render_form(&ctx, &p, kind, false, f, None))
}

async fn update(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<PlaceForm>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let tx = state.db.write().await?;
    let p = api::editable_place(&tx, &user, id).await?;
    let kind = PlaceKind::parse(&p.kind).ok_or_else(PageError::not_found)?;
    let (compound, dwelling) = match form_details(kind, &f) {
        Ok(d) => d,
        Err(message) => return Ok(render_form(&ctx, &p, kind, false, f, Some(message))),
    };
    let change = PlaceChange {
        name: f.name.clone(),
        compound,
        dwelling,
    };
    match api::apply_change(&tx, &user, &p, &change).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/places/{id}")).into_response())
        }
        Err(e) if e.status.is_client_error() => {
            Ok(render_form(&ctx, &p, kind, false, f, Some(e.message)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn delete(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check_csrf(f.csrf.as_deref())?;
    let tx = state.db.write().await?;
    let p = api::editable_place(&tx, &user, id).await?;
    api::remove(&tx, &user, &p).await?;
    tx.commit().await?;
    let back = p
        .parent_id
        .map(|id| format!("/places/{id}"))
        .unwrap_or_else(|| "/places".into());
    Ok(Redirect::to(&back).into_response())
}

struct RegistryRow {
    id: i64,
    building: String,
    entrance: String,
    name: String,
    area: String,
    owners: String,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct RegistryPage<'a> {
    lang: Lang,
    compound: &'a place::Model,
    rows: Vec<RegistryRow>,
    page: u64,
    pages: u64,
    total: u64,
}

/// A compound's dwellings with their areas and owners (phones masked), a
/// page at a time.
async fn registry(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<PageParam>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let compound = api::visible_place(db, &user, id).await?;
    if compound.kind != PlaceKind::Compound.as_str() {
        return Err(PageError::not_found());
    }
    if !user.can(Access::Registry, &compound.position()) {
        return Err(ApiError::forbidden().into());
    }
    let lang = ctx.lang;
    let page = store::compound_dwellings(db, id, q.page.unwrap_or(1).max(1), 100).await?;
    let ids: Vec<i64> = page.items.iter().map(|d| d.id).collect();
    let parents: Vec<i64> = page
        .items
        .iter()
        .flat_map(|d| [d.building_id, d.entrance_id])
        .flatten()
        .collect();
    let names = store::names(db, parents).await?;
    let areas = store::dwellings_by_id(db, ids.clone()).await?;
    let owners = jinlin_people::store::owners_of(db, &ids).await?;
    let person_ids: Vec<i64> = owners.iter().filter_map(|o| o.person_id).collect();
    let people = jinlin_people::store::people(db, &person_ids).await?;
    let rows = page
        .items
        .iter()
        .map(|d| {
            let owner_names: Vec<String> = owners
                .iter()
                .filter(|o| o.dwelling_id == d.id)
                .map(|o| match o.person_id.and_then(|pid| people.get(&pid)) {
                    Some(person) => {
                        let v = jinlin_people::api::view(person, false);
                        match v.phone {
                            Some(phone) => format!("{} {}", v.name, phone),
                            None => v.name,
                        }
                    }
                    None => o.company_name.clone().unwrap_or_default(),
                })
                .collect();
            let name_of =
                |id: Option<i64>| id.and_then(|i| names.get(&i)).cloned().unwrap_or_default();
            RegistryRow {
                id: d.id,
                building: name_of(d.building_id),
                entrance: name_of(d.entrance_id),
                name: d.name.clone(),
                area: areas
                    .get(&d.id)
                    .map(|a| rules::format_area(a.area_centi_m2))
                    .unwrap_or_default(),
                owners: owner_names.join("、"),
            }
        })
        .collect();
    let body = RegistryPage {
        lang,
        compound: &compound,
        rows,
        page: page.page,
        pages: page.pages(),
        total: page.total,
    };
    Ok(ctx.page(
        &lang.tf("place.registry_of", &[("name", &compound.name)]),
        body,
    ))
}
