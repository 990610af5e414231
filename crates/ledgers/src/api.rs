//! JSON API of ledgers: the ledgers a reader may export at a place, and
//! the export itself as an .xlsx file.
//!
//! Scope: a ledger is exported for a district, street, community or
//! compound by the officials whose grant holds it (district admin, street
//! admin, community worker, compound party secretary). A place the reader
//! does not see answers 404; one they see without such a role (owners'
//! committee, property staff, agency admin, residents) 403; a place of
//! another level (a building, a dwelling) 422. Every export is written to
//! the audit log.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::export::{Finished, Sheet, Writer};
use crate::rules::{self, Ledger};
use crate::store::{self, Job, PAGE, Tree};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ledgers))
        .routes(routes!(download))
}

// ---------------------------------------------------------------- errors

fn invalid(key: &str) -> ApiError {
    ApiError::invalid(i18n::current().t(key))
}

fn unknown_ledger() -> ApiError {
    ApiError::with_message(
        StatusCode::NOT_FOUND,
        "not_found",
        i18n::current().t("ledgers.error.unknown"),
    )
}

// ---------------------------------------------------------------- scope

/// Whether the principal exports ledgers of the place at `p`: an
/// official's grant holds it.
pub fn exports_at(user: &Principal, p: &place::Model) -> bool {
    user.roles_for(Access::Registry, &p.position())
        .into_iter()
        .any(rules::exports)
}

/// The places the principal's exporting grants are anchored at, top down.
pub fn tops(user: &Principal) -> Vec<i64> {
    let mut grants: Vec<_> = user
        .grants
        .iter()
        .filter(|g| rules::exports(g.role) && g.place.kind.is_some_and(rules::is_scope_kind))
        .collect();
    grants.sort_by_key(|g| (g.place.kind, g.place.id));
    let mut ids: Vec<i64> = grants.iter().map(|g| g.place.id).collect();
    ids.dedup();
    ids
}

/// The node a ledger is exported for: 404 when the reader does not see
/// it, 422 for a place of another level, 403 without an official's role
/// there. Without a place, the reader's top node (403 when they have
/// none).
pub async fn scope(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: Option<i64>,
) -> Result<place::Model, ApiError> {
    let Some(id) = id.or_else(|| tops(user).first().copied()) else {
        return Err(ApiError::forbidden());
    };
    let p = match place::Entity::find_by_id(id).one(db).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if !PlaceKind::parse(&p.kind).is_some_and(rules::is_scope_kind) {
        return Err(invalid("ledgers.error.level"));
    }
    if !exports_at(user, &p) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// A district, street, community or compound; the reader's top node
    /// when absent.
    pub place: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A district, street, community or compound; the reader's top node
    /// when absent.
    pub place: Option<i64>,
    /// `plain` for unmasked phones (the ledgers with phones; roles that
    /// read personal data; audited). Masked otherwise.
    pub phones: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LedgerPlace)]
pub struct PlaceRef {
    pub id: i64,
    pub name: String,
    pub kind: PlaceKind,
}

impl PlaceRef {
    pub fn of(p: &place::Model) -> PlaceRef {
        PlaceRef {
            id: p.id,
            name: p.name.clone(),
            kind: PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Compound),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LedgerEntry)]
pub struct LedgerView {
    pub key: Ledger,
    /// The ledger's name in the request's language.
    pub title: String,
    /// The column headings, in order.
    pub columns: Vec<String>,
    /// Whether it holds phone numbers (masked unless `phones=plain`).
    pub has_phones: bool,
    /// Where to download it.
    pub href: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LedgerList)]
pub struct LedgerList {
    pub place: PlaceRef,
    /// The ancestors the reader also exports, top down.
    pub path: Vec<PlaceRef>,
    /// The streets, communities or compounds directly under the place.
    pub children: Vec<PlaceRef>,
    pub ledgers: Vec<LedgerView>,
}

pub fn headings(lang: Lang, ledger: Ledger) -> Vec<(String, f64)> {
    ledger
        .columns()
        .iter()
        .map(|(c, w)| (lang.t(&format!("ledgers.col.{c}")).into_owned(), *w))
        .collect()
}

pub fn href(ledger: Ledger, place: i64) -> String {
    format!("/api/v1/ledgers/{}.xlsx?place={place}", ledger.as_str())
}

pub async fn list(
    db: &impl ConnectionTrait,
    user: &Principal,
    lang: Lang,
    p: &place::Model,
) -> Result<LedgerList, ApiError> {
    let kind = PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Compound);
    let path = jinlin_places::store::ancestors(db, p)
        .await?
        .iter()
        .filter(|a| {
            PlaceKind::parse(&a.kind).is_some_and(rules::is_scope_kind)
                && jinlin_places::store::visible(user, a)
                && exports_at(user, a)
        })
        .map(PlaceRef::of)
        .collect();
    let children = store::children(db, p)
        .await?
        .iter()
        .map(PlaceRef::of)
        .collect();
    let ledgers = Ledger::ALL
        .into_iter()
        .filter(|l| l.offered_at(kind))
        .map(|l| LedgerView {
            key: l,
            title: lang.t(&l.title_key()).into_owned(),
            columns: headings(lang, l).into_iter().map(|(h, _)| h).collect(),
            has_phones: l.has_phones(),
            href: href(l, p.id),
        })
        .collect();
    Ok(LedgerList {
        place: PlaceRef::of(p),
        path,
        children,
        ledgers,
    })
}

// ---------------------------------------------------------------- export

/// Writes the ledger of a node: reads its places, then the rows a page of
/// places at a time, handing each page to the workbook writer.
pub async fn export(
    db: &impl ConnectionTrait,
    user: &Principal,
    lang: Lang,
    ledger: Ledger,
    scope: &place::Model,
    plain_phones: bool,
) -> Result<Finished, ApiError> {
    let now = Utc::now();
    let tree = Tree::load(db, scope).await?;
    let title = lang.t(&ledger.title_key()).into_owned();
    let mut path: Vec<String> = jinlin_places::store::ancestors(db, scope)
        .await?
        .into_iter()
        .filter(|a| PlaceKind::parse(&a.kind).is_some_and(|k| k >= PlaceKind::District))
        .map(|a| a.name)
        .collect();
    path.push(scope.name.clone());
    let t = |k: &str| lang.t(k).into_owned();
    let writer = Writer::start(Sheet {
        name: title.clone(),
        title: format!("{} {}", scope.name, title),
        headings: headings(lang, ledger),
        about_name: t("ledgers.about"),
        about: vec![
            (t("ledgers.about.place"), path.join(" / ")),
            (t("ledgers.about.ledger"), title),
            (
                t("ledgers.about.exported_at"),
                now.with_timezone(&jinlin_kernel::time::china())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            ),
            (t("ledgers.about.exported_by"), user.display_name.clone()),
            (
                t("ledgers.about.phones"),
                t(if !ledger.has_phones() {
                    "ledgers.about.phones_none"
                } else if plain_phones {
                    "ledgers.about.phones_plain"
                } else {
                    "ledgers.about.phones_masked"
                }),
            ),
        ],
        rows_label: t("ledgers.about.rows"),
    });
    let job = Job {
        tree: &tree,
        lang,
        plain_phones,
        now,
    };
    for page in tree.owners(ledger).chunks(PAGE) {
        let rows = job.rows(db, ledger, page).await?;
        writer.send(rows).await.map_err(ApiError::internal)?;
    }
    writer.finish().await.map_err(ApiError::internal)
}

// ---------------------------------------------------------------- handlers

/// The ledgers the reader may export at a place (their top node when no
/// place is given), with the way up and down the tree.
#[utoipa::path(get, path = "/ledgers", tag = "ledgers", params(PlaceQuery),
    responses((status = 200, body = LedgerList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_ledgers(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<PlaceQuery>,
) -> Result<ApiJson<LedgerList>, ApiError> {
    let db = state.db.conn();
    let p = scope(db, &user, q.place).await?;
    Ok(ApiJson(list(db, &user, i18n::current(), &p).await?))
}

/// One ledger of a place as an Excel workbook (.xlsx): the first sheet
/// holds the headings (in the request's language) and a row per record
/// under the place; the second says what was exported, when, by whom.
/// `file` is `<key>.xlsx`, the key one of `LedgerEntry.key`. Phones are
/// masked unless `phones=plain`; ID numbers are never exported. The
/// export is written to the audit log (`ledger.export`).
#[utoipa::path(get, path = "/ledgers/{file}", tag = "ledgers",
    params(("file" = String, Path, description = "`<key>.xlsx`, e.g. `party_orgs.xlsx`"), ExportQuery),
    responses(
        (status = 200, description = "The workbook",
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            body = Vec<u8>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    user: User,
    Path(file): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let lang = i18n::current();
    let ledger = rules::parse_file(&file).ok_or_else(unknown_ledger)?;
    let db = state.db.conn();
    let p = scope(db, &user, q.place).await?;
    let kind = PlaceKind::parse(&p.kind).unwrap_or(PlaceKind::Compound);
    if !ledger.offered_at(kind) {
        return Err(invalid("ledgers.error.not_offered"));
    }
    let plain = match q.phones.as_deref() {
        None | Some("") | Some("masked") => false,
        Some("plain") => {
            if !user.can(Access::Personal, &p.position()) {
                return Err(ApiError::forbidden());
            }
            true
        }
        Some(_) => return Err(invalid("ledgers.error.phones")),
    };
    let plain = plain && ledger.has_phones();
    // The rows from the replica when one keeps up; the scope and the
    // reader's roles were checked on the primary.
    let done = export(state.db.reads(), &user, lang, ledger, &p, plain).await?;
    let tx = state.db.write().await?;
    audit::record(
        &tx,
        Entry::new(Some(&user), "ledger.export", "place")
            .object(p.id)
            .district(p.district_code.clone())
            .detail(serde_json::json!({
                "ledger": ledger.as_str(),
                "rows": done.rows,
                "plain_phones": plain,
            })),
    )
    .await?;
    tx.commit().await?;
    let name = rules::file_name(
        &p.name,
        &lang.t(&ledger.title_key()),
        &Utc::now()
            .with_timezone(&jinlin_kernel::time::china())
            .format("%Y-%m-%d")
            .to_string(),
    );
    let disposition = format!(
        "attachment; filename=\"{}.xlsx\"; filename*=UTF-8''{}",
        ledger.as_str(),
        rules::encode_filename(&name)
    );
    let stream = tokio_util::io::ReaderStream::with_capacity(
        tokio::fs::File::from_std(done.file),
        64 * 1024,
    );
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XLSX));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(done.bytes));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
