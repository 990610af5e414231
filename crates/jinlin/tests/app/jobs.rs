//! Tests of the durable job queue and notifications: each job runs once
//! across nodes, a dead node's job is taken after its lease, jobs survive
//! a restart, retries back off and then fail, enqueueing commits with the
//! caller's transaction, the webhook is retried until accepted, and the
//! in-app inbox shows each account only its own notifications.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use jinlin_kernel::auth::Role;
use jinlin_kernel::jobs::entity as job;
use jinlin_kernel::jobs::{self, JobHandlers, JobRunner, NewJob, Pass, RunnerConfig};
use jinlin_kernel::notify::{self, Message};
use jinlin_kernel::{Config, Database};
use jinlin_testkit::fixtures::{account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::support::{TestApp, api_error};

fn runner(db: &Database, node: &str, handlers: JobHandlers, lease: Duration) -> JobRunner {
    JobRunner::new(
        db.clone(),
        handlers,
        RunnerConfig {
            node: node.into(),
            poll_interval: Duration::from_millis(50),
            lease,
            batch: 16,
        },
    )
}

/// A whole second a day ahead: later than the real clock (so a handler's
/// finish time is this one) and exact on both backends.
fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + 86_400, 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

async fn all_jobs(db: &Database) -> Vec<job::Model> {
    job::Entity::find().all(db.conn()).await.unwrap()
}

#[db_test]
async fn two_nodes_run_each_of_200_jobs_exactly_once(db: TestDb) {
    let tx = db.db.write().await.unwrap();
    for n in 0..200 {
        jobs::enqueue(&tx, "count", &json!({ "n": n }), Utc::now(), None)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let counting = |seen: Arc<Mutex<Vec<i64>>>| {
        JobHandlers::new().add("count", move |_db, payload| {
            let seen = seen.clone();
            async move {
                tokio::task::yield_now().await;
                seen.lock().unwrap().push(payload["n"].as_i64().unwrap());
                Ok(())
            }
        })
    };
    // Two nodes: each its own connection pool and runner.
    let other = Database::connect(&db.url, 4).await.unwrap();
    let a = runner(
        &db.db,
        "node-a",
        counting(seen.clone()),
        Duration::from_secs(60),
    );
    let b = runner(
        &other,
        "node-b",
        counting(seen.clone()),
        Duration::from_secs(60),
    );
    let drain = |r: JobRunner| async move {
        let mut total = Pass::default();
        loop {
            let pass = r.run_due().await.unwrap();
            if pass.claimed == 0 {
                return total;
            }
            total.claimed += pass.claimed;
            total.done += pass.done;
        }
    };
    let (pa, pb) = tokio::join!(
        tokio::spawn(drain(a.clone())),
        tokio::spawn(drain(b.clone()))
    );
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    assert_eq!(pa.done + pb.done, 200, "{pa:?} {pb:?}");

    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..200).collect::<Vec<_>>(),
        "each job ran exactly once"
    );
    let rows = all_jobs(&db.db).await;
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|j| j.done_at.is_some()
        && j.attempts == 1
        && j.locked_by.is_none()
        && j.failed_at.is_none()));
    other.close().await.unwrap();
}

#[db_test]
async fn a_dead_nodes_job_is_taken_by_another_after_its_lease(db: TestDb) {
    let now = Utc::now();
    let id = jobs::enqueue(db.db.conn(), "work", &json!({}), now, None)
        .await
        .unwrap()
        .unwrap();
    let lease = Duration::from_secs(60);

    // Node A claims the job and hangs in it; then it dies.
    let hangs = JobHandlers::new().add("work", |_db, _| std::future::pending());
    let a = runner(&db.db, "node-a", hangs, lease);
    let a_task = tokio::spawn(async move { a.run_due_at(now).await });
    let mut claimed = false;
    for _ in 0..500 {
        let j = job::Entity::find_by_id(id)
            .one(db.db.conn())
            .await
            .unwrap()
            .unwrap();
        if j.locked_by.as_deref() == Some("node-a") {
            claimed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(claimed, "node A never claimed the job");
    a_task.abort();
    assert!(a_task.await.unwrap_err().is_cancelled());

    let done = Arc::new(AtomicUsize::new(0));
    let counted = done.clone();
    let works = JobHandlers::new().add("work", move |_db, _| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let b = runner(&db.db, "node-b", works, lease);
    // While A's lease holds, B leaves the job alone.
    assert_eq!(b.run_due_at(now + secs(59)).await.unwrap().claimed, 0);
    // Once it has run out, B takes it and finishes it.
    let pass = b.run_due_at(now + secs(61)).await.unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
    assert_eq!(done.load(Ordering::SeqCst), 1);
    let j = job::Entity::find_by_id(id)
        .one(db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(j.done_at.is_some());
    assert_eq!(j.attempts, 2, "the dead node's claim counts as an attempt");
    assert!(j.locked_by.is_none());
    // Nothing is left to run, now or later.
    assert_eq!(b.run_due_at(now + secs(3600)).await.unwrap().claimed, 0);

    // A node whose lease was lost cannot mark the job afterwards.
    let stale = job::Model {
        locked_by: Some("node-a".into()),
        attempts: 1,
        ..j.clone()
    };
    assert!(!jobs::complete(&db.db, &stale, now).await.unwrap());
}

#[db_test]
async fn jobs_survive_a_restart(db: TestDb) {
    for n in 0..3 {
        jobs::enqueue(db.db.conn(), "work", &json!({ "n": n }), Utc::now(), None)
            .await
            .unwrap();
    }
    // The node stops: every connection closes.
    db.db.clone().close().await.unwrap();

    let reopened = Database::connect(&db.url, 4).await.unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let handlers = JobHandlers::new().add("work", move |_db, _| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let r = runner(
        &reopened,
        "node-after-restart",
        handlers,
        Duration::from_secs(60),
    );
    let pass = r.run_due().await.unwrap();
    assert_eq!((pass.claimed, pass.done), (3, 3));
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    assert!(
        all_jobs(&reopened)
            .await
            .iter()
            .all(|j| j.done_at.is_some())
    );
    reopened.close().await.unwrap();
}

#[db_test]
async fn a_failing_job_backs_off_then_fails_after_max_attempts(db: TestDb) {
    let t = t0();
    let id = NewJob::new("flaky", json!({"x": 1}), t)
        .max_attempts(3)
        .enqueue(db.db.conn())
        .await
        .unwrap()
        .unwrap();
    let handlers = JobHandlers::new().add("flaky", |_db, _| async { Err("boom".to_string()) });
    let r = runner(&db.db, "node", handlers, Duration::from_secs(60));
    let get = || async {
        job::Entity::find_by_id(id)
            .one(db.db.conn())
            .await
            .unwrap()
            .unwrap()
    };

    // Not due yet.
    assert_eq!(r.run_due_at(t - secs(1)).await.unwrap().claimed, 0);
    // Attempt 1 fails: the next one after 10 s.
    assert_eq!(r.run_due_at(t).await.unwrap().retried, 1);
    let j = get().await;
    assert_eq!((j.attempts, j.run_at), (1, t + secs(10)));
    assert_eq!(j.last_error.as_deref(), Some("boom"));
    assert!(j.locked_by.is_none() && j.failed_at.is_none());
    assert_eq!(r.run_due_at(t + secs(9)).await.unwrap().claimed, 0);
    // Attempt 2 fails: the wait doubles.
    assert_eq!(r.run_due_at(t + secs(10)).await.unwrap().retried, 1);
    let j = get().await;
    assert_eq!((j.attempts, j.run_at), (2, t + secs(30)));
    // Attempt 3 is the last: marked failed and kept.
    let pass = r.run_due_at(t + secs(30)).await.unwrap();
    assert_eq!((pass.claimed, pass.failed), (1, 1));
    let j = get().await;
    assert_eq!(j.attempts, 3);
    assert_eq!(j.failed_at, Some(t + secs(30)));
    assert!(j.done_at.is_none());
    assert_eq!(r.run_due_at(t + secs(86_400)).await.unwrap().claimed, 0);
    assert_eq!(
        jobs::count_due(db.db.conn(), t + secs(86_400))
            .await
            .unwrap(),
        0
    );

    // A kind nobody handles is retried too (another node may know it).
    NewJob::new("unknown", json!(null), t)
        .enqueue(db.db.conn())
        .await
        .unwrap();
    assert_eq!(r.run_due_at(t).await.unwrap().retried, 1);
    let unknown = all_jobs(&db.db)
        .await
        .into_iter()
        .find(|j| j.kind == "unknown")
        .unwrap();
    assert!(unknown.last_error.unwrap().contains("no handler"));
}

#[db_test]
async fn enqueueing_commits_or_rolls_back_with_the_callers_write(db: TestDb) {
    let tx = db.db.write().await.unwrap();
    jobs::enqueue(&tx, "work", &json!({}), Utc::now(), None)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(job::Entity::find().count(db.db.conn()).await.unwrap(), 0);

    let tx = db.db.write().await.unwrap();
    let id = jobs::enqueue(&tx, "work", &json!({}), Utc::now(), Some("k1"))
        .await
        .unwrap();
    assert!(id.is_some());
    // The same key again, in the same transaction or after: not enqueued.
    assert_eq!(
        jobs::enqueue(&tx, "work", &json!({}), Utc::now(), Some("k1"))
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    assert_eq!(
        jobs::enqueue(db.db.conn(), "work", &json!({}), Utc::now(), Some("k1"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(job::Entity::find().count(db.db.conn()).await.unwrap(), 1);

    // Recurring work: two nodes scheduling the same minute make one job;
    // the next minute makes another.
    let every = Duration::from_secs(60);
    let minute = jobs::period_key("escalate-overdue", every, t0()).1;
    let other = Database::connect(&db.url, 2).await.unwrap();
    let made_a = jobs::schedule_every(db.db.conn(), "escalate-overdue", every, minute)
        .await
        .unwrap();
    let made_b = jobs::schedule_every(other.conn(), "escalate-overdue", every, minute + secs(30))
        .await
        .unwrap();
    assert!(made_a.is_some());
    assert_eq!(made_b, None, "the same minute is scheduled once");
    let next = jobs::schedule_every(db.db.conn(), "escalate-overdue", every, minute + secs(60))
        .await
        .unwrap();
    assert!(next.is_some());
    let runs: Vec<_> = all_jobs(&db.db)
        .await
        .into_iter()
        .filter(|j| j.kind == "escalate-overdue")
        .map(|j| j.run_at)
        .collect();
    assert_eq!(runs, vec![minute, minute + secs(60)]);
    other.close().await.unwrap();
}

/// A local receiver that refuses the first two deliveries and takes the third.
async fn flaky_receiver() -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<serde_json::Value>>>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (h, b) = (hits.clone(), bodies.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let (h, b) = (h.clone(), b.clone());
            async move {
                b.lock().unwrap().push(body);
                if h.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("http://{addr}/hook?access_token=secret"),
        hits,
        bodies,
    )
}

#[db_test]
async fn the_webhook_is_retried_with_backoff_until_accepted(db: TestDb) {
    let t = tree(&db.db).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let (url, hits, bodies) = flaky_receiver().await;

    let message = Message::new("resident_matter.assigned", "新诉求", "3号楼漏水").link("/places");
    let tx = db.db.write().await.unwrap();
    notify::notify_parties(&tx, &[resident, secretary, resident], &message)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for who in [resident, secretary] {
        let (items, unread) = notify::inbox(db.db.conn(), who, false, 10).await.unwrap();
        assert_eq!((items.len(), unread), (1, 1), "one notification each");
    }

    // The handlers as `jinlin serve` wires them from the configuration.
    let config = Config {
        notify_webhook_url: Some(url),
        ..Config::default()
    };
    assert!(!config.to_redacted_toml().contains("secret"));
    let handlers = jinlin::job_handlers(&config).unwrap();
    let r = runner(&db.db, "node", handlers, Duration::from_secs(60));
    let start = t0();
    assert_eq!(r.run_due_at(start).await.unwrap().retried, 1);
    assert_eq!(r.run_due_at(start + secs(9)).await.unwrap().claimed, 0);
    assert_eq!(r.run_due_at(start + secs(10)).await.unwrap().retried, 1);
    let pass = r.run_due_at(start + secs(30)).await.unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let body = bodies.lock().unwrap()[2].clone();
    assert_eq!(body["kind"], "resident_matter.assigned");
    assert_eq!(body["title"], "新诉求");
    assert_eq!(body["link"], "/places");
    let mut ids = vec![resident, secretary];
    ids.sort_unstable();
    assert_eq!(body["account_ids"], json!(ids));
    let outbound = all_jobs(&db.db)
        .await
        .into_iter()
        .find(|j| j.kind == notify::WEBHOOK_JOB)
        .unwrap();
    assert!(outbound.done_at.is_some());
    assert_eq!(outbound.attempts, 3);
    // Every retry carries the same idempotency key: the job's id.
    let keys: Vec<_> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["idempotency_key"].clone())
        .collect();
    assert_eq!(keys, vec![json!(outbound.id.to_string()); 3]);

    // Without a webhook configured the delivery is dropped, not retried.
    let quiet = jinlin::job_handlers(&Config::default()).unwrap();
    notify::send_outbound(
        db.db.conn(),
        &notify::Outbound {
            message,
            account_ids: vec![resident],
        },
    )
    .await
    .unwrap();
    let pass = runner(&db.db, "node", quiet, Duration::from_secs(60))
        .run_due_at(start + secs(40))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[db_test]
async fn the_inbox_shows_each_account_only_its_own(db: TestDb) {
    let t = tree(&db.db).await;
    let mine = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let theirs = account(&db.db, "resident-far", Role::Resident, t.far.dwellings[0]).await;
    let m1 = notify::notify(
        db.db.conn(),
        mine,
        &Message::new("test", "事项已受理", "您反映的问题已受理").link("/places"),
    )
    .await
    .unwrap();
    let m2 = notify::notify(db.db.conn(), mine, &Message::new("test", "第二条", "正文"))
        .await
        .unwrap();
    let other = notify::notify(
        db.db.conn(),
        theirs,
        &Message::new("test", "别人的", "正文"),
    )
    .await
    .unwrap();
    let app = TestApp::new(db);
    let me = app.client(mine).await;
    let them = app.client(theirs).await;

    let inbox = me.get("/api/v1/notifications").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    let body = inbox.json();
    assert_eq!(body["unread"], 2);
    let ids: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![m2, m1], "newest first, only mine");
    assert_eq!(them.get("/api/v1/notifications").await.json()["unread"], 1);

    // Someone else's notification: 404, and it stays unread.
    let r = me
        .json(
            Method::POST,
            &format!("/api/v1/notifications/{other}/read"),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    api_error(&r);
    let r = me
        .json(Method::POST, "/api/v1/notifications/999999/read", "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(them.get("/api/v1/notifications").await.json()["unread"], 1);

    // Mine: read, twice is fine.
    for _ in 0..2 {
        let r = me
            .json(
                Method::POST,
                &format!("/api/v1/notifications/{m1}/read"),
                "",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(r.json()["read_at"].is_string());
    }
    let body = me.get("/api/v1/notifications?unread=true").await.json();
    assert_eq!(body["unread"], 1);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["id"], m2);

    // Anonymous: 401 everywhere.
    for (method, path) in [
        (Method::GET, "/api/v1/notifications".to_string()),
        (Method::POST, format!("/api/v1/notifications/{m1}/read")),
        (Method::POST, "/api/v1/notifications/read-all".to_string()),
    ] {
        let r = app.json(method, &path, "").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        api_error(&r);
    }
    assert_ne!(app.get("/notifications").await.status, StatusCode::OK);

    // The page, Chinese first, then English.
    let page = me.get("/notifications").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("消息") && html.contains("第二条") && html.contains("未读 1 条"));
    assert!(!html.contains("别人的"));
    let page = me.get_en("/notifications").await;
    assert!(page.text().contains("Notifications") && page.text().contains("1 unread"));

    // The page's forms: without the CSRF token refused, with it read.
    let r = me
        .form(&format!("/notifications/{m2}/read"), &[], false)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = me
        .form(&format!("/notifications/{other}/read"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = me
        .form(&format!("/notifications/{m2}/read"), &[], true)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(me.get("/api/v1/notifications").await.json()["unread"], 0);

    // Read all (API) touches only the reader's own.
    let r = them
        .json(Method::POST, "/api/v1/notifications/read-all", "")
        .await;
    assert_eq!(r.json()["marked"], 1);
    assert_eq!(them.get("/api/v1/notifications").await.json()["unread"], 0);

    // In the OpenAPI document.
    let doc = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/notifications",
        "/api/v1/notifications/{id}/read",
        "/api/v1/notifications/read-all",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[db_test]
async fn the_runner_loop_schedules_recurring_work_once_and_counts_jobs(db: TestDb) {
    let metrics = jinlin_kernel::web::metrics_handle();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let handlers = || {
        let counted = counted.clone();
        JobHandlers::new()
            .every("sweep", Duration::from_secs(60), move |_db, _| {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .add("broken", |_db, _| async { Err("always".to_string()) })
    };
    let minute = jobs::period_key("sweep", Duration::from_secs(60), t0()).1;
    let other = Database::connect(&db.url, 2).await.unwrap();
    let a = runner(&db.db, "node-a", handlers(), Duration::from_secs(60));
    let b = runner(&other, "node-b", handlers(), Duration::from_secs(60));
    // Both nodes poll within the same minute: the sweep runs once.
    let pass = a.tick_at(minute).await.unwrap();
    assert_eq!(pass.done, 1);
    assert_eq!(b.tick_at(minute + secs(20)).await.unwrap().claimed, 0);
    assert_eq!(a.tick_at(minute + secs(40)).await.unwrap().claimed, 0);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The next minute, once more.
    assert_eq!(b.tick_at(minute + secs(60)).await.unwrap().done, 1);
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // The spawned loop (as `jinlin serve` starts it) picks work up by itself.
    NewJob::new("broken", json!(null), Utc::now())
        .max_attempts(1)
        .enqueue(db.db.conn())
        .await
        .unwrap();
    let task = runner(&db.db, "node-live", handlers(), Duration::from_secs(60)).spawn();
    let mut failed = false;
    for _ in 0..500 {
        // The runner counts the failure just after it stores it: wait for both.
        if all_jobs(&db.db)
            .await
            .iter()
            .any(|j| j.kind == "broken" && j.failed_at.is_some())
            && metrics
                .render()
                .contains(r#"jinlin_jobs_failed_total{kind="broken"} 1"#)
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert!(failed, "the spawned runner never ran the job");

    let text = metrics.render();
    assert!(text.contains("jinlin_jobs_due"), "{text}");
    // (The live loop also ran the sweep of the real clock's minute.)
    assert!(
        text.contains(r#"jinlin_jobs_done_total{kind="sweep"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"jinlin_jobs_failed_total{kind="broken"} 1"#),
        "{text}"
    );
    other.close().await.unwrap();
}

#[db_test]
async fn a_running_jobs_lease_is_renewed(db: TestDb) {
    let id = jobs::enqueue(db.db.conn(), "slow", &json!({}), Utc::now(), None)
        .await
        .unwrap()
        .unwrap();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    let slow = JobHandlers::new().add("slow", move |_db, _| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            Ok(())
        }
    });
    // A short lease, renewed every third of it while the handler runs.
    let a = runner(&db.db, "node-a", slow, Duration::from_millis(600));
    let task = tokio::spawn(async move { a.run_due().await });
    let get = || async {
        job::Entity::find_by_id(id)
            .one(db.db.conn())
            .await
            .unwrap()
            .unwrap()
    };
    let mut first = None;
    let mut renewed = false;
    for _ in 0..1000 {
        let j = get().await;
        match (first, j.locked_until) {
            (None, Some(until)) => first = Some(until),
            (Some(before), Some(until)) if until > before => {
                renewed = true;
                break;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(renewed, "the lease was never renewed");
    release.notify_one();
    let pass = task.await.unwrap().unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
    let j = get().await;
    assert_eq!(j.attempts, 1);
    assert!(j.done_at.is_some());
}

/// A local receiver that takes every delivery and keeps its headers and body.
async fn recording_receiver() -> (
    String,
    Arc<Mutex<Vec<(axum::http::HeaderMap, serde_json::Value)>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap,
                  axum::Json(body): axum::Json<serde_json::Value>| {
                let s = s.clone();
                async move {
                    s.lock().unwrap().push((headers, body));
                    StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[db_test]
async fn a_private_message_goes_outbound_without_its_title_and_body(db: TestDb) {
    let t = tree(&db.db).await;
    let resident = account(&db.db, "resident", Role::Resident, t.compound.dwellings[0]).await;
    let (url, seen) = recording_receiver().await;

    let message = Message::new("resident_matter.replied", "诉求已答复", "#7 家中漏水")
        .link("/resident-matters/7")
        .private();
    let tx = db.db.write().await.unwrap();
    notify::notify_parties(&tx, &[resident], &message)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The inbox keeps the whole message.
    let (items, _) = notify::inbox(db.db.conn(), resident, false, 10)
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title, "诉求已答复");
    assert_eq!(items[0].body, "#7 家中漏水");
    // Not even the queue holds the private text.
    let queued = all_jobs(&db.db).await;
    assert_eq!(queued.len(), 1);
    assert!(!queued[0].payload.contains("漏水"), "{}", queued[0].payload);
    assert!(!queued[0].payload.contains("答复"), "{}", queued[0].payload);

    let config = Config {
        notify_webhook_url: Some(url),
        ..Config::default()
    };
    let r = runner(
        &db.db,
        "node",
        jinlin::job_handlers(&config).unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(r.run_due_at(t0()).await.unwrap().done, 1);
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let key = queued[0].id.to_string();
    assert_eq!(headers["idempotency-key"], key.as_str());
    assert_eq!(body["idempotency_key"], key);
    assert_eq!(body["kind"], "resident_matter.replied");
    assert_eq!(body["link"], "/resident-matters/7");
    assert_eq!(body["account_ids"], json!([resident]));
    assert_eq!(body["private"], true);
    assert!(
        body.get("title").is_none() && body.get("body").is_none(),
        "{body}"
    );
}

/// Makes recording a failure whose text is `poison` a database error.
async fn poison_failures(db: &TestDb) {
    use sea_orm::ConnectionTrait;
    let conn = db.db.conn();
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared(
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.last_error = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        .await
        .unwrap();
        conn.execute_unprepared(
            "CREATE TRIGGER poison BEFORE UPDATE ON job FOR EACH ROW EXECUTE FUNCTION poison()",
        )
        .await
        .unwrap();
    } else {
        conn.execute_unprepared(
            "CREATE TRIGGER poison BEFORE UPDATE ON job WHEN NEW.last_error = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        )
        .await
        .unwrap();
    }
}

#[db_test]
async fn a_database_error_on_one_job_leaves_the_rest_of_the_batch_running(db: TestDb) {
    poison_failures(&db).await;
    let start = t0();
    jobs::enqueue(db.db.conn(), "poisoned", &json!({}), start, None)
        .await
        .unwrap();
    let slow = jobs::enqueue(db.db.conn(), "slow", &json!({}), start, None)
        .await
        .unwrap()
        .unwrap();
    let handlers = JobHandlers::new()
        .add("poisoned", |_db, _| async { Err("poison".to_string()) })
        .add("slow", |_db, _| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        });
    let r = runner(&db.db, "node", handlers, Duration::from_secs(60));
    // The poisoned job's outcome cannot be recorded: the pass reports it…
    assert!(r.run_due_at(start).await.is_err());
    // …after the slow job of the same batch has finished and been recorded.
    let j = job::Entity::find_by_id(slow)
        .one(db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(j.done_at.is_some(), "{j:?}");
    assert!(j.locked_by.is_none());
}

#[db_test]
async fn a_job_whose_lease_cannot_be_renewed_stops_before_the_lease_ends(db: TestDb) {
    let id = jobs::enqueue(db.db.conn(), "hangs", &json!({}), Utc::now(), None)
        .await
        .unwrap()
        .unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    let dropped = Arc::new(AtomicUsize::new(0));
    let (s, d) = (started.clone(), dropped.clone());
    let handlers = JobHandlers::new().add("hangs", move |_db, _| {
        let (s, d) = (s.clone(), d.clone());
        async move {
            struct Dropped(Arc<AtomicUsize>);
            impl Drop for Dropped {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let _guard = Dropped(d);
            s.notify_one();
            std::future::pending::<Result<(), String>>().await
        }
    });
    // The node's own pool, which goes away under the running job.
    let node = Database::connect(&db.url, 2).await.unwrap();
    let r = runner(&node, "node-a", handlers, Duration::from_millis(600));
    let task = tokio::spawn(async move { r.run_due().await });
    started.notified().await;
    node.close().await.unwrap();
    let pass = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the runner kept a job whose lease it could not renew")
        .unwrap()
        .unwrap();
    assert_eq!(
        (pass.claimed, pass.done, pass.retried, pass.failed),
        (1, 0, 0, 0)
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the work was stopped");
    // The claim is treated as lost: nothing recorded, the lease runs out
    // and another node takes the job.
    let j = job::Entity::find_by_id(id)
        .one(db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(j.done_at.is_none() && j.failed_at.is_none() && j.last_error.is_none());
    assert_eq!(j.locked_by.as_deref(), Some("node-a"));
    let b = runner(
        &db.db,
        "node-b",
        JobHandlers::new().add("hangs", |_db, _| async { Ok(()) }),
        Duration::from_secs(60),
    );
    let pass = b.run_due_at(Utc::now() + secs(1)).await.unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
}

#[db_test]
async fn shutdown_lets_jobs_finish_then_releases_the_rest(db: TestDb) {
    let finishes = jobs::enqueue(db.db.conn(), "finishes", &json!({}), Utc::now(), None)
        .await
        .unwrap()
        .unwrap();
    let hangs = jobs::enqueue(db.db.conn(), "hangs", &json!({}), Utc::now(), None)
        .await
        .unwrap()
        .unwrap();
    let handlers = JobHandlers::new()
        .add("finishes", |_db, _| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(())
        })
        .add("hangs", |_db, _| std::future::pending());
    let running = runner(&db.db, "node-a", handlers, Duration::from_secs(60)).start();
    let get = |id| one_job(&db.db, id);
    let mut claimed = false;
    for _ in 0..500 {
        if get(hangs).await.locked_by.is_some() && get(finishes).await.locked_by.is_some() {
            claimed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(claimed, "the runner never claimed both jobs");

    let released = running.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(released, 1);
    // The job that could finish within the grace period did.
    assert!(get(finishes).await.done_at.is_some());
    // The other is free for any node at once, its interrupted attempt not counted.
    let j = get(hangs).await;
    assert!(j.locked_by.is_none() && j.locked_until.is_none() && j.done_at.is_none());
    assert_eq!(j.attempts, 0);
    let b = runner(
        &db.db,
        "node-b",
        JobHandlers::new().add("hangs", |_db, _| async { Ok(()) }),
        Duration::from_secs(60),
    );
    let pass = b.run_due().await.unwrap();
    assert_eq!((pass.claimed, pass.done), (1, 1));
}

async fn one_job(db: &Database, id: i64) -> job::Model {
    job::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
}
