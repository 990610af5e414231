//! Tests of Open311 GeoReport v2: every endpoint in JSON and XML, each JSON
//! answer validated against the spec's JSON Schemas (copied unchanged into
//! crates/open311/schemas), the request filters, posting with an api_key
//! and each way a post is refused, and who sees which request.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use jinlin_kernel::auth::entity::api_token;
use jinlin_kernel::auth::{Role, hash_token};
use jinlin_resident_matters::entity::matter;
use jinlin_resident_matters::rules::State;
use jinlin_resident_matters::store as matters;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use quick_xml::Reader;
use quick_xml::events::Event;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use crate::support::TestApp;

const V2: &str = "/open311/v2";

// ---------------------------------------------------------------- schemas

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../open311/schemas");

fn schema_file(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{SCHEMAS}/{name}"))
        .unwrap_or_else(|e| panic!("schema {name}: {e}"));
    serde_json::from_str(&text).expect("schema is JSON")
}

/// Resolves the schemas' relative `$ref`s (`request.json`) to the copies.
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let name = path.rsplit('/').next().unwrap_or(path);
        Ok(schema_file(name))
    }
}

/// Asserts that `doc` satisfies the GeoReport schema `name`, formats
/// (date-time, uri) included.
fn assert_schema(name: &str, doc: &Value) {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_base_uri(format!("file:///georeport-v2/{name}"))
        .with_retriever(LocalSchemas)
        .build(&schema_file(name))
        .unwrap_or_else(|e| panic!("schema {name} compiles: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc:#}");
}

/// The spec's error array: one error whose code is the HTTP status.
fn assert_error_json(r: &TestResponse, status: StatusCode) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = r.json();
    let errors = body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {body}"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], status.as_u16());
    let description = errors[0]["description"].as_str().unwrap().to_string();
    assert!(!description.is_empty());
    description
}

fn assert_error_xml(r: &TestResponse, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/xml"));
    let (root, errors) = xml_records(&r.text(), "error");
    assert_eq!(root, "errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], status.as_u16().to_string());
    assert!(!errors[0]["description"].is_empty());
}

// ---------------------------------------------------------------- XML

/// Parses an XML answer: its root element and, for every `record` element,
/// the text of its child elements (an empty element reads as "").
fn xml_records(xml: &str, record: &str) -> (String, Vec<BTreeMap<String, String>>) {
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
        "{xml}"
    );
    let mut reader = Reader::from_str(xml);
    let mut root = None;
    let mut records = Vec::new();
    let mut current: Option<BTreeMap<String, String>> = None;
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("XML: {e}\n{xml}"))
        {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                root.get_or_insert_with(|| name.clone());
                if name == record && current.is_none() {
                    current = Some(BTreeMap::new());
                }
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                root.get_or_insert_with(|| name.clone());
                if let Some(c) = current.as_mut()
                    && stack.last().map(String::as_str) == Some(record)
                {
                    c.insert(name, String::new());
                }
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                let name = r.into_inner();
                text.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap());
            }
            Event::End(_) => {
                let name = stack.pop().unwrap();
                if name == record && stack.iter().all(|s| s != record) {
                    records.push(current.take().unwrap());
                } else if let Some(c) = current.as_mut()
                    && stack.last().map(String::as_str) == Some(record)
                {
                    c.insert(name, std::mem::take(&mut text));
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    (root.expect("a root element"), records)
}

/// The XML records say what the JSON records say.
fn assert_same_records(json: &Value, xml: &[BTreeMap<String, String>]) {
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), xml.len());
    for (j, x) in items.iter().zip(xml) {
        let j = j.as_object().unwrap();
        let flat: Vec<_> = j.iter().filter(|(_, v)| !v.is_array()).collect();
        assert_eq!(flat.len(), x.len(), "{j:?} vs {x:?}");
        for (key, value) in flat {
            let text = x.get(key).unwrap_or_else(|| panic!("no <{key}> in {x:?}"));
            match value {
                Value::Null => assert_eq!(text, "", "{key}"),
                Value::String(s) => assert_eq!(text, s, "{key}"),
                Value::Bool(b) => assert_eq!(text, &b.to_string(), "{key}"),
                Value::Number(n) => {
                    assert_eq!(text.parse::<f64>().unwrap(), n.as_f64().unwrap(), "{key}")
                }
                other => panic!("{key}: {other}"),
            }
        }
    }
}

// ---------------------------------------------------------------- setup

struct People {
    resident: i64,
    neighbour: i64,
    resident_n: i64,
    property: i64,
    worker: i64,
    other_street: i64,
    resident_far: i64,
}

/// Keys handed to each account: (write, read-only).
struct Keys {
    resident: String,
    resident_ro: String,
    neighbour: String,
    resident_n: String,
    property: String,
    worker: String,
    other_street: String,
    resident_far: String,
    revoked: String,
}

async fn key(app: &TestApp, account_id: i64, can_write: bool, revoked: bool) -> String {
    let token = jinlin_kernel::auth::new_token();
    api_token::ActiveModel {
        account_id: Set(account_id),
        name: Set("open311".into()),
        token_hash: Set(hash_token(&token)),
        can_write: Set(can_write),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(revoked.then(Utc::now)),
        ..Default::default()
    }
    .insert(app.db.db.conn())
    .await
    .unwrap();
    token
}

async fn setup(db: TestDb) -> (TestApp, Tree, People, Keys) {
    let t = tree(&db.db).await;
    let d = &db.db;
    let p = People {
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        neighbour: account(d, "neighbour", Role::Resident, t.compound.dwellings[1]).await,
        resident_n: account(d, "resident-n", Role::Resident, t.neighbour.dwellings[0]).await,
        property: account(d, "property", Role::PropertyStaff, t.compound.compound).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        resident_far: account(d, "resident-far", Role::Resident, t.far.dwellings[0]).await,
    };
    let app = TestApp::new(db);
    let k = Keys {
        resident: key(&app, p.resident, true, false).await,
        resident_ro: key(&app, p.resident, false, false).await,
        neighbour: key(&app, p.neighbour, true, false).await,
        resident_n: key(&app, p.resident_n, true, false).await,
        property: key(&app, p.property, false, false).await,
        worker: key(&app, p.worker, false, false).await,
        other_street: key(&app, p.other_street, true, false).await,
        resident_far: key(&app, p.resident_far, true, false).await,
        revoked: key(&app, p.resident, true, true).await,
    };
    (app, t, p, k)
}

async fn post(app: &TestApp, format: &str, fields: &[(&str, &str)]) -> TestResponse {
    app.request(
        Method::POST,
        &format!("{V2}/requests.{format}"),
        &[("content-type", "application/x-www-form-urlencoded")],
        Body::from(serde_urlencoded::to_string(fields).unwrap()),
    )
    .await
}

/// Posts a request as the holder of `key`; returns its id.
async fn file(app: &TestApp, key: &str, service: &str, place: i64, public: bool) -> i64 {
    let place = place.to_string();
    let public = public.to_string();
    let r = post(
        app,
        "json",
        &[
            ("api_key", key),
            ("service_code", service),
            ("address_id", &place),
            ("description", "3号楼楼道灯不亮"),
            ("public", &public),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn get_json(app: &TestApp, path: &str, schema: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = r.json();
    assert_schema(schema, &body);
    body
}

/// The ids a listing returns, in its order.
async fn ids(app: &TestApp, path: &str) -> Vec<i64> {
    get_json(app, path, "requests.json")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn set_state(app: &TestApp, id: i64, state: State, note: &str) {
    let conn = app.db.db.conn();
    let mut m = matters::find(conn, id).await.unwrap().unwrap();
    let from = State::parse(&m.state);
    m.state = state.as_str().into();
    m.updated_at = Utc::now();
    if state == State::Closed {
        m.closed_at = Some(Utc::now());
    }
    let m = matters::save(conn, m).await.unwrap();
    matters::record(
        conn,
        &m,
        matters::EventNew {
            at: Utc::now(),
            actor_account_id: None,
            actor_role: None,
            action: "close",
            from_state: from,
            to_state: Some(state),
            note: Some(note.into()),
            reason: None,
            detail: json!({}),
        },
    )
    .await
    .unwrap();
}

async fn matter_count(app: &TestApp) -> u64 {
    matter::Entity::find()
        .count(app.db.db.conn())
        .await
        .unwrap()
}

// ---------------------------------------------------------------- tests

#[db_test]
async fn services_definitions_and_discovery_in_both_formats(db: TestDb) {
    let (app, _t, _p, _k) = setup(db).await;
    let services = get_json(&app, &format!("{V2}/services.json"), "services.json").await;
    let list = services.as_array().unwrap();
    let catalogue = matters::categories(app.db.db.conn(), false).await.unwrap();
    assert_eq!(list.len(), catalogue.len());
    assert!(!list.is_empty());
    assert_eq!(list[0]["service_code"], catalogue[0].code.as_str());
    assert_eq!(list[0]["service_name"], catalogue[0].name_zh.as_str());
    assert_eq!(list[0]["type"], "realtime");
    assert_eq!(list[0]["metadata"], false);
    let xml = app.get(&format!("{V2}/services.xml")).await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.header("content-type").unwrap().starts_with("text/xml"));
    let (root, records) = xml_records(&xml.text(), "service");
    assert_eq!(root, "services");
    assert_same_records(&services, &records);

    // English names for an English client.
    let en = app
        .get_with(&format!("{V2}/services.json"), &[("accept-language", "en")])
        .await
        .json();
    assert_schema("services.json", &en);
    assert_eq!(en[0]["service_name"], catalogue[0].name_en.as_str());

    // A service definition: no extra attributes.
    let code = &catalogue[0].code;
    let def = get_json(
        &app,
        &format!("{V2}/services/{code}.json"),
        "service-definition.json",
    )
    .await;
    assert_eq!(def, json!({"service_code": code, "attributes": []}));
    let xml = app.get(&format!("{V2}/services/{code}.xml")).await;
    assert_eq!(xml.status, StatusCode::OK);
    let (root, _) = xml_records(&xml.text(), "attribute");
    assert_eq!(root, "service_definition");
    assert!(
        xml.text()
            .contains(&format!("<service_code>{code}</service_code>"))
    );

    // Unknown service, unknown jurisdiction, unknown format.
    assert_error_json(
        &app.get(&format!("{V2}/services/no-such.json")).await,
        StatusCode::NOT_FOUND,
    );
    assert_error_xml(
        &app.get(&format!("{V2}/services/no-such.xml")).await,
        StatusCode::NOT_FOUND,
    );
    assert_error_json(
        &app.get(&format!("{V2}/services.json?jurisdiction_id=110101"))
            .await,
        StatusCode::NOT_FOUND,
    );
    get_json(
        &app,
        &format!("{V2}/services.json?jurisdiction_id=350104"),
        "services.json",
    )
    .await;
    assert_error_json(
        &app.get(&format!("{V2}/services.html")).await,
        StatusCode::NOT_FOUND,
    );
    assert_error_xml(
        &app.get(&format!("{V2}/nothing.xml")).await,
        StatusCode::NOT_FOUND,
    );
    assert_error_json(&app.get("/open311/other.json").await, StatusCode::NOT_FOUND);

    // The discovery document names this endpoint.
    let r = app
        .get_with("/open311/discovery.json", &[("host", "jinlin.example.cn")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let d = r.json();
    let endpoint = &d["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["url"], "http://jinlin.example.cn/open311/v2/");
    assert_eq!(endpoint["formats"], json!(["application/json", "text/xml"]));
    let r = app
        .get_with(
            "/open311/discovery.xml",
            &[
                ("host", "jinlin.example.cn"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (root, endpoints) = xml_records(&r.text(), "endpoint");
    assert_eq!(root, "discovery");
    assert_eq!(endpoints[0]["url"], "https://jinlin.example.cn/open311/v2/");
    assert!(
        r.text().contains(
            "<formats><format>application/json</format><format>text/xml</format></formats>"
        )
    );
}

#[db_test]
async fn a_request_posted_followed_and_closed(db: TestDb) {
    let (app, t, p, k) = setup(db).await;
    let dwelling = t.compound.dwellings[0].to_string();
    let r = post(
        &app,
        "json",
        &[
            ("api_key", &k.resident),
            ("service_code", "facility_repair"),
            ("lat", "26.038"),
            ("long", "119.304"),
            ("address_string", "金山花园3号楼"),
            ("address_id", &dwelling),
            ("description", "3号楼楼道灯不亮\n已经一周了"),
            ("media_url", "https://img.example.cn/a.jpg"),
            ("email", "zhang@example.cn"),
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13800138000"),
            ("device_id", "phone-1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let created = r.json();
    let c = &created[0];
    let id: i64 = c["service_request_id"].as_str().unwrap().parse().unwrap();
    let token = c["token"].as_str().unwrap().to_string();
    assert!(c["service_notice"].is_string());

    // Stored as a residents' matter raised by the key's account.
    let m = matters::find(app.db.db.conn(), id).await.unwrap().unwrap();
    assert_eq!(m.reporter_account_id, Some(p.resident));
    assert_eq!(m.place_id, t.compound.dwellings[0]);
    assert_eq!(m.compound_id, t.compound.compound);
    assert_eq!(m.state, "intake");
    assert!(!m.public);
    assert_eq!(m.title, "3号楼楼道灯不亮");
    assert!(m.description.contains("https://img.example.cn/a.jpg"));
    assert_eq!(
        (m.latitude_e6, m.longitude_e6),
        (Some(26_038_000), Some(119_304_000))
    );

    // The same in XML.
    let r = post(
        &app,
        "xml",
        &[
            ("api_key", &k.resident),
            ("service_code", "facility_repair"),
            ("address_string", "金山花园1号楼门禁"),
            ("description", "门禁坏了"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (root, rows) = xml_records(&r.text(), "request");
    assert_eq!(root, "service_requests");
    let xml_id: i64 = rows[0]["service_request_id"].parse().unwrap();
    assert!(!rows[0]["token"].is_empty());
    // Without address_id, the resident's own dwelling.
    let m2 = matters::find(app.db.db.conn(), xml_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m2.place_id, t.compound.dwellings[0]);

    // The token leads to the request, in both formats.
    let r = app.get(&format!("{V2}/tokens/{token}.json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let answer = r.json();
    assert_eq!(
        answer,
        json!([{"service_request_id": id.to_string(), "token": token}])
    );
    let r = app.get(&format!("{V2}/tokens/{token}.xml")).await;
    let (root, rows) = xml_records(&r.text(), "request");
    assert_eq!(root, "service_requests");
    assert_same_records(&answer, &rows);
    let forged = format!("{}-{}", id + 1, token.split_once('-').unwrap().1);
    assert_error_json(
        &app.get(&format!("{V2}/tokens/{forged}.json")).await,
        StatusCode::NOT_FOUND,
    );
    assert_error_xml(
        &app.get(&format!("{V2}/tokens/nonsense.xml")).await,
        StatusCode::NOT_FOUND,
    );

    // The reporter reads it back with the key; nothing personal comes back.
    let path = format!("{V2}/requests/{id}.json?api_key={}", k.resident);
    let one = get_json(&app, &path, "requests.json").await;
    assert_schema("request.json", &one[0]);
    let r = &one[0];
    assert_eq!(r["service_request_id"], id.to_string());
    assert_eq!(r["status"], "open");
    assert_eq!(r["service_code"], "facility_repair");
    assert_eq!(r["address"], "金山花园3号楼");
    assert_eq!(r["address_id"], t.compound.compound.to_string());
    assert_eq!(r["agency_responsible"], "金山社区");
    assert_eq!(r["lat"], 26.038);
    let text = one.to_string();
    for personal in ["zhang@example.cn", "13800138000", "张", "phone-1"] {
        assert!(!text.contains(personal), "{personal} leaked: {text}");
    }
    assert!(!text.contains(&format!("\"{}\"", t.compound.dwellings[0])));
    let xml = app
        .get(&format!("{V2}/requests/{id}.xml?api_key={}", k.resident))
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    let (root, rows) = xml_records(&xml.text(), "request");
    assert_eq!(root, "service_requests");
    assert_same_records(&one, &rows);

    // Closed with a note: status closed, the note as status_notes.
    set_state(&app, id, State::Closed, "灯已更换").await;
    let one = get_json(&app, &path, "requests.json").await;
    assert_eq!(one[0]["status"], "closed");
    assert_eq!(one[0]["status_notes"], "灯已更换");
    assert!(one[0]["updated_datetime"].is_string());

    // A duplicate merged into it reads as closed, saying where it went; the
    // body holding a matter at the compound is named with the compound.
    let conn = app.db.db.conn();
    let mut dup = matters::find(conn, xml_id).await.unwrap().unwrap();
    dup.holder_kind = "property_company".into();
    dup.holder_place_id = Some(t.compound.compound);
    matters::save(conn, dup).await.unwrap();
    let r = get_json(
        &app,
        &format!("{V2}/requests/{xml_id}.json?api_key={}", k.resident),
        "requests.json",
    )
    .await;
    assert_eq!(r[0]["agency_responsible"], "金山花园 物业服务企业");
    let mut dup = matters::find(conn, xml_id).await.unwrap().unwrap();
    dup.merged_into = Some(id);
    matters::save(conn, dup).await.unwrap();
    set_state(&app, xml_id, State::Merged, "重复").await;
    let r = get_json(
        &app,
        &format!("{V2}/requests/{xml_id}.json?api_key={}", k.resident),
        "requests.json",
    )
    .await;
    assert_eq!(r[0]["status"], "closed");
    assert_eq!(r[0]["status_notes"], format!("已并入诉求 #{id}"));

    // Unknown ids and ids of nothing: 404 in the spec's shape.
    assert_error_json(
        &app.get(&format!("{V2}/requests/999999.json?api_key={}", k.resident))
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_error_xml(
        &app.get(&format!("{V2}/requests/abc.xml")).await,
        StatusCode::NOT_FOUND,
    );
}

#[db_test]
async fn the_filters_of_requests(db: TestDb) {
    let (app, t, _p, k) = setup(db).await;
    let place = t.compound.compound;
    let a = file(&app, &k.resident, "facility_repair", place, true).await;
    let b = file(&app, &k.resident, "sanitation", place, true).await;
    let c = file(&app, &k.resident, "sanitation", place, false).await;
    set_state(&app, b, State::Closed, "已清理").await;
    // `a` was raised long ago.
    let conn = app.db.db.conn();
    let mut old = matters::find(conn, a)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    old.created_at = Set(Utc::now() - Duration::days(200));
    old.update(conn).await.unwrap();

    let q = |query: &str| format!("{V2}/requests.json?api_key={}&{query}", k.resident);
    // Default: the last 90 days, newest first.
    assert_eq!(ids(&app, &q("")).await, vec![c, b]);
    // service_request_id overrides every other filter.
    let mut listed = ids(&app, &q(&format!("service_request_id={a},{c}&status=open"))).await;
    listed.sort();
    assert_eq!(listed, vec![a, c]);
    assert_eq!(ids(&app, &q("service_code=sanitation")).await, vec![c, b]);
    assert_eq!(
        ids(&app, &q("service_code=facility_repair")).await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&app, &q("status=closed")).await, vec![b]);
    assert_eq!(ids(&app, &q("status=open")).await, vec![c]);
    assert_eq!(ids(&app, &q("status=open,closed")).await, vec![c, b]);
    let start = (Utc::now() - Duration::days(365)).format("%Y-%m-%dT%H:%M:%SZ");
    let end = (Utc::now() - Duration::days(100)).format("%Y-%m-%dT%H:%M:%SZ");
    assert_eq!(
        ids(&app, &q(&format!("start_date={start}&end_date={end}"))).await,
        vec![a]
    );
    assert_eq!(
        ids(
            &app,
            &q(&format!("start_date={start}&service_code=facility_repair"))
        )
        .await,
        vec![a]
    );

    // The listing in XML says the same as in JSON.
    let json = get_json(&app, &q("status=open,closed"), "requests.json").await;
    let xml = app
        .get(&format!(
            "{V2}/requests.xml?api_key={}&status=open,closed",
            k.resident
        ))
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    let (root, rows) = xml_records(&xml.text(), "request");
    assert_eq!(root, "service_requests");
    assert_same_records(&json, &rows);

    // Bad filters: 400 in the spec's shape, in either format.
    for bad in [
        "status=pending",
        "start_date=yesterday",
        "service_request_id=1,x",
        "start_date=2026-02-01&end_date=2026-01-01",
    ] {
        assert_error_json(&app.get(&q(bad)).await, StatusCode::BAD_REQUEST);
        let xml = app
            .get(&format!("{V2}/requests.xml?api_key={}&{bad}", k.resident))
            .await;
        assert_error_xml(&xml, StatusCode::BAD_REQUEST);
    }
    // English descriptions for an English client.
    let r = app
        .get_with(&q("status=pending"), &[("accept-language", "en")])
        .await;
    let d = assert_error_json(&r, StatusCode::BAD_REQUEST);
    assert!(d.contains("open or closed"), "{d}");
}

#[db_test]
async fn refused_posts_store_nothing(db: TestDb) {
    let (app, t, _p, k) = setup(db).await;
    let compound = t.compound.compound.to_string();
    let far = t.far.compound.to_string();
    let base = |key: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("service_code", "sanitation".into()),
            ("address_id", compound.clone()),
            ("description", "垃圾未清运".into()),
            (key, String::new()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>, format: &'static str| {
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            post(app, format, &fields).await
        }
    };
    let with_key = |key: &str, more: &[(&'static str, &str)], drop: &[&str]| {
        let mut f: Vec<(&'static str, String)> = base("unused")
            .into_iter()
            .filter(|(k, _)| !drop.contains(k))
            .collect();
        f.push(("api_key", key.to_string()));
        for (k, v) in more {
            f.retain(|(kk, _)| kk != k);
            f.push((k, v.to_string()));
        }
        f
    };

    // Keys: missing, unknown, revoked, read-only → 403.
    for format in ["json", "xml"] {
        let r = send(base("unused"), format).await;
        if format == "json" {
            assert_error_json(&r, StatusCode::FORBIDDEN);
        } else {
            assert_error_xml(&r, StatusCode::FORBIDDEN);
        }
    }
    for key in ["not-a-key", k.revoked.as_str(), k.resident_ro.as_str()] {
        assert_error_json(
            &send(with_key(key, &[], &[]), "json").await,
            StatusCode::FORBIDDEN,
        );
        assert_error_xml(
            &send(with_key(key, &[], &[]), "xml").await,
            StatusCode::FORBIDDEN,
        );
    }
    // Bad input → 400, each in both formats.
    let cases: Vec<Vec<(&'static str, String)>> = vec![
        with_key(&k.resident, &[], &["service_code"]),
        with_key(&k.resident, &[("service_code", "no-such-service")], &[]),
        with_key(&k.resident, &[("lat", "26.0")], &[]),
        with_key(&k.resident, &[("lat", "126.0"), ("long", "119.3")], &[]),
        with_key(&k.resident, &[("media_url", "javascript:alert(1)")], &[]),
        with_key(&k.resident, &[("attribute[floor]", "3")], &[]),
        with_key(&k.resident, &[("address_id", "abc")], &[]),
        with_key(&k.resident, &[("address_id", "99999999")], &[]),
        // A place outside the caller's reach reads as unknown.
        with_key(&k.resident, &[("address_id", &far)], &[]),
        with_key(&k.resident, &[("jurisdiction_id", "110101")], &[]),
        // A street admin has no single home: address_id is needed.
        with_key(&k.other_street, &[], &["address_id"]),
        with_key(&k.resident, &[("description", &"长".repeat(4001))], &[]),
    ];
    for fields in cases {
        let r = send(fields.clone(), "json").await;
        assert_error_json(&r, StatusCode::BAD_REQUEST);
        assert_error_xml(&send(fields, "xml").await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(matter_count(&app).await, 0);
    // The same fields with a good key are accepted.
    let r = send(with_key(&k.resident, &[], &[]), "json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Posting to anything but requests.
    let r = app
        .request(
            Method::POST,
            &format!("{V2}/services.json"),
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::from("api_key=x"),
        )
        .await;
    assert_error_json(&r, StatusCode::METHOD_NOT_ALLOWED);
    // Only the one good post above was stored.
    assert_eq!(matter_count(&app).await, 1);
}

#[db_test]
async fn who_sees_which_request(db: TestDb) {
    let (app, t, p, k) = setup(db).await;
    let public = file(&app, &k.resident, "sanitation", t.compound.compound, true).await;
    let private = file(
        &app,
        &k.resident,
        "sanitation",
        t.compound.dwellings[0],
        false,
    )
    .await;
    let elsewhere = file(
        &app,
        &k.resident_n,
        "sanitation",
        t.neighbour.compound,
        true,
    )
    .await;
    let far = file(&app, &k.resident_far, "sanitation", t.far.compound, false).await;

    let list = |key: Option<&str>| {
        let app = &app;
        let path = match key {
            Some(key) => format!("{V2}/requests.json?api_key={key}"),
            None => format!("{V2}/requests.json"),
        };
        async move {
            let mut v = ids(app, &path).await;
            v.sort();
            v
        }
    };
    // Without a key: nothing (residents were told public means the
    // compound's residents).
    assert_eq!(list(None).await, Vec::<i64>::new());
    // The reporter sees both of theirs.
    assert_eq!(list(Some(&k.resident)).await, vec![public, private]);
    // A neighbour in the compound sees the public one only.
    assert_eq!(list(Some(&k.neighbour)).await, vec![public]);
    // The compound's property staff see every matter of the compound.
    assert_eq!(list(Some(&k.property)).await, vec![public, private]);
    // The community worker sees the community's compounds.
    assert_eq!(
        list(Some(&k.worker)).await,
        vec![public, private, elsewhere]
    );
    // Another street's admin sees that street's matter, none of this one's.
    assert_eq!(list(Some(&k.other_street)).await, vec![far]);

    // One request by id: the same rule, 404 outside it.
    let one = |id: i64, key: Option<&str>| {
        let app = &app;
        let path = match key {
            Some(key) => format!("{V2}/requests/{id}.json?api_key={key}"),
            None => format!("{V2}/requests/{id}.json"),
        };
        async move { app.get(&path).await }
    };
    assert_eq!(one(private, Some(&k.property)).await.status, StatusCode::OK);
    for (id, key) in [
        (private, None),
        (private, Some(k.neighbour.as_str())),
        (private, Some(k.other_street.as_str())),
        (public, Some(k.resident_far.as_str())),
        (public, None),
    ] {
        assert_error_json(&one(id, key).await, StatusCode::NOT_FOUND);
    }
    // service_request_id cannot reach past the rule either.
    assert_eq!(
        ids(
            &app,
            &format!(
                "{V2}/requests.json?api_key={}&service_request_id={public},{private},{far}",
                k.neighbour
            )
        )
        .await,
        vec![public]
    );
    // A key records when it was last used, after the answer.
    let mut waited = 0;
    loop {
        let used = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash_token(&k.neighbour)))
            .one(app.db.db.conn())
            .await
            .unwrap()
            .unwrap();
        if used.last_used_at.is_some() {
            break;
        }
        waited += 1;
        assert!(waited < 200, "the key's use was never recorded");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // A bad key is refused, not read as anonymous.
    assert_error_json(
        &app.get(&format!("{V2}/requests.json?api_key=wrong")).await,
        StatusCode::FORBIDDEN,
    );
    // A signed-in session counts like its account's key.
    let session = app.client(p.property).await;
    let r = session.get(&format!("{V2}/requests.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    // A neighbour whose private duplicate is merged into the private matter
    // follows it: both are theirs to see, each once.
    let dup = file(
        &app,
        &k.neighbour,
        "sanitation",
        t.compound.dwellings[1],
        false,
    )
    .await;
    let conn = app.db.db.conn();
    let dup_model = matters::find(conn, dup).await.unwrap().unwrap();
    let into = matters::find(conn, private).await.unwrap().unwrap();
    assert_eq!(
        matters::merge_reporters(conn, &dup_model, &into, Utc::now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(list(Some(&k.neighbour)).await, vec![public, private, dup]);
    assert_eq!(list(Some(&k.resident)).await, vec![public, private]);
}

#[db_test]
async fn neighbours_read_the_compound_not_the_address(db: TestDb) {
    let (app, t, _p, k) = setup(db).await;
    let dwelling = t.compound.dwellings[0].to_string();
    let r = post(
        &app,
        "json",
        &[
            ("api_key", &k.resident),
            ("service_code", "sanitation"),
            ("lat", "26.038"),
            ("long", "119.304"),
            ("address_string", "3号楼2单元501"),
            ("address_id", &dwelling),
            ("description", "楼道堆满杂物"),
            ("public", "true"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = |key: &str| {
        let app = &app;
        let path = format!("{V2}/requests/{id}.json?api_key={key}");
        async move { get_json(app, &path, "requests.json").await }
    };
    // The reporter and the compound's property staff see where it is.
    for key in [&k.resident, &k.property] {
        let r = read(key).await;
        assert_eq!(r[0]["address"], "3号楼2单元501");
        assert_eq!(r[0]["lat"], 26.038);
    }
    // A neighbour reads only the compound, in the listing too.
    let r = read(&k.neighbour).await;
    assert_eq!(r[0]["address"], "金山花园");
    assert_eq!(r[0]["lat"], Value::Null);
    assert_eq!(r[0]["long"], Value::Null);
    let listed = get_json(
        &app,
        &format!("{V2}/requests.json?api_key={}", k.neighbour),
        "requests.json",
    )
    .await;
    assert!(!listed.to_string().contains("501"), "{listed}");
    let xml = app
        .get(&format!("{V2}/requests/{id}.xml?api_key={}", k.neighbour))
        .await;
    assert!(!xml.text().contains("501"), "{}", xml.text());
    assert!(!xml.text().contains("26.038"), "{}", xml.text());
}

#[db_test]
async fn plain_dates_are_days_in_china(db: TestDb) {
    let (app, t, _p, k) = setup(db).await;
    let conn = app.db.db.conn();
    let mut ids_at = Vec::new();
    // 01:00 and 23:30 on 2 May in Fuzhou, then 00:30 on 3 May.
    for at in [
        "2026-05-01T17:00:00Z",
        "2026-05-02T15:30:00Z",
        "2026-05-02T16:30:00Z",
    ] {
        let id = file(&app, &k.resident, "sanitation", t.compound.compound, false).await;
        let mut m = matters::find(conn, id)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        m.created_at = Set(at.parse().unwrap());
        m.update(conn).await.unwrap();
        ids_at.push(id);
    }
    let q = |query: &str| format!("{V2}/requests.json?api_key={}&{query}", k.resident);
    let mut day = ids(&app, &q("start_date=2026-05-02&end_date=2026-05-02")).await;
    day.sort();
    assert_eq!(day, vec![ids_at[0], ids_at[1]]);
    assert_eq!(
        ids(&app, &q("start_date=2026-05-03&end_date=2026-05-03")).await,
        vec![ids_at[2]]
    );
}
