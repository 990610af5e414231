//! Photos of matters: checked by size and magic bytes before anything is
//! stored, kept in an [`ObjectStore`] (the data directory by default), and
//! recorded in the matter's timeline.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::audit::{self, Entry};
use jinlin_kernel::auth::Principal;
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use crate::entity::photo;
use crate::matters::{self, invalid};
use crate::rules::{self, Actor, Invalid, State};
use crate::store::{self, EventNew};

/// Where photo bytes live. The filesystem store is the default; an object
/// store (S3 and the like) implements the same three calls.
pub trait ObjectStore: Send + Sync {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    fn get(&self, key: &str) -> io::Result<Vec<u8>>;
    fn delete(&self, key: &str) -> io::Result<()>;
}

/// Photos under a directory (`<data_dir>/resident_matters`).
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> FsStore {
        FsStore { root: root.into() }
    }

    /// The store under the configured data directory.
    pub fn in_data_dir(data_dir: &Path) -> FsStore {
        FsStore::new(data_dir.join("resident_matters"))
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        // Keys are built here, but refuse anything that could leave the root.
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
            || key.contains('\\')
        {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad key"));
        }
        Ok(self.root.join(key))
    }
}

impl ObjectStore for FsStore {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a reader never sees half a photo.
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(key)?)
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// An uploaded photo, already read into memory.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bytes: Vec<u8>,
}

/// A checked photo, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub sha256: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks every photo (size, type, count with those already on the
/// matter) before any is stored.
pub fn check_all(uploads: Vec<Upload>, already: usize) -> Result<Vec<Checked>, ApiError> {
    if uploads.is_empty() {
        return Err(invalid(Invalid::new(
            "resident_matters.error.photo_missing",
        )));
    }
    if already + uploads.len() > rules::MAX_PHOTOS {
        return Err(invalid(Invalid::new("resident_matters.error.photo_count")));
    }
    uploads
        .into_iter()
        .map(|u| {
            let content_type = rules::check_photo(&u.bytes).map_err(invalid)?;
            let sha256 = hex(&Sha256::digest(&u.bytes));
            Ok(Checked {
                bytes: u.bytes,
                content_type,
                sha256,
            })
        })
        .collect()
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// Who may add photos: the reporters while the matter is open, the holder
/// and supervisors while it is open.
pub async fn attach(
    tx: &impl ConnectionTrait,
    objects: &dyn ObjectStore,
    user: &Principal,
    id: i64,
    uploads: Vec<Upload>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<photo::Model>, Vec<String>), ApiError> {
    // The photo count check below must see every concurrent attach.
    store::lock(tx, id).await?;
    let seen = matters::visible(tx, user, id).await?;
    if seen.actors.is_empty() {
        return Err(ApiError::forbidden());
    }
    let m = seen.matter;
    let state = State::parse(&m.state).unwrap_or(State::Closed);
    if !state.is_open() {
        return Err(matters::conflict(
            "matter_state",
            "resident_matters.error.transition",
        ));
    }
    let note = rules::check_text(note, false).map_err(invalid)?;
    let already = store::photos(tx, m.id).await?.len();
    let checked = check_all(uploads, already)?;
    let actor = seen
        .actors
        .first()
        .copied()
        .unwrap_or(Actor::Reporter)
        .as_str();
    let event = store::record(
        tx,
        &m,
        EventNew {
            at: now,
            actor_account_id: Some(user.account_id),
            actor_role: Some(actor.into()),
            action: "photo",
            from_state: None,
            to_state: None,
            note,
            reason: None,
            detail: serde_json::json!({"count": checked.len()}),
        },
    )
    .await?;
    let mut written: Vec<String> = Vec::new();
    match store_all(tx, objects, user, &m, event.id, checked, now, &mut written).await {
        Ok(out) => Ok((out, written)),
        Err(e) => {
            // Each key is this upload's own, so removing it loses no one
            // else's photo.
            for k in &written {
                let _ = objects.delete(k);
            }
            Err(e)
        }
    }
}

/// Writes the files and their rows, noting each written key in `written`
/// so the caller can remove them if anything fails.
#[allow(clippy::too_many_arguments)]
async fn store_all(
    tx: &impl ConnectionTrait,
    objects: &dyn ObjectStore,
    user: &Principal,
    m: &crate::entity::matter::Model,
    event_id: i64,
    checked: Vec<Checked>,
    now: DateTime<Utc>,
    written: &mut Vec<String>,
) -> Result<Vec<photo::Model>, ApiError> {
    let mut out = Vec::new();
    for c in checked {
        // A fresh key per photo: identical uploads never share a file.
        let key = format!(
            "{}/{}/{}.{}",
            m.district_code,
            m.id,
            sea_orm::prelude::Uuid::now_v7().simple(),
            extension(c.content_type)
        );
        objects.put(&key, &c.bytes).map_err(ApiError::internal)?;
        written.push(key.clone());
        out.push(
            store::insert_photo(
                tx,
                m,
                Some(event_id),
                &key,
                c.content_type,
                c.bytes.len(),
                &c.sha256,
                Some(user.account_id),
                now,
            )
            .await?,
        );
    }
    audit::record(
        tx,
        Entry::new(Some(user), "resident_matter.photo", "resident_matter")
            .object(m.id)
            .district(Some(m.district_code.clone()))
            .detail(serde_json::json!({"count": out.len()})),
    )
    .await?;
    Ok(out)
}
