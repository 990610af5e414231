//! Pages of in-service party members: `/in-service` (a member's reports,
//! three ones and service records with their forms; a secretary's pending
//! confirmations; officials' figures; agency admins' agencies), a place's
//! members or figures, and an agency's members' service. Every write goes
//! through the same functions as the API.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, Role, User};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait};

use crate::api::{
    self, CompoundView, Figure, ListQuery, NewOne, NewRecord, NewReport, OneView, RecordView,
    ReportView,
};
use crate::entity::{service_record, service_report};
use crate::rules::{
    self, OneKind, RecordState, ReportAction, ReportKind, ReportState, Scheme, ServiceKind,
};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/in-service", get(index))
        .route("/in-service/reports", post(create_report))
        .route("/in-service/reports/{id}/{action}", post(report_action))
        .route("/in-service/three-ones", post(create_one))
        .route("/in-service/three-ones/{id}/release", post(release_one))
        .route("/in-service/service-records", post(create_record))
        .route(
            "/in-service/service-records/{id}/{action}",
            post(record_action),
        )
        .route("/places/{id}/in-service", get(place))
        .route("/places/{id}/service-points-scheme", post(set_scheme))
        .route("/agencies/{id}/in-service", get(agency))
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

fn optional(f: &Fields, name: &str) -> Option<String> {
    Some(field(f, name).to_string()).filter(|s| !s.is_empty())
}

fn refused(key: &str) -> PageError {
    ApiError::invalid(i18n::current().t(key)).into()
}

fn number(f: &Fields, name: &str) -> Result<i64, PageError> {
    field(f, name)
        .parse()
        .map_err(|_| refused("in_service.error.number"))
}

fn optional_number(f: &Fields, name: &str) -> Result<Option<i64>, PageError> {
    match field(f, name) {
        "" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| refused("in_service.error.number")),
    }
}

fn check_csrf(user: &Principal, f: &Fields) -> Result<(), PageError> {
    user.check_csrf(Some(field(f, "csrf")))?;
    Ok(())
}

/// Whether `b` is a path on this site: `/…`, but not `//host` nor
/// `/\host` (browsers read a backslash as a slash), and no control
/// characters (a header split, or a tab or newline browsers strip).
fn is_local_path(b: &str) -> bool {
    b.starts_with('/')
        && !b.starts_with("//")
        && !b.contains('\\')
        && !b.chars().any(char::is_control)
}

/// Back to the page the form was on (a local path), else `/in-service`.
fn back(f: &Fields) -> Response {
    let to = match field(f, "back") {
        b if is_local_path(b) => b.to_string(),
        _ => "/in-service".to_string(),
    };
    Redirect::to(&to).into_response()
}

fn china(t: DateTime<Utc>) -> String {
    t.with_timezone(&jinlin_kernel::time::china())
        .format("%Y-%m-%d")
        .to_string()
}

fn number_text(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

// ---------------------------------------------------------------- rows

struct ReportRow {
    id: i64,
    member: String,
    compound_id: i64,
    compound: String,
    kind: String,
    agency: String,
    state_code: &'static str,
    state: String,
    reason: String,
    date: String,
    can_withdraw: bool,
    can_decide: bool,
}

fn report_rows(lang: Lang, user: &Principal, views: Vec<ReportView>) -> Vec<ReportRow> {
    views
        .into_iter()
        .map(|r| ReportRow {
            id: r.id,
            can_withdraw: r.account_id == user.account_id && r.state.is_live(),
            // Nobody decides their own (see `api::may_decide`).
            can_decide: r.state == ReportState::Submitted
                && r.account_id != user.account_id
                && api::is_secretary(user, r.compound_id),
            member: r.member_name,
            compound_id: r.compound_id,
            compound: r.compound_name,
            kind: lang
                .t(&format!("in_service.kind.{}", r.kind.as_str()))
                .into_owned(),
            agency: r.agency_name.unwrap_or_default(),
            state_code: r.state.as_str(),
            state: lang
                .t(&format!("in_service.state.{}", r.state.as_str()))
                .into_owned(),
            reason: r.reason.unwrap_or_default(),
            date: china(r.submitted_at),
        })
        .collect()
}

struct OneRow {
    id: i64,
    kind: String,
    detail: String,
    can_release: bool,
}

fn one_detail(o: &OneView) -> String {
    match o.kind {
        OneKind::VolunteerTeam => o.team_name.clone().unwrap_or_default(),
        OneKind::Entrance => format!(
            "{} {}",
            o.compound_name,
            o.entrance_name.clone().unwrap_or_default()
        ),
        OneKind::Zone => o.zone.clone().unwrap_or_default(),
    }
}

fn one_row(lang: Lang, user: &Principal, o: &OneView) -> OneRow {
    OneRow {
        id: o.id,
        kind: lang
            .t(&format!("in_service.one_short.{}", o.kind.as_str()))
            .into_owned(),
        detail: one_detail(o),
        can_release: o.released_at.is_none()
            && (o.account_id == user.account_id || api::is_secretary(user, o.compound_id)),
    }
}

struct RecordRow {
    id: i64,
    member: String,
    compound: String,
    date: String,
    kind: String,
    activity: String,
    hours: String,
    matter: String,
    state_code: &'static str,
    state: String,
    reason: String,
    points: String,
    can_decide: bool,
}

fn record_rows(lang: Lang, user: &Principal, views: Vec<RecordView>) -> Vec<RecordRow> {
    views
        .into_iter()
        .map(|r| RecordRow {
            id: r.id,
            can_decide: r.state == RecordState::Submitted
                && r.account_id != user.account_id
                && api::is_secretary(user, r.compound_id),
            member: r.member_name,
            compound: r.compound_name,
            date: r.served_on.format("%Y-%m-%d").to_string(),
            kind: lang
                .t(&format!("in_service.service.{}", r.kind.as_str()))
                .into_owned(),
            activity: r.activity,
            hours: number_text(r.hours),
            matter: match r.matter_id {
                Some(id) => format!("#{id} {}", r.matter_title.unwrap_or_default()),
                None => String::new(),
            },
            state_code: r.state.as_str(),
            state: lang
                .t(&format!("in_service.state.{}", r.state.as_str()))
                .into_owned(),
            reason: r.reason.unwrap_or_default(),
            points: r.points.map(number_text).unwrap_or_default(),
        })
        .collect()
}

/// A figure with its numbers as text.
struct FigureRow {
    place_id: Option<i64>,
    agency_id: Option<i64>,
    name: String,
    members_reported: u64,
    residence_reports: u64,
    employer_reports: u64,
    pending_reports: u64,
    all: u64,
    some: u64,
    none: u64,
    all_percent: String,
    records: u64,
    matters: u64,
    hours: String,
    points: String,
}

fn figure_row(f: Figure) -> FigureRow {
    FigureRow {
        place_id: f.place_id,
        agency_id: f.agency_id,
        name: f.name,
        members_reported: f.members_reported,
        residence_reports: f.residence_reports,
        employer_reports: f.employer_reports,
        pending_reports: f.pending_reports,
        all: f.three_ones_all,
        some: f.three_ones_some,
        none: f.three_ones_none,
        all_percent: f.three_ones_all_percent.unwrap_or_else(|| "—".into()),
        records: f.records,
        matters: f.matters_coordinated,
        hours: number_text(f.hours),
        points: number_text(f.points),
    }
}

fn labelled<T: Copy>(
    lang: Lang,
    prefix: &str,
    all: &[T],
    code: fn(T) -> &'static str,
) -> Vec<(&'static str, String)> {
    all.iter()
        .map(|k| {
            (
                code(*k),
                lang.t(&format!("{prefix}.{}", code(*k))).into_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- index

/// One of the three ones on the member's page: held, or a form.
struct Slot {
    code: &'static str,
    title: String,
    held: Option<OneRow>,
}

struct MemberPart {
    reports: Vec<ReportRow>,
    /// (value, label) of compounds the member may still report to.
    targets: Vec<(String, String)>,
    /// Confirmed residence compounds (id, name); the ones need one.
    homes: Vec<(i64, String)>,
    entrances: Vec<(i64, String)>,
    slots: Vec<Slot>,
    /// Compounds where a report is confirmed (records go there).
    record_compounds: Vec<(i64, String)>,
    records: Vec<RecordRow>,
    hours: String,
    points: String,
    today: String,
    service_kinds: Vec<(&'static str, String)>,
}

struct SecretaryPart {
    compounds: Vec<(i64, String)>,
    reports: Vec<ReportRow>,
    records: Vec<RecordRow>,
}

#[derive(Template)]
#[template(path = "in_service_index.html")]
struct IndexPage<'a> {
    lang: Lang,
    csrf: &'a str,
    back: &'a str,
    member: Option<MemberPart>,
    secretary: Option<SecretaryPart>,
    figures: Vec<FigureRow>,
    agencies: Vec<(i64, String)>,
}

async fn member_part(
    db: &impl ConnectionTrait,
    lang: Lang,
    user: &Principal,
) -> Result<MemberPart, ApiError> {
    let mine = store::reports_of(db, user.account_id).await?;
    let live: BTreeSet<(String, i64)> = mine
        .iter()
        .filter(|r| ReportState::parse(&r.state).is_some_and(ReportState::is_live))
        .map(|r| (r.kind.clone(), r.compound_id))
        .collect();
    let residence = api::residence_compounds(user);
    let agencies = store::member_agencies(db, user.account_id, user.person_id).await?;
    let agency_ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let pairings = store::paired_compounds(db, &agency_ids).await?;
    let names = store::places(
        db,
        residence
            .iter()
            .copied()
            .chain(pairings.iter().map(|p| p.compound_id)),
    )
    .await?;
    let name = |id: i64| names.get(&id).map(|p| p.name.clone()).unwrap_or_default();
    let agency_name: HashMap<i64, String> =
        agencies.iter().map(|a| (a.id, a.name.clone())).collect();
    let mut targets = Vec::new();
    let residence_kind = ReportKind::Residence.as_str();
    for c in &residence {
        if !live.contains(&(residence_kind.to_string(), *c)) {
            targets.push((
                format!("{residence_kind}:{c}"),
                format!("{} · {}", lang.t("in_service.kind.residence"), name(*c)),
            ));
        }
    }
    let pairing_kind = ReportKind::EmployerPairing.as_str();
    // One paired compound is the rule; the page offers them until the
    // member has reported to one (the API still takes more).
    let reported_at_work = live.iter().any(|(k, _)| k == pairing_kind);
    for p in pairings.iter().filter(|_| !reported_at_work) {
        if !live.contains(&(pairing_kind.to_string(), p.compound_id))
            && !targets
                .iter()
                .any(|(v, _)| v.starts_with(&format!("{pairing_kind}:{}:", p.compound_id)))
        {
            targets.push((
                format!("{pairing_kind}:{}:{}", p.compound_id, p.agency_id),
                format!(
                    "{} · {}（{}）",
                    lang.t("in_service.kind.employer_pairing"),
                    name(p.compound_id),
                    agency_name.get(&p.agency_id).cloned().unwrap_or_default()
                ),
            ));
        }
    }
    let confirmed: Vec<&service_report::Model> = mine
        .iter()
        .filter(|r| r.state == ReportState::Confirmed.as_str())
        .collect();
    let confirmed_names = store::places(db, confirmed.iter().map(|r| r.compound_id)).await?;
    let cname = |id: i64| {
        confirmed_names
            .get(&id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let mut homes: Vec<(i64, String)> = confirmed
        .iter()
        .filter(|r| r.kind == residence_kind)
        .map(|r| (r.compound_id, cname(r.compound_id)))
        .collect();
    homes.dedup();
    let mut entrances = Vec::new();
    for (c, cn) in &homes {
        for (id, label) in store::entrances(db, *c).await? {
            entrances.push((
                id,
                if homes.len() > 1 {
                    format!("{cn} {label}")
                } else {
                    label
                },
            ));
        }
    }
    let ones = api::one_views(db, store::live_ones(db, user.account_id).await?).await?;
    let slots = OneKind::ALL
        .iter()
        .map(|k| Slot {
            code: k.as_str(),
            title: lang
                .t(&format!("in_service.one.{}", k.as_str()))
                .into_owned(),
            held: ones
                .iter()
                .find(|o| o.kind == *k)
                .map(|o| one_row(lang, user, o)),
        })
        .collect();
    let mut record_compounds: Vec<(i64, String)> = confirmed
        .iter()
        .map(|r| (r.compound_id, cname(r.compound_id)))
        .collect();
    record_compounds.sort();
    record_compounds.dedup();
    let q = ListQuery {
        mine: true,
        ..Default::default()
    };
    let records = api::list_records_for(db, user, &q).await?;
    let done = records.iter().filter(|r| r.state == RecordState::Confirmed);
    // Plus zero: an empty float sum is -0.
    let hours: f64 = done.clone().map(|r| r.hours).sum::<f64>() + 0.0;
    let points: f64 = done.map(|r| r.points.unwrap_or(0.0)).sum::<f64>() + 0.0;
    Ok(MemberPart {
        reports: report_rows(lang, user, api::report_views(db, mine).await?),
        targets,
        homes,
        entrances,
        slots,
        record_compounds,
        records: record_rows(lang, user, records),
        hours: number_text(hours),
        points: number_text(points),
        today: rules::china_today(Utc::now())
            .format("%Y-%m-%d")
            .to_string(),
        service_kinds: labelled(
            lang,
            "in_service.service",
            ServiceKind::ALL,
            ServiceKind::as_str,
        ),
    })
}

async fn secretary_part(
    db: &impl ConnectionTrait,
    lang: Lang,
    user: &Principal,
) -> Result<SecretaryPart, ApiError> {
    let compounds: Vec<(i64, String)> = user
        .grants
        .iter()
        .filter(|g| g.role == Role::CompoundSecretary)
        .map(|g| (g.place.id, g.place_name.clone()))
        .collect();
    let ids: Vec<i64> = compounds.iter().map(|c| c.0).collect();
    let reports = store::reports(
        db,
        Condition::all()
            .add(service_report::Column::CompoundId.is_in(ids.clone()))
            .add(service_report::Column::State.eq(ReportState::Submitted.as_str())),
        200,
        0,
    )
    .await?;
    let records = store::records(
        db,
        Condition::all()
            .add(service_record::Column::CompoundId.is_in(ids))
            .add(service_record::Column::State.eq(RecordState::Submitted.as_str())),
        200,
        0,
    )
    .await?;
    Ok(SecretaryPart {
        compounds,
        reports: report_rows(lang, user, api::report_views(db, reports).await?),
        records: record_rows(lang, user, api::record_views(db, records).await?),
    })
}

async fn index(ctx: Ctx, user: User, State(state): State<AppState>) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let member = if user.has_role(Role::PartyMember) {
        Some(member_part(db, lang, &user).await?)
    } else {
        None
    };
    let secretary = if user.has_role(Role::CompoundSecretary) {
        Some(secretary_part(db, lang, &user).await?)
    } else {
        None
    };
    let mut figures = Vec::new();
    for g in &user.grants {
        if !matches!(
            g.role,
            Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker
        ) || !matches!(
            g.place.kind,
            Some(PlaceKind::District | PlaceKind::Street | PlaceKind::Community)
        ) {
            continue;
        }
        if let Some(p) = jinlin_places::store::find(db, g.place.id).await? {
            figures.push(figure_row(api::figures_of(db, &p).await?.place));
        }
    }
    let mut agencies = Vec::new();
    if user.has_role(Role::AgencyAdmin) {
        let ids = store::administered(db, user.account_id).await?;
        let names = store::agency_names(db, ids.iter().copied()).await?;
        for id in ids {
            agencies.push((id, names.get(&id).cloned().unwrap_or_default()));
        }
    }
    let body = IndexPage {
        lang,
        csrf: ctx.csrf(),
        back: "/in-service",
        member,
        secretary,
        figures,
        agencies,
    };
    Ok(ctx.page(&lang.t("in_service.title"), body))
}

// ---------------------------------------------------------------- writes

async fn create_report(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    // "residence:<compound>" or "employer_pairing:<compound>:<agency>".
    let target = field(&f, "target");
    let mut parts = target.split(':');
    let kind = parts.next().and_then(ReportKind::parse);
    let compound = parts.next().and_then(|s| s.parse().ok());
    let agency = parts.next().and_then(|s| s.parse().ok());
    let (Some(kind), Some(compound_id)) = (kind, compound) else {
        return Err(refused("in_service.error.choice"));
    };
    let input = NewReport {
        kind,
        compound_id,
        agency_id: agency,
    };
    let tx = state.db.write().await?;
    api::submit_report(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn report_action(
    user: User,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let Some(action) = ReportAction::parse(&action) else {
        return Err(PageError::not_found());
    };
    let tx = state.db.write().await?;
    api::act_on_report(&tx, &user, id, action, Some(field(&f, "reason"))).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn create_one(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let Some(kind) = OneKind::parse(field(&f, "kind")) else {
        return Err(refused("in_service.error.choice"));
    };
    let input = NewOne {
        kind,
        compound_id: optional_number(&f, "compound_id")?,
        team_name: optional(&f, "team_name"),
        entrance_id: optional_number(&f, "entrance_id")?,
        zone: optional(&f, "zone"),
    };
    let tx = state.db.write().await?;
    api::take_one(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn release_one(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let tx = state.db.write().await?;
    api::release_one(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn create_record(
    user: User,
    State(state): State<AppState>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let served_on = NaiveDate::parse_from_str(field(&f, "served_on"), "%Y-%m-%d")
        .map_err(|_| refused("in_service.error.date"))?;
    let hours: f64 = field(&f, "hours")
        .parse()
        .map_err(|_| refused("in_service.error.hours"))?;
    let Some(kind) = ServiceKind::parse(field(&f, "kind")) else {
        return Err(refused("in_service.error.choice"));
    };
    let input = NewRecord {
        compound_id: number(&f, "compound_id")?,
        served_on,
        hours,
        kind,
        activity: field(&f, "activity").into(),
        matter_id: optional_number(&f, "matter_id")?,
    };
    let tx = state.db.write().await?;
    api::submit_record(&tx, &user, &input, rules::china_today(Utc::now())).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn record_action(
    user: User,
    State(state): State<AppState>,
    Path((id, action)): Path<(i64, String)>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let confirm = match action.as_str() {
        "confirm" => true,
        "refuse" => false,
        _ => return Err(PageError::not_found()),
    };
    let tx = state.db.write().await?;
    api::decide_record(&tx, &user, id, confirm, Some(field(&f, "reason"))).await?;
    tx.commit().await?;
    Ok(back(&f))
}

async fn set_scheme(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<Fields>,
) -> Result<Response, PageError> {
    check_csrf(&user, &f)?;
    let points = |name: &str| -> Result<i32, PageError> {
        i32::try_from(number(&f, name)?).map_err(|_| refused("in_service.error.scheme"))
    };
    let input = Scheme {
        per_hour: points("per_hour")?,
        per_matter: points("per_matter")?,
        per_activity: points("per_activity")?,
    };
    let tx = state.db.write().await?;
    api::set_scheme(&tx, &user, id, input).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/places/{id}/in-service")).into_response())
}

// ---------------------------------------------------------------- place

struct MemberLine {
    member: String,
    completion: String,
    complete: bool,
    held: Vec<OneRow>,
    lacking: Vec<String>,
}

#[derive(Template)]
#[template(path = "in_service_compound.html")]
struct CompoundPage<'a> {
    lang: Lang,
    csrf: &'a str,
    back: String,
    c: &'a CompoundView,
    figure: FigureRow,
    reports: Vec<ReportRow>,
    members: Vec<MemberLine>,
    records: Vec<RecordRow>,
}

struct SchemeForm {
    district_id: i64,
    per_hour: i32,
    per_matter: i32,
    per_activity: i32,
    is_default: bool,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "in_service_figures.html")]
struct FiguresPage<'a> {
    lang: Lang,
    csrf: &'a str,
    figure: FigureRow,
    children: Vec<FigureRow>,
    agencies: Vec<FigureRow>,
    scheme: Option<SchemeForm>,
}

async fn place(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let p = api::figures_place(db, &user, id).await?;
    if p.kind == PlaceKind::Compound.as_str() {
        let view = api::compound_view(db, &user, id).await?;
        let members = view
            .residents
            .iter()
            .map(|m| MemberLine {
                member: m.member_name.clone(),
                completion: lang
                    .t(&format!(
                        "in_service.completion.{}",
                        match m.completion {
                            rules::Completion::All => "all",
                            rules::Completion::Some => "some",
                            rules::Completion::None => "none",
                        }
                    ))
                    .into_owned(),
                complete: m.lacking.is_empty(),
                held: m.ones.iter().map(|o| one_row(lang, &user, o)).collect(),
                lacking: m
                    .lacking
                    .iter()
                    .map(|k| {
                        lang.t(&format!("in_service.one_short.{}", k.as_str()))
                            .into_owned()
                    })
                    .collect(),
            })
            .collect();
        let title = format!(
            "{} · {}",
            view.compound_name,
            lang.t("in_service.compound_list")
        );
        let body = CompoundPage {
            lang,
            csrf: ctx.csrf(),
            back: format!("/places/{id}/in-service"),
            figure: figure_row(view.figure.clone()),
            reports: report_rows(lang, &user, view.reports.clone())
                .into_iter()
                .zip(&view.reports)
                .map(|(row, r)| ReportRow {
                    can_decide: row.can_decide
                        || r.state == ReportState::Submitted
                            && view.stand_in_for.contains(&r.account_id),
                    ..row
                })
                .collect(),
            records: record_rows(lang, &user, view.pending_records.clone())
                .into_iter()
                .zip(&view.pending_records)
                .map(|(row, r)| RecordRow {
                    can_decide: row.can_decide || view.stand_in_for.contains(&r.account_id),
                    ..row
                })
                .collect(),
            members,
            c: &view,
        };
        return Ok(ctx.page(&title, body));
    }
    let figures = api::figures_of(db, &p).await?;
    let scheme = if p.kind == PlaceKind::District.as_str() {
        let s = api::scheme_view(db, &user, p.id).await?;
        Some(SchemeForm {
            district_id: s.district_id,
            per_hour: s.per_hour,
            per_matter: s.per_matter,
            per_activity: s.per_activity,
            is_default: s.is_default,
            can_edit: s.can_edit,
        })
    } else {
        None
    };
    let title = format!("{} · {}", p.name, lang.t("in_service.figures"));
    let body = FiguresPage {
        lang,
        csrf: ctx.csrf(),
        figure: figure_row(figures.place),
        children: figures.children.into_iter().map(figure_row).collect(),
        agencies: figures.agencies.into_iter().map(figure_row).collect(),
        scheme,
    };
    Ok(ctx.page(&title, body))
}

// ---------------------------------------------------------------- agency

struct MemberCard {
    member: String,
    reports: Vec<ReportRow>,
    home: String,
    three_ones_held: u64,
    records: Vec<RecordRow>,
    hours: String,
    points: String,
}

#[derive(Template)]
#[template(path = "in_service_agency.html")]
struct AgencyPage<'a> {
    lang: Lang,
    csrf: &'a str,
    back: String,
    agency_id: i64,
    name: &'a str,
    figure: FigureRow,
    members: Vec<MemberCard>,
}

async fn agency(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let view = api::agency_view(db, &user, id).await?;
    let members = view
        .members
        .iter()
        .map(|m| MemberCard {
            member: m.member_name.clone(),
            // Read only: no forms on the employer's view.
            reports: report_rows(lang, &user, m.reports.clone())
                .into_iter()
                .map(|r| ReportRow {
                    can_withdraw: false,
                    can_decide: false,
                    ..r
                })
                .collect(),
            home: lang
                .t(if m.residence_confirmed {
                    "in_service.home_reported"
                } else {
                    "in_service.home_not_reported"
                })
                .into_owned(),
            three_ones_held: m.three_ones_held,
            records: record_rows(lang, &user, m.records.clone())
                .into_iter()
                .map(|r| RecordRow {
                    can_decide: false,
                    ..r
                })
                .collect(),
            hours: number_text(m.hours),
            points: number_text(m.points),
        })
        .collect();
    let title = format!(
        "{} · {}",
        view.agency_name,
        lang.t("in_service.agency_view")
    );
    let body = AgencyPage {
        lang,
        csrf: ctx.csrf(),
        back: format!("/agencies/{id}/in-service"),
        agency_id: view.agency_id,
        name: &view.agency_name,
        figure: figure_row(view.figure.clone()),
        members,
    };
    Ok(ctx.page(&title, body))
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_followed_back() {
        for ok in ["/in-service", "/places/3/in-service", "/a?b=c"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "in-service",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "/in-service\tx",
            "/in-service\r\nSet-Cookie: a=b",
            "/a\u{7f}",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
