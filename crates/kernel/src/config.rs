//! Layered configuration: built-in defaults, then an optional TOML file, then
//! `JINLIN_*` environment variables, then command-line flags (highest).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite database and uploaded files.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; empty for the embedded SQLite file.
    pub database_url: Option<String>,
    /// Largest pool of database connections a node keeps open. None: the
    /// database's default ([`crate::db::default_max_connections`]).
    pub database_max_connections: Option<u32>,
    /// Seconds a PostgreSQL request waits for a pooled connection (or for
    /// the server to accept a new one) before it answers 503: short, so a
    /// database outage fails requests fast instead of piling them up.
    pub database_acquire_timeout_secs: u64,
    /// `postgres://…` of a streaming replica (a hot standby of
    /// `database_url`) for heavy read-only reporting: the cockpit, open
    /// data and ledger exports. Empty: everything reads the primary.
    pub database_replica_url: Option<String>,
    /// Seconds the replica may lag behind the primary before reporting
    /// reads go back to the primary until it catches up.
    pub database_replica_max_lag_secs: u64,
    /// Load the demo data set into an empty database at start.
    pub demo: bool,
    /// `pretty` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// Seconds a request may take before the server answers 408.
    pub request_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests served at once; beyond that the server answers 503 at once
    /// (load shedding) rather than queueing until clients time out.
    /// `/healthz` and `/metrics` are never shed. 0: no limit.
    pub max_in_flight_requests: usize,
    /// The server is reached over HTTPS (a TLS-terminating proxy in front):
    /// send Strict-Transport-Security and mark every cookie `Secure`.
    pub behind_tls: bool,
    /// Addresses or ranges (`10.0.0.0/8`) of the load balancers in front:
    /// from their requests the client's address is read in
    /// `X-Forwarded-For`, for the sign-in limit, sessions and the audit log.
    /// Empty: the peer's address, and the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Base64 of the 32-byte key that encrypts ID numbers at rest. Never
    /// stored in the database. Empty: the key file `secret.key` in the data
    /// directory, created on first start (set this on multi-node deployments).
    pub secret_key: Option<String>,
    /// URL that outbound notifications are POSTed to as JSON (a WeCom or
    /// DingTalk bot adapter, an SMS gateway). Empty: in-app only.
    pub notify_webhook_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./jinlin-data"),
            database_url: None,
            database_max_connections: None,
            database_acquire_timeout_secs: 3,
            database_replica_url: None,
            database_replica_max_lag_secs: 30,
            demo: false,
            log_format: LogFormat::Pretty,
            request_timeout_secs: 30,
            max_body_bytes: 8 * 1024 * 1024,
            max_in_flight_requests: 512,
            behind_tls: false,
            trusted_proxies: Vec::new(),
            secret_key: None,
            notify_webhook_url: None,
        }
    }
}

impl Config {
    /// Loads the layers in order of precedence. `flags` holds only the flags
    /// the user actually gave (absent ones must not be serialized).
    pub fn load(file: Option<&Path>, flags: impl Serialize) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "configuration file {} does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(Env::prefixed("JINLIN_").only(&Self::ENV_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)
    }

    const ENV_KEYS: [&'static str; 16] = [
        "listen",
        "data_dir",
        "database_url",
        "database_max_connections",
        "database_acquire_timeout_secs",
        "database_replica_url",
        "database_replica_max_lag_secs",
        "max_in_flight_requests",
        "behind_tls",
        "trusted_proxies",
        "demo",
        "log_format",
        "request_timeout_secs",
        "max_body_bytes",
        "secret_key",
        "notify_webhook_url",
    ];

    /// The pool size: the configured one, or the database's default.
    pub fn max_connections(&self) -> u32 {
        self.database_max_connections
            .unwrap_or_else(|| crate::db::default_max_connections(&self.effective_database_url()))
    }

    /// The URL the database layer connects to: the configured one, or the
    /// embedded SQLite file inside the data directory.
    pub fn effective_database_url(&self) -> String {
        match self.database_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url.to_string(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("jinlin.sqlite").display()
            ),
        }
    }

    /// The replica's URL, when one is configured (a blank one is none).
    pub fn replica_url(&self) -> Option<&str> {
        self.database_replica_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    /// The trusted proxies, parsed; an error names the entry that is wrong.
    pub fn trusted_proxies(&self) -> Result<crate::web::client_addr::TrustedProxies, String> {
        crate::web::client_addr::TrustedProxies::parse(&self.trusted_proxies)
    }

    /// The key that protects personal data: from the configuration, or
    /// from (or newly into) the data directory's key file.
    pub fn secrets(&self) -> anyhow::Result<crate::crypto::Secrets> {
        match self.secret_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => crate::crypto::Secrets::from_base64(key).map_err(|e| {
                anyhow::anyhow!("secret_key is not the base64 of 32 bytes ({e:?}); generate one with `openssl rand -base64 32`")
            }),
            _ => {
                let path = self.data_dir.join("secret.key");
                crate::crypto::load_or_create_key_file(&path)
                    .map_err(|e| anyhow::anyhow!("cannot read or create the key file {}: {e}", path.display()))
            }
        }
    }

    /// The configuration as TOML with every secret replaced by `***`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(redact_url(&self.effective_database_url()));
        shown.database_max_connections = Some(self.max_connections());
        shown.database_replica_url = self.replica_url().map(redact_url);
        if shown.secret_key.is_some() {
            shown.secret_key = Some("***".into());
        }
        // Bot webhooks carry their token in the query.
        if let Some(url) = &self.notify_webhook_url {
            let base = redact_url(url.split('?').next().unwrap_or(""));
            shown.notify_webhook_url = Some(if url.contains('?') {
                format!("{base}?***")
            } else {
                base
            });
        }
        toml_string(&shown)
    }
}

fn toml_string(config: &Config) -> String {
    // figment's TOML support does not serialize, so write the few lines here.
    let value = serde_json::to_value(config).unwrap_or_default();
    let mut out = String::new();
    if let Some(map) = value.as_object() {
        for (key, value) in map {
            if !value.is_null() {
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
    }
    out
}

/// Hides the password of a `scheme://user:password@host/…` URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_url("postgres://jinlin:s3cret@db:5432/jinlin"),
            "postgres://jinlin:***@db:5432/jinlin"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite://./x.sqlite"), "sqlite://./x.sqlite");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn flags_beat_environment_which_beats_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "jinlin.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\ndemo = true\n",
            )?;
            jail.set_env("JINLIN_DATA_DIR", "/from/env");
            jail.set_env("JINLIN_LISTEN", "127.0.0.1:9001");
            #[derive(Serialize)]
            struct Flags {
                listen: &'static str,
            }
            let config = Config::load(
                Some(Path::new("jinlin.toml")),
                Flags {
                    listen: "127.0.0.1:9002",
                },
            )
            .map_err(|e| *e)?;
            assert_eq!(config.listen.port(), 9002);
            assert_eq!(config.data_dir, PathBuf::from("/from/env"));
            assert!(config.demo);
            assert_eq!(config.log_format, LogFormat::Pretty);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn the_pool_size_defaults_by_database_and_can_be_set() {
        figment::Jail::expect_with(|jail| {
            #[derive(Serialize)]
            struct NoFlags {}
            let sqlite = Config::load(None, NoFlags {}).map_err(|e| *e)?;
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
            assert_eq!(sqlite.max_connections(), (4 * cores).clamp(4, 64));
            // What `--print-config` shows is the size in effect.
            assert!(
                sqlite.to_redacted_toml().contains(&format!(
                    "database_max_connections = {}",
                    (4 * cores).clamp(4, 64)
                )),
                "{}",
                sqlite.to_redacted_toml()
            );
            jail.set_env("JINLIN_DATABASE_URL", "postgres://postgres@127.0.0.1/test");
            let postgres = Config::load(None, NoFlags {}).map_err(|e| *e)?;
            assert_eq!(postgres.max_connections(), 16);
            jail.set_env("JINLIN_DATABASE_MAX_CONNECTIONS", "3");
            let set = Config::load(None, NoFlags {}).map_err(|e| *e)?;
            assert_eq!(set.max_connections(), 3);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn replica_comes_from_the_environment_and_hides_its_password() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "JINLIN_DATABASE_REPLICA_URL",
                "postgres://jinlin:s3cret@replica:5432/jinlin",
            );
            jail.set_env("JINLIN_DATABASE_REPLICA_MAX_LAG_SECS", "5");
            #[derive(Serialize)]
            struct NoFlags {}
            let config = Config::load(None, NoFlags {}).map_err(|e| *e)?;
            assert_eq!(
                config.replica_url(),
                Some("postgres://jinlin:s3cret@replica:5432/jinlin")
            );
            assert_eq!(config.database_replica_max_lag_secs, 5);
            let shown = config.to_redacted_toml();
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(
                shown.contains(
                    "database_replica_url = \"postgres://jinlin:***@replica:5432/jinlin\""
                ),
                "{shown}"
            );
            Ok(())
        });
        assert_eq!(Config::default().replica_url(), None);
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn trusted_proxies_come_from_a_file_or_the_environment() {
        figment::Jail::expect_with(|jail| {
            #[derive(Serialize)]
            struct NoFlags {}
            jail.create_file("jinlin.toml", "trusted_proxies = [\"10.0.0.0/8\"]")?;
            let config =
                Config::load(Some(Path::new("jinlin.toml")), NoFlags {}).map_err(|e| *e)?;
            assert_eq!(config.trusted_proxies, ["10.0.0.0/8"]);
            jail.set_env("JINLIN_TRUSTED_PROXIES", "[127.0.0.1, \"::1\"]");
            let config = Config::load(None, NoFlags {}).map_err(|e| *e)?;
            assert_eq!(config.trusted_proxies, ["127.0.0.1", "::1"]);
            assert!(config.trusted_proxies().is_ok());
            Ok(())
        });
        let bad = Config {
            trusted_proxies: vec!["nginx".into()],
            ..Config::default()
        };
        assert!(bad.trusted_proxies().unwrap_err().contains("nginx"));
    }

    #[test]
    fn missing_file_is_an_error() {
        #[derive(Serialize)]
        struct NoFlags {}
        let err = Config::load(Some(Path::new("/no/such/jinlin.toml")), NoFlags {}).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }

    #[test]
    fn embedded_sqlite_is_the_default_database() {
        let config = Config::default();
        assert!(config.effective_database_url().starts_with("sqlite://"));
        assert!(
            config
                .to_redacted_toml()
                .contains("listen = \"127.0.0.1:8080\"")
        );
    }
}
