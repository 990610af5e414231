//! Load shedding: at most `max_in_flight_requests` requests are served at
//! once, and any beyond that are answered 503 at once, in the error shape
//! and with `Retry-After`, instead of queueing until every client times
//! out. Health checks, metrics and the compiled-in assets are never shed:
//! an orchestrator must see the node alive, and a page already admitted
//! must get its stylesheet and scripts.
//!
//! A permit is held until the handler has produced its response head (a
//! streamed body finishes outside the count). `http_requests_in_flight`
//! says how many requests are admitted and not yet answered, with a limit
//! or without.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::error::ApiError;

#[derive(Clone)]
pub struct InFlight(Option<Arc<Semaphore>>);

impl InFlight {
    /// `max` requests at once; 0 for no limit.
    pub fn new(max: usize) -> Self {
        InFlight((max > 0).then(|| Arc::new(Semaphore::new(max))))
    }
}

fn exempt(path: &str) -> bool {
    path == "/healthz" || path == "/metrics" || path.starts_with("/assets/")
}

pub async fn shed(State(limit): State<InFlight>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(semaphore) = limit.0 else {
        let _counted = Counted::enter();
        return next.run(req).await;
    };
    match semaphore.try_acquire_owned() {
        Ok(_permit) => {
            let _counted = Counted::enter();
            next.run(req).await
        }
        Err(_) => {
            let (parts, _) = req.into_parts();
            let mut response = super::ctx::early_error(&parts, ApiError::overloaded).await;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

/// One admitted request in `http_requests_in_flight`, until it is answered
/// or its client goes away (the future is dropped).
struct Counted;

impl Counted {
    fn enter() -> Counted {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}
