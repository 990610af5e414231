//! The floor: what the same machine serves with nothing of the project in
//! the way. A plain-text axum handler, and one lookup of a place by its
//! primary key through the project's own database layer (same pool, same
//! SQLite or PostgreSQL file), answered as JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use jinlin_kernel::Database;
use jinlin_kernel::place::entity as place;
use sea_orm::EntityTrait;

async fn text() -> &'static str {
    "ok"
}

async fn lookup(
    State(db): State<Arc<Database>>,
    Path(id): Path<i64>,
) -> Result<axum::Json<serde_json::Value>, StatusCode> {
    match place::Entity::find_by_id(id).one(db.conn()).await {
        Ok(Some(p)) => Ok(axum::Json(
            serde_json::json!({"id": p.id, "kind": p.kind, "name": p.name}),
        )),
        Ok(None) => Err(StatusCode::NOT_FOUND),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub async fn serve(listen: &str, database_url: &str, max_connections: u32) -> anyhow::Result<()> {
    let db = Arc::new(Database::connect(database_url, max_connections).await?);
    let app = Router::new()
        .route("/floor/text", get(text))
        .route("/floor/place/{id}", get(lookup))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("floor listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
