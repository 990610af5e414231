//! The figures of volunteer teams and patrols at district scale, on
//! SQLite: 1,000 compounds (15 streets, 150 communities), a patrol team at
//! every compound and a team in every community (1,150 teams) of 30
//! members each (34,500; one in ten left, one in three a party member),
//! 24 activities a year per team with ten members credited (27,600
//! activities, 276,000 credits), a weekly shift for every patrol team
//! (52,000 shifts) with three sign-ups each (156,000, most checked out).
//! The rows are generated once per run with recursive CTEs.
//!
//! cargo bench -p jinlin-volunteers --bench figures

use std::sync::OnceLock;

use divan::Bencher;
use jinlin_kernel::Database;
use jinlin_kernel::place::entity as place;
use jinlin_volunteers::api;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

const STREETS: i64 = 15;
const COMMUNITIES: i64 = 150;
const COMPOUNDS: i64 = 1_000;
const TEAMS: i64 = COMPOUNDS + COMMUNITIES;
const MEMBERS_PER_TEAM: i64 = 30;
const ACTIVITIES_PER_TEAM: i64 = 24;
const CREDITS_PER_ACTIVITY: i64 = 10;
const SHIFTS_PER_PATROL: i64 = 52;
const SIGNUPS_PER_SHIFT: i64 = 3;

/// Place ids: the district is 1, then the streets, communities, compounds.
const FIRST_STREET: i64 = 2;
const FIRST_COMMUNITY: i64 = FIRST_STREET + STREETS;
const FIRST_COMPOUND: i64 = FIRST_COMMUNITY + COMMUNITIES;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().expect("tokio runtime"))
}

struct Fixture {
    db: Database,
    _dir: tempfile::TempDir,
}

/// A timestamp as SeaORM writes it to SQLite (RFC 3339), `secs` after
/// 2025-07-01.
fn ts(secs: &str) -> String {
    format!(
        "strftime('%Y-%m-%dT%H:%M:%S', '2025-07-01 00:00:00', '+' || ({secs}) || ' seconds') || '+00:00'"
    )
}

/// A date as SeaORM writes it, `days` after 2025-07-01.
fn day(days: &str) -> String {
    format!("date('2025-07-01', '+' || ({days}) || ' days')")
}

fn places_sql() -> String {
    let now = ts("0");
    format!(
        "INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         VALUES (1, 'district', NULL, '350104000000', '仓山区', 'csq', '350104', NULL, NULL, NULL, {now}, {now});
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {STREETS} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_STREET} + n, 'street', 1, printf('350104%03d000', n + 1), '街道' || n, 'jd', '350104',
           NULL, NULL, NULL, {now}, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMMUNITIES} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_COMMUNITY} + n, 'community', {FIRST_STREET} + n / 10,
           printf('350104%03d%03d', n / 10 + 1, n % 10 + 1), '社区' || n, 'sq', '350104',
           {FIRST_STREET} + n / 10, NULL, NULL, {now}, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMPOUNDS} - 1)
         INSERT INTO place (id, kind, parent_id, code, name, initials, district_code, street_id,
           community_id, compound_id, created_at, updated_at)
         SELECT {FIRST_COMPOUND} + n, 'compound', {FIRST_COMMUNITY} + n * {COMMUNITIES} / {COMPOUNDS}, NULL,
           '小区' || n, 'xq', '350104', {FIRST_STREET} + (n * {COMMUNITIES} / {COMPOUNDS}) / 10,
           {FIRST_COMMUNITY} + n * {COMMUNITIES} / {COMPOUNDS}, NULL, {now}, {now} FROM s;"
    )
}

/// Teams 1–1,000 patrol the compounds; 1,001–1,150 serve the communities.
fn teams_sql() -> String {
    let now = ts("0");
    let community_of = |k: &str| format!("{FIRST_COMMUNITY} + ({k}) * {COMMUNITIES} / {COMPOUNDS}");
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMPOUNDS} - 1)
         INSERT INTO volunteer_team (id, district_code, street_id, community_id, compound_id, place_id,
           name, kind, leader_account_id, created_by, created_at)
         SELECT 1 + n, '350104', {FIRST_STREET} + (n * {COMMUNITIES} / {COMPOUNDS}) / 10, {community},
           {FIRST_COMPOUND} + n, {FIRST_COMPOUND} + n, '萤火虫巡逻队' || n, 'patrol', NULL, NULL, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {COMMUNITIES} - 1)
         INSERT INTO volunteer_team (id, district_code, street_id, community_id, compound_id, place_id,
           name, kind, leader_account_id, created_by, created_at)
         SELECT {COMPOUNDS} + 1 + n, '350104', {FIRST_STREET} + n / 10, {FIRST_COMMUNITY} + n, NULL,
           {FIRST_COMMUNITY} + n, '广场舞队' || n, 'dance', NULL, NULL, {now} FROM s;",
        community = community_of("n"),
    )
}

/// Members, activities with credits, shifts with sign-ups. Member `m` of
/// team `t` is row `(t - 1) * 30 + m`; credits and sign-ups pick distinct
/// members of the team. Then the sums activities and shifts keep, as
/// migration m0022 counts existing rows.
fn work_sql() -> String {
    let now = ts("0");
    let members = TEAMS * MEMBERS_PER_TEAM;
    let activities = TEAMS * ACTIVITIES_PER_TEAM;
    let credits = activities * CREDITS_PER_ACTIVITY;
    let shifts = COMPOUNDS * SHIFTS_PER_PATROL;
    let signups = shifts * SIGNUPS_PER_SHIFT;
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {members})
         INSERT INTO volunteer_member (id, team_id, district_code, account_id, person_id, name,
           party_member, joined_on, left_on)
         SELECT n, 1 + (n - 1) / {MEMBERS_PER_TEAM}, '350104', n, NULL, '队员' || n, n % 3 = 0,
           {joined}, CASE WHEN n % 10 = 0 THEN {left} END FROM s;
         WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {activities})
         INSERT INTO volunteer_activity (id, team_id, district_code, held_on, title, recorded_by, created_at)
         SELECT n, 1 + (n - 1) / {ACTIVITIES_PER_TEAM}, '350104', {held}, '月度集中服务', NULL, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {credits} - 1)
         INSERT INTO volunteer_activity_credit (activity_id, member_id, district_code, minutes)
         SELECT 1 + n / {CREDITS_PER_ACTIVITY},
           ((1 + n / {CREDITS_PER_ACTIVITY} - 1) / {ACTIVITIES_PER_TEAM}) * {MEMBERS_PER_TEAM}
             + 1 + ((n / {CREDITS_PER_ACTIVITY}) * 7 + n % {CREDITS_PER_ACTIVITY}) % {MEMBERS_PER_TEAM},
           '350104', 60 + 30 * (n % 4) FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {shifts} - 1)
         INSERT INTO patrol_shift (id, team_id, district_code, starts_at, ends_at, route, slots,
           created_by, created_at)
         SELECT 1 + n, 1 + n / {SHIFTS_PER_PATROL}, '350104', {starts}, {ends}, '东门—北门',
           CASE WHEN n % 4 = 0 THEN 4 ELSE 3 END, NULL, {now} FROM s;
         WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {signups} - 1)
         INSERT INTO patrol_signup (shift_id, member_id, district_code, signed_at, checked_in_at,
           checked_out_at, minutes)
         SELECT 1 + n / {SIGNUPS_PER_SHIFT},
           (n / {SIGNUPS_PER_SHIFT} / {SHIFTS_PER_PATROL}) * {MEMBERS_PER_TEAM}
             + 1 + ((n / {SIGNUPS_PER_SHIFT}) * 5 + n % {SIGNUPS_PER_SHIFT}) % {MEMBERS_PER_TEAM},
           '350104', {now}, {now}, {now}, CASE WHEN n % 7 = 0 THEN 0 ELSE 120 END FROM s;
         UPDATE volunteer_activity SET minutes = (SELECT COALESCE(SUM(c.minutes), 0)
           FROM volunteer_activity_credit c WHERE c.activity_id = volunteer_activity.id);
         UPDATE patrol_shift SET
           signed_up = (SELECT COUNT(*) FROM patrol_signup u WHERE u.shift_id = patrol_shift.id),
           minutes = (SELECT COALESCE(SUM(u.minutes), 0) FROM patrol_signup u
             WHERE u.shift_id = patrol_shift.id);",
        joined = day("0"),
        left = day("200"),
        held = day("(n % 24) * 15"),
        starts = ts("(n % 52) * 604800 + 39600"),
        ends = ts("(n % 52) * 604800 + 46800"),
    )
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.sqlite").display()
            );
            let db = Database::connect(&url, 2).await.expect("connect");
            db.migrate().await.expect("migrate");
            let started = std::time::Instant::now();
            let conn = db.conn();
            conn.execute_unprepared("PRAGMA synchronous = OFF")
                .await
                .unwrap();
            for (what, sql) in [
                ("places", places_sql()),
                ("teams", teams_sql()),
                ("members, activities and patrols", work_sql()),
            ] {
                conn.execute_unprepared(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("generate {what}: {e}"));
            }
            conn.execute_unprepared("ANALYZE").await.unwrap();
            let count = |table: &str| {
                let sql = format!("SELECT COUNT(*) AS n FROM {table}");
                async move {
                    conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                        .await
                        .unwrap()
                        .unwrap()
                        .try_get::<i64>("", "n")
                        .unwrap()
                }
            };
            eprintln!(
                "generated {} teams, {} members, {} credits, {} shifts, {} sign-ups in {:.1} s",
                count("volunteer_team").await,
                count("volunteer_member").await,
                count("volunteer_activity_credit").await,
                count("patrol_shift").await,
                count("patrol_signup").await,
                started.elapsed().as_secs_f64()
            );
            let district = place::Entity::find_by_id(1)
                .one(conn)
                .await
                .unwrap()
                .unwrap();
            for (what, sql) in [
                (
                    "members",
                    "SELECT team_id, SUM(CASE WHEN left_on IS NULL THEN 1 ELSE 0 END) FROM volunteer_member \
                     WHERE team_id IN (SELECT id FROM volunteer_team WHERE district_code = '350104') GROUP BY team_id",
                ),
                (
                    "shifts",
                    "SELECT team_id, COUNT(id), SUM(CASE WHEN signed_up >= slots THEN 1 ELSE 0 END), SUM(minutes) \
                     FROM patrol_shift WHERE team_id IN (SELECT id FROM volunteer_team WHERE district_code = '350104') \
                     GROUP BY team_id",
                ),
            ] {
                let sql = format!("EXPLAIN QUERY PLAN {sql}");
                for row in conn
                    .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
                    .await
                    .unwrap()
                {
                    let detail: String = row.try_get("", "detail").unwrap_or_default();
                    eprintln!("plan ({what}): {detail}");
                }
            }
            let f = api::figures_of(conn, &district).await.unwrap();
            eprintln!("district: {:?}; {} streets", f.place, f.children.len());
            assert_eq!(f.place.teams as i64, TEAMS);
            // 34,500 members, one in ten left; 276,000 credits of 60–150
            // minutes; 156,000 sign-ups, one in seven not credited.
            assert_eq!(f.place.members, 31_050);
            assert_eq!(f.place.minutes, 45_025_680);
            assert_eq!(f.place.shifts_covered, 39_000);
            assert_eq!(f.children.len() as i64, STREETS);
            Fixture { db, _dir: dir }
        })
    })
}

fn figures(place_id: i64) -> api::Figures {
    let f = fixture();
    runtime().block_on(async {
        let p = place::Entity::find_by_id(place_id)
            .one(f.db.conn())
            .await
            .unwrap()
            .unwrap();
        api::figures_of(f.db.conn(), &p).await.unwrap()
    })
}

/// The district's figures with its 15 streets.
#[divan::bench(sample_count = 20)]
fn figures_of_the_district(bencher: Bencher) {
    fixture();
    bencher.bench_local(|| divan::black_box(figures(1)));
}

/// A street's figures with its ten communities.
#[divan::bench(sample_count = 50)]
fn figures_of_a_street(bencher: Bencher) {
    fixture();
    let mut street = 0;
    bencher.bench_local(|| {
        street = (street + 1) % STREETS;
        divan::black_box(figures(FIRST_STREET + street))
    });
}

/// A community's figures with its compounds.
#[divan::bench(sample_count = 100)]
fn figures_of_a_community(bencher: Bencher) {
    fixture();
    let mut community = 0;
    bencher.bench_local(|| {
        community = (community + 7) % COMMUNITIES;
        divan::black_box(figures(FIRST_COMMUNITY + community))
    });
}
