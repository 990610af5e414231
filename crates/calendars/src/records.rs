//! The records a feed holds and their events. Each collector applies the
//! rules of the capability that owns the records, so a feed shows exactly
//! what its reader sees in the app; `Records::events` turns the rows into
//! `CalendarEvent`s with stable UIDs.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jinlin_joint_meetings::entity::joint_meeting;
use jinlin_joint_meetings::rules::MeetingState;
use jinlin_joint_meetings::store::Bodies;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::Principal;
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_social_services::entity::{service_session, session_registration};
use jinlin_venues::entity::venue_booking;
use jinlin_volunteers::api::TeamAccess;
use jinlin_volunteers::entity::{
    patrol_shift, patrol_signup, volunteer_activity, volunteer_activity_credit, volunteer_member,
    volunteer_team,
};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::ical::{CalendarEvent, When};

/// How far back and ahead a feed reaches.
pub const PAST_DAYS: i64 = 90;
pub const AHEAD_DAYS: i64 = 366;

/// A joint meeting records no end; the feed gives it two hours.
pub const MEETING_HOURS: i64 = 2;

/// The stretch of time a feed covers.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    pub fn around(now: DateTime<Utc>) -> Window {
        Window {
            from: now - Duration::days(PAST_DAYS),
            to: now + Duration::days(AHEAD_DAYS),
        }
    }

    fn meets(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        start < self.to && end > self.from
    }

    /// China-time days the window touches, both inclusive.
    fn days(&self) -> (NaiveDate, NaiveDate) {
        let china = jinlin_kernel::time::china();
        (
            self.from.with_timezone(&china).date_naive(),
            self.to.with_timezone(&china).date_naive(),
        )
    }
}

/// The rows of one feed, each kind at most once.
#[derive(Debug, Default)]
pub struct Records {
    pub bookings: Vec<venue_booking::Model>,
    /// A session with whether the reader's own registration was withdrawn.
    pub sessions: Vec<(service_session::Model, bool)>,
    pub shifts: Vec<patrol_shift::Model>,
    pub activities: Vec<volunteer_activity::Model>,
    pub meetings: Vec<joint_meeting::Model>,
}

fn meeting_start(m: &joint_meeting::Model) -> DateTime<Utc> {
    m.held_at.unwrap_or(m.scheduled_at)
}

// ---------------------------------------------------------------- collectors

/// A compound's or community's records: the venue bookings, service
/// sessions, patrol shifts and volunteer activities at or under it that
/// the reader sees. The place itself must be one the reader sees venues of.
pub async fn of_place(
    db: &impl ConnectionTrait,
    user: &Principal,
    p: &place::Model,
    w: Window,
) -> Result<Records, ApiError> {
    let kind = PlaceKind::parse(&p.kind);
    let mut r = Records::default();

    // Venues: as the venues capability shows them.
    let venues = jinlin_venues::store::venues_under(db, p).await?;
    let vplaces =
        jinlin_places::store::by_ids(db, venues.iter().map(|v| v.place_id).collect::<Vec<_>>())
            .await?;
    let ids: Vec<i64> = venues
        .iter()
        .filter(|v| {
            vplaces
                .get(&v.place_id)
                .is_some_and(|vp| jinlin_venues::api::views(user, vp))
        })
        .map(|v| v.id)
        .collect();
    r.bookings = jinlin_venues::store::bookings_between(db, &ids, w.from, w.to, true).await?;

    // Sessions: the organisation's staff, and whoever sees the compound or
    // holds a role in its community.
    let by_place = match kind {
        Some(PlaceKind::Compound) => service_session::Column::CompoundId.eq(p.id),
        _ => service_session::Column::CommunityId.eq(p.id),
    };
    let sessions = service_session::Entity::find()
        .filter(by_place)
        .filter(service_session::Column::StartsAt.lt(w.to))
        .filter(service_session::Column::EndsAt.gt(w.from))
        .order_by_asc(service_session::Column::StartsAt)
        .all(db)
        .await?;
    let staff: HashSet<i64> = jinlin_social_services::store::orgs_of_account(db, user.account_id)
        .await?
        .into_iter()
        .collect();
    let compounds = jinlin_places::store::by_ids(
        db,
        sessions.iter().map(|s| s.compound_id).collect::<Vec<_>>(),
    )
    .await?;
    r.sessions = sessions
        .into_iter()
        .filter(|s| {
            staff.contains(&s.org_id)
                || compounds.get(&s.compound_id).is_some_and(|c| {
                    jinlin_social_services::api::views_compound(user, &c.position())
                })
        })
        .map(|s| (s, false))
        .collect();

    // Teams: their members, and whoever sees the team's place.
    let by_place = match kind {
        Some(PlaceKind::Compound) => volunteer_team::Column::CompoundId.eq(p.id),
        _ => volunteer_team::Column::CommunityId.eq(p.id),
    };
    let teams = volunteer_team::Entity::find()
        .filter(by_place)
        .all(db)
        .await?;
    let own: HashSet<i64> = jinlin_volunteers::store::memberships_of(db, user.account_id)
        .await?
        .into_iter()
        .map(|m| m.team_id)
        .collect();
    let tplaces =
        jinlin_places::store::by_ids(db, teams.iter().map(|t| t.place_id).collect::<Vec<_>>())
            .await?;
    let team_ids: Vec<i64> = teams
        .iter()
        .filter(|t| {
            own.contains(&t.id)
                || tplaces
                    .get(&t.place_id)
                    .is_some_and(|tp| user.sees(&tp.position()))
        })
        .map(|t| t.id)
        .collect();
    r.shifts = shifts_of_teams(db, &team_ids, w).await?;
    r.activities = activities_of_teams(db, &team_ids, w).await?;
    Ok(r)
}

/// A street's joint meetings the reader may list (404 for a reader the
/// joint meetings capability turns away).
pub async fn of_street(
    db: &impl ConnectionTrait,
    user: &Principal,
    street_id: i64,
    w: Window,
) -> Result<Records, ApiError> {
    let (_, list) = jinlin_joint_meetings::api::street_meetings(db, user, street_id).await?;
    let ids: Vec<i64> = list.iter().map(|m| m.id).collect();
    Ok(Records {
        meetings: meetings_in(db, &ids, w).await?,
        ..Records::default()
    })
}

/// A volunteer team's patrol shifts and activities.
pub async fn of_team(
    db: &impl ConnectionTrait,
    team: &TeamAccess,
    w: Window,
) -> Result<Records, ApiError> {
    Ok(Records {
        shifts: shifts_of_teams(db, &[team.team.id], w).await?,
        activities: activities_of_teams(db, &[team.team.id], w).await?,
        ..Records::default()
    })
}

/// A person's own calendar: the bookings they organise, the sessions they
/// registered for or run as an organisation's staff, the shifts they signed
/// up for, the activities credited to them, and the joint meetings of the
/// streets they administer or the bodies they answer for were invited to.
pub async fn of_person(
    db: &impl ConnectionTrait,
    user: &Principal,
    w: Window,
) -> Result<Records, ApiError> {
    let mut r = Records {
        bookings: jinlin_venues::store::bookings_of_organiser(db, user.account_id, w.from, w.to)
            .await?,
        ..Records::default()
    };

    // Sessions registered for (a withdrawn registration reads cancelled)
    // and those of the organisations the account works for.
    let regs = session_registration::Entity::find()
        .filter(session_registration::Column::AccountId.eq(user.account_id))
        .all(db)
        .await?;
    let withdrawn: HashMap<i64, bool> = regs
        .iter()
        .map(|g| (g.session_id, g.state != "registered"))
        .collect();
    let orgs = jinlin_social_services::store::orgs_of_account(db, user.account_id).await?;
    let mut any = Condition::any().add(
        service_session::Column::Id.is_in(regs.iter().map(|g| g.session_id).collect::<Vec<_>>()),
    );
    if !orgs.is_empty() {
        any = any.add(service_session::Column::OrgId.is_in(orgs.clone()));
    }
    r.sessions = service_session::Entity::find()
        .filter(any)
        .filter(service_session::Column::StartsAt.lt(w.to))
        .filter(service_session::Column::EndsAt.gt(w.from))
        .order_by_asc(service_session::Column::StartsAt)
        .all(db)
        .await?
        .into_iter()
        .map(|s| {
            let off = !orgs.contains(&s.org_id) && withdrawn.get(&s.id).copied().unwrap_or(false);
            (s, off)
        })
        .collect();

    // Volunteering: credits stay after a member leaves; sign-ups count for
    // current memberships.
    let members = volunteer_member::Entity::find()
        .filter(volunteer_member::Column::AccountId.eq(user.account_id))
        .all(db)
        .await?;
    let all: Vec<i64> = members.iter().map(|m| m.id).collect();
    let current: Vec<i64> = members
        .iter()
        .filter(|m| m.left_on.is_none())
        .map(|m| m.id)
        .collect();
    if !all.is_empty() {
        let credited: Vec<i64> = volunteer_activity_credit::Entity::find()
            .filter(volunteer_activity_credit::Column::MemberId.is_in(all))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.activity_id)
            .collect();
        let (first, last) = w.days();
        r.activities = volunteer_activity::Entity::find()
            .filter(volunteer_activity::Column::Id.is_in(credited))
            .filter(volunteer_activity::Column::HeldOn.between(first, last))
            .order_by_asc(volunteer_activity::Column::HeldOn)
            .all(db)
            .await?;
    }
    if !current.is_empty() {
        let signed: Vec<i64> = patrol_signup::Entity::find()
            .filter(patrol_signup::Column::MemberId.is_in(current))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.shift_id)
            .collect();
        r.shifts = patrol_shift::Entity::find()
            .filter(patrol_shift::Column::Id.is_in(signed))
            .filter(patrol_shift::Column::StartsAt.lt(w.to))
            .filter(patrol_shift::Column::EndsAt.gt(w.from))
            .order_by_asc(patrol_shift::Column::StartsAt)
            .all(db)
            .await?;
    }

    // Joint meetings, as the joint meetings page lists them.
    let mut ids: Vec<i64> = jinlin_joint_meetings::store::meetings_administered(db, user, 1000)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let bodies = Bodies::of(db, user).await?;
    ids.extend(jinlin_joint_meetings::store::meetings_invited(db, &bodies).await?);
    ids.sort_unstable();
    ids.dedup();
    r.meetings = meetings_in(db, &ids, w).await?;
    Ok(r)
}

async fn shifts_of_teams(
    db: &impl ConnectionTrait,
    team_ids: &[i64],
    w: Window,
) -> Result<Vec<patrol_shift::Model>, ApiError> {
    if team_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(patrol_shift::Entity::find()
        .filter(patrol_shift::Column::TeamId.is_in(team_ids.iter().copied()))
        .filter(patrol_shift::Column::StartsAt.lt(w.to))
        .filter(patrol_shift::Column::EndsAt.gt(w.from))
        .order_by_asc(patrol_shift::Column::StartsAt)
        .all(db)
        .await?)
}

async fn activities_of_teams(
    db: &impl ConnectionTrait,
    team_ids: &[i64],
    w: Window,
) -> Result<Vec<volunteer_activity::Model>, ApiError> {
    if team_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (first, last) = w.days();
    Ok(volunteer_activity::Entity::find()
        .filter(volunteer_activity::Column::TeamId.is_in(team_ids.iter().copied()))
        .filter(volunteer_activity::Column::HeldOn.between(first, last))
        .order_by_asc(volunteer_activity::Column::HeldOn)
        .all(db)
        .await?)
}

async fn meetings_in(
    db: &impl ConnectionTrait,
    ids: &[i64],
    w: Window,
) -> Result<Vec<joint_meeting::Model>, ApiError> {
    Ok(jinlin_joint_meetings::store::meetings_by_id(db, ids)
        .await?
        .into_iter()
        .filter(|m| {
            let start = meeting_start(m);
            w.meets(start, start + Duration::hours(MEETING_HOURS))
        })
        .collect())
}

// ---------------------------------------------------------------- events

fn joined(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a} · {b}"),
    }
}

impl Records {
    /// The events of the records, by start. A booking made for a session
    /// in the same feed appears once, as the session.
    pub async fn events(
        self,
        db: &impl ConnectionTrait,
        lang: Lang,
    ) -> Result<Vec<CalendarEvent>, ApiError> {
        let Records {
            bookings,
            mut sessions,
            mut shifts,
            mut activities,
            mut meetings,
        } = self;
        // Each record once; a session reads cancelled only when every
        // reason to list it is withdrawn.
        sessions.sort_by_key(|(s, off)| (s.id, *off));
        sessions.dedup_by_key(|(s, _)| s.id);
        shifts.sort_by_key(|s| s.id);
        shifts.dedup_by_key(|s| s.id);
        activities.sort_by_key(|a| a.id);
        activities.dedup_by_key(|a| a.id);
        meetings.sort_by_key(|m| m.id);
        meetings.dedup_by_key(|m| m.id);
        let covered: HashSet<i64> = sessions
            .iter()
            .filter_map(|(s, _)| s.venue_booking_id)
            .collect();
        let mut seen = HashSet::new();
        let bookings: Vec<venue_booking::Model> = bookings
            .into_iter()
            .filter(|b| !covered.contains(&b.id) && seen.insert(b.id))
            .collect();

        // Names of what the events point at.
        let venues = jinlin_venues::api::venues_by_id(
            db,
            &bookings.iter().map(|b| b.venue_id).collect::<Vec<_>>(),
        )
        .await?;
        let services = jinlin_social_services::store::services_by_id(
            db,
            &sessions
                .iter()
                .map(|(s, _)| s.service_id)
                .collect::<Vec<_>>(),
        )
        .await?;
        let orgs = jinlin_social_services::store::orgs_by_id(
            db,
            &sessions.iter().map(|(s, _)| s.org_id).collect::<Vec<_>>(),
        )
        .await?;
        let team_ids: Vec<i64> = shifts
            .iter()
            .map(|s| s.team_id)
            .chain(activities.iter().map(|a| a.team_id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let teams: HashMap<i64, volunteer_team::Model> =
            jinlin_volunteers::store::teams(db, &team_ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        let place_ids: Vec<i64> = venues
            .values()
            .map(|v| v.place_id)
            .chain(sessions.iter().map(|(s, _)| s.compound_id))
            .chain(teams.values().map(|t| t.place_id))
            .chain(meetings.iter().map(|m| m.street_id))
            .collect();
        let places = jinlin_places::store::by_ids(db, place_ids).await?;
        let place_name = |id: i64| places.get(&id).map(|p| p.name.as_str()).unwrap_or("");

        let mut out = Vec::new();
        for b in bookings {
            let v = venues.get(&b.venue_id);
            out.push(CalendarEvent {
                uid: format!("venue-booking-{}@jinlin", b.id),
                when: When::Timed {
                    start: b.starts_at,
                    end: b.ends_at,
                },
                location: v.map(|v| joined(&v.name, place_name(v.place_id))),
                // Organisers are left out, as on the public calendar.
                description: Some(
                    lang.t(&format!("venues.purpose.{}", b.purpose))
                        .into_owned(),
                ),
                cancelled: b.state != "confirmed",
                updated: Some(b.cancelled_at.unwrap_or(b.created_at)),
                summary: b.title,
            });
        }
        for (s, off) in sessions {
            let title = services
                .get(&s.service_id)
                .map(|v| v.title.clone())
                .unwrap_or_default();
            let org = orgs.get(&s.org_id).map(|o| o.name.as_str()).unwrap_or("");
            out.push(CalendarEvent {
                uid: format!("service-session-{}@jinlin", s.id),
                when: When::Timed {
                    start: s.starts_at,
                    end: s.ends_at,
                },
                summary: title,
                location: Some(joined(&s.location, place_name(s.compound_id))),
                description: Some(org.to_string()),
                cancelled: off || s.state != "scheduled",
                updated: None,
            });
        }
        for s in shifts {
            let team = teams.get(&s.team_id);
            let name = team.map(|t| t.name.as_str()).unwrap_or("");
            out.push(CalendarEvent {
                uid: format!("patrol-shift-{}@jinlin", s.id),
                when: When::Timed {
                    start: s.starts_at,
                    end: s.ends_at,
                },
                summary: lang.tf("calendars.shift_summary", &[("team", name)]),
                location: Some(joined(
                    team.map(|t| place_name(t.place_id)).unwrap_or(""),
                    &s.route,
                )),
                description: Some(
                    lang.tf("calendars.shift_slots", &[("slots", &s.slots.to_string())]),
                ),
                cancelled: false,
                updated: Some(s.created_at),
            });
        }
        for a in activities {
            let team = teams.get(&a.team_id);
            out.push(CalendarEvent {
                uid: format!("volunteer-activity-{}@jinlin", a.id),
                when: When::Day(a.held_on),
                summary: a.title,
                location: team.map(|t| place_name(t.place_id).to_string()),
                description: team.map(|t| t.name.clone()),
                cancelled: false,
                updated: Some(a.created_at),
            });
        }
        for m in meetings {
            let start = meeting_start(&m);
            out.push(CalendarEvent {
                uid: format!("joint-meeting-{}@jinlin", m.id),
                when: When::Timed {
                    start,
                    end: start + Duration::hours(MEETING_HOURS),
                },
                summary: lang.tf(
                    "calendars.meeting_summary",
                    &[("street", place_name(m.street_id))],
                ),
                location: Some(m.venue),
                description: Some(m.agenda),
                cancelled: MeetingState::parse(&m.state) == Some(MeetingState::Cancelled),
                updated: Some(m.updated_at),
            });
        }
        out.sort_by(|a, b| (a.when.start(), &a.uid).cmp(&(b.when.start(), &b.uid)));
        Ok(out)
    }
}
