//! JSON API of in-service party members.
//!
//! Scope: a member sees their own reports, ones and records; the compound's
//! party secretary, and the community, street and district above it, see
//! those of the compound; an agency admin sees those of the agency's
//! members (read only). Anything else answers 404. Members report, take
//! ones and record service; the receiving compound's secretary confirms or
//! refuses; district admins set the district's points scheme.

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::{Access, Principal, Role, User};
use jinlin_kernel::error::ErrorBody;
use jinlin_kernel::i18n;
use jinlin_kernel::notify::{Message, notify_parties};
use jinlin_kernel::place::entity as place;
use jinlin_kernel::place::{PlaceKind, Position};
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entity::{service_points_scheme, service_record, service_report, three_ones};
use crate::rules::{
    self, Completion, Invalid, One, OneFact, OneKind, RecordFact, RecordState, Refusal,
    ReportAction, ReportActor, ReportFact, ReportKind, ReportState, Scheme, ServiceKind, Tally,
};
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, create_report))
        .routes(routes!(confirm_report))
        .routes(routes!(refuse_report))
        .routes(routes!(withdraw_report))
        .routes(routes!(list_ones, create_one))
        .routes(routes!(release_one_route))
        .routes(routes!(list_records, create_record))
        .routes(routes!(confirm_record))
        .routes(routes!(refuse_record))
        .routes(routes!(compound_in_service))
        .routes(routes!(agency_in_service))
        .routes(routes!(figures))
        .routes(routes!(get_scheme, put_scheme))
}

// ---------------------------------------------------------------- errors

pub fn invalid(e: Invalid) -> ApiError {
    ApiError::invalid(i18n::current().t(e.key))
}

fn invalid_key(key: &'static str) -> ApiError {
    invalid(Invalid { key })
}

fn conflict(key: &str) -> ApiError {
    ApiError::with_message(StatusCode::CONFLICT, "conflict", i18n::current().t(key))
}

/// A unique index met by a racing write: the same 409 as the check before.
fn unique(e: DbErr, key: &str) -> ApiError {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        conflict(key)
    } else {
        e.into()
    }
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Forbidden => ApiError::forbidden(),
        Refusal::State => conflict("in_service.error.state_changed"),
    }
}

// ---------------------------------------------------------------- scope

/// The roles that oversee members at a compound: its party secretary and
/// the community, street and district above it.
const OVERSEERS: [Role; 4] = [
    Role::DistrictAdmin,
    Role::StreetAdmin,
    Role::CommunityWorker,
    Role::CompoundSecretary,
];

pub fn oversees(user: &Principal, pos: &Position) -> bool {
    user.roles_for(Access::Registry, pos)
        .iter()
        .any(|r| OVERSEERS.contains(r))
}

/// Whether the user is the party secretary of the compound.
pub fn is_secretary(user: &Principal, compound_id: i64) -> bool {
    user.grants
        .iter()
        .any(|g| g.role == Role::CompoundSecretary && g.place.id == compound_id)
}

/// The compounds of the dwellings where the user holds `party_member`.
pub fn residence_compounds(user: &Principal) -> Vec<i64> {
    let mut out: Vec<i64> = user
        .grants
        .iter()
        .filter(|g| g.role == Role::PartyMember)
        .filter_map(|g| g.place.compound_id)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A row's compound as a place position, for scope checks.
fn compound_position(
    district_code: &str,
    street_id: Option<i64>,
    community_id: Option<i64>,
    compound_id: i64,
) -> Position {
    Position {
        id: compound_id,
        kind: Some(PlaceKind::Compound),
        code: None,
        district_code: Some(district_code.to_string()),
        street_id,
        community_id,
        ..Default::default()
    }
}

/// Who may read a member's items: the member, the compound's overseers
/// and, of the work side only, the admins of the agency reported to.
struct Reader<'a> {
    user: &'a Principal,
    /// The agencies the reader administers.
    agencies: Vec<i64>,
}

impl<'a> Reader<'a> {
    async fn load(db: &impl ConnectionTrait, user: &'a Principal) -> Result<Self, ApiError> {
        Ok(Reader {
            user,
            agencies: store::reader_agencies(db, user).await?,
        })
    }

    fn sees(&self, account_id: i64, pos: &Position) -> bool {
        account_id == self.user.account_id || oversees(self.user, pos)
    }

    fn sees_report(&self, r: &service_report::Model) -> bool {
        self.sees(
            r.account_id,
            &compound_position(&r.district_code, r.street_id, r.community_id, r.compound_id),
        ) || r.kind == ReportKind::EmployerPairing.as_str()
            && r.agency_id.is_some_and(|a| self.agencies.contains(&a))
    }

    async fn sees_record(
        &self,
        db: &impl ConnectionTrait,
        r: &service_record::Model,
    ) -> Result<bool, ApiError> {
        Ok(self.sees(
            r.account_id,
            &compound_position(&r.district_code, r.street_id, r.community_id, r.compound_id),
        ) || store::record_reached(db, &self.agencies, r.id).await?)
    }

    fn scope(&self, rows: store::Rows) -> Condition {
        store::scope(self.user, &self.agencies, rows)
    }
}

fn own_item() -> ApiError {
    ApiError::with_message(
        StatusCode::FORBIDDEN,
        "forbidden",
        i18n::current().t("in_service.error.own_item"),
    )
}

/// Whether the user oversees the compound from above it (community
/// worker, street or district admin), standing in for its secretary.
pub fn above_compound(user: &Principal, pos: &Position) -> bool {
    user.roles_for(Access::Registry, pos).iter().any(|r| {
        matches!(
            r,
            Role::CommunityWorker | Role::StreetAdmin | Role::DistrictAdmin
        )
    })
}

/// Who decides a member's report or record at a compound: its secretary;
/// nobody decides their own, so for a secretary's own item the community
/// worker, street or district admin above decides instead (`secretaries`:
/// those of the compound).
fn may_decide(
    user: &Principal,
    member: i64,
    compound: i64,
    pos: &Position,
    secretaries: &[i64],
) -> Result<(), ApiError> {
    if member == user.account_id {
        return Err(own_item());
    }
    if is_secretary(user, compound) {
        return Ok(());
    }
    if secretaries.contains(&member) && above_compound(user, pos) {
        return Ok(());
    }
    Err(ApiError::forbidden())
}

/// A compound (by id) for a write: 422 when it is not a compound.
async fn compound_for_write(db: &impl ConnectionTrait, id: i64) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p) if p.kind == PlaceKind::Compound.as_str() => Ok(p),
        _ => Err(invalid_key("in_service.error.unknown_compound")),
    }
}

fn must_be_member(user: &Principal) -> Result<(), ApiError> {
    if user.has_role(Role::PartyMember) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

// ---------------------------------------------------------------- shapes

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InServiceCreated)]
pub struct Created {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewInServiceReport)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub kind: ReportKind,
    pub compound_id: i64,
    /// The employer agency paired with the compound (`employer_pairing`);
    /// found from the member's agencies when left out.
    pub agency_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = InServiceRefusal)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewInServiceOne)]
#[serde(deny_unknown_fields)]
pub struct NewOne {
    pub kind: OneKind,
    /// The residence compound; needed only when the member has confirmed
    /// residence reports at several.
    pub compound_id: Option<i64>,
    /// `volunteer_team`: the team's name.
    pub team_name: Option<String>,
    /// `entrance`: an entrance (place id) inside the residence compound.
    pub entrance_id: Option<i64>,
    /// `zone`: the responsibility zone, e.g. "3号楼至5号楼绿化带".
    pub zone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[schema(as = NewServiceRecord)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    /// A compound where the member's report is confirmed.
    pub compound_id: i64,
    pub served_on: NaiveDate,
    /// 0.5 to 24, in half hours.
    pub hours: f64,
    pub kind: ServiceKind,
    pub activity: String,
    /// A residents' matter of the compound the member coordinated (kind
    /// `matter_coordination` only).
    pub matter_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only items of this compound.
    pub compound_id: Option<i64>,
    /// Only the reader's own items.
    #[serde(default)]
    pub mine: bool,
    /// A state (`submitted`, `confirmed`, …).
    pub state: Option<String>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl ListQuery {
    fn page(&self) -> (u64, u64) {
        (
            self.limit.unwrap_or(200).clamp(1, 1000),
            // The databases take an i64: past it there is nothing to skip to.
            Ord::min(self.offset.unwrap_or(0), i64::MAX as u64),
        )
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InServiceReportView)]
pub struct ReportView {
    pub id: i64,
    pub account_id: i64,
    pub member_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub kind: ReportKind,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub state: ReportState,
    pub reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InServiceOneView)]
pub struct OneView {
    pub id: i64,
    pub account_id: i64,
    pub member_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub kind: OneKind,
    pub team_name: Option<String>,
    /// Reserved for volunteer teams as records of their own.
    pub team_id: Option<i64>,
    pub entrance_id: Option<i64>,
    pub entrance_name: Option<String>,
    pub zone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ServiceRecordView)]
pub struct RecordView {
    pub id: i64,
    pub account_id: i64,
    pub member_name: String,
    pub compound_id: i64,
    pub compound_name: String,
    pub served_on: NaiveDate,
    pub kind: ServiceKind,
    pub activity: String,
    pub hours: f64,
    pub matter_id: Option<i64>,
    pub matter_title: Option<String>,
    pub state: RecordState,
    pub reason: Option<String>,
    /// Points credited at confirmation.
    pub points: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A member at a compound with the three ones they hold and lack.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InServiceMemberOnes)]
pub struct MemberOnes {
    pub account_id: i64,
    pub member_name: String,
    pub ones: Vec<OneView>,
    pub lacking: Vec<OneKind>,
    pub completion: Completion,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = InServiceFigure)]
pub struct Figure {
    pub place_id: Option<i64>,
    pub agency_id: Option<i64>,
    pub name: String,
    pub kind: Option<PlaceKind>,
    /// Members with a confirmed report of either kind.
    pub members_reported: u64,
    pub residence_reports: u64,
    pub employer_reports: u64,
    pub pending_reports: u64,
    /// Members reported at home, by three-ones completion.
    pub three_ones_all: u64,
    pub three_ones_some: u64,
    pub three_ones_none: u64,
    /// e.g. "50.0%" of members reported at home.
    pub three_ones_all_percent: Option<String>,
    pub records: u64,
    pub pending_records: u64,
    pub matters_coordinated: u64,
    pub hours: f64,
    pub points: f64,
}

impl Figure {
    fn of(name: String, t: Tally) -> Figure {
        let home = t.three_ones_all + t.three_ones_some + t.three_ones_none;
        Figure {
            place_id: None,
            agency_id: None,
            name,
            kind: None,
            members_reported: t.members_reported,
            residence_reports: t.residence_reports,
            employer_reports: t.employer_reports,
            pending_reports: t.pending_reports,
            three_ones_all: t.three_ones_all,
            three_ones_some: t.three_ones_some,
            three_ones_none: t.three_ones_none,
            three_ones_all_percent: rules::percent(t.three_ones_all, home),
            records: t.records,
            pending_records: t.pending_records,
            matters_coordinated: t.matters_coordinated,
            hours: rules::halved(t.half_hours),
            points: rules::halved(t.points_x2),
        }
    }

    fn of_place(p: &place::Model, t: Tally) -> Figure {
        Figure {
            place_id: Some(p.id),
            kind: PlaceKind::parse(&p.kind),
            ..Figure::of(p.name.clone(), t)
        }
    }

    fn is_empty(&self) -> bool {
        self.members_reported + self.pending_reports + self.records + self.pending_records == 0
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InServiceFigures)]
pub struct Figures {
    #[serde(flatten)]
    pub place: Figure,
    /// The streets of a district, communities of a street, compounds of a
    /// community.
    pub children: Vec<Figure>,
    /// The district's agencies, counting their members' service here.
    pub agencies: Vec<Figure>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CompoundInService)]
pub struct CompoundView {
    pub compound_id: i64,
    pub compound_name: String,
    pub figure: Figure,
    /// Live reports to the compound, pending first.
    pub reports: Vec<ReportView>,
    /// Members confirmed at their residence here, with what they lack.
    pub residents: Vec<MemberOnes>,
    /// Service records awaiting confirmation.
    pub pending_records: Vec<RecordView>,
    /// Whether the reader confirms here (the compound's secretary).
    pub can_confirm: bool,
    /// Members (the compound's secretaries) whose own reports and records
    /// the reader decides in their stead, from the community, street or
    /// district above.
    pub stand_in_for: Vec<i64>,
}

/// A member as the employer sees them: the work side in full, the home
/// side only as counts (never where they live or what they do there).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InServiceMemberService)]
pub struct MemberService {
    pub account_id: i64,
    pub member_name: String,
    /// Employer-pairing reports to this agency's pairings.
    pub reports: Vec<ReportView>,
    /// Records at the compounds of those reports.
    pub records: Vec<RecordView>,
    /// Whether the member has a confirmed residence report.
    pub residence_confirmed: bool,
    /// How many of the three ones the member holds (0–3).
    pub three_ones_held: u64,
    /// Confirmed hours and points, at home and at work.
    pub hours: f64,
    pub points: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AgencyInService)]
pub struct AgencyView {
    pub agency_id: i64,
    pub agency_name: String,
    pub figure: Figure,
    pub members: Vec<MemberService>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ServicePointsSchemeView)]
pub struct SchemeView {
    pub district_id: i64,
    pub district_code: String,
    pub per_hour: i32,
    pub per_matter: i32,
    pub per_activity: i32,
    /// No scheme of its own: the defaults apply.
    pub is_default: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub can_edit: bool,
}

// ---------------------------------------------------------------- views

/// Names of what rows refer to, loaded once per list.
#[derive(Default)]
struct Names {
    accounts: HashMap<i64, String>,
    places: HashMap<i64, place::Model>,
    agencies: HashMap<i64, String>,
    matters: HashMap<i64, String>,
}

impl Names {
    async fn load(
        db: &impl ConnectionTrait,
        accounts: impl IntoIterator<Item = i64>,
        places: impl IntoIterator<Item = i64>,
        agencies: impl IntoIterator<Item = i64>,
        matters: impl IntoIterator<Item = i64>,
    ) -> Result<Names, ApiError> {
        Ok(Names {
            accounts: store::account_names(db, accounts).await?,
            places: store::places(db, places).await?,
            agencies: store::agency_names(db, agencies).await?,
            matters: store::matter_titles(db, matters).await?,
        })
    }

    fn account(&self, id: i64) -> String {
        self.accounts.get(&id).cloned().unwrap_or_default()
    }

    fn place(&self, id: i64) -> String {
        self.places
            .get(&id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }
}

pub async fn report_views(
    db: &impl ConnectionTrait,
    rows: Vec<service_report::Model>,
) -> Result<Vec<ReportView>, ApiError> {
    let names = Names::load(
        db,
        rows.iter().map(|r| r.account_id),
        rows.iter().map(|r| r.compound_id),
        rows.iter().filter_map(|r| r.agency_id),
        [],
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReportView {
            id: r.id,
            account_id: r.account_id,
            member_name: names.account(r.account_id),
            compound_id: r.compound_id,
            compound_name: names.place(r.compound_id),
            kind: ReportKind::parse(&r.kind).unwrap_or(ReportKind::Residence),
            agency_id: r.agency_id,
            agency_name: r.agency_id.and_then(|a| names.agencies.get(&a).cloned()),
            state: ReportState::parse(&r.state).unwrap_or(ReportState::Withdrawn),
            reason: r.reason,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
        })
        .collect())
}

pub async fn one_views(
    db: &impl ConnectionTrait,
    rows: Vec<three_ones::Model>,
) -> Result<Vec<OneView>, ApiError> {
    let names = Names::load(
        db,
        rows.iter().map(|r| r.account_id),
        rows.iter()
            .map(|r| r.compound_id)
            .chain(rows.iter().filter_map(|r| r.entrance_id)),
        [],
        [],
    )
    .await?;
    let mut names = names;
    // The entrances' buildings, for labels like "3号楼 1单元".
    let buildings: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.entrance_id)
        .filter_map(|e| names.places.get(&e)?.building_id)
        .collect();
    names.places.extend(store::places(db, buildings).await?);
    Ok(rows
        .into_iter()
        .map(|r| OneView {
            id: r.id,
            account_id: r.account_id,
            member_name: names.account(r.account_id),
            compound_id: r.compound_id,
            compound_name: names.place(r.compound_id),
            kind: OneKind::parse(&r.kind).unwrap_or(OneKind::Zone),
            team_name: r.team_name,
            team_id: r.team_id,
            entrance_id: r.entrance_id,
            entrance_name: r.entrance_id.map(|e| entrance_label(&names.places, e)),
            zone: r.zone,
            created_at: r.created_at,
            released_at: r.released_at,
        })
        .collect())
}

/// An entrance's name with its building's: "3号楼 1单元".
fn entrance_label(places: &HashMap<i64, place::Model>, id: i64) -> String {
    let Some(e) = places.get(&id) else {
        return String::new();
    };
    match e.building_id.and_then(|b| places.get(&b)) {
        Some(b) => format!("{} {}", b.name, e.name),
        None => e.name.clone(),
    }
}

pub async fn record_views(
    db: &impl ConnectionTrait,
    rows: Vec<service_record::Model>,
) -> Result<Vec<RecordView>, ApiError> {
    let names = Names::load(
        db,
        rows.iter().map(|r| r.account_id),
        rows.iter().map(|r| r.compound_id),
        [],
        rows.iter().filter_map(|r| r.matter_id),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RecordView {
            id: r.id,
            account_id: r.account_id,
            member_name: names.account(r.account_id),
            compound_id: r.compound_id,
            compound_name: names.place(r.compound_id),
            served_on: r.served_on,
            kind: ServiceKind::parse(&r.kind).unwrap_or(ServiceKind::Other),
            activity: r.activity,
            hours: rules::halved(i64::from(r.half_hours)),
            matter_id: r.matter_id,
            matter_title: r.matter_id.and_then(|m| names.matters.get(&m).cloned()),
            state: RecordState::parse(&r.state).unwrap_or(RecordState::Refused),
            reason: r.reason,
            points: r.points_x2.map(|p| rules::halved(i64::from(p))),
            created_at: r.created_at,
            decided_at: r.decided_at,
        })
        .collect())
}

// ---------------------------------------------------------------- notices

async fn notice(
    db: &impl ConnectionTrait,
    to: &[i64],
    kind: &str,
    member: &str,
    compound: &str,
) -> Result<(), ApiError> {
    if to.is_empty() {
        return Ok(());
    }
    let lang = i18n::current();
    let message = Message::new(
        &format!("in_service.{kind}"),
        lang.t(&format!("in_service.notify.{kind}")),
        format!("{member} · {compound}"),
    )
    .link("/in-service");
    notify_parties(db, to, &message).await?;
    Ok(())
}

// ---------------------------------------------------------------- reports

/// A member reports to a compound: the compound of their dwelling
/// (`residence`), or one currently paired with their employer agency
/// (`employer_pairing`). One live report per kind and compound.
pub async fn submit_report(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewReport,
) -> Result<i64, ApiError> {
    must_be_member(user)?;
    let c = compound_for_write(db, input.compound_id).await?;
    let agency_id = match input.kind {
        ReportKind::Residence => {
            if !residence_compounds(user).contains(&c.id) {
                return Err(invalid_key("in_service.error.not_residence"));
            }
            None
        }
        ReportKind::EmployerPairing => {
            let mine = store::member_agencies(db, user.account_id, user.person_id).await?;
            if mine.is_empty() {
                return Err(invalid_key("in_service.error.no_agency"));
            }
            let candidates: Vec<i64> = match input.agency_id {
                Some(a) if mine.iter().any(|m| m.id == a) => vec![a],
                Some(_) => return Err(invalid_key("in_service.error.not_your_agency")),
                None => mine.iter().map(|m| m.id).collect(),
            };
            let mut found = None;
            for a in candidates {
                if store::paired(db, a, c.id).await? {
                    found = Some(a);
                    break;
                }
            }
            match found {
                Some(a) => Some(a),
                None => return Err(invalid_key("in_service.error.not_paired")),
            }
        }
    };
    let duplicate = "in_service.error.duplicate_report";
    if store::live_report(db, user.account_id, input.kind, c.id)
        .await?
        .is_some()
    {
        return Err(conflict(duplicate));
    }
    let code = c.district_code.clone().unwrap_or_default();
    let id = service_report::Entity::insert(service_report::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(c.street_id),
        community_id: Set(c.community_id),
        compound_id: Set(c.id),
        account_id: Set(user.account_id),
        person_id: Set(user.person_id),
        kind: Set(input.kind.as_str().into()),
        agency_id: Set(agency_id),
        state: Set(ReportState::Submitted.as_str().into()),
        reason: Set(None),
        submitted_at: Set(Utc::now()),
        decided_at: Set(None),
        decided_by: Set(None),
        withdrawn_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .map_err(|e| unique(e, duplicate))?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "service_report.submit", "service_report")
            .object(id)
            .district(Some(code))
            .detail(serde_json::json!({
                "kind": input.kind.as_str(), "compound_id": c.id, "agency_id": agency_id
            })),
    )
    .await?;
    let secretaries = store::secretaries(db, c.id).await?;
    notice(
        db,
        &secretaries,
        "report_submitted",
        &user.display_name,
        &c.name,
    )
    .await?;
    Ok(id)
}

/// A report the user may see (404 otherwise).
async fn visible_report(
    db: &impl ConnectionTrait,
    reader: &Reader<'_>,
    id: i64,
) -> Result<service_report::Model, ApiError> {
    match store::find_report(db, id).await? {
        Some(r) if reader.sees_report(&r) => Ok(r),
        _ => Err(ApiError::not_found()),
    }
}

/// Confirms, refuses or withdraws a report: the compound's secretary
/// decides a submitted report; the member withdraws a live one (and with a
/// residence report, the ones resting on it are released).
pub async fn act_on_report(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    action: ReportAction,
    reason: Option<&str>,
) -> Result<service_report::Model, ApiError> {
    store::lock_report(db, id).await?;
    let reader = Reader::load(db, user).await?;
    let r = visible_report(db, &reader, id).await?;
    let actor = match action {
        ReportAction::Withdraw if r.account_id == user.account_id => ReportActor::Member,
        ReportAction::Withdraw => return Err(ApiError::forbidden()),
        ReportAction::Confirm | ReportAction::Refuse => {
            let pos =
                compound_position(&r.district_code, r.street_id, r.community_id, r.compound_id);
            let secretaries = store::secretaries(db, r.compound_id).await?;
            may_decide(user, r.account_id, r.compound_id, &pos, &secretaries)?;
            ReportActor::Secretary
        }
    };
    let state = ReportState::parse(&r.state).unwrap_or(ReportState::Withdrawn);
    let next = rules::report_action(state, action, actor).map_err(refusal)?;
    // A pairing ended since the report was made: nothing left to confirm.
    if action == ReportAction::Confirm && r.kind == ReportKind::EmployerPairing.as_str() {
        let paired = match r.agency_id {
            Some(a) => store::paired(db, a, r.compound_id).await?,
            None => false,
        };
        if !paired {
            return Err(invalid_key("in_service.error.pairing_ended"));
        }
    }
    let reason = match action {
        ReportAction::Refuse => Some(rules::check_reason(reason).map_err(invalid)?),
        _ => None,
    };
    let now = Utc::now();
    let (account, compound, code, kind) = (
        r.account_id,
        r.compound_id,
        r.district_code.clone(),
        r.kind.clone(),
    );
    let mut m: service_report::ActiveModel = r.into();
    m.state = Set(next.as_str().into());
    match action {
        ReportAction::Withdraw => m.withdrawn_at = Set(Some(now)),
        _ => {
            m.decided_at = Set(Some(now));
            m.decided_by = Set(Some(user.account_id));
            m.reason = Set(reason);
        }
    }
    let saved = service_report::Entity::update(m).exec(db).await?;
    if action == ReportAction::Withdraw && kind == ReportKind::Residence.as_str() {
        three_ones::Entity::update_many()
            .col_expr(three_ones::Column::ReleasedAt, Expr::value(now))
            .col_expr(three_ones::Column::ReleasedBy, Expr::value(user.account_id))
            .filter(three_ones::Column::ReportId.eq(id))
            .filter(three_ones::Column::ReleasedAt.is_null())
            .exec(db)
            .await?;
    }
    audit::record(
        db,
        Entry::new(
            Some(user),
            match action {
                ReportAction::Confirm => "service_report.confirm",
                ReportAction::Refuse => "service_report.refuse",
                ReportAction::Withdraw => "service_report.withdraw",
            },
            "service_report",
        )
        .object(id)
        .district(Some(code)),
    )
    .await?;
    if action != ReportAction::Withdraw {
        let compound_name = store::places(db, [compound])
            .await?
            .remove(&compound)
            .map(|p| p.name)
            .unwrap_or_default();
        let kind = match action {
            ReportAction::Confirm => "report_confirmed",
            _ => "report_refused",
        };
        let member = store::account_names(db, [account])
            .await?
            .remove(&account)
            .unwrap_or_default();
        notice(db, &[account], kind, &member, &compound_name).await?;
    }
    Ok(saved)
}

fn report_state_filter(q: &ListQuery) -> Result<Option<ReportState>, ApiError> {
    q.state
        .as_deref()
        .map(|s| ReportState::parse(s).ok_or_else(|| invalid_key("in_service.error.state")))
        .transpose()
}

fn narrowed(reader: &Reader<'_>, q: &ListQuery, rows: store::Rows) -> Condition {
    let mut cond = Condition::all().add(reader.scope(rows));
    if q.mine {
        cond = cond.add(Expr::col(Alias::new("account_id")).eq(reader.user.account_id));
    }
    if let Some(c) = q.compound_id {
        cond = cond.add(Expr::col(Alias::new("compound_id")).eq(c));
    }
    cond
}

pub async fn list_reports_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    q: &ListQuery,
) -> Result<Vec<ReportView>, ApiError> {
    let reader = Reader::load(db, user).await?;
    let mut cond = narrowed(&reader, q, store::Rows::Reports);
    if let Some(s) = report_state_filter(q)? {
        cond = cond.add(service_report::Column::State.eq(s.as_str()));
    }
    let (limit, offset) = q.page();
    report_views(db, store::reports(db, cond, limit, offset).await?).await
}

/// Reports the reader may see: their own, their compounds', their
/// agency's members', newest first.
#[utoipa::path(get, path = "/in-service/reports", tag = "in_service", params(ListQuery),
    responses((status = 200, body = Vec<ReportView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_reports(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<ReportView>>, ApiError> {
    Ok(ApiJson(list_reports_for(state.db.conn(), &user, &q).await?))
}

/// A party member reports to a compound (dual reporting 双报到). A second
/// live report of the same kind to the same compound is refused (409); a
/// residence report to a compound other than the member's, or an
/// employer-pairing report to a compound not paired with the member's
/// agency, is refused (422).
#[utoipa::path(post, path = "/in-service/reports", tag = "in_service", request_body = NewReport,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_report(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewReport>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = submit_report(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

async fn report_action_route(
    state: &AppState,
    user: &Principal,
    id: i64,
    action: ReportAction,
    reason: Option<&str>,
) -> Result<ApiJson<ReportView>, ApiError> {
    let tx = state.db.write().await?;
    let r = act_on_report(&tx, user, id, action, reason).await?;
    let view = report_views(&tx, vec![r]).await?.remove(0);
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// The receiving compound's party secretary confirms a submitted report.
#[utoipa::path(post, path = "/in-service/reports/{id}/confirm", tag = "in_service",
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = ReportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn confirm_report(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ReportView>, ApiError> {
    report_action_route(&state, &user, id, ReportAction::Confirm, None).await
}

/// The receiving compound's party secretary refuses a submitted report,
/// with a reason.
#[utoipa::path(post, path = "/in-service/reports/{id}/refuse", tag = "in_service",
    request_body = Refuse, params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = ReportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn refuse_report(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Refuse>,
) -> Result<ApiJson<ReportView>, ApiError> {
    report_action_route(&state, &user, id, ReportAction::Refuse, Some(&body.reason)).await
}

/// The member withdraws a submitted or confirmed report; the three ones
/// resting on a residence report are released with it.
#[utoipa::path(post, path = "/in-service/reports/{id}/withdraw", tag = "in_service",
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, body = ReportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn withdraw_report(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<ReportView>, ApiError> {
    report_action_route(&state, &user, id, ReportAction::Withdraw, None).await
}

// ---------------------------------------------------------------- three ones

/// A member takes one of the three ones at the residence compound, once
/// the residence report there is confirmed.
pub async fn take_one(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewOne,
) -> Result<i64, ApiError> {
    must_be_member(user)?;
    let homes = store::confirmed_reports(db, user.account_id, Some(ReportKind::Residence)).await?;
    let report = match input.compound_id {
        Some(c) => homes.into_iter().find(|r| r.compound_id == c),
        None if homes.len() > 1 => return Err(invalid_key("in_service.error.choose_compound")),
        None => homes.into_iter().next(),
    };
    let Some(report) = report else {
        return Err(conflict("in_service.error.residence_not_confirmed"));
    };
    // A withdrawal running at the same moment releases the ones resting on
    // the report: lock it and read it again so no live one outlasts it.
    store::lock_report(db, report.id).await?;
    let report = match store::find_report(db, report.id).await? {
        Some(r) if r.state == ReportState::Confirmed.as_str() => r,
        _ => return Err(conflict("in_service.error.residence_not_confirmed")),
    };
    let one = rules::check_one(
        input.kind,
        input.team_name.as_deref(),
        input.entrance_id,
        input.zone.as_deref(),
    )
    .map_err(invalid)?;
    if let One::Entrance { entrance_id } = one {
        let inside = jinlin_places::store::find(db, entrance_id)
            .await?
            .is_some_and(|p| {
                p.kind == PlaceKind::Entrance.as_str() && p.compound_id == Some(report.compound_id)
            });
        if !inside {
            return Err(invalid_key("in_service.error.entrance_outside"));
        }
    }
    let taken = "in_service.error.one_taken";
    if store::live_ones(db, user.account_id)
        .await?
        .iter()
        .any(|o| o.kind == input.kind.as_str())
    {
        return Err(conflict(taken));
    }
    let (team_name, entrance_id, zone) = match one {
        One::VolunteerTeam { name } => (Some(name), None, None),
        One::Entrance { entrance_id } => (None, Some(entrance_id), None),
        One::Zone { description } => (None, None, Some(description)),
    };
    let id = three_ones::Entity::insert(three_ones::ActiveModel {
        district_code: Set(report.district_code.clone()),
        street_id: Set(report.street_id),
        community_id: Set(report.community_id),
        compound_id: Set(report.compound_id),
        account_id: Set(user.account_id),
        person_id: Set(user.person_id),
        report_id: Set(report.id),
        kind: Set(input.kind.as_str().into()),
        team_name: Set(team_name),
        team_id: Set(None),
        entrance_id: Set(entrance_id),
        zone: Set(zone),
        created_at: Set(Utc::now()),
        released_at: Set(None),
        released_by: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .map_err(|e| unique(e, taken))?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "three_ones.take", "three_ones")
            .object(id)
            .district(Some(report.district_code))
            .detail(serde_json::json!({ "kind": input.kind.as_str() })),
    )
    .await?;
    Ok(id)
}

/// Releases a live one: the member (to replace it) or the compound's
/// secretary.
pub async fn release_one(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<(), ApiError> {
    store::lock_one(db, id).await?;
    let reader = Reader::load(db, user).await?;
    let o = match store::find_one(db, id).await? {
        Some(o)
            if reader.sees(
                o.account_id,
                &compound_position(&o.district_code, o.street_id, o.community_id, o.compound_id),
            ) =>
        {
            o
        }
        _ => return Err(ApiError::not_found()),
    };
    if o.account_id != user.account_id && !is_secretary(user, o.compound_id) {
        return Err(ApiError::forbidden());
    }
    if o.released_at.is_some() {
        return Err(conflict("in_service.error.already_released"));
    }
    let code = o.district_code.clone();
    let mut m: three_ones::ActiveModel = o.into();
    m.released_at = Set(Some(Utc::now()));
    m.released_by = Set(Some(user.account_id));
    three_ones::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(Some(user), "three_ones.release", "three_ones")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    Ok(())
}

pub async fn list_ones_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    q: &ListQuery,
) -> Result<Vec<OneView>, ApiError> {
    let reader = Reader::load(db, user).await?;
    let cond = narrowed(&reader, q, store::Rows::Ones);
    // `state=released` lists history too; anything else, the live ones.
    let live_only = q.state.as_deref() != Some("released");
    let (limit, offset) = q.page();
    one_views(db, store::ones(db, cond, live_only, limit, offset).await?).await
}

/// The three ones the reader may see (live ones; `state=released` adds
/// released ones).
#[utoipa::path(get, path = "/in-service/three-ones", tag = "in_service", params(ListQuery),
    responses((status = 200, body = Vec<OneView>), (status = 401, body = ErrorBody)))]
async fn list_ones(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<OneView>>, ApiError> {
    Ok(ApiJson(list_ones_for(state.db.conn(), &user, &q).await?))
}

/// A member takes one of the three ones (三个一) at the residence compound:
/// a volunteer team, a building entrance of the compound, or a
/// responsibility zone. A second live one of the same kind is refused
/// (409); release the first to replace it.
#[utoipa::path(post, path = "/in-service/three-ones", tag = "in_service", request_body = NewOne,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_one(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewOne>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = take_one(&tx, &user, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

/// Releases one of the three ones (the member, or the compound's
/// secretary); it stays as history.
#[utoipa::path(delete, path = "/in-service/three-ones/{id}", tag = "in_service",
    params(("id" = i64, Path, description = "Id of the one")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn release_one_route(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let tx = state.db.write().await?;
    release_one(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- records

/// Records a service at a compound where the member's report is confirmed.
pub async fn submit_record(
    db: &impl ConnectionTrait,
    user: &Principal,
    input: &NewRecord,
    today: NaiveDate,
) -> Result<i64, ApiError> {
    must_be_member(user)?;
    let c = compound_for_write(db, input.compound_id).await?;
    let half_hours = rules::check_hours(input.hours).map_err(invalid)?;
    let served_on = rules::check_served_on(input.served_on, today).map_err(invalid)?;
    let activity = rules::check_text(&input.activity, 500).map_err(invalid)?;
    if let Some(mid) = input.matter_id {
        if input.kind != ServiceKind::MatterCoordination {
            return Err(invalid_key("in_service.error.matter_kind"));
        }
        check_matter(db, user, mid, c.id).await?;
    }
    // The confirmed reports the record rests on, locked and read again so
    // a withdrawal running at the same moment cannot slip between.
    // An employer-pairing report counts only while the pairing lasts.
    let mut reported = false;
    let mut ended = false;
    for r in store::confirmed_reports(db, user.account_id, None).await? {
        if r.compound_id != c.id {
            continue;
        }
        store::lock_report(db, r.id).await?;
        let still = store::find_report(db, r.id).await?;
        if still.is_none_or(|r| r.state != ReportState::Confirmed.as_str()) {
            continue;
        }
        if r.kind == ReportKind::EmployerPairing.as_str() {
            let paired = match r.agency_id {
                Some(a) => store::paired(db, a, c.id).await?,
                None => false,
            };
            if !paired {
                ended = true;
                continue;
            }
        }
        reported = true;
        break;
    }
    if !reported && ended {
        return Err(invalid_key("in_service.error.pairing_ended"));
    }
    if !reported {
        return Err(conflict("in_service.error.not_reported"));
    }
    let code = c.district_code.clone().unwrap_or_default();
    let id = service_record::Entity::insert(service_record::ActiveModel {
        district_code: Set(code.clone()),
        street_id: Set(c.street_id),
        community_id: Set(c.community_id),
        compound_id: Set(c.id),
        account_id: Set(user.account_id),
        person_id: Set(user.person_id),
        served_on: Set(served_on),
        kind: Set(input.kind.as_str().into()),
        activity: Set(activity),
        half_hours: Set(half_hours),
        matter_id: Set(input.matter_id),
        state: Set(RecordState::Submitted.as_str().into()),
        reason: Set(None),
        points_x2: Set(None),
        created_at: Set(Utc::now()),
        decided_at: Set(None),
        decided_by: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?
    .last_insert_id;
    audit::record(
        db,
        Entry::new(Some(user), "service_record.submit", "service_record")
            .object(id)
            .district(Some(code)),
    )
    .await?;
    let secretaries = store::secretaries(db, c.id).await?;
    notice(
        db,
        &secretaries,
        "record_submitted",
        &user.display_name,
        &c.name,
    )
    .await?;
    Ok(id)
}

/// A residents' matter of the compound that the member sees (raised or
/// followed it, or a public matter of their own compound) or is credited on.
async fn check_matter(
    db: &impl ConnectionTrait,
    user: &Principal,
    matter_id: i64,
    compound_id: i64,
) -> Result<(), ApiError> {
    let refused = || invalid_key("in_service.error.matter");
    let Some(m) = jinlin_resident_matters::store::find(db, matter_id).await? else {
        return Err(refused());
    };
    if m.compound_id != compound_id {
        return Err(refused());
    }
    let credited = match user.person_id {
        Some(p) => jinlin_resident_matters::store::find_credit(db, m.id, p)
            .await?
            .is_some(),
        None => false,
    };
    if credited {
        return Ok(());
    }
    match jinlin_resident_matters::matters::visible(db, user, m.id).await {
        Ok(_) => Ok(()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(refused()),
        Err(e) => Err(e),
    }
}

/// The compound's secretary confirms (with points by the district's
/// scheme, fixed now) or refuses (with a reason) a submitted record.
pub async fn decide_record(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    confirm: bool,
    reason: Option<&str>,
) -> Result<service_record::Model, ApiError> {
    store::lock_record(db, id).await?;
    let reader = Reader::load(db, user).await?;
    let r = match store::find_record(db, id).await? {
        Some(r) if reader.sees_record(db, &r).await? => r,
        _ => return Err(ApiError::not_found()),
    };
    let pos = compound_position(&r.district_code, r.street_id, r.community_id, r.compound_id);
    let secretaries = store::secretaries(db, r.compound_id).await?;
    may_decide(user, r.account_id, r.compound_id, &pos, &secretaries)?;
    let state = RecordState::parse(&r.state).unwrap_or(RecordState::Refused);
    let next = rules::record_decision(state, confirm).map_err(refusal)?;
    let reason = if confirm {
        None
    } else {
        Some(rules::check_reason(reason).map_err(invalid)?)
    };
    let points = if confirm {
        let scheme = store::scheme(db, &r.district_code).await?;
        let kind = ServiceKind::parse(&r.kind).unwrap_or(ServiceKind::Other);
        let x2 = rules::points_x2(scheme, next, kind, r.half_hours);
        Some(i32::try_from(x2).unwrap_or(i32::MAX))
    } else {
        None
    };
    let (account, compound, code) = (r.account_id, r.compound_id, r.district_code.clone());
    let mut m: service_record::ActiveModel = r.into();
    m.state = Set(next.as_str().into());
    m.reason = Set(reason);
    m.points_x2 = Set(points);
    m.decided_at = Set(Some(Utc::now()));
    m.decided_by = Set(Some(user.account_id));
    let saved = service_record::Entity::update(m).exec(db).await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            if confirm {
                "service_record.confirm"
            } else {
                "service_record.refuse"
            },
            "service_record",
        )
        .object(id)
        .district(Some(code)),
    )
    .await?;
    let compound_name = store::places(db, [compound])
        .await?
        .remove(&compound)
        .map(|p| p.name)
        .unwrap_or_default();
    let member = store::account_names(db, [account])
        .await?
        .remove(&account)
        .unwrap_or_default();
    let kind = if confirm {
        "record_confirmed"
    } else {
        "record_refused"
    };
    notice(db, &[account], kind, &member, &compound_name).await?;
    Ok(saved)
}

pub async fn list_records_for(
    db: &impl ConnectionTrait,
    user: &Principal,
    q: &ListQuery,
) -> Result<Vec<RecordView>, ApiError> {
    let reader = Reader::load(db, user).await?;
    let mut cond = narrowed(&reader, q, store::Rows::Records);
    if let Some(s) = q.state.as_deref() {
        let s = RecordState::parse(s).ok_or_else(|| invalid_key("in_service.error.state"))?;
        cond = cond.add(service_record::Column::State.eq(s.as_str()));
    }
    let (limit, offset) = q.page();
    record_views(db, store::records(db, cond, limit, offset).await?).await
}

/// Service records the reader may see, latest service first.
#[utoipa::path(get, path = "/in-service/service-records", tag = "in_service", params(ListQuery),
    responses((status = 200, body = Vec<RecordView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_records(
    State(state): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<RecordView>>, ApiError> {
    Ok(ApiJson(list_records_for(state.db.conn(), &user, &q).await?))
}

/// A member records a service at a compound where their report is
/// confirmed: the day (China time, not in the future, at most a year
/// ago), 0.5–24 hours in half hours, the activity, and for a matter
/// coordinated, optionally the residents' matter.
#[utoipa::path(post, path = "/in-service/service-records", tag = "in_service", request_body = NewRecord,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_record(
    State(state): State<AppState>,
    user: User,
    ApiJson(input): ApiJson<NewRecord>,
) -> Result<(StatusCode, ApiJson<Created>), ApiError> {
    let tx = state.db.write().await?;
    let id = submit_record(&tx, &user, &input, rules::china_today(Utc::now())).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id })))
}

async fn record_route(
    state: &AppState,
    user: &Principal,
    id: i64,
    confirm: bool,
    reason: Option<&str>,
) -> Result<ApiJson<RecordView>, ApiError> {
    let tx = state.db.write().await?;
    let r = decide_record(&tx, user, id, confirm, reason).await?;
    let view = record_views(&tx, vec![r]).await?.remove(0);
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// The compound's secretary confirms a service record; its points are
/// fixed by the district's scheme at this moment.
#[utoipa::path(post, path = "/in-service/service-records/{id}/confirm", tag = "in_service",
    params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, body = RecordView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn confirm_record(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<RecordView>, ApiError> {
    record_route(&state, &user, id, true, None).await
}

/// The compound's secretary refuses a service record, with a reason.
#[utoipa::path(post, path = "/in-service/service-records/{id}/refuse", tag = "in_service",
    request_body = Refuse, params(("id" = i64, Path, description = "Record id")),
    responses((status = 200, body = RecordView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn refuse_record(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Refuse>,
) -> Result<ApiJson<RecordView>, ApiError> {
    record_route(&state, &user, id, false, Some(&body.reason)).await
}

// ---------------------------------------------------------------- figures

fn facts_of(
    reports: &[service_report::Model],
    ones: &[three_ones::Model],
    records: &[service_record::Model],
) -> (Vec<ReportFact>, Vec<OneFact>, Vec<RecordFact>) {
    (
        reports
            .iter()
            .filter_map(|r| {
                Some(ReportFact {
                    member: r.account_id,
                    compound: r.compound_id,
                    kind: ReportKind::parse(&r.kind)?,
                    state: ReportState::parse(&r.state)?,
                })
            })
            .collect(),
        ones.iter()
            .filter_map(|o| {
                Some(OneFact {
                    member: o.account_id,
                    compound: o.compound_id,
                    kind: OneKind::parse(&o.kind)?,
                })
            })
            .collect(),
        records
            .iter()
            .filter_map(|r| {
                Some(RecordFact {
                    member: r.account_id,
                    compound: r.compound_id,
                    kind: ServiceKind::parse(&r.kind)?,
                    state: RecordState::parse(&r.state)?,
                    matter: r.matter_id,
                    half_hours: r.half_hours,
                    points_x2: i64::from(r.points_x2.unwrap_or(0)),
                })
            })
            .collect(),
    )
}

/// The rows of a place, for the figures.
fn place_within(p: &place::Model) -> Option<store::Within> {
    match PlaceKind::parse(&p.kind)? {
        PlaceKind::District => store::Within::district(p.district_code.as_deref()?),
        PlaceKind::Street => Some(store::Within::street(p.id)),
        PlaceKind::Community => Some(store::Within::community(p.id)),
        PlaceKind::Compound => Some(store::Within::compound(p.id)),
        _ => None,
    }
}

/// The column naming the child of `p` a row belongs to, if `p` has
/// children the figures count.
fn child_column(p: &place::Model) -> Option<&'static str> {
    match PlaceKind::parse(&p.kind)? {
        PlaceKind::District => Some("street_id"),
        PlaceKind::Street => Some("community_id"),
        PlaceKind::Community => Some("compound_id"),
        _ => None,
    }
}

/// The figures of a place and of each of its children, without the
/// agencies' lines.
async fn place_figures(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<(Figure, Vec<Figure>), ApiError> {
    let Some(within) = place_within(p) else {
        return Err(invalid_key("in_service.error.figures_place"));
    };
    let code = p.district_code.clone().unwrap_or_default();
    let kids = store::children(db, p).await?;
    let group = match child_column(p) {
        Some(column) if !kids.is_empty() => store::Group::WholeAndBy(column),
        _ => store::Group::Whole,
    };
    let mut tallies = store::tallies(db, &within, group, store::Parts::All, &code).await?;
    let whole = tallies.remove(&0).unwrap_or_default();
    let children = kids
        .iter()
        .map(|child| Figure::of_place(child, tallies.remove(&child.id).unwrap_or_default()))
        .collect();
    Ok((Figure::of_place(p, whole), children))
}

/// What a cockpit shows of a place and of its children, in three
/// statements: the members reported, their three-ones completion and the
/// matters coordinated ([`store::Parts::Headline`]), the place's under key
/// 0 and each child's under its id (children with no rows have none).
pub async fn headline_tallies(
    db: &impl ConnectionTrait,
    p: &place::Model,
) -> Result<HashMap<i64, crate::rules::Tally>, ApiError> {
    let Some(within) = place_within(p) else {
        return Err(invalid_key("in_service.error.figures_place"));
    };
    let code = p.district_code.clone().unwrap_or_default();
    let group = match child_column(p) {
        Some(column) => store::Group::WholeAndBy(column),
        None => store::Group::Whole,
    };
    Ok(store::tallies(db, &within, group, store::Parts::Headline, &code).await?)
}

/// A place's figures with its children and the district's agencies, each
/// counted by the database.
pub async fn figures_of(db: &impl ConnectionTrait, p: &place::Model) -> Result<Figures, ApiError> {
    let (place, children) = place_figures(db, p).await?;
    let code = p.district_code.clone().unwrap_or_default();
    let within = place_within(p).ok_or_else(|| invalid_key("in_service.error.figures_place"))?;
    let with_members = store::agencies_with_members(db, &code).await?;
    let mut by_agency = if with_members.is_empty() {
        HashMap::new()
    } else {
        store::tallies(
            db,
            &within,
            store::Group::Agencies,
            store::Parts::All,
            &code,
        )
        .await?
    };
    let at_district = p.kind == PlaceKind::District.as_str();
    let mut agencies = Vec::new();
    for a in jinlin_agencies::store::agencies_of_district(db, &code).await? {
        if !with_members.contains(&a.id) {
            continue;
        }
        let t = by_agency.remove(&a.id).unwrap_or_default();
        let f = Figure {
            agency_id: Some(a.id),
            ..Figure::of(a.name, t)
        };
        if at_district || !f.is_empty() {
            agencies.push(f);
        }
    }
    Ok(Figures {
        place,
        children,
        agencies,
    })
}

/// A place the user sees (404 otherwise) whose figures they may read
/// (403 otherwise).
pub async fn figures_place(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = match jinlin_places::store::find(db, id).await? {
        Some(p) if jinlin_places::store::visible(user, &p) => p,
        _ => return Err(ApiError::not_found()),
    };
    if place_within(&p).is_none() {
        return Err(invalid_key("in_service.error.figures_place"));
    }
    if !oversees(user, &p.position()) {
        return Err(ApiError::forbidden());
    }
    Ok(p)
}

/// Figures of a district, street, community or compound: members reported
/// (by kind), three-ones completion, service records, matters
/// coordinated, hours and points, with its children and, by agency, the
/// service of each agency's members here. For the compound's secretary and
/// the community, street and district above.
#[utoipa::path(get, path = "/places/{id}/in-service-figures", tag = "in_service",
    params(("id" = i64, Path, description = "A district, street, community or compound")),
    responses((status = 200, body = Figures), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn figures(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<Figures>, ApiError> {
    let db = state.db.conn();
    let p = figures_place(db, &user, id).await?;
    Ok(ApiJson(figures_of(db, &p).await?))
}

// ---------------------------------------------------------------- compound

fn held_kinds(ones: &[OneView]) -> BTreeSet<OneKind> {
    ones.iter().map(|o| o.kind).collect()
}

/// A compound's members: live reports, members confirmed at home with
/// what they lack, records awaiting confirmation.
pub async fn compound_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<CompoundView, ApiError> {
    let c = jinlin_agencies::api::visible_compound(db, user, id).await?;
    if !oversees(user, &c.position()) {
        return Err(ApiError::forbidden());
    }
    let here = Condition::all().add(service_report::Column::CompoundId.eq(c.id));
    let mut reports = store::reports(
        db,
        here.clone().add(service_report::Column::State.is_in([
            ReportState::Submitted.as_str(),
            ReportState::Confirmed.as_str(),
        ])),
        10_000,
        0,
    )
    .await?;
    reports.sort_by_key(|r| (r.state != ReportState::Submitted.as_str(), -r.id));
    let residents: Vec<i64> = {
        let mut v: Vec<i64> = reports
            .iter()
            .filter(|r| {
                r.state == ReportState::Confirmed.as_str()
                    && r.kind == ReportKind::Residence.as_str()
            })
            .map(|r| r.account_id)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let ones = one_views(
        db,
        store::ones(
            db,
            Condition::all().add(three_ones::Column::CompoundId.eq(c.id)),
            true,
            10_000,
            0,
        )
        .await?,
    )
    .await?;
    let names = store::account_names(db, residents.iter().copied()).await?;
    let mut lines: Vec<MemberOnes> = residents
        .iter()
        .map(|a| {
            let mine: Vec<OneView> = ones
                .iter()
                .filter(|o| o.account_id == *a)
                .cloned()
                .collect();
            let held = held_kinds(&mine);
            MemberOnes {
                account_id: *a,
                member_name: names.get(a).cloned().unwrap_or_default(),
                lacking: rules::lacking(&held),
                completion: rules::completion(&held),
                ones: mine,
            }
        })
        .collect();
    // Who lacks most first.
    lines.sort_by(|a, b| {
        b.lacking
            .len()
            .cmp(&a.lacking.len())
            .then(a.member_name.cmp(&b.member_name))
    });
    let pending = store::records(
        db,
        Condition::all()
            .add(service_record::Column::CompoundId.eq(c.id))
            .add(service_record::Column::State.eq(RecordState::Submitted.as_str())),
        1000,
        0,
    )
    .await?;
    let figure = figures_of(db, &c).await?.place;
    let stand_in_for = if above_compound(user, &c.position()) {
        let mut v = store::secretaries(db, c.id).await?;
        v.retain(|s| *s != user.account_id);
        v
    } else {
        Vec::new()
    };
    Ok(CompoundView {
        stand_in_for,
        compound_id: c.id,
        compound_name: c.name.clone(),
        figure,
        reports: report_views(db, reports).await?,
        residents: lines,
        pending_records: record_views(db, pending).await?,
        can_confirm: is_secretary(user, c.id),
    })
}

/// A compound's in-service members: live reports (pending first), the
/// members confirmed at their residence with the ones each still lacks,
/// and service records awaiting confirmation. For the compound's
/// secretary and the community, street and district above.
#[utoipa::path(get, path = "/places/{id}/in-service", tag = "in_service",
    params(("id" = i64, Path, description = "Compound (place) id")),
    responses((status = 200, body = CompoundView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn compound_in_service(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<CompoundView>, ApiError> {
    Ok(ApiJson(compound_view(state.db.conn(), &user, id).await?))
}

// ---------------------------------------------------------------- agency

/// Whether the user reads an agency's members' service: its own admins and
/// the district's admins.
pub async fn reads_agency(
    db: &impl ConnectionTrait,
    user: &Principal,
    agency_id: i64,
    district: &place::Model,
) -> Result<bool, ApiError> {
    Ok(user
        .roles_for(Access::Edit, &district.position())
        .contains(&Role::DistrictAdmin)
        || user.has_role(Role::AgencyAdmin)
            && jinlin_agencies::store::administers(db, user.account_id, agency_id).await?)
}

/// No limit worth the name, for lists bounded by their members.
const ALL: u64 = 1_000_000;

/// Rows of many accounts, a few hundred ids per statement.
async fn by_accounts<T, F, Fut>(ids: &[i64], mut load: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Vec<i64>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, DbErr>>,
{
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(load(chunk.to_vec()).await?);
    }
    Ok(out)
}

/// The employer's view (the feedback of dual management), read only: each
/// member of the agency with their employer-pairing reports to this agency
/// and the records at those compounds; of the home side only whether they
/// are reported, how many of the three ones they hold, and their total
/// confirmed hours and points.
pub async fn agency_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<AgencyView, ApiError> {
    let (a, d) = jinlin_agencies::api::visible_agency(db, user, id).await?;
    if !reads_agency(db, user, a.id, &d).await? {
        return Err(ApiError::forbidden());
    }
    let mut members: Vec<i64> = store::member_accounts(db, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default()
        .into_iter()
        .collect();
    members.sort_unstable();
    // Everything of the members, for the counts; only the work side is shown.
    let reports = by_accounts(&members, |ids| {
        store::reports(
            db,
            Condition::all().add(service_report::Column::AccountId.is_in(ids)),
            ALL,
            0,
        )
    })
    .await?;
    let ones = by_accounts(&members, |ids| {
        store::ones(
            db,
            Condition::all().add(three_ones::Column::AccountId.is_in(ids)),
            true,
            ALL,
            0,
        )
    })
    .await?;
    let records = by_accounts(&members, |ids| {
        store::records(
            db,
            Condition::all().add(service_record::Column::AccountId.is_in(ids)),
            ALL,
            0,
        )
    })
    .await?;
    let (rf, of, cf) = facts_of(&reports, &ones, &records);
    let figure = Figure {
        agency_id: Some(a.id),
        ..Figure::of(
            a.name.clone(),
            rules::tally(&rf, &of, &cf, |_| true, |_| true),
        )
    };
    let residents: HashSet<i64> = reports
        .iter()
        .filter(|r| {
            r.kind == ReportKind::Residence.as_str() && r.state == ReportState::Confirmed.as_str()
        })
        .map(|r| r.account_id)
        .collect();
    let mut held: HashMap<i64, BTreeSet<OneKind>> = HashMap::new();
    for o in &of {
        held.entry(o.member).or_default().insert(o.kind);
    }
    let mut totals: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| r.state == RecordState::Confirmed.as_str())
    {
        let t = totals.entry(r.account_id).or_default();
        t.0 += i64::from(r.half_hours);
        t.1 += i64::from(r.points_x2.unwrap_or(0));
    }
    let work: HashSet<(i64, i64)> = reports
        .iter()
        .filter(|r| {
            r.kind == ReportKind::EmployerPairing.as_str()
                && r.agency_id == Some(a.id)
                && r.decided_at.is_some()
                && (r.state == ReportState::Confirmed.as_str()
                    || r.state == ReportState::Withdrawn.as_str())
        })
        .map(|r| (r.account_id, r.compound_id))
        .collect();
    let reports: Vec<service_report::Model> = reports
        .into_iter()
        .filter(|r| r.kind == ReportKind::EmployerPairing.as_str() && r.agency_id == Some(a.id))
        .collect();
    let records: Vec<service_record::Model> = records
        .into_iter()
        .filter(|r| work.contains(&(r.account_id, r.compound_id)))
        .collect();
    let reports = report_views(db, reports).await?;
    let records = record_views(db, records).await?;
    let names = store::account_names(db, members.iter().copied()).await?;
    let mut out: Vec<MemberService> = members
        .iter()
        .map(|m| {
            let (half_hours, points_x2) = totals.get(m).copied().unwrap_or_default();
            MemberService {
                account_id: *m,
                member_name: names.get(m).cloned().unwrap_or_default(),
                reports: reports
                    .iter()
                    .filter(|r| r.account_id == *m)
                    .cloned()
                    .collect(),
                records: records
                    .iter()
                    .filter(|r| r.account_id == *m)
                    .cloned()
                    .collect(),
                residence_confirmed: residents.contains(m),
                three_ones_held: if residents.contains(m) {
                    held.get(m).map_or(0, |h| h.len() as u64)
                } else {
                    0
                },
                hours: rules::halved(half_hours),
                points: rules::halved(points_x2),
            }
        })
        .collect();
    out.sort_by(|x, y| x.member_name.cmp(&y.member_name));
    Ok(AgencyView {
        agency_id: a.id,
        agency_name: a.name,
        figure,
        members: out,
    })
}

/// The employer's view: the agency's members with their employer-pairing
/// reports to this agency and the service records at those compounds, and
/// of the home side only counts (reported or not, three ones held, total
/// hours and points); read only. For the agency's own admins and the
/// district's admins.
#[utoipa::path(get, path = "/agencies/{id}/in-service", tag = "in_service",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = AgencyView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn agency_in_service(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<AgencyView>, ApiError> {
    Ok(ApiJson(agency_view(state.db.conn(), &user, id).await?))
}

// ---------------------------------------------------------------- scheme

/// A district the user has a role in (404 otherwise; 422 for another kind
/// of place they see).
async fn scheme_district(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<place::Model, ApiError> {
    match jinlin_places::store::find(db, id).await? {
        Some(p)
            if p.kind == PlaceKind::District.as_str()
                && jinlin_agencies::api::reaches_district(user, &p) =>
        {
            Ok(p)
        }
        Some(p) if jinlin_places::store::visible(user, &p) => {
            Err(invalid_key("in_service.error.not_district"))
        }
        _ => Err(ApiError::not_found()),
    }
}

fn edits_scheme(user: &Principal, d: &place::Model) -> bool {
    user.roles_for(Access::Edit, &d.position())
        .contains(&Role::DistrictAdmin)
}

pub async fn scheme_view(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
) -> Result<SchemeView, ApiError> {
    let d = scheme_district(db, user, id).await?;
    let code = d.district_code.clone().unwrap_or_default();
    let row = store::scheme_row(db, &code).await?;
    let s = store::scheme(db, &code).await?;
    Ok(SchemeView {
        district_id: d.id,
        district_code: code,
        per_hour: s.per_hour,
        per_matter: s.per_matter,
        per_activity: s.per_activity,
        is_default: row.is_none(),
        updated_at: row.map(|r| r.updated_at),
        can_edit: edits_scheme(user, &d),
    })
}

pub async fn set_scheme(
    db: &impl ConnectionTrait,
    user: &Principal,
    id: i64,
    input: Scheme,
) -> Result<(), ApiError> {
    let d = scheme_district(db, user, id).await?;
    if !edits_scheme(user, &d) {
        return Err(ApiError::forbidden());
    }
    let s = rules::check_scheme(input).map_err(invalid)?;
    let code = d.district_code.clone().unwrap_or_default();
    service_points_scheme::Entity::insert(service_points_scheme::ActiveModel {
        district_code: Set(code.clone()),
        per_hour: Set(s.per_hour),
        per_matter: Set(s.per_matter),
        per_activity: Set(s.per_activity),
        updated_by: Set(Some(user.account_id)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(service_points_scheme::Column::DistrictCode)
            .update_columns([
                service_points_scheme::Column::PerHour,
                service_points_scheme::Column::PerMatter,
                service_points_scheme::Column::PerActivity,
                service_points_scheme::Column::UpdatedBy,
                service_points_scheme::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    audit::record(
        db,
        Entry::new(
            Some(user),
            "service_points_scheme.set",
            "service_points_scheme",
        )
        .district(Some(code))
        .detail(serde_json::json!({
            "per_hour": s.per_hour, "per_matter": s.per_matter, "per_activity": s.per_activity
        })),
    )
    .await?;
    Ok(())
}

/// A district's points scheme (the defaults when it has set none); for any
/// role in the district.
#[utoipa::path(get, path = "/places/{id}/service-points-scheme", tag = "in_service",
    params(("id" = i64, Path, description = "District (place) id")),
    responses((status = 200, body = SchemeView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_scheme(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
) -> Result<ApiJson<SchemeView>, ApiError> {
    Ok(ApiJson(scheme_view(state.db.conn(), &user, id).await?))
}

/// Sets a district's points scheme (district admin): points per hour, per
/// matter coordinated and per activity, each 0–100. Records confirmed
/// afterwards earn by it; confirmed records keep their points.
#[utoipa::path(put, path = "/places/{id}/service-points-scheme", tag = "in_service",
    request_body = Scheme, params(("id" = i64, Path, description = "District (place) id")),
    responses((status = 200, body = SchemeView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_scheme(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<Scheme>,
) -> Result<ApiJson<SchemeView>, ApiError> {
    let tx = state.db.write().await?;
    set_scheme(&tx, &user, id, input).await?;
    let view = scheme_view(&tx, &user, id).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}
