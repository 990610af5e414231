//! The GeoReport v2 routes. They are plain routes, not part of jinlin's
//! `/api/v1` OpenAPI document: Open311 has its own specification, its own
//! error shape and its own key (`api_key`, a jinlin API token).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use jinlin_kernel::auth::entity::api_token;
use jinlin_kernel::auth::{self, AuthVia, MaybePrincipal, Principal, Role, hash_token};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::AppState;
use jinlin_resident_matters::entity::{category, event, matter};
use jinlin_resident_matters::matters::{NewMatter, raise, works};
use jinlin_resident_matters::rules::{HandlerKind, MAX_TITLE, Urgency};
use jinlin_resident_matters::store as matters;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::format::{Format, Open311Error};
use crate::model::{
    Created, CreatedList, Discovery, Endpoint, Service, ServiceDefinition, ServiceRequest,
    ServiceRequests, Services, TokenAnswer, TokenAnswers,
};
use crate::rules::{self, Filter, InputError, NewRequest, RequestsQuery, Status};
use crate::store;

/// The GeoReport specification this endpoint follows.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When this endpoint's behaviour last changed, for the discovery document.
pub const CHANGESET: &str = "2026-12-01T00:00:00Z";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/{file}", get(discovery))
        .route("/open311/v2/{file}", get(list).post(create))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

type Result<T, E = Open311Error> = std::result::Result<T, E>;

/// The name and format of a path segment such as `services.json`; an
/// unknown suffix is a 404 in JSON.
fn split(file: &str) -> Result<(&str, Format)> {
    Format::split(file)
        .ok_or_else(|| Open311Error::keyed(Format::Json, StatusCode::NOT_FOUND, "format"))
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn refused(format: Format, e: &InputError) -> Open311Error {
    Open311Error::keyed(format, StatusCode::BAD_REQUEST, e.key())
}

/// The caller: the account behind `api_key` if one is given (403 when it
/// is not a live token), else whoever the request is signed in as.
async fn caller(
    state: &AppState,
    format: Format,
    api_key: Option<&str>,
    signed_in: MaybePrincipal,
) -> Result<Option<Arc<Principal>>> {
    let Some(key) = api_key else {
        return Ok(signed_in.0);
    };
    let db = state.db.conn();
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(key)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await
        .map_err(Open311Error::db(format))?;
    let invalid = || Open311Error::keyed(format, StatusCode::FORBIDDEN, "api_key_invalid");
    let Some(found) = found else {
        return Err(invalid());
    };
    // Keys show when they were last used, as bearer tokens do.
    auth::note_token_use(state, found.id, found.last_used_at, Utc::now());
    let principal = auth::load(
        db,
        found.account_id,
        AuthVia::Token {
            can_write: found.can_write,
        },
    )
    .await
    .map_err(Open311Error::db(format))?
    .ok_or_else(invalid)?;
    Ok(Some(Arc::new(principal)))
}

/// 404 when `jurisdiction_id` names no district this instance serves.
async fn check_jurisdiction(
    state: &AppState,
    format: Format,
    jurisdiction: Option<&str>,
    status: StatusCode,
) -> Result<()> {
    let Some(code) = jurisdiction else {
        return Ok(());
    };
    let known = store::jurisdiction_exists(state.db.conn(), code)
        .await
        .map_err(Open311Error::db(format))?;
    if known {
        Ok(())
    } else {
        Err(Open311Error::keyed(format, status, "jurisdiction"))
    }
}

// ---------------------------------------------------------------- discovery

/// The base URL the client reached us at.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header(header::HOST.as_str()))
        .map(str::to_string)
        .unwrap_or_else(|| state.config.listen.to_string());
    format!("{scheme}://{host}")
}

async fn discovery(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let format = match split(&file) {
        Ok(("discovery", format)) => format,
        Ok((_, format)) => {
            return Open311Error::keyed(format, StatusCode::NOT_FOUND, "not_found").into_response();
        }
        Err(e) => return e.into_response(),
    };
    let lang = i18n::current();
    let doc = Discovery {
        changeset: CHANGESET.into(),
        contact: lang.t("open311.contact").into_owned(),
        key_service: lang.t("open311.key_service").into_owned(),
        endpoints: vec![Endpoint {
            specification: SPECIFICATION,
            url: format!("{}/open311/v2/", base_url(&state, &headers)),
            changeset: CHANGESET.into(),
            kind: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    };
    format.render(StatusCode::OK, &doc)
}

// ---------------------------------------------------------------- services

fn name_of(c: &category::Model, lang: Lang) -> String {
    match lang {
        Lang::En => c.name_en.clone(),
        Lang::ZhCn => c.name_zh.clone(),
    }
}

fn service(c: &category::Model, lang: Lang) -> Service {
    Service {
        service_code: c.code.clone(),
        service_name: name_of(c, lang),
        description: None,
        metadata: false,
        kind: "realtime",
        keywords: None,
        group: HandlerKind::parse(&c.default_handler).map(|h| {
            lang.t(&format!("open311.handler.{}", h.as_str()))
                .into_owned()
        }),
    }
}

async fn services(
    state: &AppState,
    format: Format,
    query: &[(String, String)],
) -> Result<Response> {
    check_jurisdiction(
        state,
        format,
        value(query, "jurisdiction_id"),
        StatusCode::NOT_FOUND,
    )
    .await?;
    let lang = i18n::current();
    let list = matters::categories(state.db.conn(), false)
        .await
        .map_err(Open311Error::db(format))?;
    let doc = Services(list.iter().map(|c| service(c, lang)).collect());
    Ok(format.render(StatusCode::OK, &doc))
}

async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let (code, format) = split(&file)?;
        let query = pairs(raw.as_deref());
        check_jurisdiction(
            &state,
            format,
            value(&query, "jurisdiction_id"),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let found = matters::category_by_code(state.db.conn(), code)
            .await
            .map_err(Open311Error::db(format))?
            .filter(|c| c.active)
            .ok_or_else(|| {
                Open311Error::keyed(format, StatusCode::NOT_FOUND, "service_not_found")
            })?;
        let doc = ServiceDefinition {
            service_code: found.code,
            attributes: Vec::new(),
        };
        Ok(format.render(StatusCode::OK, &doc))
    };
    run.await.unwrap_or_else(Open311Error::into_response)
}

// ---------------------------------------------------------------- requests

/// What the documents of a batch of matters need besides the matters.
struct Context {
    lang: Lang,
    categories: HashMap<i64, category::Model>,
    places: HashMap<i64, place::Model>,
    events: HashMap<i64, event::Model>,
}

impl Context {
    async fn load(state: &AppState, format: Format, list: &[matter::Model]) -> Result<Context> {
        let db = state.db.conn();
        let err = Open311Error::db;
        let categories = matters::categories(db, true)
            .await
            .map_err(err(format))?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let place_ids = list.iter().flat_map(|m| {
            [Some(m.compound_id), m.holder_place_id, m.community_id]
                .into_iter()
                .flatten()
        });
        let places = store::places(db, place_ids).await.map_err(err(format))?;
        let events = store::status_events(db, list).await.map_err(err(format))?;
        Ok(Context {
            lang: i18n::current(),
            categories,
            places,
            events,
        })
    }

    fn place_name(&self, id: Option<i64>) -> Option<String> {
        id.and_then(|id| self.places.get(&id))
            .map(|p| p.name.clone())
    }

    /// Who handles the matter now, by name: the organisation if the
    /// handler recorded one, else the body at the matter's compound or the
    /// community.
    fn agency(&self, m: &matter::Model) -> Option<String> {
        // An agency's recorded name may be its admin's own: use the label.
        if let Some(org) = m
            .holder_org
            .as_ref()
            .filter(|o| !o.is_empty() && m.holder_kind != HandlerKind::Agency.as_str())
        {
            return Some(org.clone());
        }
        let kind = HandlerKind::parse(&m.holder_kind)?;
        let label = self
            .lang
            .t(&format!("open311.handler.{}", kind.as_str()))
            .into_owned();
        let at = match kind {
            HandlerKind::Agency => None,
            HandlerKind::Community => self.place_name(m.holder_place_id.or(m.community_id)),
            _ => self.place_name(Some(m.compound_id)),
        };
        Some(match at {
            Some(at) if kind == HandlerKind::Community => at,
            Some(at) => format!("{at} {label}"),
            None => label,
        })
    }

    fn status_notes(&self, m: &matter::Model) -> Option<String> {
        if let Some(into) = m.merged_into {
            return Some(
                self.lang
                    .tf("open311.merged_into", &[("id", &into.to_string())]),
            );
        }
        let e = self.events.get(&m.id)?;
        e.note.clone().or_else(|| e.reason.clone())
    }

    /// A matter as a service request. Only the compound is named as its
    /// place, never a dwelling, and nothing of its reporter is shown. The
    /// free-text address and the coordinates go only to the reporter and
    /// the people who work the matter, never to the compound's residents.
    fn request(&self, m: &matter::Model, reader: Option<&Principal>) -> ServiceRequest {
        let category = self.categories.get(&m.category_id);
        let compound = self.place_name(Some(m.compound_id));
        let full =
            reader.is_some_and(|p| m.reporter_account_id == Some(p.account_id) || works(p, m));
        ServiceRequest {
            service_request_id: m.id.to_string(),
            status: Status::of_state(&m.state).as_str(),
            status_notes: self.status_notes(m),
            service_name: category.map(|c| name_of(c, self.lang)),
            service_code: category
                .map(|c| c.code.clone())
                .unwrap_or_else(|| m.category_id.to_string()),
            description: Some(m.description.clone()),
            agency_responsible: self.agency(m),
            service_notice: None,
            requested_datetime: rules::datetime(m.created_at),
            updated_datetime: Some(rules::datetime(m.closed_at.unwrap_or(m.updated_at))),
            expected_datetime: m.due_at.map(rules::datetime),
            address: m.address.clone().filter(|_| full).or(compound),
            address_id: Some(m.compound_id.to_string()),
            zipcode: None,
            lat: m.latitude_e6.filter(|_| full).map(|v| f64::from(v) / 1e6),
            long: m.longitude_e6.filter(|_| full).map(|v| f64::from(v) / 1e6),
            media_url: None,
        }
    }
}

async fn render_requests(
    state: &AppState,
    format: Format,
    list: &[matter::Model],
    reader: Option<&Principal>,
) -> Result<Response> {
    let ctx = Context::load(state, format, list).await?;
    let doc = ServiceRequests(list.iter().map(|m| ctx.request(m, reader)).collect());
    Ok(format.render(StatusCode::OK, &doc))
}

async fn requests(
    state: &AppState,
    format: Format,
    raw: Option<&str>,
    signed_in: MaybePrincipal,
) -> Result<Response> {
    let query: RequestsQuery = raw
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let who = caller(state, format, query.api_key.as_deref(), signed_in).await?;
    check_jurisdiction(
        state,
        format,
        query.jurisdiction_id.as_deref(),
        StatusCode::NOT_FOUND,
    )
    .await?;
    let filter = query.filter(Utc::now()).map_err(|e| refused(format, &e))?;
    let db = state.db.conn();
    let category_ids = match &filter {
        Filter::Search { service_codes, .. } if !service_codes.is_empty() => {
            let all = matters::categories(db, true)
                .await
                .map_err(Open311Error::db(format))?;
            Some(
                all.into_iter()
                    .filter(|c| service_codes.contains(&c.code))
                    .map(|c| c.id)
                    .collect(),
            )
        }
        _ => None,
    };
    let list = store::list(db, store::visible(who.as_deref()), &filter, category_ids)
        .await
        .map_err(Open311Error::db(format))?;
    render_requests(state, format, &list, who.as_deref()).await
}

async fn list(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    signed_in: MaybePrincipal,
) -> Response {
    let run = async {
        let (name, format) = split(&file)?;
        match name {
            "services" => services(&state, format, &pairs(raw.as_deref())).await,
            "requests" => requests(&state, format, raw.as_deref(), signed_in).await,
            _ => Err(Open311Error::keyed(
                format,
                StatusCode::NOT_FOUND,
                "not_found",
            )),
        }
    };
    run.await.unwrap_or_else(Open311Error::into_response)
}

async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    signed_in: MaybePrincipal,
) -> Response {
    let run = async {
        let (id, format) = split(&file)?;
        let query = pairs(raw.as_deref());
        let who = caller(&state, format, value(&query, "api_key"), signed_in).await?;
        check_jurisdiction(
            &state,
            format,
            value(&query, "jurisdiction_id"),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let not_found = || Open311Error::keyed(format, StatusCode::NOT_FOUND, "request_not_found");
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let found = store::find_visible(state.db.conn(), store::visible(who.as_deref()), id)
            .await
            .map_err(Open311Error::db(format))?
            .ok_or_else(not_found)?;
        render_requests(&state, format, &[found], who.as_deref()).await
    };
    run.await.unwrap_or_else(Open311Error::into_response)
}

async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let (token, format) = split(&file)?;
        let query = pairs(raw.as_deref());
        check_jurisdiction(
            &state,
            format,
            value(&query, "jurisdiction_id"),
            StatusCode::NOT_FOUND,
        )
        .await?;
        let not_found = || Open311Error::keyed(format, StatusCode::NOT_FOUND, "token_not_found");
        let id =
            rules::request_of_token(token, |s| state.secrets.digest(s)).ok_or_else(not_found)?;
        // A genuine token of a matter since deleted leads nowhere.
        matters::find(state.db.conn(), id)
            .await
            .map_err(Open311Error::db(format))?
            .ok_or_else(not_found)?;
        let doc = TokenAnswers(vec![TokenAnswer {
            service_request_id: id.to_string(),
            token: token.to_string(),
        }]);
        Ok(format.render(StatusCode::OK, &doc))
    };
    run.await.unwrap_or_else(Open311Error::into_response)
}

// ---------------------------------------------------------------- create

/// A title for the matter: the description's first line, shortened, or
/// the service's name.
fn title(description: Option<&str>, service_name: &str) -> String {
    const SHORT: usize = 40;
    let first = description
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or(service_name);
    let mut t: String = first.chars().take(SHORT.min(MAX_TITLE)).collect();
    if first.chars().count() > SHORT {
        t.push('…');
    }
    t
}

async fn create(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let run = async {
        let (name, format) = split(&file)?;
        if name != "requests" {
            return Err(Open311Error::keyed(
                format,
                StatusCode::METHOD_NOT_ALLOWED,
                "method",
            ));
        }
        let mut fields = pairs(raw.as_deref());
        let form = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map_err(|_| refused(format, &InputError::Attribute))?;
        fields.extend(form);
        let input = NewRequest::parse(&fields).map_err(|e| refused(format, &e))?;
        let Some(key) = input.api_key.as_deref() else {
            return Err(Open311Error::keyed(
                format,
                StatusCode::FORBIDDEN,
                "api_key_missing",
            ));
        };
        let who = caller(&state, format, Some(key), MaybePrincipal(None))
            .await?
            .expect("an api_key yields a principal or an error");
        if who.via != (AuthVia::Token { can_write: true }) {
            return Err(Open311Error::keyed(
                format,
                StatusCode::FORBIDDEN,
                "api_key_read_only",
            ));
        }
        check_jurisdiction(
            &state,
            format,
            input.jurisdiction_id.as_deref(),
            StatusCode::BAD_REQUEST,
        )
        .await?;
        created(&state, format, &who, &input, &fields).await
    };
    run.await.unwrap_or_else(Open311Error::into_response)
}

async fn created(
    state: &AppState,
    format: Format,
    who: &Principal,
    input: &NewRequest,
    fields: &[(String, String)],
) -> Result<Response> {
    let bad = |key: &str| Open311Error::keyed(format, StatusCode::BAD_REQUEST, key);
    if !input.attributes.is_empty() {
        return Err(bad("attribute_unknown"));
    }
    let db = state.db.conn();
    let category = matters::category_by_code(db, &input.service_code)
        .await
        .map_err(Open311Error::db(format))?
        .filter(|c| c.active)
        .ok_or_else(|| bad("service_not_found"))?;
    // The place: address_id is a place of the tree; without it, the
    // dwelling of a resident or party member who has just one.
    let place_id = match input.address_id.as_deref() {
        Some(id) => id.parse::<i64>().map_err(|_| bad("place_not_found"))?,
        None => {
            let homes: Vec<i64> = who
                .grants
                .iter()
                .filter(|g| matches!(g.role, Role::Resident | Role::PartyMember))
                .map(|g| g.place.id)
                .collect();
            match homes.as_slice() {
                [one] => *one,
                _ => return Err(bad("place_required")),
            }
        }
    };
    let lang = i18n::current();
    let service_name = name_of(&category, lang);
    let mut description = input
        .description
        .clone()
        .unwrap_or_else(|| service_name.clone());
    // Kept with the text so handlers can follow it; a matter has no field
    // for an outside link.
    if let Some(url) = &input.media_url {
        description = format!("{description}\n{url}");
    }
    let coordinate = |v: f64| (v * 1e6).round() as i64;
    let new = NewMatter {
        category: category.code.clone(),
        urgency: Urgency::Normal,
        title: title(input.description.as_deref(), &service_name),
        description,
        place_id,
        address: input.address_string.clone(),
        latitude_e6: input.lat.map(coordinate),
        longitude_e6: input.long.map(coordinate),
        public: value(fields, "public") == Some("true"),
    };
    let tx = state.db.write().await.map_err(Open311Error::db(format))?;
    let m = match raise(&tx, who, &new, Utc::now()).await {
        Ok(m) => m,
        // An unknown place and one outside the caller's reach read alike.
        Err(e) if e.status == StatusCode::NOT_FOUND => return Err(bad("place_not_found")),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            return Err(Open311Error::new(
                format,
                StatusCode::BAD_REQUEST,
                e.message,
            ));
        }
        Err(e) => return Err(Open311Error::new(format, e.status, e.message)),
    };
    tx.commit().await.map_err(Open311Error::db(format))?;
    let doc = CreatedList(vec![Created {
        service_request_id: m.id.to_string(),
        token: rules::token_for(m.id, |s| state.secrets.digest(s)),
        service_notice: Some(lang.t("open311.service_notice").into_owned()),
        account_id: None,
    }]);
    Ok(format.render(StatusCode::OK, &doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line() {
        assert_eq!(
            title(Some("\n  楼道灯不亮 \n一周了"), "设施维修"),
            "楼道灯不亮"
        );
        assert_eq!(title(None, "设施维修"), "设施维修");
        let long = "灯".repeat(60);
        let t = title(Some(&long), "x");
        assert_eq!(t.chars().count(), 41);
        assert!(t.ends_with('…'));
    }
}
