//! Pages of personal data rights: a person's data, readable, with the
//! JSON download and (for officials who may) the erasure form; and the
//! signed-in person's own data at `/account/my-data`. Every write goes
//! through the same function as the API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jinlin_kernel::auth::User;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::JsonValue;

use crate::api::{self, Entitled, Export};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people/{id}/data", get(person_page))
        .route("/people/{id}/erase", post(erase))
        .route("/account/my-data", get(own_page))
}

struct Field {
    label: String,
    value: String,
}

struct SectionView {
    heading: String,
    rows: Vec<Vec<Field>>,
}

struct DwellingView {
    relation: String,
    address: String,
}

#[derive(Template)]
#[template(path = "privacy_person.html")]
struct PersonPage<'a> {
    lang: Lang,
    csrf: &'a str,
    own: bool,
    person_id: i64,
    json_url: String,
    particulars: Vec<Field>,
    erasure: Option<Vec<Field>>,
    dwellings: Vec<DwellingView>,
    sections: Vec<SectionView>,
    empty_note: String,
    can_erase: bool,
}

#[derive(Template)]
#[template(path = "privacy_none.html")]
struct NonePage {
    lang: Lang,
}

fn text(v: &JsonValue) -> String {
    match v {
        JsonValue::Null => "—".into(),
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field(label: String, value: impl Into<String>) -> Field {
    Field {
        label,
        value: value.into(),
    }
}

fn or_dash(v: Option<&str>) -> String {
    v.map(str::to_string).unwrap_or_else(|| "—".into())
}

fn yes_no(lang: Lang, b: bool) -> String {
    lang.t(if b { "privacy.yes" } else { "privacy.no" })
        .into_owned()
}

fn render(ctx: &Ctx, lang: Lang, e: Export, own: bool, can_erase: bool) -> Response {
    let p = &e.person;
    let particulars = vec![
        field(lang.t("privacy.field.name").into_owned(), p.name.clone()),
        field(
            lang.t("privacy.field.phone").into_owned(),
            or_dash(p.phone.as_deref()),
        ),
        field(
            lang.t("privacy.field.id_number").into_owned(),
            or_dash(p.id_number.as_deref()),
        ),
        field(
            lang.t("privacy.field.party_member").into_owned(),
            yes_no(lang, p.party_member),
        ),
        field(
            lang.t("privacy.field.employer").into_owned(),
            or_dash(p.employer.as_deref()),
        ),
        field(
            lang.t("privacy.field.created_at").into_owned(),
            p.created_at.format("%Y-%m-%d %H:%M").to_string(),
        ),
    ];
    let erasure = e.erasure.as_ref().map(|x| {
        vec![
            field(
                lang.t("privacy.erased_at").into_owned(),
                x.erased_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            ),
            field(
                lang.t("privacy.erased_by").into_owned(),
                x.erased_by_name.clone(),
            ),
            field(lang.t("privacy.reason").into_owned(), x.reason.clone()),
        ]
    });
    let dwellings = e
        .dwellings
        .iter()
        .map(|d| DwellingView {
            relation: lang
                .t(&format!("privacy.relation.{}", d.relation))
                .into_owned(),
            address: d.address.clone(),
        })
        .collect();
    let empty_sections = e.sections.iter().filter(|s| s.rows.is_empty()).count();
    let sections = e
        .sections
        .iter()
        .filter(|s| !s.rows.is_empty())
        .map(|s| SectionView {
            heading: lang.t(&format!("privacy.section.{}", s.key)).into_owned(),
            rows: s
                .rows
                .iter()
                .map(|r| match r {
                    JsonValue::Object(map) => {
                        map.iter().map(|(k, v)| field(k.clone(), text(v))).collect()
                    }
                    other => vec![field(String::new(), text(other))],
                })
                .collect(),
        })
        .collect();
    let title = format!("{} · {}", lang.t("privacy.title"), p.name);
    let body = PersonPage {
        lang,
        csrf: ctx.csrf(),
        own,
        person_id: p.id,
        json_url: if own {
            "/api/v1/account/my-data".into()
        } else {
            format!("/api/v1/people/{}/export", p.id)
        },
        particulars,
        erasure,
        dwellings,
        sections,
        empty_note: lang.tf(
            "privacy.empty_sections",
            &[("count", &empty_sections.to_string())],
        ),
        can_erase: can_erase && !own && e.erasure.is_none(),
    };
    ctx.page(&title, body)
}

async fn person_page(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let tx = state.db.write().await?;
    let s = api::subject(&tx, &user, id).await?;
    let e = api::export(&tx, &state.secrets, &user, &s, "page").await?;
    tx.commit().await?;
    Ok(render(
        &ctx,
        lang,
        e,
        s.entitled == Entitled::Own,
        s.can_erase,
    ))
}

async fn own_page(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let Some(id) = user.person_id else {
        return Ok(ctx.page(&lang.t("privacy.my_data"), NonePage { lang }));
    };
    let tx = state.db.write().await?;
    let s = api::subject(&tx, &user, id).await?;
    let e = api::export(&tx, &state.secrets, &user, &s, "page").await?;
    tx.commit().await?;
    Ok(render(&ctx, lang, e, true, false))
}

async fn erase(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let get = |name: &str| f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    user.check_csrf(get("csrf"))?;
    let tx = state.db.write().await?;
    api::erase(&tx, &user, id, get("reason"), get("confirm").is_some()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/people/{id}/data")).into_response())
}
